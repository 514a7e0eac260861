using Npgsql;
using NpgsqlTypes;

namespace Integracoes.Storage.Deliveries;

/// <summary>The read side of delivery, and the few writes that are not on the hot path (redrive, retention).</summary>
public sealed class DeliveryQueries(NpgsqlDataSource dataSource)
{
    private const string QueueColumns = """
        f.id, f.instance, f.servico_id, f.destino, f.evento_id, e.evento, e.dados::text, f.prioridade, f.tentativas,
        f.proxima_tentativa, f.status, f.resultado::text, f.created_at, f.updated_at
        """;

    /// <summary>Pending deliveries of one destination, highest priority first, that are due before <paramref name="horizon"/>.</summary>
    public async Task<List<QueueItemRow>> LoadPendingAsync(
        long destinationId, DateTimeOffset horizon, int limit, long[] excluding, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {QueueColumns}
            FROM integracoes_filas f JOIN integracoes_eventos e ON e.id = f.evento_id
            WHERE f.servico_id = @id AND f.status = 'pendente' AND f.proxima_tentativa <= @horizon
              AND NOT (f.id = ANY(@excluding))
            ORDER BY f.prioridade DESC, f.id
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("id", destinationId);
        command.Parameters.AddWithValue("excluding", excluding);
        command.Parameters.AddWithValue("horizon", horizon.UtcDateTime);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadQueueAsync(command, ct);
    }

    /// <summary>Closes the pending deliveries of a deleted destination.</summary>
    public async Task<int> CancelPendingAsync(long destinationId, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE integracoes_filas SET status = 'cancelada', updated_at = now() WHERE servico_id = @id AND status = 'pendente'");
        command.Parameters.AddWithValue("id", destinationId);
        return await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Destinations with deliveries due now: what a restarted cluster must wake up.</summary>
    public async Task<List<long>> DueDestinationsAsync(DateTimeOffset now, int limit, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT servico_id FROM integracoes_filas
            WHERE status = 'pendente' AND proxima_tentativa <= @now
            GROUP BY servico_id
            ORDER BY min(proxima_tentativa)
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("now", now.UtcDateTime);
        command.Parameters.AddWithValue("limit", limit);
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetInt64(0));
        return ids;
    }

    public async Task<(long Count, List<QueueItemRow> Rows)> ListQueueAsync(
        string instance, string? status, long? destinationId, int limit, int offset, CancellationToken ct = default)
    {
        const string Where = """
            WHERE f.instance = @instance
              AND (@status::text IS NULL OR f.status = @status)
              AND (@destination::bigint IS NULL OR f.servico_id = @destination)
            """;
        return await PagedQuery.RunAsync(dataSource,
            $"SELECT count(*) FROM integracoes_filas f {Where}",
            $"""
            SELECT {QueueColumns}
            FROM integracoes_filas f JOIN integracoes_eventos e ON e.id = f.evento_id
            {Where}
            ORDER BY f.id DESC LIMIT @limit OFFSET @offset
            """,
            parameters =>
            {
                parameters.AddWithValue("instance", instance);
                parameters.Add(new NpgsqlParameter("status", NpgsqlDbType.Text) { Value = (object?)status ?? DBNull.Value });
                parameters.Add(new NpgsqlParameter("destination", NpgsqlDbType.Bigint) { Value = (object?)destinationId ?? DBNull.Value });
            },
            limit, offset, ReadQueueRow, ct);
    }

    public async Task<QueueItemRow?> GetQueueItemAsync(string instance, long id, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {QueueColumns}
            FROM integracoes_filas f JOIN integracoes_eventos e ON e.id = f.evento_id
            WHERE f.instance = @instance AND f.id = @id
            """);
        command.Parameters.AddWithValue("instance", instance);
        command.Parameters.AddWithValue("id", id);
        return (await ReadQueueAsync(command, ct)).SingleOrDefault();
    }

    /// <summary>Puts dead-lettered (or pending) items back at the start of their retry schedule. Returns the destinations touched.</summary>
    public async Task<List<(long QueueId, long DestinationId)>> RedriveAsync(
        string instance, long? queueId, long? destinationId, DateTimeOffset? since, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE integracoes_filas
            SET status = 'pendente', tentativas = 0, proxima_tentativa = now(), updated_at = now()
            WHERE instance = @instance
              AND (@queue_id::bigint IS NULL OR id = @queue_id)
              AND (@destination::bigint IS NULL OR servico_id = @destination)
              AND (@since::timestamptz IS NULL OR updated_at >= @since)
              AND (status IN ('falha', 'rejeitada') OR (@queue_id::bigint IS NOT NULL AND status = 'pendente'))
            RETURNING id, servico_id
            """);
        command.Parameters.AddWithValue("instance", instance);
        command.Parameters.Add(new NpgsqlParameter("queue_id", NpgsqlDbType.Bigint) { Value = (object?)queueId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("destination", NpgsqlDbType.Bigint) { Value = (object?)destinationId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("since", NpgsqlDbType.TimestampTz) { Value = since.HasValue ? since.Value.UtcDateTime : DBNull.Value });
        var touched = new List<(long, long)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) touched.Add((reader.GetInt64(0), reader.GetInt64(1)));
        return touched;
    }

    public async Task<(Guid EventId, int Entregas)?> FindIdempotentAsync(string instance, string key, DateTimeOffset now, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT evento_id, entregas FROM integracoes_idempotencia
            WHERE instance = @instance AND chave = @chave AND created_at > @since
            """);
        command.Parameters.AddWithValue("instance", instance);
        command.Parameters.AddWithValue("chave", key);
        command.Parameters.AddWithValue("since", now.AddHours(-24).UtcDateTime);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetGuid(0), reader.GetInt32(1)) : null;
    }

    public async Task<(long Count, List<WebhookLogRow> Rows)> LogsAsync(
        long webhookId, bool? sucesso, string? evento, int limit, int offset, CancellationToken ct = default)
    {
        const string Where = """
            WHERE webhook_id = @id
              AND (@sucesso::boolean IS NULL OR sucesso = @sucesso)
              AND (@evento::text IS NULL OR evento = @evento)
            """;
        return await PagedQuery.RunAsync(dataSource,
            $"SELECT count(*) FROM webhook_logs {Where}",
            $"""
            SELECT id, webhook_id, fila_id, evento_id, evento, tentativa, status_code, sucesso, duracao_ms, resposta, erro, created_at
            FROM webhook_logs {Where}
            ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset
            """,
            parameters =>
            {
                parameters.AddWithValue("id", webhookId);
                parameters.Add(new NpgsqlParameter("sucesso", NpgsqlDbType.Boolean) { Value = (object?)sucesso ?? DBNull.Value });
                parameters.Add(new NpgsqlParameter("evento", NpgsqlDbType.Text) { Value = (object?)evento ?? DBNull.Value });
            },
            limit, offset,
            reader => new WebhookLogRow(
                reader.GetInt64(0), reader.GetInt64(1),
                reader.IsDBNull(2) ? null : reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetGuid(3),
                reader.GetString(4), reader.GetInt32(5),
                reader.IsDBNull(6) ? null : reader.GetInt32(6),
                reader.GetBoolean(7), reader.GetFloat(8),
                reader.IsDBNull(9) ? null : reader.GetString(9),
                reader.IsDBNull(10) ? null : reader.GetString(10),
                Utc(reader.GetDateTime(11))),
            ct);
    }

    /// <summary>Per subscription since a time: attempts, successes, failures, latency percentiles, dead letters.</summary>
    public async Task<List<DeliveryStatsRow>> StatsAsync(string instance, DateTimeOffset since, CancellationToken ct = default)
    {
        // GROUPING SETS: one row per subscription plus a total row (webhook_id NULL) in one pass.
        await using var command = dataSource.CreateCommand("""
            WITH attempts AS (
                SELECT webhook_id,
                       count(*) AS entregas,
                       count(*) FILTER (WHERE sucesso) AS sucessos,
                       count(*) FILTER (WHERE NOT sucesso) AS falhas,
                       percentile_cont(0.50) WITHIN GROUP (ORDER BY duracao_ms) AS p50,
                       percentile_cont(0.95) WITHIN GROUP (ORDER BY duracao_ms) AS p95,
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY duracao_ms) AS p99
                FROM webhook_logs
                WHERE instance = @instance AND created_at >= @since
                GROUP BY GROUPING SETS ((webhook_id), ())
            ), dead AS (
                SELECT servico_id AS webhook_id, count(*) AS mortas
                FROM integracoes_filas
                WHERE instance = @instance AND status = 'falha' AND updated_at >= @since
                GROUP BY GROUPING SETS ((servico_id), ())
            )
            SELECT coalesce(a.webhook_id, d.webhook_id), coalesce(a.entregas, 0), coalesce(a.sucessos, 0), coalesce(a.falhas, 0),
                   a.p50, a.p95, a.p99, coalesce(d.mortas, 0)
            FROM attempts a FULL JOIN dead d ON coalesce(d.webhook_id, -1) = coalesce(a.webhook_id, -1)
            """);
        command.Parameters.AddWithValue("instance", instance);
        command.Parameters.AddWithValue("since", since.UtcDateTime);
        var rows = new List<DeliveryStatsRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new DeliveryStatsRow(
                reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.IsDBNull(4) ? null : reader.GetDouble(4),
                reader.IsDBNull(5) ? null : reader.GetDouble(5),
                reader.IsDBNull(6) ? null : reader.GetDouble(6),
                reader.GetInt64(7)));
        }
        return rows;
    }

    /// <summary>Retention: deletes delivery logs older than <paramref name="before"/>, in bounded chunks.</summary>
    public async Task<long> PurgeLogsAsync(DateTimeOffset before, CancellationToken ct = default)
    {
        long total = 0;
        while (true)
        {
            await using var command = dataSource.CreateCommand("""
                DELETE FROM webhook_logs WHERE id IN (SELECT id FROM webhook_logs WHERE created_at < @before LIMIT 10000)
                """);
            command.Parameters.AddWithValue("before", before.UtcDateTime);
            var deleted = await command.ExecuteNonQueryAsync(ct);
            total += deleted;
            if (deleted < 10_000) return total;
        }
    }

    private static async Task<List<QueueItemRow>> ReadQueueAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var rows = new List<QueueItemRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(ReadQueueRow(reader));
        }
        return rows;
    }

    private static QueueItemRow ReadQueueRow(NpgsqlDataReader reader) => new(
        reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetGuid(4),
        reader.GetString(5), reader.GetString(6), reader.GetInt32(7), reader.GetInt32(8), Utc(reader.GetDateTime(9)),
        reader.GetString(10), reader.IsDBNull(11) ? null : reader.GetString(11), Utc(reader.GetDateTime(12)), Utc(reader.GetDateTime(13)));

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
