using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Npgsql;

namespace Integracoes.Bench;

/// <summary>
/// Cumulative counters at one instant: CPU seconds of the silo, of PostgreSQL (postmaster and its
/// children), of the bench and of the machine; PostgreSQL commits, WAL flushes and rows written per table.
/// </summary>
public sealed record ResourceSample(
    long At,
    double Silo,
    double Postgres,
    double Bench,
    double MachineBusy,
    double MachineIoWait,
    double MachineSoftIrq,
    double MachineSteal,
    long Commits,
    long WalSyncs,
    IReadOnlyDictionary<string, long> RowsWritten);

/// <summary>
/// On 2 cores the load generator competes with the system under test, so every measurement window
/// says where the CPU went (read from /proc: nothing to install, nothing to parse from top), and how
/// hard PostgreSQL worked: commits and WAL flushes per second show how well group commit batches.
/// </summary>
public sealed class ResourceMeter(int siloPid, int postmasterPid, string connectionString)
{
    // /proc reports times in USER_HZ, which the kernel fixes at 100 for user space.
    private const double TicksPerSecond = 100;

    private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;

    public async Task<ResourceSample> SampleAsync(CancellationToken ct)
    {
        var (commits, walSyncs, rows) = await DatabaseCountersAsync(ct);
        var machine = MachineSeconds();
        return new ResourceSample(
            Stopwatch.GetTimestamp(),
            ProcessSeconds(siloPid),
            PostgresSeconds(),
            Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,
            machine[0], machine[1], machine[2], machine[3],
            commits, walSyncs, rows);
    }

    /// <summary>Average rates between two samples, as <c>{prefix}_cpu_*</c> (cores) and <c>{prefix}_pg_*</c> (per second) fields.</summary>
    public static void Report(JsonObject results, string prefix, ResourceSample from, ResourceSample to)
    {
        var seconds = Stopwatch.GetElapsedTime(from.At, to.At).TotalSeconds;
        double Rate(double a, double b, int digits = 2) => Math.Round((b - a) / seconds, digits);
        results[$"{prefix}_cpu_silo_cores"] = Rate(from.Silo, to.Silo);
        results[$"{prefix}_cpu_postgres_cores"] = Rate(from.Postgres, to.Postgres);
        results[$"{prefix}_cpu_bench_cores"] = Rate(from.Bench, to.Bench);
        results[$"{prefix}_cpu_machine_busy_cores"] = Rate(from.MachineBusy, to.MachineBusy);
        // Anything else on the machine (a build, another test run) distorts the numbers: say how much.
        var other = Math.Max(0, Rate(from.MachineBusy - from.Silo - from.Postgres - from.Bench, to.MachineBusy - to.Silo - to.Postgres - to.Bench));
        results[$"{prefix}_cpu_other_cores"] = other;
        if (other > 0.2) Progress.Log($"warning: other processes used {other} cores during {prefix}; its numbers are low");
        // Loopback TCP is processed in softirq context, and a virtual machine may lose time to its host (steal).
        results[$"{prefix}_cpu_softirq_cores"] = Rate(from.MachineSoftIrq, to.MachineSoftIrq);
        results[$"{prefix}_cpu_steal_cores"] = Rate(from.MachineSteal, to.MachineSteal);
        results[$"{prefix}_cpu_iowait_cores"] = Rate(from.MachineIoWait, to.MachineIoWait);
        results[$"{prefix}_pg_commits_per_s"] = Rate(from.Commits, to.Commits, 0);
        results[$"{prefix}_pg_wal_flushes_per_s"] = Rate(from.WalSyncs, to.WalSyncs, 0);
        var tables = new JsonObject();
        foreach (var (table, rows) in to.RowsWritten.OrderByDescending(t => t.Value - from.RowsWritten.GetValueOrDefault(t.Key)))
        {
            var rate = Rate(from.RowsWritten.GetValueOrDefault(table), rows, 0);
            if (rate >= 1) tables[table] = rate;
        }
        results[$"{prefix}_pg_rows_written_per_s"] = tables;
    }

    /// <summary>PostgreSQL's cumulative statistics; each backend publishes its counts about once a second.</summary>
    private async Task<(long Commits, long WalSyncs, Dictionary<string, long> Rows)> DatabaseCountersAsync(CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("""
            SELECT 'commits', xact_commit FROM pg_stat_database WHERE datname = current_database()
            UNION ALL SELECT 'wal_sync', wal_sync FROM pg_stat_wal
            UNION ALL SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            values[reader.GetString(0)] = reader.GetInt64(1);
        }
        var commits = values.Remove("commits", out var c) ? c : 0;
        var walSyncs = values.Remove("wal_sync", out var w) ? w : 0;
        return (commits, walSyncs, values);
    }

    private static double ProcessSeconds(int pid) => ReadStat(pid) is { } stat ? stat.Seconds : 0;

    /// <summary>Backends that exit between two samples take their CPU time with them; with a connection pool they rarely do.</summary>
    private double PostgresSeconds()
    {
        var total = 0.0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (ReadStat(pid) is { } stat && (pid == postmasterPid || stat.ParentPid == postmasterPid)) total += stat.Seconds;
        }
        return total;
    }

    private static (int ParentPid, double Seconds)? ReadStat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) state ppid ... utime stime ...": comm may hold spaces, so split after the last ')'.
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return (int.Parse(fields[1], CultureInfo.InvariantCulture), ticks / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // exited meanwhile
        }
    }

    /// <summary>Busy, iowait, softirq and steal seconds of the whole machine.</summary>
    private static double[] MachineSeconds()
    {
        // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Take(8).Select(v => long.Parse(v, CultureInfo.InvariantCulture) / TicksPerSecond).ToArray();
        return [f.Sum() - f[3] - f[4], f[4], f[6], f[7]];
    }
}
