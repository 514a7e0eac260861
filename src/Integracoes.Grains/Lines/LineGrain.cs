using System.Text.Json;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Lines;
using Integracoes.Abstractions.Sinks;
using Integracoes.Grains.Audit;
using Integracoes.Storage.Lines;
using Microsoft.Extensions.Logging;

namespace Integracoes.Grains.Lines;

/// <summary>
/// What a line is (Orleans storage). Its running order and counters live in its active row of
/// <c>ordens_producao_ativas</c>, the one source of truth for them, written in one transaction on a change of order.
/// </summary>
public sealed class LineState
{
    public int Version { get; set; } = 1;
    public bool Exists { get; set; }
    public string Nome { get; set; } = "";
    public string FamiliaMaquina { get; set; } = "";
    public string FonteSensor { get; set; } = SensorSources.None;
    public string SensorId { get; set; } = "";
    public double VelocidadeNominal { get; set; }
    public bool Ativa { get; set; } = true;

    /// <summary>Nominal speeds per SKU on this line from TOTVS (units per minute).</summary>
    public Dictionary<string, double> NominalPorSku { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Thresholds of the counting rules, and the per-instance line limit.</summary>
public sealed record LineSettings(TimeSpan StopAfter, TimeSpan StaleAfter, int MaxLinesPerInstance)
{
    public static readonly LineSettings Default = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), 5_000);
}

/// <summary>
/// One production line (docs/production-lines.md). Sensor records arrive in batches from the file
/// watcher; the counters are kept in memory, served from there, staged for the 5-second batched write
/// with the file positions they include, and pushed to <c>/ws/linhas</c> at most once a second.
/// </summary>
public sealed class LineGrain(
    [PersistentState("line", GrainStorage.Name)] IPersistentState<LineState> state,
    LineCounterStore store,
    LineSettings settings,
    Auditor audit,
    TimeProvider time,
    ILogger<LineGrain> logger) : Grain, ILineGrain
{
    private const int MaxPositions = 256;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private static readonly TimeSpan PublishEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan QuietChannelRecheck = TimeSpan.FromSeconds(5);

    private string _instance = "";
    private string _lineId = "";

    // The active row: which order it counts for, since when, and the counting state.
    private ProductionOrder? _order;
    private long _rowId;
    private long _versao;
    private DateTimeOffset _countingSince;
    private CounterEngine _engine = null!;
    private Dictionary<string, long> _positions = new(StringComparer.Ordinal);
    private readonly List<string> _touched = [];
    private readonly List<MinuteCount> _closedMinutes = [];
    private readonly HashSet<string> _positionsNotStored = new(StringComparer.Ordinal);
    private bool _dirty;
    private DateTimeOffset _lastReceived;

    // Once a second while the line changes: stage the row for the next flush, and push the counters to the
    // live feed (none while the channel has no listeners). Staging once a second, not per batch, keeps the
    // snapshot work off the ingestion path; a flush writes whichever consistent snapshot it finds.
    private IGrainTimer? _tick;
    private bool _unstaged;
    private bool _unpublished;
    private DateTimeOffset _quietUntil = DateTimeOffset.MinValue;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_instance, _lineId) = LineKeys.Parse(this.GetPrimaryKeyString());
        _engine = new CounterEngine(new SensorState(), new OrderCounts(), settings.StopAfter);
        if (state.State.Exists) await LoadCountersAsync(cancellationToken);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (state.State.Exists && (_dirty || _unstaged))
        {
            try
            {
                await store.WriteNowAsync(Snapshot(), cancellationToken);
                _dirty = _unstaged = false;
            }
            catch (Exception e)
            {
                // Staged as well: the silo's next flush writes it, and the files are re-read from the last write otherwise.
                logger.LogWarning(e, "Could not write the counters of line {Line} of {Instance} on deactivation", _lineId, _instance);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Definition

    public async Task<Outcome<LineView>> InitializeAsync(LineDefinition definition)
    {
        if (state.State.Exists) return Outcome<LineView>.Conflict("id", $"line '{_lineId}' already exists.");
        if (LineRules.Validate(definition) is { } error) return Outcome<LineView>.Invalid(error.Field, error.Message);
        var now = time.GetUtcNow();
        Apply(definition);
        state.State.CreatedAt = state.State.UpdatedAt = now;
        state.State.Exists = true;
        await state.WriteStateAsync();
        await OpenRowAsync(closeCurrent: false, order: null, now);
        return Outcome<LineView>.Ok(View());
    }

    public async Task<Outcome<LineView>> UpdateAsync(LineDefinition definition)
    {
        if (!state.State.Exists) return NotFound<LineView>();
        if (LineRules.Validate(definition) is { } error) return Outcome<LineView>.Invalid(error.Field, error.Message);
        Apply(definition);
        state.State.UpdatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return Outcome<LineView>.Ok(View());
    }

    public async Task<bool> DeleteAsync()
    {
        if (!state.State.Exists) return false;
        await store.SwitchAsync(Snapshot(), time.GetUtcNow(), next: null);
        await state.ClearStateAsync();
        state.State = new LineState();
        _dirty = false;
        DeactivateOnIdle();
        return true;
    }

    public Task<LineView?> GetAsync() => Task.FromResult(state.State.Exists ? View() : null);

    // ---------------------------------------------------------------------------------------------
    // Sensor records

    public async Task<IngestResult> IngestAsync(SensorBatch batch)
    {
        if (!state.State.Exists) return new IngestResult(0, batch.Readings.Count);
        var firstFromFile = !_positions.ContainsKey(batch.FileKey);
        var position = _positions.GetValueOrDefault(batch.FileKey, -1);
        int applied = 0, skipped = 0;
        foreach (var reading in batch.Readings)
        {
            // Already counted: an earlier run wrote counters that include this record.
            if (reading.EndOffset <= position)
            {
                skipped++;
                continue;
            }
            var counted = _engine.Apply(reading);
            if (counted.Reset)
            {
                logger.LogWarning("Line {Line} of {Instance}: counters went back in {File} at offset {Offset} (sensor restart or counter reset); counting from zero",
                    _lineId, _instance, batch.FileKey, reading.EndOffset);
            }
            if (counted.Closed is { } minute) _closedMinutes.Add(new MinuteCount(minute.Minuto, _order?.Ordem ?? "", minute.Producao, minute.Rejeicao));
            position = reading.EndOffset;
            applied++;
        }
        if (applied > 0)
        {
            Touch(batch.FileKey, position);
            _lastReceived = time.GetUtcNow();
            if (firstFromFile || _positionsNotStored.Contains(batch.FileKey))
            {
                // A watcher resumes each file at the lowest position the lines stored for it. A line that
                // has counted records of a file must therefore have a stored position for it, or a crash
                // before its next flush would let the others' positions skip its records: the first batch
                // from a file is written at once (once per line and file, again until it succeeds).
                await WriteFirstPositionAsync(batch.FileKey);
            }
            else
            {
                _unstaged = true;
            }
            Changed();
        }
        return new IngestResult(applied, skipped);
    }

    public Task<LineCounters?> GetCountersAsync() => Task.FromResult(state.State.Exists ? Counters() : null);

    // ---------------------------------------------------------------------------------------------
    // Orders

    public async Task<Outcome<LineCounters>> StartOrderAsync(ProductionOrder order)
    {
        if (!state.State.Exists) return NotFound<LineCounters>();
        if (LineRules.Validate(order) is { } error) return Outcome<LineCounters>.Invalid(error.Field, error.Message);
        if (_order is { } running)
        {
            return running.Ordem == order.Ordem
                ? Outcome<LineCounters>.Ok(Counters())
                : Outcome<LineCounters>.Conflict("ordem", $"line '{_lineId}' is running order '{running.Ordem}'; end it first.");
        }
        await OpenRowAsync(closeCurrent: true, order, time.GetUtcNow());
        await audit.RecordAsync(_instance, AuditActions.Update, AuditResources.Line, _lineId, null, order);
        Changed();
        return Outcome<LineCounters>.Ok(Counters());
    }

    public async Task<Outcome<OrderTotals>> EndOrderAsync(string ordem)
    {
        if (!state.State.Exists) return NotFound<OrderTotals>();
        if (string.IsNullOrEmpty(ordem)) return Outcome<OrderTotals>.Invalid("ordem", "ordem is required.");
        if (_order is not { } running || running.Ordem != ordem)
        {
            return Outcome<OrderTotals>.Conflict("ordem", $"order '{ordem}' is not running on line '{_lineId}'.");
        }
        var end = time.GetUtcNow();
        var final = Counters();
        await OpenRowAsync(closeCurrent: true, order: null, end);
        await audit.RecordAsync(_instance, AuditActions.Update, AuditResources.Line, _lineId, running, null);
        Changed();
        return Outcome<OrderTotals>.Ok(new OrderTotals(_lineId, running, final.Total, final.Bons, final.Rejeitos, final.TempoProduzindo, final.TempoParado, final.Oee, end));
    }

    public async Task SetNominalSpeedAsync(string sku, double unitsPerMinute)
    {
        if (!state.State.Exists || unitsPerMinute is <= 0 or > LineRules.MaxNominalSpeed || string.IsNullOrEmpty(sku) || sku.Length > LineRules.MaxCode) return;
        if (state.State.NominalPorSku.GetValueOrDefault(sku) == unitsPerMinute) return;
        state.State.NominalPorSku[sku] = unitsPerMinute;
        await state.WriteStateAsync();
        Changed();
    }

    // ---------------------------------------------------------------------------------------------
    // Counters

    private LineCounters Counters()
    {
        var s = state.State;
        var order = _order;
        var c = _engine.Counts;
        var (estado, desde) = _engine.State(order is not null, _countingSince);
        var nominal = NominalSpeed();
        var bons = Math.Max(0, c.Total - c.Rejeitos);
        var planned = c.TempoProduzindo + c.TempoParado;
        var availability = planned > 0 ? c.TempoProduzindo / planned : 0;
        var performance = c.TempoProduzindo > 0 && nominal > 0 ? c.Total / (c.TempoProduzindo / 60) / nominal : 0;
        var quality = c.Total > 0 ? (double)bons / c.Total : 0;
        var quantity = order?.QuantidadePlanejada ?? 0;
        var stale = s.FonteSensor != SensorSources.None && time.GetUtcNow() - _lastReceived > settings.StaleAfter;
        return new LineCounters(
            _lineId, s.Nome, order?.Ordem, order?.Sku, order?.Lote, estado, desde,
            c.Total, bons, c.Rejeitos, quantity, quantity > 0 ? (double)bons / quantity : 0,
            nominal, _engine.CurrentSpeed(), Math.Round(c.TempoProduzindo, 3), Math.Round(c.TempoParado, 3),
            Ratio(availability), Ratio(performance), Ratio(quality), Ratio(availability * performance * quality),
            c.UltimaAmostra, stale, c.ReinicioContador);
    }

    private static double Ratio(double value) => Math.Round(value, 4);

    private double NominalSpeed()
    {
        var s = state.State;
        if (_order is { } order)
        {
            if (s.NominalPorSku.TryGetValue(order.Sku, out var bySku)) return bySku;
            if (order.VelocidadeNominal is { } ofOrder) return ofOrder;
        }
        return s.VelocidadeNominal;
    }

    // ---------------------------------------------------------------------------------------------
    // Persistence of the counters

    private async Task LoadCountersAsync(CancellationToken ct)
    {
        var row = await store.LoadActiveAsync(_instance, _lineId, ct);
        if (row is null)
        {
            // The line was written but its first row was not (a crash in between): open it now.
            await OpenRowAsync(closeCurrent: false, order: null, time.GetUtcNow());
            return;
        }
        _order = row.Ordem.Length == 0 ? null
            : new ProductionOrder(row.Ordem, row.Sku ?? "", row.Lote ?? "", row.LoteId, row.QuantidadePlanejada,
                row.VelocidadeNominal > 0 ? row.VelocidadeNominal : null, row.Inicio);
        _rowId = row.Id;
        _versao = row.Versao;
        _countingSince = row.Inicio;
        var sensor = JsonSerializer.Deserialize<SensorState>(row.SensorJson, Json) ?? new SensorState();
        _engine = new CounterEngine(sensor, new OrderCounts
        {
            Total = row.Total,
            Rejeitos = row.Rejeitos,
            TempoProduzindo = row.TempoProduzindo,
            TempoParado = row.TempoParado,
            ReinicioContador = row.ReinicioContador,
            UltimaAmostra = row.UltimaAmostra,
        }, settings.StopAfter);
        _positions = new Dictionary<string, long>(row.Posicoes, StringComparer.Ordinal);
    }

    /// <summary>
    /// Ends the active row (when <paramref name="closeCurrent"/>) and opens the next one for <paramref name="order"/>,
    /// in one transaction. The open minute is closed into the ending row and the counting start moves first,
    /// so the sensor state both rows carry is already the new one's.
    /// </summary>
    private async Task OpenRowAsync(bool closeCurrent, ProductionOrder? order, DateTimeOffset at)
    {
        CounterRowWrite? closing = null;
        if (closeCurrent)
        {
            if (_engine.CloseMinute() is { } minute)
            {
                _closedMinutes.Add(new MinuteCount(minute.Minuto, _order?.Ordem ?? "", minute.Producao, minute.Rejeicao));
            }
            _engine.Sensor.CountingSince = _engine.Sensor.LastSample ?? at;
            closing = Snapshot();
        }
        var next = new NewCounterRow(_instance, _lineId, order?.Ordem ?? "", order?.Sku, order?.Lote, order?.LoteId,
            order?.QuantidadePlanejada ?? 0, order?.VelocidadeNominal ?? 0, at);
        var id = await store.SwitchAsync(closing, at, next);
        _order = order;
        _rowId = id!.Value;
        _versao = 0;
        _countingSince = at;
        _engine.Switch(new OrderCounts(), at);
        _dirty = _unstaged = false;
    }

    private CounterRowWrite Snapshot()
    {
        var c = _engine.Counts;
        List<MinuteCount> minutes = [.. _closedMinutes];
        _closedMinutes.Clear();
        return new CounterRowWrite(_rowId, ++_versao, _instance, _lineId, c.Total, c.Rejeitos, c.TempoProduzindo, c.TempoParado,
            c.ReinicioContador, c.UltimaAmostra, JsonSerializer.Serialize(_engine.Sensor, Json), new Dictionary<string, long>(_positions, StringComparer.Ordinal), minutes);
    }

    private async Task WriteFirstPositionAsync(string fileKey)
    {
        try
        {
            await store.WriteNowAsync(Snapshot());
            _positionsNotStored.Remove(fileKey);
            _dirty = _unstaged = false;
        }
        catch (Exception e)
        {
            _positionsNotStored.Add(fileKey);
            Stage();
            logger.LogWarning(e, "Line {Line} of {Instance} could not store its first position in {File}; it tries again with the next records", _lineId, _instance, fileKey);
        }
    }

    private void Stage()
    {
        store.Stage(Snapshot());
        _dirty = true;
    }

    /// <summary>Records the file position; keeps the positions of the most recently read files when there are too many.</summary>
    private void Touch(string fileKey, long position)
    {
        _positions[fileKey] = position;
        _touched.Remove(fileKey);
        _touched.Add(fileKey);
        if (_positions.Count <= MaxPositions) return;
        // Files this activation has not read go first; then the least recently read.
        var victim = _positions.Keys.FirstOrDefault(k => !_touched.Contains(k)) ?? _touched[0];
        _positions.Remove(victim);
        _touched.Remove(victim);
    }

    // ---------------------------------------------------------------------------------------------
    // Live feed

    private void Changed()
    {
        _unpublished = true;
        _tick ??= this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(PublishEvery, PublishEvery) { Interleave = true });
    }

    private async Task TickAsync(CancellationToken ct)
    {
        if (!state.State.Exists) return;
        if (_unstaged)
        {
            Stage();
            _unstaged = false;
        }
        if (_unpublished && time.GetUtcNow() >= _quietUntil)
        {
            _unpublished = false;
            await PublishAsync();
        }
        else if (!_unpublished)
        {
            // Nothing changed for a second: stop ticking until something does.
            _tick?.Dispose();
            _tick = null;
        }
    }

    private async Task PublishAsync()
    {
        var now = time.GetUtcNow();
        var channel = LineKeys.FeedChannel(_instance);
        var message = JsonSerializer.SerializeToUtf8Bytes(new { @event = "linha.contadores", instance = _instance, data = Counters() }, Json);
        try
        {
            var fanOut = await GrainFactory.GetGrain<IWebSocketChannelGrain>(channel).PublishAsync(new WebSocketEvent(channel, message));
            // Nobody listens: check again in a while instead of every second (a new client gets every line's counters when it connects).
            if (fanOut.Silos == 0) _quietUntil = now + QuietChannelRecheck;
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "Could not push the counters of line {Line} of {Instance}", _lineId, _instance);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    private void Apply(LineDefinition d)
    {
        var s = state.State;
        s.Nome = d.Nome.Trim();
        s.FamiliaMaquina = d.FamiliaMaquina.Trim();
        s.FonteSensor = d.FonteSensor;
        s.SensorId = string.IsNullOrWhiteSpace(d.SensorId) ? _lineId : d.SensorId.Trim();
        s.VelocidadeNominal = d.VelocidadeNominal;
        s.Ativa = d.Ativa;
    }

    private LineView View()
    {
        var s = state.State;
        return new LineView(_lineId, _instance, s.Nome, s.FamiliaMaquina, s.FonteSensor, s.SensorId, s.VelocidadeNominal, s.Ativa, _order, s.CreatedAt, s.UpdatedAt);
    }

    private Outcome<T> NotFound<T>() => Outcome<T>.NotFound($"line '{_lineId}' not found.");
}
