using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Lines;
using Integracoes.Grains.Audit;

namespace Integracoes.Grains.Lines;

public sealed class LineRegistryState
{
    public int Version { get; set; } = 1;

    /// <summary>Line id to where its counts come from, so the file watcher can route without asking every line.</summary>
    public Dictionary<string, LineSensor> Lines { get; set; } = new(StringComparer.Ordinal);
}

public sealed record LineSensor(string FonteSensor, string SensorId);

/// <summary>The lines of one instance: ids, the limit, and the sensor-id index the file watcher routes by.</summary>
public sealed class LineRegistryGrain(
    [PersistentState("lineregistry", GrainStorage.Name)] IPersistentState<LineRegistryState> state,
    LineSettings settings,
    Auditor audit) : Grain, ILineRegistryGrain
{
    private string Instance => this.GetPrimaryKeyString();

    public async Task<Outcome<LineView>> CreateAsync(string id, LineDefinition definition)
    {
        if (!LineKeys.IsValidId(id)) return Outcome<LineView>.Invalid("id", $"id must be 1 to {LineKeys.MaxId} letters, digits, '-', '_' or '.'.");
        if (LineRules.Validate(definition) is { } error) return Outcome<LineView>.Invalid(error.Field, error.Message);
        if (state.State.Lines.ContainsKey(id)) return Outcome<LineView>.Conflict("id", $"line '{id}' already exists.");
        if (state.State.Lines.Count >= settings.MaxLinesPerInstance)
            return Outcome<LineView>.Conflict("id", $"the instance already has the maximum of {settings.MaxLinesPerInstance} lines.");
        var sensorId = string.IsNullOrWhiteSpace(definition.SensorId) ? id : definition.SensorId.Trim();
        if (SensorTaken(definition.FonteSensor, sensorId, exceptLine: null) is { } other)
            return Outcome<LineView>.Conflict("sensor_id", $"line '{other}' already reads sensor '{sensorId}'.");

        // Recorded first, so a crash in between can never let a second line take the id.
        state.State.Lines[id] = new LineSensor(definition.FonteSensor, sensorId);
        await state.WriteStateAsync();
        var outcome = await Line(id).InitializeAsync(definition);
        if (!outcome.IsOk)
        {
            state.State.Lines.Remove(id);
            await state.WriteStateAsync();
            return outcome;
        }
        await audit.RecordAsync(Instance, AuditActions.Create, AuditResources.Line, id, null, outcome.Value);
        return outcome;
    }

    public async Task<Outcome<LineView>> UpdateAsync(string id, LineDefinition definition)
    {
        if (!state.State.Lines.ContainsKey(id)) return Outcome<LineView>.NotFound($"line '{id}' not found.");
        var sensorId = string.IsNullOrWhiteSpace(definition.SensorId) ? id : definition.SensorId.Trim();
        if (SensorTaken(definition.FonteSensor, sensorId, exceptLine: id) is { } other)
            return Outcome<LineView>.Conflict("sensor_id", $"line '{other}' already reads sensor '{sensorId}'.");
        var before = await Line(id).GetAsync();
        var outcome = await Line(id).UpdateAsync(definition);
        if (outcome.IsOk)
        {
            state.State.Lines[id] = new LineSensor(definition.FonteSensor, sensorId);
            await state.WriteStateAsync();
            await audit.RecordAsync(Instance, AuditActions.Update, AuditResources.Line, id, before, outcome.Value);
        }
        return outcome;
    }

    public async Task<bool> DeleteAsync(string id)
    {
        if (!state.State.Lines.ContainsKey(id)) return false;
        var before = await Line(id).GetAsync();
        await Line(id).DeleteAsync();
        state.State.Lines.Remove(id);
        await state.WriteStateAsync();
        await audit.RecordAsync(Instance, AuditActions.Delete, AuditResources.Line, id, before, null);
        return true;
    }

    public async Task<Page<LineView>> ListAsync(int limit, int offset)
    {
        var ids = state.State.Lines.Keys.Order(StringComparer.Ordinal).ToList();
        var views = await Task.WhenAll(ids.Skip(offset).Take(limit).Select(id => Line(id).GetAsync()));
        return new Page<LineView>(ids.Count, [.. views.OfType<LineView>()], limit, offset);
    }

    public Task<IReadOnlyList<string>> IdsAsync() =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Lines.Keys.Order(StringComparer.Ordinal)]);

    public async Task<IReadOnlyList<LineCounters>> CountersAsync()
    {
        var counters = await Task.WhenAll(state.State.Lines.Keys.Order(StringComparer.Ordinal).Select(id => Line(id).GetCountersAsync()));
        return [.. counters.OfType<LineCounters>()];
    }

    public Task<IReadOnlyDictionary<string, string>> SensorMapAsync(string source) =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(state.State.Lines
            .Where(l => l.Value.FonteSensor == source)
            .ToDictionary(l => l.Value.SensorId, l => l.Key, StringComparer.Ordinal));

    private string? SensorTaken(string source, string sensorId, string? exceptLine) =>
        source == SensorSources.None ? null
        : state.State.Lines.FirstOrDefault(l => l.Key != exceptLine && l.Value.FonteSensor == source && l.Value.SensorId == sensorId).Key;

    private ILineGrain Line(string id) => GrainFactory.GetGrain<ILineGrain>(LineKeys.For(Instance, id));
}
