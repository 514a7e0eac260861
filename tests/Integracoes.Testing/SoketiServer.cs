using System.Security.Cryptography;
using System.Text.Json;

namespace Integracoes.Testing;

/// <summary>
/// A private Pusher-protocol server for tests: npm's @soketi/soketi on 127.0.0.1, with one app whose id, key and
/// secret are made for this run, configured by a JSON file in a temporary directory. Its WebSocket and HTTP API
/// share <see cref="Port"/>; the /usage endpoint and the cluster discovery socket (UDP, unicast to itself) stay on
/// 127.0.0.1 too. Dispose stops it and deletes the directory.
/// </summary>
public sealed class SoketiServer : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly ServerProcess _process;

    private SoketiServer(StartedServer started, string appId, string appKey, string appSecret)
    {
        _process = started.Process;
        Port = started.Ports[0];
        RootDirectory = started.Directory;
        StartupTime = started.StartupTime;
        AppId = appId;
        AppKey = appKey;
        AppSecret = appSecret;
    }

    /// <summary>The WebSocket and HTTP API port on 127.0.0.1.</summary>
    public int Port { get; }

    public string AppId { get; }

    public string AppKey { get; }

    public string AppSecret { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>, the base of the HTTP API (<c>/apps/{AppId}/events</c>).</summary>
    public Uri ApiBaseUri => new($"http://127.0.0.1:{Port}/");

    /// <summary>The WebSocket URL a Pusher client of the app connects to.</summary>
    public Uri WebSocketUri => new($"ws://127.0.0.1:{Port}/app/{AppKey}?protocol=7&client=integracoes-tests&version=1.0.0&flash=false");

    /// <summary>The per-run directory holding the config file and the log.</summary>
    public string RootDirectory { get; }

    /// <summary>How long the start took until <c>/ready</c> answered.</summary>
    public TimeSpan StartupTime { get; }

    public string ReadLogTail(int lines = 60) => _process.ReadLogTail(lines);

    /// <summary>Starts a server and waits until its <c>/ready</c> answers.</summary>
    public static async Task<SoketiServer> StartAsync(CancellationToken ct = default)
    {
        var entryPoint = RepoPaths.TestServerFile("node_modules", "@soketi", "soketi", "bin", "server.js");
        var appId = "integracoes-" + RandomNumberGenerator.GetHexString(8, lowercase: true);
        var appKey = RandomNumberGenerator.GetHexString(20, lowercase: true);
        var appSecret = RandomNumberGenerator.GetHexString(40, lowercase: true);

        // Inherited SOKETI_* variables would override the config file.
        var environment = ServerProcess.EnvironmentWithout("SOKETI_");

        var started = await ServerProcess.StartInNewDirectoryAsync("soketi", 3,
            (root, ports) =>
            {
                var config = Path.Combine(root, "soketi.json");
                File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["host"] = "127.0.0.1",
                    ["port"] = ports[0],
                    ["metrics.host"] = "127.0.0.1",
                    ["metrics.port"] = ports[1],
                    // Cluster discovery would otherwise bind 0.0.0.0 and broadcast to 255.255.255.255.
                    ["cluster.address"] = "127.0.0.1",
                    ["cluster.port"] = ports[2],
                    ["cluster.unicast"] = "127.0.0.1",
                    ["shutdownGracePeriod"] = 100,
                    ["appManager.array.apps.0.id"] = appId,
                    ["appManager.array.apps.0.key"] = appKey,
                    ["appManager.array.apps.0.secret"] = appSecret,
                }));
                // The working directory is the temporary one: soketi also reads a .env file from there.
                return ServerProcess.Start("soketi", "node", [entryPoint, "start", $"--config={config}"], root,
                    Path.Combine(root, "server.log"), environment);
            },
            (ports, ct) => ServerProcess.AnswersHttpSuccessAsync($"http://127.0.0.1:{ports[0]}/ready", ct),
            ReadyTimeout, ct).ConfigureAwait(false);
        return new SoketiServer(started, appId, appKey, appSecret);
    }

    public ValueTask DisposeAsync() => _process.StopAndDeleteAsync(RootDirectory, StopTimeout);
}
