using System.Globalization;

namespace Integracoes.Testing;

/// <summary>
/// A private NATS server (Debian's nats-server) with JetStream for tests: client and monitoring ports on
/// 127.0.0.1, the JetStream store and the log in a temporary directory. Dispose stops it and deletes the directory.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private static readonly string[] Candidates = ["/usr/sbin/nats-server", "/usr/bin/nats-server"];
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly ServerProcess _process;

    private NatsServer(StartedServer started)
    {
        _process = started.Process;
        Port = started.Ports[0];
        MonitorPort = started.Ports[1];
        RootDirectory = started.Directory;
        StartupTime = started.StartupTime;
    }

    /// <summary>The client port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The HTTP monitoring port on 127.0.0.1 (<c>/healthz</c>, <c>/varz</c>, <c>/jsz</c>).</summary>
    public int MonitorPort { get; }

    /// <summary><c>nats://127.0.0.1:PORT</c></summary>
    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>The per-run directory holding the JetStream store and the log.</summary>
    public string RootDirectory { get; }

    /// <summary>How long the start took until the health check reported JetStream enabled.</summary>
    public TimeSpan StartupTime { get; }

    public string ReadLogTail(int lines = 60) => _process.ReadLogTail(lines);

    /// <summary>Starts a server and waits until its health check reports JetStream enabled.</summary>
    public static async Task<NatsServer> StartAsync(CancellationToken ct = default)
    {
        // Debian puts it in /usr/sbin, which a normal user's PATH often lacks.
        var binary = Candidates.FirstOrDefault(File.Exists) ?? throw new InvalidOperationException(
            $"nats-server not found ({string.Join(", ", Candidates)}). Install the Debian package nats-server " +
            "(./test.sh does it when run as root: apt-get install -y nats-server).");

        var started = await ServerProcess.StartInNewDirectoryAsync("nats", 2,
            (root, ports) => ServerProcess.Start("nats-server", binary,
                [
                    "-a", "127.0.0.1", "-p", Text(ports[0]), "-m", Text(ports[1]), "-n", "integracoes-tests",
                    "-js", "-sd", Path.Combine(root, "jetstream"),
                ],
                root, Path.Combine(root, "server.log"), new Dictionary<string, string?>()),
            (ports, ct) => ServerProcess.AnswersHttpSuccessAsync($"http://127.0.0.1:{ports[1]}/healthz?js-enabled-only=true", ct),
            ReadyTimeout, ct).ConfigureAwait(false);
        return new NatsServer(started);
    }

    public ValueTask DisposeAsync() => _process.StopAndDeleteAsync(RootDirectory, StopTimeout);

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
