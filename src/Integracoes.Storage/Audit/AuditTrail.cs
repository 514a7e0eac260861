using Npgsql;
using NpgsqlTypes;

namespace Integracoes.Storage.Audit;

/// <summary>One recorded change. Before and after are JSON of the resource's non-secret fields.</summary>
public sealed record AuditEntry(
    string? Instancia,
    string Ator,
    string? Ip,
    string Acao,
    string Recurso,
    string? RecursoId,
    string? AntesJson,
    string? DepoisJson,
    DateTimeOffset CreatedAt);

public sealed record AuditRow(long Id, AuditEntry Entry);

/// <summary>Which entries to list; every filter is optional.</summary>
public sealed record AuditFilter(
    string? Instancia = null,
    string? Recurso = null,
    string? RecursoId = null,
    string? Acao = null,
    string? Ator = null,
    DateTimeOffset? Desde = null,
    DateTimeOffset? Ate = null);

/// <summary>The audit table: one synchronous insert per change (changes are rare; each must be kept).</summary>
public sealed class AuditTrail(NpgsqlDataSource dataSource)
{
    public async Task RecordAsync(AuditEntry entry, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO auditoria (instancia, ator, ip, acao, recurso, recurso_id, antes, depois, created_at)
            VALUES (@instancia, @ator, @ip, @acao, @recurso, @recurso_id, @antes, @depois, @created_at)
            """);
        command.Parameters.Add(Text("instancia", entry.Instancia));
        command.Parameters.Add(Text("ator", entry.Ator));
        command.Parameters.Add(Text("ip", entry.Ip));
        command.Parameters.Add(Text("acao", entry.Acao));
        command.Parameters.Add(Text("recurso", entry.Recurso));
        command.Parameters.Add(Text("recurso_id", entry.RecursoId));
        command.Parameters.Add(new NpgsqlParameter("antes", NpgsqlDbType.Jsonb) { Value = (object?)entry.AntesJson ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("depois", NpgsqlDbType.Jsonb) { Value = (object?)entry.DepoisJson ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("created_at", NpgsqlDbType.TimestampTz) { Value = entry.CreatedAt.UtcDateTime });
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<(long Count, List<AuditRow> Rows)> ListAsync(AuditFilter filter, int limit, int offset, CancellationToken ct = default)
    {
        const string Where = """
            WHERE (@instancia::text IS NULL OR instancia = @instancia)
              AND (@recurso::text IS NULL OR recurso = @recurso)
              AND (@recurso_id::text IS NULL OR recurso_id = @recurso_id)
              AND (@acao::text IS NULL OR acao = @acao)
              AND (@ator::text IS NULL OR ator = @ator)
              AND (@desde::timestamptz IS NULL OR created_at >= @desde)
              AND (@ate::timestamptz IS NULL OR created_at < @ate)
            """;
        return await PagedQuery.RunAsync(dataSource,
            $"SELECT count(*) FROM auditoria {Where}",
            $"""
            SELECT id, instancia, ator, ip, acao, recurso, recurso_id, antes::text, depois::text, created_at
            FROM auditoria {Where} ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset
            """,
            parameters =>
            {
                parameters.Add(Text("instancia", filter.Instancia));
                parameters.Add(Text("recurso", filter.Recurso));
                parameters.Add(Text("recurso_id", filter.RecursoId));
                parameters.Add(Text("acao", filter.Acao));
                parameters.Add(Text("ator", filter.Ator));
                parameters.Add(Time("desde", filter.Desde));
                parameters.Add(Time("ate", filter.Ate));
            },
            limit, offset,
            reader => new AuditRow(reader.GetInt64(0), new AuditEntry(
                NullableString(reader, 1), reader.GetString(2), NullableString(reader, 3), reader.GetString(4), reader.GetString(5),
                NullableString(reader, 6), NullableString(reader, 7), NullableString(reader, 8),
                new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(9), DateTimeKind.Utc)))),
            ct);
    }

    private static NpgsqlParameter Text(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Time(string name, DateTimeOffset? value) =>
        new(name, NpgsqlDbType.TimestampTz) { Value = value.HasValue ? value.Value.UtcDateTime : DBNull.Value };

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
