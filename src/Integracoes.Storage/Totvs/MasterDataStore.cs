using System.Text.Json.Nodes;
using Integracoes.Abstractions.Common;
using Npgsql;
using NpgsqlTypes;

namespace Integracoes.Storage.Totvs;

/// <summary>The master data tables and the per-service sync watermarks.</summary>
public sealed class MasterDataStore(NpgsqlDataSource dataSource)
{
    /// <summary>Upserts one page of normalized rows (see <see cref="MasterTable.Normalize"/>) in one statement.</summary>
    public async Task UpsertAsync(MasterTable table, string instance, IReadOnlyCollection<JsonObject> rows, DateTimeOffset now, CancellationToken ct = default)
    {
        if (rows.Count == 0) return;
        var columns = table.Columns.Select(c => c.Name).ToList();
        var keys = table.Keys.Select(c => c.Name).ToList();
        var updates = columns.Where(c => !keys.Contains(c)).Select(c => $"{c} = excluded.{c}").Append("sincronizado_em = excluded.sincronizado_em");
        var sql = $"""
            INSERT INTO {table.Table} (instancia, {string.Join(", ", columns)}, sincronizado_em)
            SELECT @instancia, {string.Join(", ", columns.Select(c => "r." + c))}, @agora
            FROM jsonb_to_recordset(@rows) AS r({string.Join(", ", table.Columns.Select(c => $"{c.Name} {c.Type}"))})
            ON CONFLICT (instancia, {string.Join(", ", keys)}) DO UPDATE SET {string.Join(", ", updates)}
            """;
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("instancia", instance);
        command.Parameters.AddWithValue("agora", now.UtcDateTime);
        command.Parameters.Add(new NpgsqlParameter("rows", NpgsqlDbType.Jsonb) { Value = new JsonArray([.. rows.Select(r => (JsonNode)r.DeepClone())]).ToJsonString() });
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<DateTimeOffset?> WatermarkAsync(long servicoId, string entity, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("SELECT watermark FROM totvs_sincronizacao WHERE servico_id = @servico_id AND entidade = @entidade");
        command.Parameters.AddWithValue("servico_id", servicoId);
        command.Parameters.AddWithValue("entidade", entity);
        return await command.ExecuteScalarAsync(ct) is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) : null;
    }

    /// <summary>Moves the watermark forward (never back) once every page of a run is stored.</summary>
    public async Task SaveWatermarkAsync(long servicoId, string entity, DateTimeOffset watermark, DateTimeOffset now, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO totvs_sincronizacao (servico_id, entidade, watermark, atualizado_em) VALUES (@servico_id, @entidade, @watermark, @agora)
            ON CONFLICT (servico_id, entidade) DO UPDATE
                SET watermark = GREATEST(totvs_sincronizacao.watermark, excluded.watermark), atualizado_em = excluded.atualizado_em
            """);
        command.Parameters.AddWithValue("servico_id", servicoId);
        command.Parameters.AddWithValue("entidade", entity);
        command.Parameters.AddWithValue("watermark", watermark.UtcDateTime);
        command.Parameters.AddWithValue("agora", now.UtcDateTime);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Rows as JSON objects (every column but the instance), by key; <paramref name="busca"/> is a prefix of the first key.</summary>
    public async Task<Page<string>> ListAsync(MasterTable table, string instance, string? busca, int limit, int offset, CancellationToken ct = default)
    {
        var keys = table.Keys.Select(c => c.Name).ToList();
        var where = $"WHERE instancia = @instancia AND (@busca::text IS NULL OR starts_with({keys[0]}, @busca))";
        var (count, rows) = await PagedQuery.RunAsync(dataSource,
            $"SELECT count(*) FROM {table.Table} {where}",
            $"SELECT (to_jsonb(t) - 'instancia')::text FROM {table.Table} t {where} ORDER BY {string.Join(", ", keys)} LIMIT @limit OFFSET @offset",
            p =>
            {
                p.AddWithValue("instancia", instance);
                p.Add(new NpgsqlParameter("busca", NpgsqlDbType.Text) { Value = (object?)busca ?? DBNull.Value });
            },
            limit, offset, reader => reader.GetString(0), ct);
        return new Page<string>(count, rows, limit, offset);
    }

    /// <summary>The nominal speed TOTVS gives for a SKU on a line, if any.</summary>
    public async Task<double?> NominalSpeedAsync(string instance, string sku, string linha, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT unidades_por_minuto FROM totvs_velocidades_nominais WHERE instancia = @instancia AND sku = @sku AND linha = @linha");
        command.Parameters.AddWithValue("instancia", instance);
        command.Parameters.AddWithValue("sku", sku);
        command.Parameters.AddWithValue("linha", linha);
        return await command.ExecuteScalarAsync(ct) is double speed ? speed : null;
    }
}
