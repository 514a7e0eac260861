using System.Diagnostics;
using System.Net.Http.Headers;

namespace Integracoes.Testing;

/// <summary>The real silo executable, started as a child process with its own ports and database.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private readonly string _logPath;
    private Process? _process;

    /// <param name="environment">Extra INTEGRACOES_ settings (brokers, ...), added to and overriding the test defaults.</param>
    public SiloProcess(string connectionString, string adminKey, string encryptionKey, IReadOnlyDictionary<string, string>? environment = null)
    {
        HttpPort = LocalHttpServer.FreePort();
        SiloPort = LocalHttpServer.FreePort();
        GatewayPort = LocalHttpServer.FreePort();
        _logPath = Path.Combine(Path.GetTempPath(), $"integracoes-silo-{HttpPort}.log");
        _environment = new Dictionary<string, string>
        {
            ["INTEGRACOES_CONNECTION_STRING"] = connectionString,
            ["INTEGRACOES_ADMIN_KEY"] = adminKey,
            ["INTEGRACOES_ENCRYPTION_KEY"] = encryptionKey,
            ["INTEGRACOES_HTTP_HOST"] = "127.0.0.1",
            ["INTEGRACOES_HTTP_PORT"] = HttpPort.ToString(),
            ["INTEGRACOES_SILO_PORT"] = SiloPort.ToString(),
            ["INTEGRACOES_GATEWAY_PORT"] = GatewayPort.ToString(),
            ["INTEGRACOES_ALLOWED_TARGETS"] = "127.0.0.1",
            ["INTEGRACOES_MAX_BODY_BYTES"] = "65536",
            ["INTEGRACOES_MAX_EVENT_BYTES"] = "32768",
            ["INTEGRACOES_CIRCUIT_BREAK_SECONDS"] = "3",
            // Tests send X-Forwarded-For from loopback to act as clients elsewhere, and play slow clients.
            ["INTEGRACOES_TRUSTED_PROXIES"] = "127.0.0.1",
            ["INTEGRACOES_REQUEST_HEADERS_TIMEOUT_SECONDS"] = "2",
            // Debug, so that the secrets scan of the log sees everything the silo could write.
            ["INTEGRACOES_Serilog__MinimumLevel__Default"] = "Debug",
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            _environment[key] = value;
        }
    }

    public int HttpPort { get; }
    public int SiloPort { get; }
    public int GatewayPort { get; }
    public Uri BaseUri => new($"http://127.0.0.1:{HttpPort}/");

    /// <summary>A client of this silo's HTTP API sending <paramref name="key"/> (none: anonymous).</summary>
    public HttpClient Http(string? key = null, string scheme = "Bearer")
    {
        var http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            if (scheme == "X-Api-Key") http.DefaultRequestHeaders.Add("X-Api-Key", key);
            else http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(scheme, key);
        }
        return http;
    }

    public static string SiloDll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
            return Path.Combine(RepoPaths.Root, "silo", "bin", configuration, "net10.0", "Integracoes.Silo.dll");
        }
    }

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(SiloDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(SiloDll);
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }
        var log = new StreamWriter(_logPath, append: true) { AutoFlush = true };
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The silo exited with code {_process.ExitCode}. Log tail:\n{Tail()}");
            }
            try
            {
                if ((await http.GetAsync("health/ready")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"The silo did not become ready in 90 s. Log tail:\n{Tail()}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing, as in a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Everything the silo has written to stdout and stderr since it first started.</summary>
    public string FullLog()
    {
        using var stream = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public string Tail()
    {
        try
        {
            using var stream = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var lines = reader.ReadToEnd().Split('\n');
            return string.Join('\n', lines.TakeLast(40));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    /// <summary>
    /// Stops the silo the way an operator does (SIGTERM): it leaves the cluster cleanly, so silos that
    /// stay up never wait on a dead member. Killed outright only if it has not exited within 30 s.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process?.Dispose();
        File.Delete(_logPath);
    }

}
