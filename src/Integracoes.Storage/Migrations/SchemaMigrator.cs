using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Integracoes.Storage.Migrations;

/// <summary>
/// Applies the numbered scripts of <c>sql/</c> once each, in file-name order, recording them in
/// <c>schema_migrations</c>. Several silos may start at once: a session advisory lock makes one of
/// them apply the scripts while the others wait and then find nothing left to do.
/// </summary>
public sealed class SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger)
{
    // Any constant works; it only has to be the same for every process that migrates this database.
    private const long AdvisoryLockKey = 0x1A7E_6AC0_E5;

    public async Task<IReadOnlyList<string>> MigrateAsync(string sqlDirectory, CancellationToken ct = default)
    {
        if (!Directory.Exists(sqlDirectory))
        {
            throw new DirectoryNotFoundException($"SQL migrations directory not found: {sqlDirectory}");
        }

        var scripts = Directory.GetFiles(sqlDirectory, "*.sql")
            .OrderBy(Path.GetFileName, StringComparer.Ordinal)
            .ToList();

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await ExecuteAsync(connection, "SELECT pg_advisory_lock(@key)", ct, ("key", AdvisoryLockKey));
        try
        {
            await ExecuteAsync(connection, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name       text        PRIMARY KEY,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, ct);

            var applied = await ReadAppliedAsync(connection, ct);
            var newlyApplied = new List<string>();
            foreach (var path in scripts)
            {
                var name = Path.GetFileName(path);
                var text = await File.ReadAllTextAsync(path, ct);
                var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
                if (applied.TryGetValue(name, out var recorded))
                {
                    if (recorded != checksum)
                    {
                        logger.LogWarning(
                            "Migration {Migration} changed after it was applied (recorded {Recorded}, now {Checksum}); it is not re-run",
                            name, recorded, checksum);
                    }
                    continue;
                }

                await using var tx = await connection.BeginTransactionAsync(ct);
                await using (var command = new NpgsqlCommand(text, connection, tx))
                {
                    command.CommandTimeout = 300;
                    await command.ExecuteNonQueryAsync(ct);
                }
                await using (var record = new NpgsqlCommand(
                    "INSERT INTO schema_migrations (name, checksum) VALUES (@name, @checksum)", connection, tx))
                {
                    record.Parameters.AddWithValue("name", name);
                    record.Parameters.AddWithValue("checksum", checksum);
                    await record.ExecuteNonQueryAsync(ct);
                }
                await tx.CommitAsync(ct);
                logger.LogInformation("Applied migration {Migration}", name);
                newlyApplied.Add(name);
            }

            return newlyApplied;
        }
        finally
        {
            await ExecuteAsync(connection, "SELECT pg_advisory_unlock(@key)", CancellationToken.None, ("key", AdvisoryLockKey));
        }
    }

    private static async Task<Dictionary<string, string>> ReadAppliedAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var applied = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var command = new NpgsqlCommand("SELECT name, checksum FROM schema_migrations", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            applied[reader.GetString(0)] = reader.GetString(1);
        }
        return applied;
    }

    private static async Task ExecuteAsync(
        NpgsqlConnection connection, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        await command.ExecuteNonQueryAsync(ct);
    }
}
