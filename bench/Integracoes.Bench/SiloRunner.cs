using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Integracoes.Testing;

namespace Integracoes.Bench;

/// <summary>
/// The real silo executable as a child process, configured like the end-to-end fixture
/// (tests/Integracoes.EndToEndTests/SiloProcess.cs), with its output in a log file.
/// </summary>
public sealed class SiloRunner : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);
    private readonly Dictionary<string, string> _environment;
    private Process? _process;

    public SiloRunner(string connectionString, string adminKey, string encryptionKey, string logPath, IReadOnlyDictionary<string, string> extra)
    {
        LogPath = logPath;
        HttpPort = FreePort();
        _environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["INTEGRACOES_CONNECTION_STRING"] = connectionString,
            ["INTEGRACOES_ADMIN_KEY"] = adminKey,
            ["INTEGRACOES_ENCRYPTION_KEY"] = encryptionKey,
            ["INTEGRACOES_HTTP_HOST"] = "127.0.0.1",
            ["INTEGRACOES_HTTP_PORT"] = HttpPort.ToString(CultureInfo.InvariantCulture),
            ["INTEGRACOES_SILO_PORT"] = FreePort().ToString(CultureInfo.InvariantCulture),
            ["INTEGRACOES_GATEWAY_PORT"] = FreePort().ToString(CultureInfo.InvariantCulture),
            ["INTEGRACOES_ALLOWED_TARGETS"] = "127.0.0.1",
        };
        foreach (var (key, value) in extra)
        {
            _environment[key] = value;
        }
    }

    public int HttpPort { get; }
    public string LogPath { get; }
    public Uri BaseUri => new($"http://127.0.0.1:{HttpPort}/");
    public int Pid => _process?.Id ?? throw new InvalidOperationException("The silo is not running.");

    /// <summary>The silo built in the bench's own configuration (Release for real numbers).</summary>
    public static string SiloDll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                ? "Debug"
                : "Release";
            return Path.Combine(RepoPaths.Root, "silo", "bin", configuration, "net10.0", "Integracoes.Silo.dll");
        }
    }

    public async Task StartAsync(CancellationToken ct)
    {
        if (!File.Exists(SiloDll))
        {
            throw new FileNotFoundException($"{SiloDll} is missing: run the bench with `dotnet run -c Release --project bench/Integracoes.Bench`, which builds it.");
        }
        if (SiloDll.Contains("/Debug/", StringComparison.Ordinal)) Progress.Log("warning: Debug build; numbers are not meaningful (use -c Release)");

        // setsid: Ctrl-C in the terminal reaches only the bench, which then stops the silo itself.
        // The shell redirects the silo's output to the log file, so the bench spends no CPU copying log lines.
        var start = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = Path.GetDirectoryName(SiloDll)!,
            UseShellExecute = false,
            RedirectStandardInput = true,
        };
        foreach (var argument in new[] { "sh", "-c", "exec dotnet \"$0\" >\"$1\" 2>&1", SiloDll, LogPath })
        {
            start.ArgumentList.Add(argument);
        }
        // Settings from the caller's shell (for example run.sh's) must not change what is measured.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("INTEGRACOES_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        _process = Process.Start(start)!;
        _process.StandardInput.Close();

        using var http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The silo exited with code {_process.ExitCode}. Log tail:\n{Tail()}");
            }
            try
            {
                using var ready = await http.GetAsync("health/ready", ct);
                if (ready.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                // Not listening yet.
            }
            if (deadline.Elapsed > ReadyTimeout)
            {
                throw new InvalidOperationException($"The silo was not ready within {ReadyTimeout.TotalSeconds:0} s. Log tail:\n{Tail()}");
            }
            await Task.Delay(100, ct);
        }
    }

    public string Tail(int lines = 40)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    /// <summary>Kills the silo: its state is in a database that is about to be deleted, so a graceful stop buys nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(timeout.Token);
        }
        _process?.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
