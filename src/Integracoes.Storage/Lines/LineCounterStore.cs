using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Integracoes.Storage.Lines;

/// <summary>A line's active row in <c>ordens_producao_ativas</c> as loaded when the line activates.</summary>
public sealed record ActiveCounterRow(
    long Id,
    string Ordem,
    string? Sku,
    string? Lote,
    long? LoteId,
    long QuantidadePlanejada,
    double VelocidadeNominal,
    DateTimeOffset Inicio,
    long Total,
    long Rejeitos,
    double TempoProduzindo,
    double TempoParado,
    int ReinicioContador,
    DateTimeOffset? UltimaAmostra,
    string SensorJson,
    IReadOnlyDictionary<string, long> Posicoes,
    long Versao);

/// <summary>What opens a new active row: the order it counts for ('' when none).</summary>
public sealed record NewCounterRow(
    string Instance,
    string Linha,
    string Ordem,
    string? Sku,
    string? Lote,
    long? LoteId,
    long QuantidadePlanejada,
    double VelocidadeNominal,
    DateTimeOffset Inicio);

/// <summary>A minute of history: what a line produced and rejected in it for one order.</summary>
public sealed record MinuteCount(DateTimeOffset Minuto, string Ordem, long Producao, long Rejeicao);

/// <summary>
/// One write of a line's active row: its counters with the sensor state and file positions they include,
/// and the minutes that closed since the previous write. <see cref="Versao"/> only grows, and a write never
/// replaces a newer one.
/// </summary>
public sealed record CounterRowWrite(
    long Id,
    long Versao,
    string Instance,
    string Linha,
    long Total,
    long Rejeitos,
    double TempoProduzindo,
    double TempoParado,
    int ReinicioContador,
    DateTimeOffset? UltimaAmostra,
    string SensorJson,
    IReadOnlyDictionary<string, long> Posicoes,
    IReadOnlyList<MinuteCount> Minutes);

public sealed record LineCounterSettings(TimeSpan FlushInterval)
{
    public static readonly LineCounterSettings Default = new(TimeSpan.FromSeconds(5));
}

/// <summary>
/// Durable counters of production lines (docs/production-lines.md). Line grains stage the latest state
/// of their active row; every <see cref="LineCounterSettings.FlushInterval"/> one transaction writes all
/// staged rows of this silo (a single UPDATE over arrays) and the minutes that closed, so PostgreSQL
/// sees at most one row write per line per interval however fast the sensors report. Order changes and
/// deactivations write at once.
/// </summary>
public sealed class LineCounterStore(NpgsqlDataSource dataSource, LineCounterSettings settings, TimeProvider time, ILogger<LineCounterStore> logger)
    : BackgroundService
{
    private readonly Lock _lock = new();
    private Dictionary<long, CounterRowWrite> _staged = [];
    private readonly SemaphoreSlim _writing = new(1, 1);

    /// <summary>Replaces what is staged for the row; closed minutes accumulate until written.</summary>
    public void Stage(CounterRowWrite write)
    {
        lock (_lock)
        {
            _staged[write.Id] = _staged.TryGetValue(write.Id, out var older) ? Merge(older, write) : write;
        }
    }

    public async Task<ActiveCounterRow?> LoadActiveAsync(string instance, string linha, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT id, ordem, sku, lote, lote_id, quantidade_planejada, velocidade_nominal, inicio, total, rejeitos,
                   tempo_produzindo, tempo_parado, reinicio_contador, ultima_amostra, sensor::text, posicoes::text, versao
            FROM ordens_producao_ativas WHERE instancia = $1 AND linha = $2 AND ativa
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = instance });
        command.Parameters.Add(new NpgsqlParameter { Value = linha });
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new ActiveCounterRow(
            reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.GetInt64(5), reader.GetDouble(6), reader.GetFieldValue<DateTimeOffset>(7),
            reader.GetInt64(8), reader.GetInt64(9), reader.GetDouble(10), reader.GetDouble(11), reader.GetInt32(12),
            reader.IsDBNull(13) ? null : reader.GetFieldValue<DateTimeOffset>(13), reader.GetString(14),
            JsonSerializer.Deserialize<Dictionary<string, long>>(reader.GetString(15)) ?? [], reader.GetInt64(16));
    }

    /// <summary>
    /// Ends <paramref name="closing"/> (its final counters, inactive from <paramref name="at"/>) and, when
    /// <paramref name="next"/> is given, opens the line's next active row carrying the sensor state and positions
    /// on: one transaction, so a crash leaves either the old row active or the new one. Returns the new row's id.
    /// </summary>
    public async Task<long?> SwitchAsync(CounterRowWrite? closing, DateTimeOffset at, NewCounterRow? next, CancellationToken ct = default)
    {
        await _writing.WaitAsync(ct);
        try
        {
            if (closing is not null)
            {
                lock (_lock)
                {
                    if (_staged.Remove(closing.Id, out var staged)) closing = Merge(staged, closing);
                }
            }
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            if (closing is not null)
            {
                await WriteRowsAsync(connection, tx, [closing], ct);
                await using var end = new NpgsqlCommand("UPDATE ordens_producao_ativas SET ativa = false, fim = $2 WHERE id = $1", connection, tx);
                end.Parameters.Add(new NpgsqlParameter { Value = closing.Id });
                end.Parameters.Add(new NpgsqlParameter { Value = at });
                await end.ExecuteNonQueryAsync(ct);
            }
            long? id = null;
            if (next is not null)
            {
                await using var open = new NpgsqlCommand("""
                    INSERT INTO ordens_producao_ativas (instancia, linha, ordem, sku, lote, lote_id, quantidade_planejada, velocidade_nominal,
                        ativa, inicio, sensor, posicoes, ultima_amostra, atualizado_em)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9, $10::jsonb, $11::jsonb, NULL, $12)
                    RETURNING id
                    """, connection, tx);
                open.Parameters.Add(new NpgsqlParameter { Value = next.Instance });
                open.Parameters.Add(new NpgsqlParameter { Value = next.Linha });
                open.Parameters.Add(new NpgsqlParameter { Value = next.Ordem });
                open.Parameters.Add(new NpgsqlParameter { Value = (object?)next.Sku ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Varchar });
                open.Parameters.Add(new NpgsqlParameter { Value = (object?)next.Lote ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Varchar });
                open.Parameters.Add(new NpgsqlParameter { Value = (object?)next.LoteId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
                open.Parameters.Add(new NpgsqlParameter { Value = next.QuantidadePlanejada });
                open.Parameters.Add(new NpgsqlParameter { Value = next.VelocidadeNominal });
                open.Parameters.Add(new NpgsqlParameter { Value = next.Inicio });
                open.Parameters.Add(new NpgsqlParameter { Value = closing?.SensorJson ?? "{}" });
                open.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(closing?.Posicoes ?? new Dictionary<string, long>()) });
                open.Parameters.Add(new NpgsqlParameter { Value = time.GetUtcNow() });
                id = (long)(await open.ExecuteScalarAsync(ct))!;
            }
            await tx.CommitAsync(ct);
            return id;
        }
        catch when (closing is not null)
        {
            // Nothing switched: the row stays active, and what it had to write goes with the next flush.
            Stage(closing);
            throw;
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Writes the row now (with what was staged for it), durably: for a line that deactivates.</summary>
    public async Task WriteNowAsync(CounterRowWrite write, CancellationToken ct = default)
    {
        await _writing.WaitAsync(ct);
        try
        {
            lock (_lock)
            {
                if (_staged.Remove(write.Id, out var staged)) write = Merge(staged, write);
            }
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            await WriteRowsAsync(connection, tx, [write], ct);
            await tx.CommitAsync(ct);
        }
        catch
        {
            // Not lost: the next flush writes it (with any closed minutes it carries).
            Stage(write);
            throw;
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Writes everything staged in one transaction; what fails is staged again (unless something newer was).</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        await _writing.WaitAsync(ct);
        Dictionary<long, CounterRowWrite> batch;
        lock (_lock)
        {
            batch = _staged;
            _staged = [];
        }
        try
        {
            if (batch.Count == 0) return;
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            // Losing the last commits in a crash is harmless here: a row holds the positions of exactly the
            // records its counters include, so whatever version survives, the lines re-read from there.
            await using (var relaxed = new NpgsqlCommand("SET LOCAL synchronous_commit = off", connection, tx))
            {
                await relaxed.ExecuteNonQueryAsync(ct);
            }
            await WriteRowsAsync(connection, tx, [.. batch.Values], ct);
            await tx.CommitAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Could not write the counters of {Count} production lines; they are written with the next flush", batch.Count);
            lock (_lock)
            {
                foreach (var (id, write) in batch)
                {
                    _staged[id] = _staged.TryGetValue(id, out var newer) ? Merge(write, newer) : write;
                }
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>For each sensor file of the instance, the lowest position any active line stored: where a watcher resumes.</summary>
    public async Task<IReadOnlyDictionary<string, long>> FilePositionsAsync(string instance, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT p.key, min(p.value::bigint)
            FROM ordens_producao_ativas o, jsonb_each_text(o.posicoes) p
            WHERE o.instancia = $1 AND o.ativa
            GROUP BY p.key
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = instance });
        var positions = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) positions[reader.GetString(0)] = reader.GetInt64(1);
        return positions;
    }

    /// <summary>Per-minute history of a line in [<paramref name="from"/>, <paramref name="to"/>), oldest first, at most <paramref name="limit"/> rows.</summary>
    public async Task<IReadOnlyList<MinuteCount>> MinutesAsync(string instance, string linha, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT minuto, ordem, producao, rejeicao FROM contadores_minuto
            WHERE instancia = $1 AND linha = $2 AND minuto >= $3 AND minuto < $4
            ORDER BY minuto, ordem LIMIT $5
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = instance });
        command.Parameters.Add(new NpgsqlParameter { Value = linha });
        // timestamptz takes UTC only; a caller may have asked in its own offset.
        command.Parameters.Add(new NpgsqlParameter { Value = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = to.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var minutes = new List<MinuteCount>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            minutes.Add(new MinuteCount(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        }
        return minutes;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await FlushAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(CancellationToken.None);
    }

    private async Task WriteRowsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, IReadOnlyList<CounterRowWrite> rows, CancellationToken ct)
    {
        await using (var update = new NpgsqlCommand("""
            UPDATE ordens_producao_ativas AS o
            SET total = v.total, rejeitos = v.rejeitos, tempo_produzindo = v.tp, tempo_parado = v.td, reinicio_contador = v.rc,
                ultima_amostra = v.ua, sensor = v.sensor::jsonb, posicoes = v.pos::jsonb, versao = v.versao, atualizado_em = $11
            FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS v(id, versao, total, rejeitos, tp, td, rc, ua, sensor, pos)
            WHERE o.id = v.id AND o.versao < v.versao
            """, connection, tx))
        {
            update.Parameters.Add(NpgsqlArrays.Parameter("", rows.Select(r => r.Id), NpgsqlDbType.Bigint));
            update.Parameters.Add(NpgsqlArrays.Parameter("", rows.Select(r => r.Versao), NpgsqlDbType.Bigint));
            update.Parameters.Add(NpgsqlArrays.Parameter("", rows.Select(r => r.Total), NpgsqlDbType.Bigint));
            update.Parameters.Add(NpgsqlArrays.Parameter("", rows.Select(r => r.Rejeitos), NpgsqlDbType.Bigint));
            update.Parameters.Add(NpgsqlArrays.Parameter("", rows.Select(r => r.TempoProduzindo), NpgsqlDbType.Double));
            update.Parameters.Add(NpgsqlArrays.Parameter("", rows.Select(r => r.TempoParado), NpgsqlDbType.Double));
            update.Parameters.Add(NpgsqlArrays.Parameter("", rows.Select(r => r.ReinicioContador), NpgsqlDbType.Integer));
            update.Parameters.Add(NpgsqlArrays.Parameter("", rows.Select(r => r.UltimaAmostra?.UtcDateTime), NpgsqlDbType.TimestampTz));
            update.Parameters.Add(NpgsqlArrays.Parameter("", rows.Select(r => r.SensorJson), NpgsqlDbType.Text));
            update.Parameters.Add(NpgsqlArrays.Parameter("", rows.Select(r => JsonSerializer.Serialize(r.Posicoes)), NpgsqlDbType.Text));
            update.Parameters.Add(new NpgsqlParameter { Value = time.GetUtcNow() });
            await update.ExecuteNonQueryAsync(ct);
        }

        // One row per (line, minute, order): a batch may hold the same minute twice (a flush that failed and
        // a later one), and the later count is the whole minute.
        var minutes = rows
            .SelectMany(r => r.Minutes.Select(m => (r.Instance, r.Linha, m)))
            .GroupBy(x => (x.Instance, x.Linha, x.m.Minuto, x.m.Ordem))
            .Select(g => g.Last())
            .ToList();
        if (minutes.Count == 0) return;
        await using var insert = new NpgsqlCommand("""
            INSERT INTO contadores_minuto (instancia, linha, minuto, ordem, producao, rejeicao)
            SELECT * FROM unnest($1, $2, $3, $4, $5, $6)
            ON CONFLICT (instancia, linha, minuto, ordem) DO UPDATE SET producao = excluded.producao, rejeicao = excluded.rejeicao
            """, connection, tx);
        insert.Parameters.Add(NpgsqlArrays.Parameter("", minutes.Select(m => m.Instance), NpgsqlDbType.Text));
        insert.Parameters.Add(NpgsqlArrays.Parameter("", minutes.Select(m => m.Linha), NpgsqlDbType.Text));
        insert.Parameters.Add(NpgsqlArrays.Parameter("", minutes.Select(m => m.m.Minuto.UtcDateTime), NpgsqlDbType.TimestampTz));
        insert.Parameters.Add(NpgsqlArrays.Parameter("", minutes.Select(m => m.m.Ordem), NpgsqlDbType.Text));
        insert.Parameters.Add(NpgsqlArrays.Parameter("", minutes.Select(m => m.m.Producao), NpgsqlDbType.Bigint));
        insert.Parameters.Add(NpgsqlArrays.Parameter("", minutes.Select(m => m.m.Rejeicao), NpgsqlDbType.Bigint));
        await insert.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The newer write wins; the minutes of both go out.</summary>
    private static CounterRowWrite Merge(CounterRowWrite older, CounterRowWrite newer) =>
        older.Minutes.Count == 0 ? newer : newer with { Minutes = [.. older.Minutes, .. newer.Minutes] };
}
