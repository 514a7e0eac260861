using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Integracoes.Testing;

/// <summary>
/// A server program started for tests in a session and process group of its own (<c>setsid</c>), with stdin from
/// /dev/null and stdout and stderr appended to a log file. <see cref="StopAsync"/> asks the program to stop
/// (SIGTERM) and then kills its whole process group, so the helpers it forked go with it; a test host that exits
/// without disposing kills the group too.
/// </summary>
public sealed class ServerProcess : IDisposable
{
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private const int LogTailLines = 60;
    private const int MaxPortAttempts = 5;

    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(5) };

    private readonly Process _process;
    private int _disposed;

    private ServerProcess(Process process, string name, string logFile)
    {
        _process = process;
        Name = name;
        LogFile = logFile;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>What the program is, for messages ("RabbitMQ", "nats-server", ...).</summary>
    public string Name { get; }

    /// <summary>The file the program's stdout and stderr are appended to.</summary>
    public string LogFile { get; }

    /// <summary>The program's process id, which is also its process group id.</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/>. In <paramref name="environment"/> a null
    /// value removes an inherited variable.
    /// </summary>
    public static ServerProcess Start(
        string name, string fileName, IEnumerable<string> arguments, string workingDirectory, string logFile,
        IReadOnlyDictionary<string, string?> environment)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Test servers need Linux.");
        }

        // setsid makes the program the leader of a new session and process group. It forks only when the caller is
        // itself a group leader, which a test host started by `dotnet test` never is; if it did, the pid we hold would
        // not lead the server's group and stopping would leave the server running. sh points the output at the log
        // file before exec, so no pipe to the test host stays open in helpers that outlive the program.
        if (GetProcessGroup() == Environment.ProcessId)
        {
            throw new InvalidOperationException(
                "This process leads its own process group, so setsid would fork and the server could not be stopped " +
                "reliably. Run the tests through `dotnet test`.");
        }

        var psi = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$@\" </dev/null >>\"$0\" 2>&1");
        psi.ArgumentList.Add(logFile);
        psi.ArgumentList.Add(fileName);
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        foreach (var (variable, value) in environment)
        {
            if (value is null)
            {
                psi.Environment.Remove(variable);
            }
            else
            {
                psi.Environment[variable] = value;
            }
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {name} ({fileName}).");
        return new ServerProcess(process, name, logFile);
    }

    /// <summary>
    /// Creates a temporary directory <c>integracoes-PREFIX-*</c>, starts a server there on
    /// <paramref name="portCount"/> free ports of 127.0.0.1 and waits until <paramref name="isReady"/> answers
    /// true. When another program took one of the ports meanwhile, tries again with new ones. On failure nothing is
    /// left running and the directory is deleted.
    /// </summary>
    public static async Task<StartedServer> StartInNewDirectoryAsync(
        string prefix, int portCount, Func<string, int[], ServerProcess> start,
        Func<int[], CancellationToken, Task<bool>> isReady, TimeSpan timeout, CancellationToken ct)
    {
        var directory = TempDirectory.Create(prefix);
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            var ports = FreePorts(portCount);
            ServerProcess? process = null;
            try
            {
                process = start(directory, ports);
                await process.WaitUntilReadyAsync(probeCt => isReady(ports, probeCt), timeout, ct).ConfigureAwait(false);
                return new StartedServer(process, ports, directory, clock.Elapsed);
            }
            catch (Exception ex)
            {
                if (process is not null)
                {
                    await process.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                    process.Dispose();
                }

                if (ex is ServerStartException { PortInUse: true } && attempt < MaxPortAttempts)
                {
                    continue;
                }

                await TempDirectory.DeleteAsync(directory).ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary><paramref name="count"/> distinct TCP ports that are free on 127.0.0.1 right now.</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }
    }

    /// <summary>
    /// An environment for <see cref="Start"/> that removes every inherited variable whose name starts with one of
    /// <paramref name="prefixes"/>, so that nothing from the caller's shell reconfigures the server.
    /// </summary>
    public static Dictionary<string, string?> EnvironmentWithout(params string[] prefixes)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (prefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)))
            {
                environment[name] = null;
            }
        }

        return environment;
    }

    /// <summary>A probe for <see cref="WaitUntilReadyAsync"/>: a GET of <paramref name="url"/> answers 2xx.</summary>
    public static async Task<bool> AnswersHttpSuccessAsync(string url, CancellationToken ct)
    {
        using var response = await Probe.GetAsync(url, ct).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }

    /// <summary>
    /// Polls <paramref name="isReady"/> until it answers true. Fails with the log tail when the program exits or the
    /// deadline passes first. Exceptions thrown by the probe count as "not yet".
    /// </summary>
    public async Task WaitUntilReadyAsync(Func<CancellationToken, Task<bool>> isReady, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new ServerStartException(
                    $"{Name} exited with code {_process.ExitCode} before it was ready.{Environment.NewLine}" +
                    $"Last lines of {LogFile}:{Environment.NewLine}{ReadLogTail()}",
                    LogSaysPortInUse());
            }

            using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                attempt.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    if (await isReady(attempt.Token).ConfigureAwait(false))
                    {
                        return;
                    }
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    last = ex;
                }
            }

            if (clock.Elapsed > timeout)
            {
                throw new ServerStartException(
                    $"{Name} was not ready within {timeout.TotalSeconds:0} s ({last?.Message ?? "the probe answered no"})." +
                    $"{Environment.NewLine}Last lines of {LogFile}:{Environment.NewLine}{ReadLogTail()}",
                    LogSaysPortInUse());
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends SIGTERM to the program and waits up to <paramref name="grace"/> for it to exit, then kills whatever is
    /// left of its process group.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, SigTerm);
            using var wait = new CancellationTokenSource(grace);
            try
            {
                await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Did not stop in time: killed below.
            }
        }

        KillGroup();
        await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="StopAsync"/>, <see cref="Dispose"/>, then deletes the server's <paramref name="directory"/>. Only
    /// the first call does anything.
    /// </summary>
    public async ValueTask StopAndDeleteAsync(string directory, TimeSpan grace)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        await StopAsync(grace).ConfigureAwait(false);
        Dispose();
        await TempDirectory.DeleteAsync(directory).ConfigureAwait(false);
    }

    /// <summary>SIGKILL to every process left in the program's group.</summary>
    public void KillGroup() => _ = Kill(-_process.Id, SigKill);

    /// <summary>The last lines of the log file, for failure messages.</summary>
    public string ReadLogTail(int lines = LogTailLines) => TempDirectory.ReadTail(LogFile, lines);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        if (!_process.HasExited)
        {
            KillGroup();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }

    private bool LogSaysPortInUse()
    {
        var tail = ReadLogTail();
        return tail.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
            || tail.Contains("eaddrinuse", StringComparison.OrdinalIgnoreCase);
    }

    private void OnProcessExit(object? sender, EventArgs e) => KillGroup();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "getpgrp")]
    private static extern int GetProcessGroup();
}

/// <summary>A server that <see cref="ServerProcess.StartInNewDirectoryAsync"/> started and found ready.</summary>
/// <param name="Process">The running program.</param>
/// <param name="Ports">The ports it was given, in the order asked for.</param>
/// <param name="Directory">Its temporary directory (state, config, log).</param>
/// <param name="StartupTime">From choosing the ports until the readiness probe answered.</param>
public sealed record StartedServer(ServerProcess Process, int[] Ports, string Directory, TimeSpan StartupTime);

/// <summary>A test server did not start; <see cref="PortInUse"/> tells whether another program took its port.</summary>
public sealed class ServerStartException(string message, bool portInUse) : Exception(message)
{
    public bool PortInUse { get; } = portInUse;
}
