using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Integracoes.Testing;

/// <summary>
/// A private RabbitMQ node (Debian's rabbitmq-server) for tests: its own node name, AMQP, distribution and epmd
/// ports on 127.0.0.1, its database, logs, config and Erlang cookie in a temporary directory. It can be stopped
/// and started again on the same ports with its data kept (broker outage tests). Dispose stops it, stops its
/// epmd and deletes the directory. Works as root and as a normal user; the user is <c>guest</c>/<c>guest</c>.
/// </summary>
public sealed class RabbitMqServer : IAsyncDisposable
{
    /// <summary>The real server script: the /usr/sbin wrapper would switch to the rabbitmq user and its files.</summary>
    public const string ServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";

    private const int MaxPortAttempts = 5;

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private ServerProcess? _process;
    private int _disposed;

    private RabbitMqServer(string rootDirectory)
    {
        RootDirectory = rootDirectory;
        NodeName = $"integracoes-{Path.GetFileName(rootDirectory)[^12..]}@localhost";
        LogFile = Path.Combine(rootDirectory, "server.log");
        PickPorts();
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>The AMQP port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    public int DistributionPort { get; private set; }

    public int EpmdPort { get; private set; }

    public string NodeName { get; }

    public string UserName => "guest";

    public string Password => "guest";

    /// <summary><c>amqp://guest:guest@127.0.0.1:PORT/</c></summary>
    public Uri AmqpUri => new($"amqp://{UserName}:{Password}@127.0.0.1:{Port}/");

    /// <summary>The per-run directory holding the node's database (kept across stop and start), config and log.</summary>
    public string RootDirectory { get; }

    /// <summary>The node's console output (its log goes there too), appended across restarts.</summary>
    public string LogFile { get; }

    /// <summary>How long the first start took until the node answered an AMQP handshake.</summary>
    public TimeSpan StartupTime { get; private set; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Creates a node in a new temporary directory and waits until it answers on its AMQP port.</summary>
    public static async Task<RabbitMqServer> StartAsync(CancellationToken ct = default)
    {
        if (!File.Exists(ServerScript))
        {
            throw new InvalidOperationException(
                $"{ServerScript} not found. Install the Debian package rabbitmq-server " +
                "(./test.sh does it when run as root: apt-get install -y rabbitmq-server).");
        }

        var server = new RabbitMqServer(TempDirectory.Create("rabbitmq"));
        try
        {
            await server.WriteConfigurationAsync(ct).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await server.StartAgainAsync(ct).ConfigureAwait(false);
                    break;
                }
                catch (ServerStartException ex) when (ex.PortInUse && attempt < MaxPortAttempts)
                {
                    // Another program took a port between choosing and binding it.
                    await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
                    await server.KillEpmdAsync().ConfigureAwait(false);
                    server.PickPorts();
                }
            }

            server.StartupTime = clock.Elapsed;
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts the node again after <see cref="StopAsync"/>, on the same ports and with the same data.</summary>
    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (IsRunning)
            {
                return;
            }

            _process?.Dispose();
            _process = ServerProcess.Start("RabbitMQ", ServerScript, [], RootDirectory, LogFile, ServerEnvironment());
            await _process.WaitUntilReadyAsync(AnswersAmqpHandshakeAsync, ReadyTimeout, ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the node the way a service manager would (SIGTERM, orderly shutdown), keeping its data.</summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_process is { } process)
            {
                await process.StopAsync(StopTimeout).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The last lines of the node's output, for diagnostics.</summary>
    public string ReadLogTail(int lines = 60) => TempDirectory.ReadTail(LogFile, lines);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _process?.Dispose();
        await KillEpmdAsync().ConfigureAwait(false);
        await TempDirectory.DeleteAsync(RootDirectory).ConfigureAwait(false);
        _gate.Dispose();
    }

    private void PickPorts()
    {
        var ports = ServerProcess.FreePorts(3);
        (Port, DistributionPort, EpmdPort) = (ports[0], ports[1], ports[2]);
    }

    private async Task WriteConfigurationAsync(CancellationToken ct)
    {
        await File.WriteAllTextAsync(Path.Combine(RootDirectory, "enabled_plugins"), "[].\n", ct).ConfigureAwait(false);
        // Everything on the console (the log file the tests read); no file logs.
        await File.WriteAllLinesAsync(Path.Combine(RootDirectory, "rabbitmq.conf"),
            ["log.console = true", "log.console.level = info", "log.file = false"], ct).ConfigureAwait(false);
    }

    private Dictionary<string, string?> ServerEnvironment()
    {
        // Nothing inherited may point the node at the system's files or another node.
        var environment = ServerProcess.EnvironmentWithout("RABBITMQ_", "ERL_");

        var port = Port.ToString(CultureInfo.InvariantCulture);
        // The Erlang cookie is written to $HOME.
        environment["HOME"] = RootDirectory;
        environment["RABBITMQ_CONF_ENV_FILE"] = "/dev/null";
        environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(RootDirectory, "rabbitmq");
        environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(RootDirectory, "enabled_plugins");
        environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(RootDirectory, "mnesia");
        environment["RABBITMQ_LOG_BASE"] = Path.Combine(RootDirectory, "log");
        environment["RABBITMQ_PID_FILE"] = Path.Combine(RootDirectory, "rabbitmq.pid");
        environment["RABBITMQ_NODENAME"] = NodeName;
        environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        environment["RABBITMQ_NODE_PORT"] = port;
        environment["RABBITMQ_DIST_PORT"] = DistributionPort.ToString(CultureInfo.InvariantCulture);
        environment["ERL_EPMD_PORT"] = EpmdPort.ToString(CultureInfo.InvariantCulture);
        environment["ERL_EPMD_ADDRESS"] = "127.0.0.1";
        environment["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}";
        return environment;
    }

    /// <summary>The broker answers an AMQP 0-9-1 protocol header with a method frame (connection.start).</summary>
    private async Task<bool> AnswersAmqpHandshakeAsync(CancellationToken ct)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port, ct).ConfigureAwait(false);
        var stream = client.GetStream();
        await stream.WriteAsync("AMQP\0\0\u0009\u0001"u8.ToArray(), ct).ConfigureAwait(false);
        var frameType = new byte[1];
        var read = await stream.ReadAsync(frameType, ct).ConfigureAwait(false);
        return read == 1 && frameType[0] == 1;
    }

    /// <summary>The Erlang VM starts epmd as a daemon outside the node's process group: stop it by its port.</summary>
    private async Task KillEpmdAsync()
    {
        var psi = new ProcessStartInfo("epmd")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add("-kill");
        psi.Environment["ERL_EPMD_PORT"] = EpmdPort.ToString(CultureInfo.InvariantCulture);
        try
        {
            using var process = Process.Start(psi);
            if (process is null)
            {
                return;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or OperationCanceledException)
        {
            // No epmd binary or no answer: nothing left to stop that we can reach.
        }
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        // Safety net for a node that was never disposed: do not leave a node, its epmd or its files behind.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _process?.Dispose();
        KillEpmdAsync().GetAwaiter().GetResult();
        TempDirectory.DeleteAsync(RootDirectory).GetAwaiter().GetResult();
    }
}
