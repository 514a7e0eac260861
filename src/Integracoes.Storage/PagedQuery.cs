using Npgsql;

namespace Integracoes.Storage;

/// <summary>
/// A listing page and its total in one round trip: the count and the page run as one batch with the same
/// filter parameters (added to each command by <c>addFilters</c>), then <c>@limit</c>/<c>@offset</c> on the page.
/// </summary>
public static class PagedQuery
{
    public static async Task<(long Count, List<T> Rows)> RunAsync<T>(
        NpgsqlDataSource dataSource,
        string countSql,
        string pageSql,
        Action<NpgsqlParameterCollection> addFilters,
        int limit,
        int offset,
        Func<NpgsqlDataReader, T> readRow,
        CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var batch = new NpgsqlBatch(connection);
        var count = new NpgsqlBatchCommand(countSql);
        var page = new NpgsqlBatchCommand(pageSql);
        addFilters(count.Parameters);
        addFilters(page.Parameters);
        page.Parameters.AddWithValue("limit", limit);
        page.Parameters.AddWithValue("offset", offset);
        batch.BatchCommands.Add(count);
        batch.BatchCommands.Add(page);

        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var total = reader.GetInt64(0);
        await reader.NextResultAsync(ct);
        var rows = new List<T>();
        while (await reader.ReadAsync(ct))
        {
            rows.Add(readRow(reader));
        }
        return (total, rows);
    }
}
