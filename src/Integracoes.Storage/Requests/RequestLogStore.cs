using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Integracoes.Storage.Requests;

/// <summary>One API request as recorded: the route template, never the path with ids, bodies or keys.</summary>
public sealed record RequestLogEntry(
    string Metodo,
    string Rota,
    int Status,
    double DuracaoMs,
    string? Ip,
    string? UserAgent,
    string? Instance,
    string? KeyId,
    DateTimeOffset CreatedAt);

public sealed record RequestLogSettings(int RetentionDays = 90);

/// <summary>
/// Writes the request log in batches, off the request path: requests only enqueue. When PostgreSQL is
/// slower than the traffic the channel drops the newest entries (counted in the log) rather than slow
/// the API down. Also purges entries older than the retention period.
/// </summary>
public sealed class RequestLogWriter(NpgsqlDataSource dataSource, RequestLogSettings settings, TimeProvider time, ILogger<RequestLogWriter> logger)
    : BackgroundService
{
    private readonly Channel<RequestLogEntry> _channel = Channel.CreateBounded<RequestLogEntry>(
        new BoundedChannelOptions(50_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private long _dropped;
    private DateTimeOffset _lastPurge = DateTimeOffset.MinValue;

    public void Record(RequestLogEntry entry)
    {
        if (!_channel.Writer.TryWrite(entry))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<RequestLogEntry>(1_000);
        while (await _channel.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
        {
            // Let a second's worth accumulate: one small transaction a second instead of one per burst.
            await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(false);
            batch.Clear();
            while (batch.Count < 5_000 && _channel.Reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }
            try
            {
                await InsertAsync(batch, stoppingToken);
                await PurgeIfDueAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Could not write {Count} request log entries", batch.Count);
            }
            if (Interlocked.Exchange(ref _dropped, 0) is > 0 and var dropped)
            {
                logger.LogWarning("Dropped {Count} request log entries: the writer could not keep up", dropped);
            }
        }
    }

    private async Task InsertAsync(List<RequestLogEntry> batch, CancellationToken ct)
    {
        // Diagnostics, not accepted work: losing the last second of them in a crash is acceptable, so the
        // commit does not wait for fsync and never competes with the delivery ledger's.
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using (var relaxed = new NpgsqlCommand("SET LOCAL synchronous_commit = off", connection, tx))
        {
            await relaxed.ExecuteNonQueryAsync(ct);
        }
        await using var command = new NpgsqlCommand("""
            INSERT INTO api_requisicoes (metodo, rota, status, duracao_ms, ip, user_agent, instance, key_id, created_at)
            SELECT * FROM unnest(@metodo, @rota, @status, @duracao, @ip, @ua, @instance, @key_id, @created_at)
            """, connection, tx);
        command.Parameters.Add(NpgsqlArrays.Parameter("metodo", batch.Select(e => e.Metodo), NpgsqlDbType.Text));
        command.Parameters.Add(NpgsqlArrays.Parameter("rota", batch.Select(e => e.Rota), NpgsqlDbType.Text));
        command.Parameters.Add(NpgsqlArrays.Parameter("status", batch.Select(e => e.Status), NpgsqlDbType.Integer));
        command.Parameters.Add(NpgsqlArrays.Parameter("duracao", batch.Select(e => (float)e.DuracaoMs), NpgsqlDbType.Real));
        command.Parameters.Add(NpgsqlArrays.Parameter("ip", batch.Select(e => e.Ip), NpgsqlDbType.Text));
        command.Parameters.Add(NpgsqlArrays.Parameter("ua", batch.Select(e => e.UserAgent), NpgsqlDbType.Text));
        command.Parameters.Add(NpgsqlArrays.Parameter("instance", batch.Select(e => e.Instance), NpgsqlDbType.Text));
        command.Parameters.Add(NpgsqlArrays.Parameter("key_id", batch.Select(e => e.KeyId), NpgsqlDbType.Text));
        command.Parameters.Add(NpgsqlArrays.Parameter("created_at", batch.Select(e => e.CreatedAt.UtcDateTime), NpgsqlDbType.TimestampTz));
        await command.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
    }

    private async Task PurgeIfDueAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (now - _lastPurge < TimeSpan.FromHours(1)) return;
        _lastPurge = now;
        await using var command = dataSource.CreateCommand("DELETE FROM api_requisicoes WHERE created_at < @before");
        command.Parameters.AddWithValue("before", now.AddDays(-settings.RetentionDays).UtcDateTime);
        var purged = await command.ExecuteNonQueryAsync(ct);
        if (purged > 0) logger.LogInformation("Purged {Count} request log entries older than {Days} days", purged, settings.RetentionDays);
    }

}

public sealed record RequestLogRow(long Id, string Metodo, string Rota, int Status, double DuracaoMs, string? Ip, string? UserAgent,
    string? Instance, string? KeyId, DateTimeOffset CreatedAt);

public sealed class RequestLogQueries(NpgsqlDataSource dataSource)
{
    public async Task<(long Count, List<RequestLogRow> Rows)> ListAsync(DateTimeOffset? desde, int? status, int limit, int offset, CancellationToken ct = default)
    {
        const string Where = """
            WHERE (@desde::timestamptz IS NULL OR created_at >= @desde)
              AND (@status::integer IS NULL OR status = @status)
            """;
        return await PagedQuery.RunAsync(dataSource,
            $"SELECT count(*) FROM api_requisicoes {Where}",
            $"""
            SELECT id, metodo, rota, status, duracao_ms, ip, user_agent, instance, key_id, created_at
            FROM api_requisicoes {Where} ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset
            """,
            parameters =>
            {
                parameters.Add(new NpgsqlParameter("desde", NpgsqlDbType.TimestampTz) { Value = desde.HasValue ? desde.Value.UtcDateTime : DBNull.Value });
                parameters.Add(new NpgsqlParameter("status", NpgsqlDbType.Integer) { Value = (object?)status ?? DBNull.Value });
            },
            limit, offset,
            reader => new RequestLogRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), Math.Round(reader.GetFloat(4), 2),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8),
                new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(9), DateTimeKind.Utc))),
            ct);
    }
}
