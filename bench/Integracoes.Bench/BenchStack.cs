using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Integracoes.Testing;
using Npgsql;

namespace Integracoes.Bench;

/// <summary>The system under test: a private PostgreSQL and the real silo process on it, stopped and deleted on dispose.</summary>
public sealed class BenchStack : IAsyncDisposable
{
    private readonly PostgresServer _postgres;
    private readonly string _workDirectory;

    private BenchStack(PostgresServer postgres, SiloRunner silo, string workDirectory, string adminKey, int postmasterPid, string connectionString)
    {
        _postgres = postgres;
        ConnectionString = connectionString;
        Silo = silo;
        _workDirectory = workDirectory;
        AdminKey = adminKey;
        PostmasterPid = postmasterPid;
    }

    public SiloRunner Silo { get; }
    public string AdminKey { get; }
    public int PostmasterPid { get; }

    /// <summary>The silo's database, for the bench's own statistics queries.</summary>
    public string ConnectionString { get; }

    public static async Task<BenchStack> StartAsync(BenchOptions options, JsonObject results, CancellationToken ct)
    {
        Progress.Log("starting PostgreSQL");
        var postgres = await PostgresServer.StartAsync(ct);
        var workDirectory = Directory.CreateTempSubdirectory("integracoes-bench-").FullName;
        SiloRunner? silo = null;
        try
        {
            await SetDurabilityAsync(postgres.AdminConnectionString, options.Fsync, results, ct);
            // The test fixture caps the pool at 40; drop that so the silo applies its own default (INTEGRACOES_DB_MAX_POOL).
            var connection = new NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync("bench", ct));
            connection.Remove("Maximum Pool Size");

            var adminKey = "adm_bench_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var encryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            silo = new SiloRunner(connection.ConnectionString, adminKey, encryptionKey, Path.Combine(workDirectory, "silo.log"), options.SiloEnvironment);
            Progress.Log($"starting the silo ({SiloRunner.SiloDll})");
            await silo.StartAsync(ct);
            Progress.Log($"silo ready on {silo.BaseUri} (pid {silo.Pid}, log {silo.LogPath})");
            if (options.SiloEnvironment.Count > 0) results["silo_env"] = string.Join(' ', options.SiloEnvironment.Select(e => $"{e.Key}={e.Value}"));
            return new BenchStack(postgres, silo, workDirectory, adminKey, ReadPostmasterPid(postgres.DataDirectory), connection.ConnectionString);
        }
        catch
        {
            if (silo is not null) await silo.DisposeAsync();
            await postgres.DisposeAsync();
            Directory.Delete(workDirectory, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Progress.Log("stopping the silo and PostgreSQL");
        await Silo.DisposeAsync();
        await _postgres.DisposeAsync();
        Directory.Delete(_workDirectory, recursive: true);
    }

    /// <summary>
    /// PostgresServer is built for tests and starts with fsync, synchronous_commit and full_page_writes
    /// off. All three can change without a restart, so ALTER SYSTEM (postgresql.auto.conf wins over
    /// postgresql.conf) and a reload give a durable server without touching the fixture.
    /// </summary>
    private static async Task SetDurabilityAsync(string adminConnectionString, bool durable, JsonObject results, CancellationToken ct)
    {
        var admin = new NpgsqlConnectionStringBuilder(adminConnectionString) { Pooling = false }.ConnectionString;
        var value = durable ? "on" : "off";
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync(ct);
            // ALTER SYSTEM refuses to run in a transaction block, so one statement per command.
            foreach (var sql in new[]
            {
                $"ALTER SYSTEM SET fsync = {value}",
                $"ALTER SYSTEM SET synchronous_commit = {value}",
                $"ALTER SYSTEM SET full_page_writes = {value}",
                "SELECT pg_reload_conf()",
            })
            {
                await using var command = new NpgsqlCommand(sql, connection);
                await command.ExecuteNonQueryAsync(ct);
            }
        }

        // The postmaster applies a reload asynchronously: wait until new sessions see it.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string fsync, synchronousCommit;
        while (true)
        {
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync(ct);
            fsync = await ShowAsync(connection, "fsync", ct);
            synchronousCommit = await ShowAsync(connection, "synchronous_commit", ct);
            if (fsync == value && synchronousCommit == value) break;
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"PostgreSQL kept fsync={fsync}, synchronous_commit={synchronousCommit} after the reload.");
            await Task.Delay(50, ct);
        }

        if (durable)
        {
            // Pages written while fsync was off reach the disk now, so the run starts from a durable state.
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync(ct);
            await using var checkpoint = new NpgsqlCommand("CHECKPOINT", connection);
            await checkpoint.ExecuteNonQueryAsync(ct);
        }
        results["fsync"] = fsync;
        results["synchronous_commit"] = synchronousCommit;
        Progress.Log($"PostgreSQL fsync={fsync} synchronous_commit={synchronousCommit}");
    }

    private static async Task<string> ShowAsync(NpgsqlConnection connection, string setting, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"SHOW {setting}", connection);
        return (string)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>The first line of postmaster.pid, so CPU use can be summed over the server's processes.</summary>
    private static int ReadPostmasterPid(string dataDirectory) =>
        int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
}
