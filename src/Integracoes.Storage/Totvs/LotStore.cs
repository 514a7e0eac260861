using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Lines;
using Integracoes.Abstractions.Totvs;
using Npgsql;
using NpgsqlTypes;

namespace Integracoes.Storage.Totvs;

/// <summary>The rows of <c>lotes_producao</c>. Every change is a conditional UPDATE on the status, so a repeated or raced step changes nothing.</summary>
public sealed class LotStore(NpgsqlDataSource dataSource)
{
    public const string FromWebhook = "webhook";
    public const string FromSync = "sincronizacao";

    private const string Columns = """
        id, numero_op, sku, lote, linha, quantidade_planejada, validade, status, origem, criado_em, atualizado_em, iniciado_em,
        assinado_por, assinado_em, fechado_em, producao_total, producao_boa, perdas_qualidade, tempo_produzindo, tempo_parado, oee, evento_id,
        (SELECT f.status FROM integracoes_filas f WHERE f.evento_id = lotes_producao.evento_id AND f.destino = 'totvs' ORDER BY f.id DESC LIMIT 1) AS envio_totvs,
        (SELECT f.resultado->>'erro' FROM integracoes_filas f WHERE f.evento_id = lotes_producao.evento_id AND f.destino = 'totvs' ORDER BY f.id DESC LIMIT 1) AS envio_totvs_erro
        """;

    /// <summary>Creates the lot, or returns the one already stored under its order number (<c>Created</c> false).</summary>
    public async Task<(LotView Lot, bool Created)> OpenAsync(string instance, LotOrder order, string origem, DateTimeOffset now, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand($"""
            WITH novo AS (
                INSERT INTO lotes_producao (instancia, numero_op, sku, lote, linha, quantidade_planejada, validade, status, origem, dados, criado_em, atualizado_em)
                VALUES (@instancia, @numero_op, @sku, @lote, @linha, @quantidade, @validade, '{LotStatus.Available}', @origem, @dados, @agora, @agora)
                ON CONFLICT (instancia, numero_op) DO NOTHING
                RETURNING {Columns}, true AS criado)
            SELECT * FROM novo
            UNION ALL
            SELECT {Columns}, false FROM lotes_producao WHERE instancia = @instancia AND numero_op = @numero_op AND NOT EXISTS (SELECT 1 FROM novo)
            """);
        AddOrder(command.Parameters, instance, order, origem, now);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            // The row that conflicted was not visible to this statement's snapshot yet (concurrent insert): read it now.
            await reader.DisposeAsync();
            return (await FindByOrderAsync(instance, order.NumeroOp, ct) ?? throw new InvalidOperationException("lot vanished"), false);
        }
        return (Read(reader), reader.GetBoolean(24));
    }

    /// <summary>Lots from the <c>lotes</c> sync: new ones are created available; available ones take TOTVS's changes; started or closed ones are left alone.</summary>
    public async Task UpsertFromSyncAsync(string instance, LotOrder order, DateTimeOffset now, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand($"""
            INSERT INTO lotes_producao (instancia, numero_op, sku, lote, linha, quantidade_planejada, validade, status, origem, dados, criado_em, atualizado_em)
            VALUES (@instancia, @numero_op, @sku, @lote, @linha, @quantidade, @validade, '{LotStatus.Available}', @origem, @dados, @agora, @agora)
            ON CONFLICT (instancia, numero_op) DO UPDATE
                SET sku = excluded.sku, lote = excluded.lote, linha = excluded.linha, quantidade_planejada = excluded.quantidade_planejada,
                    validade = excluded.validade, dados = excluded.dados, atualizado_em = excluded.atualizado_em
                WHERE lotes_producao.status = '{LotStatus.Available}'
            """);
        AddOrder(command.Parameters, instance, order, FromSync, now);
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<LotView?> GetAsync(string instance, long id, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM lotes_producao WHERE instancia = @instancia AND id = @id");
        command.Parameters.AddWithValue("instancia", instance);
        command.Parameters.AddWithValue("id", id);
        return await SingleAsync(command, ct);
    }

    public async Task<Page<LotView>> ListAsync(string instance, string? linha, string? status, int limit, int offset, CancellationToken ct = default)
    {
        const string Where = """
            WHERE instancia = @instancia AND (@linha::text IS NULL OR linha = @linha) AND (@status::text IS NULL OR status = @status)
            """;
        var (count, rows) = await PagedQuery.RunAsync(dataSource,
            $"SELECT count(*) FROM lotes_producao {Where}",
            $"SELECT {Columns} FROM lotes_producao {Where} ORDER BY id DESC LIMIT @limit OFFSET @offset",
            p =>
            {
                p.AddWithValue("instancia", instance);
                p.Add(new NpgsqlParameter("linha", NpgsqlDbType.Text) { Value = (object?)linha ?? DBNull.Value });
                p.Add(new NpgsqlParameter("status", NpgsqlDbType.Text) { Value = (object?)status ?? DBNull.Value });
            },
            limit, offset, Read, ct);
        return new Page<LotView>(count, rows, limit, offset);
    }

    /// <summary>available → in production; null when the lot was not available.</summary>
    public async Task<LotView?> MarkStartedAsync(string instance, long id, DateTimeOffset now, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE lotes_producao SET status = '{LotStatus.InProduction}', iniciado_em = @agora, atualizado_em = @agora
            WHERE instancia = @instancia AND id = @id AND status = '{LotStatus.Available}'
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("instancia", instance);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("agora", now.UtcDateTime);
        return await SingleAsync(command, ct);
    }

    /// <summary>
    /// in production → closed, with the signature and the totals, in one statement. The row is the
    /// close's outbox from here on: <c>evento_id</c> stays NULL until <c>lote.fechado</c> is published.
    /// </summary>
    public async Task<LotView?> MarkClosedAsync(string instance, long id, LotSignature signature, LotTotals totals, DateTimeOffset now, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE lotes_producao
            SET status = '{LotStatus.Closed}', assinado_por = @assinado_por, assinado_em = @assinado_em, fechado_em = @fim,
                producao_total = @total, producao_boa = @boa, perdas_qualidade = @perdas, tempo_produzindo = @produzindo,
                tempo_parado = @parado, oee = @oee, atualizado_em = @agora
            WHERE instancia = @instancia AND id = @id AND status = '{LotStatus.InProduction}'
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("instancia", instance);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("assinado_por", signature.AssinadoPor!);
        command.Parameters.AddWithValue("assinado_em", signature.AssinadoEm!.Value.UtcDateTime);
        command.Parameters.AddWithValue("fim", totals.Fim.UtcDateTime);
        command.Parameters.AddWithValue("total", totals.Total);
        command.Parameters.AddWithValue("boa", totals.Bons);
        command.Parameters.AddWithValue("perdas", totals.Rejeitos);
        command.Parameters.AddWithValue("produzindo", totals.TempoProduzindo);
        command.Parameters.AddWithValue("parado", totals.TempoParado);
        command.Parameters.AddWithValue("oee", totals.Oee);
        command.Parameters.AddWithValue("agora", now.UtcDateTime);
        return await SingleAsync(command, ct);
    }

    public async Task SetEventAsync(string instance, long id, Guid eventId, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE lotes_producao SET evento_id = @evento_id WHERE instancia = @instancia AND id = @id AND evento_id IS NULL");
        command.Parameters.AddWithValue("instancia", instance);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("evento_id", eventId);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Closed lots whose <c>lote.fechado</c> is not published yet (a crash between the two commits).</summary>
    public async Task<IReadOnlyList<LotView>> UnpublishedAsync(string instance, int limit, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns} FROM lotes_producao
            WHERE instancia = @instancia AND status = '{LotStatus.Closed}' AND evento_id IS NULL ORDER BY id LIMIT @limit
            """);
        command.Parameters.AddWithValue("instancia", instance);
        command.Parameters.AddWithValue("limit", limit);
        var lots = new List<LotView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) lots.Add(Read(reader));
        return lots;
    }

    /// <summary>
    /// The final counters of an order the line already ended (a close that crashed after <c>EndOrderAsync</c>
    /// and before the lot was updated): the line's row in <c>ordens_producao_ativas</c>, no longer active.
    /// </summary>
    public async Task<LotTotals?> EndedOrderAsync(string instance, string linha, string ordem, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT total, rejeitos, tempo_produzindo, tempo_parado, coalesce(fim, atualizado_em)
            FROM ordens_producao_ativas
            WHERE instancia = @instancia AND linha = @linha AND ordem = @ordem AND NOT ativa
            ORDER BY id DESC LIMIT 1
            """);
        command.Parameters.AddWithValue("instancia", instance);
        command.Parameters.AddWithValue("linha", linha);
        command.Parameters.AddWithValue("ordem", ordem);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        var total = reader.GetInt64(0);
        var rejeitos = reader.GetInt64(1);
        return new LotTotals(total, total - rejeitos, rejeitos, reader.GetDouble(2), reader.GetDouble(3), 0,
            new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero));
    }

    private async Task<LotView?> FindByOrderAsync(string instance, string numeroOp, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM lotes_producao WHERE instancia = @instancia AND numero_op = @numero_op");
        command.Parameters.AddWithValue("instancia", instance);
        command.Parameters.AddWithValue("numero_op", numeroOp);
        return await SingleAsync(command, ct);
    }

    private static void AddOrder(NpgsqlParameterCollection p, string instance, LotOrder order, string origem, DateTimeOffset now)
    {
        p.AddWithValue("instancia", instance);
        p.AddWithValue("numero_op", order.NumeroOp);
        p.AddWithValue("sku", order.Sku);
        p.AddWithValue("lote", order.Lote);
        p.AddWithValue("linha", order.Linha);
        p.AddWithValue("quantidade", order.QuantidadePlanejada);
        p.Add(new NpgsqlParameter("validade", NpgsqlDbType.Date) { Value = order.Validade is { } v ? v : DBNull.Value });
        p.AddWithValue("origem", origem);
        p.Add(new NpgsqlParameter("dados", NpgsqlDbType.Jsonb) { Value = order.DadosJson });
        p.AddWithValue("agora", now.UtcDateTime);
    }

    private static async Task<LotView?> SingleAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static DateTimeOffset? At(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : new DateTimeOffset(r.GetDateTime(i), TimeSpan.Zero);

    private static LotView Read(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt64(5),
        r.IsDBNull(6) ? null : r.GetFieldValue<DateOnly>(6), r.GetString(7), r.GetString(8),
        At(r, 9)!.Value, At(r, 10)!.Value, At(r, 11),
        r.IsDBNull(12) ? null : r.GetString(12), At(r, 13), At(r, 14),
        r.IsDBNull(15) ? null : r.GetInt64(15), r.IsDBNull(16) ? null : r.GetInt64(16), r.IsDBNull(17) ? null : r.GetInt64(17),
        r.IsDBNull(18) ? null : r.GetDouble(18), r.IsDBNull(19) ? null : r.GetDouble(19), r.IsDBNull(20) ? null : r.GetDouble(20),
        r.IsDBNull(21) ? null : r.GetGuid(21),
        r.IsDBNull(22) ? null : r.GetString(22), r.IsDBNull(23) ? null : r.GetString(23));
}

/// <summary>What a closed lot stores and sends: from the line's <see cref="OrderTotals"/>.</summary>
public sealed record LotTotals(long Total, long Bons, long Rejeitos, double TempoProduzindo, double TempoParado, double Oee, DateTimeOffset Fim)
{
    public static LotTotals From(OrderTotals t) => new(t.Total, t.Bons, t.Rejeitos, t.TempoProduzindo, t.TempoParado, t.Oee, t.Fim);
}
