using System.Globalization;

namespace Integracoes.Testing;

/// <summary>
/// A private SQS-protocol server for tests: npm's fauxqs (AWS JSON protocol, FIFO queues with message groups and
/// deduplication ids), started by tests/servers/fauxqs.mjs on 127.0.0.1. It keeps its queues in memory; its
/// request log is in a temporary directory. Clients take <see cref="ServiceUrl"/>, region <see cref="Region"/>
/// and any credentials. Dispose stops it and deletes the directory.
/// </summary>
public sealed class SqsServer : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly ServerProcess _process;

    private SqsServer(StartedServer started)
    {
        _process = started.Process;
        Port = started.Ports[0];
        RootDirectory = started.Directory;
        StartupTime = started.StartupTime;
    }

    public int Port { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>, the endpoint for AWSSDK.SQS's <c>ServiceURL</c>.</summary>
    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    /// <summary>The region queue ARNs and URLs are made for; use it as the client's authentication region.</summary>
    public string Region => "us-east-1";

    /// <summary>The per-run directory holding the log.</summary>
    public string RootDirectory { get; }

    /// <summary>How long the start took until <c>/health</c> answered.</summary>
    public TimeSpan StartupTime { get; }

    public string ReadLogTail(int lines = 60) => _process.ReadLogTail(lines);

    /// <summary>Starts a server and waits until its <c>/health</c> answers.</summary>
    public static async Task<SqsServer> StartAsync(CancellationToken ct = default)
    {
        _ = RepoPaths.TestServerFile("node_modules", "fauxqs", "package.json");
        var launcher = RepoPaths.TestServerFile("fauxqs.mjs");
        var started = await ServerProcess.StartInNewDirectoryAsync("sqs", 1,
            (root, ports) => ServerProcess.Start("fauxqs", "node", [launcher], RepoPaths.TestServersDirectory,
                Path.Combine(root, "server.log"),
                new Dictionary<string, string?>
                {
                    ["FAUXQS_PORT"] = ports[0].ToString(CultureInfo.InvariantCulture),
                    // One JSON line per request: the log tail shows what the client sent.
                    ["FAUXQS_LOGGER"] = "true",
                }),
            (ports, ct) => ServerProcess.AnswersHttpSuccessAsync($"http://127.0.0.1:{ports[0]}/health", ct),
            ReadyTimeout, ct).ConfigureAwait(false);
        return new SqsServer(started);
    }

    public ValueTask DisposeAsync() => _process.StopAndDeleteAsync(RootDirectory, StopTimeout);
}
