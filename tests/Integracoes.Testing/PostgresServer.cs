using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Integracoes.Testing;

/// <summary>
/// A throwaway PostgreSQL 15 cluster for tests: initdb into a fresh temporary directory, started on a free
/// 127.0.0.1 port with durability switched off, trust authentication, no unix sockets. Dispose stops it
/// (immediate shutdown) and deletes the directory.
/// When the test process runs as root the server runs as the <c>postgres</c> OS user (through runuser),
/// because PostgreSQL refuses to run as root.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>Environment variable that overrides the directory holding initdb, pg_ctl and postgres.</summary>
    public const string BinDirectoryVariable = "INTEGRACOES_PG_BINDIR";

    private const string DefaultBinDirectory = "/usr/lib/postgresql/15/bin";
    private const string ServerOsUser = "postgres";
    private const string SuperUser = "postgres";
    private const int MaxPortAttempts = 10;
    private const int LogTailLines = 60;

    private static readonly TimeSpan InitDbTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private static readonly string[] ServerSettings =
    [
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = ''",
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "max_connections = 300",
        "shared_buffers = 128MB",
        "max_wal_size = 1GB",
        "checkpoint_timeout = 30min",
        "log_min_messages = warning",
        "log_line_prefix = '%m [%p] %q%u@%d '",
        "timezone = 'UTC'",
    ];

    private static readonly string[] InheritedPgVariables =
        ["PGDATA", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGOPTIONS", "PGSERVICE"];

    private readonly List<string> _connectionStrings = [];
    private readonly object _gate = new();
    private int _disposed;

    private PostgresServer(string rootDirectory, string dataDirectory, string logFile, int port)
    {
        RootDirectory = rootDirectory;
        DataDirectory = dataDirectory;
        LogFile = logFile;
        Port = port;
        AdminConnectionString = BuildConnectionString(port, "postgres", maxPoolSize: null);
        _connectionStrings.Add(AdminConnectionString);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        AppDomain.CurrentDomain.UnhandledException += OnProcessExit;
    }

    /// <summary>Superuser connection string to the <c>postgres</c> database.</summary>
    public string AdminConnectionString { get; }

    /// <summary>The TCP port the server listens on (127.0.0.1 only).</summary>
    public int Port { get; }

    /// <summary>The temporary directory holding the cluster and its log; deleted on dispose.</summary>
    public string RootDirectory { get; }

    /// <summary>The cluster's data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The server's log file.</summary>
    public string LogFile { get; }

    private static string BinDirectory =>
        Environment.GetEnvironmentVariable(BinDirectoryVariable) is { Length: > 0 } dir ? dir : DefaultBinDirectory;

    private static bool RunAsOtherUser => Environment.IsPrivilegedProcess;

    /// <summary>Creates, starts and waits for a new cluster.</summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken ct = default)
    {
        var binDir = BinDirectory;
        foreach (var tool in new[] { "initdb", "pg_ctl", "postgres" })
        {
            if (!File.Exists(Path.Combine(binDir, tool)))
            {
                throw new InvalidOperationException(
                    $"PostgreSQL 15 binary '{Path.Combine(binDir, tool)}' not found. Install the Debian package " +
                    $"postgresql-15 (./test.sh does it when run as root) or set {BinDirectoryVariable}.");
            }
        }

        var root = CreateRootDirectory();
        var dataDir = Path.Combine(root, "data");
        var logFile = Path.Combine(root, "server.log");
        var started = false;
        try
        {
            if (RunAsOtherUser)
            {
                var chown = await RunAsync(root, "chown", ["-R", $"{ServerOsUser}:", root], asServerUser: false,
                    TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
                if (chown.ExitCode != 0)
                {
                    throw new InvalidOperationException(
                        $"Could not give '{root}' to the OS user '{ServerOsUser}' (does the user exist?):{Environment.NewLine}{chown.Output}");
                }
            }

            var initdb = await RunAsync(root, Path.Combine(binDir, "initdb"),
                [
                    "-D", dataDir, "-U", SuperUser, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                    "--no-instructions", "--no-sync",
                ],
                asServerUser: true, InitDbTimeout, ct).ConfigureAwait(false);
            if (initdb.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"initdb failed with exit code {initdb.ExitCode}:{Environment.NewLine}{initdb.Output}");
            }

            // Root can append to the postgres-owned file; ownership and mode are kept.
            await File.AppendAllTextAsync(Path.Combine(dataDir, "postgresql.conf"),
                Environment.NewLine + "# Integracoes.Testing.PostgresServer" + Environment.NewLine +
                string.Join(Environment.NewLine, ServerSettings) + Environment.NewLine, ct).ConfigureAwait(false);

            var port = await StartServerAsync(binDir, root, dataDir, logFile, ct).ConfigureAwait(false);
            started = true;
            var server = new PostgresServer(root, dataDir, logFile, port);
            try
            {
                await server.WaitUntilReadyAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                await server.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            return server;
        }
        catch when (!started)
        {
            await StopAndDeleteAsync(binDir, root, dataDir, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Creates a new, empty database and returns a superuser connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (Encoding.UTF8.GetByteCount(name) > 63)
        {
            throw new ArgumentException("PostgreSQL database names are limited to 63 bytes.", nameof(name));
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        var connection = new NpgsqlConnection(AdminConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            var command = new NpgsqlCommand($"CREATE DATABASE {QuoteIdentifier(name)}", connection);
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }

        var connectionString = BuildConnectionString(Port, name, maxPoolSize: 40);
        lock (_gate)
        {
            _connectionStrings.Add(connectionString);
        }

        return connectionString;
    }

    /// <summary>Stops the server (immediate shutdown) and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        AppDomain.CurrentDomain.UnhandledException -= OnProcessExit;
        ClearPools();
        await StopAndDeleteAsync(BinDirectory, RootDirectory, DataDirectory, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The last lines of the server log, for diagnostics.</summary>
    public string ReadLogTail() => ReadTail(LogFile, LogTailLines);

    private static string BuildConnectionString(int port, string database, int? maxPoolSize)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Database = database,
            Username = SuperUser,
            IncludeErrorDetail = true,
            Timeout = 30,
        };
        if (maxPoolSize is { } max)
        {
            builder.MaxPoolSize = max;
        }

        return builder.ConnectionString;
    }

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string CreateRootDirectory()
    {
        // As root the server user must reach the directory, so use /tmp rather than a possibly private TMPDIR.
        var parent = RunAsOtherUser ? "/tmp" : Path.GetTempPath();
        var path = Path.Combine(parent, "integracoes-pg-" + Guid.NewGuid().ToString("N")[..12]);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("PostgresServer needs Linux (Debian's postgresql-15 binaries).");
        }

        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static async Task<int> StartServerAsync(string binDir, string root, string dataDir, string logFile, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = GetFreePort();
            var logOffset = File.Exists(logFile) ? new FileInfo(logFile).Length : 0;
            var result = await RunAsync(root, Path.Combine(binDir, "pg_ctl"),
                [
                    "start", "-D", dataDir, "-l", logFile, "-w", "-t", ((int)StartTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
                    "-o", $"-p {port}",
                ],
                asServerUser: true, StartTimeout + TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            if (result.ExitCode == 0)
            {
                return port;
            }

            var newLog = ReadFrom(logFile, logOffset);
            var portConflict = newLog.Contains("Address already in use", StringComparison.OrdinalIgnoreCase)
                || newLog.Contains("could not create any TCP/IP sockets", StringComparison.OrdinalIgnoreCase);
            if (portConflict && attempt < MaxPortAttempts)
            {
                // Someone took the port between probing and binding; make sure nothing is left, then retry.
                await RunAsync(root, Path.Combine(binDir, "pg_ctl"), ["stop", "-D", dataDir, "-m", "immediate", "-w"],
                    asServerUser: true, StopTimeout, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            throw new InvalidOperationException(
                $"PostgreSQL failed to start on port {port} (pg_ctl exit code {result.ExitCode}).{Environment.NewLine}" +
                $"pg_ctl output:{Environment.NewLine}{result.Output}{Environment.NewLine}" +
                $"Last lines of {logFile}:{Environment.NewLine}{ReadTail(logFile, LogTailLines)}");
        }
    }

    private async Task WaitUntilReadyAsync(CancellationToken ct)
    {
        var probe = new NpgsqlConnectionStringBuilder(AdminConnectionString) { Pooling = false, Timeout = 5 }.ConnectionString;
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < ReadyTimeout)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var connection = new NpgsqlConnection(probe);
                await using (connection.ConfigureAwait(false))
                {
                    await connection.OpenAsync(ct).ConfigureAwait(false);
                    var command = new NpgsqlCommand("SELECT 1", connection);
                    await using (command.ConfigureAwait(false))
                    {
                        await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
                    }
                }

                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException or IOException or TimeoutException)
            {
                last = ex;
                await Task.Delay(TimeSpan.FromMilliseconds(50), ct).ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException(
            $"PostgreSQL on port {Port} did not accept connections within {ReadyTimeout.TotalSeconds:0} s: {last?.Message}" +
            $"{Environment.NewLine}Last lines of {LogFile}:{Environment.NewLine}{ReadLogTail()}", last);
    }

    private static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private void ClearPools()
    {
        string[] connectionStrings;
        lock (_gate)
        {
            connectionStrings = [.. _connectionStrings];
        }

        foreach (var connectionString in connectionStrings)
        {
            try
            {
                using var connection = new NpgsqlConnection(connectionString);
                NpgsqlConnection.ClearPool(connection);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or ArgumentException)
            {
                // Best effort: the server is going away anyway.
            }
        }
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        // Safety net for a server that was never disposed (process exit or crash):
        // do not leave a postmaster or a directory behind.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        StopAndDeleteAsync(BinDirectory, RootDirectory, DataDirectory, CancellationToken.None).GetAwaiter().GetResult();
    }

    private static async Task StopAndDeleteAsync(string binDir, string root, string dataDir, CancellationToken ct)
    {
        var pidFile = Path.Combine(dataDir, "postmaster.pid");
        if (File.Exists(pidFile))
        {
            var postmasterPid = ReadPostmasterPid(pidFile);
            try
            {
                await RunAsync(root, Path.Combine(binDir, "pg_ctl"), ["stop", "-D", dataDir, "-m", "immediate", "-w"],
                    asServerUser: true, StopTimeout, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or OperationCanceledException
                or System.ComponentModel.Win32Exception)
            {
                // Fall through to the kill below.
            }

            if (postmasterPid is { } pid)
            {
                KillIfAlive(pid);
            }
        }

        for (var attempt = 0; attempt < 5 && Directory.Exists(root); attempt++)
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * (attempt + 1)), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static int? ReadPostmasterPid(string pidFile)
    {
        try
        {
            using var reader = new StreamReader(new FileStream(pidFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            return int.TryParse(reader.ReadLine(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void KillIfAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            if (!process.HasExited && process.ProcessName.StartsWith("postgres", StringComparison.Ordinal))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(
        string workingDirectory, string fileName, IReadOnlyList<string> arguments, bool asServerUser, TimeSpan timeout,
        CancellationToken ct)
    {
        var psi = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        if (asServerUser && RunAsOtherUser)
        {
            psi.FileName = File.Exists("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "runuser";
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(ServerOsUser);
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(fileName);
        }
        else
        {
            psi.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        foreach (var variable in InheritedPgVariables)
        {
            psi.Environment.Remove(variable);
        }

        psi.Environment["LC_ALL"] = "C.UTF-8";

        using var process = new Process { StartInfo = psi };
        process.Start();
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }

            ct.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"'{fileName} {string.Join(' ', arguments)}' did not finish within {timeout.TotalSeconds:0} s.");
        }

        var output = (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false));
        return (process.ExitCode, output.Trim());
    }

    private static string ReadFrom(string path, long offset)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    private static string ReadTail(string path, int lines)
    {
        var text = ReadFrom(path, 0);
        if (text.Length == 0)
        {
            return "(log is empty or missing)";
        }

        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }
}
