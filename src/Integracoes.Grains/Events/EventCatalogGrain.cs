using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Events;
using Integracoes.Grains.Audit;

namespace Integracoes.Grains.Events;

public sealed class EventCatalogState
{
    public int Version { get; set; } = 1;
    public Dictionary<string, CatalogEvent> Custom { get; set; } = [];
}

public sealed class EventCatalogGrain(
    [PersistentState("eventcatalog", GrainStorage.Name)] IPersistentState<EventCatalogState> state,
    Auditor audit) : Grain, IEventCatalogGrain
{
    public const int MaxCustomEvents = 500;

    public Task<IReadOnlyList<CatalogEvent>> ListAsync() =>
        Task.FromResult<IReadOnlyList<CatalogEvent>>([.. EventCatalog.BuiltIn, .. state.State.Custom.Values.OrderBy(e => e.Nome, StringComparer.Ordinal)]);

    public Task<bool> IsKnownAsync(string evento) =>
        Task.FromResult(EventCatalog.IsBuiltIn(evento) || state.State.Custom.ContainsKey(evento));

    public async Task<Outcome<CatalogEvent>> RegisterAsync(string nome, string descricao, string exemploJson)
    {
        if (!EventCatalog.IsValidName(nome))
            return Outcome<CatalogEvent>.Invalid("nome", "nome: letters, digits, '_', '.', '-', 1 to 100 characters.");
        if (EventCatalog.IsBuiltIn(nome) || state.State.Custom.ContainsKey(nome))
            return Outcome<CatalogEvent>.Conflict("nome", $"the event '{nome}' already exists.");
        if (descricao.Length > 1_000) return Outcome<CatalogEvent>.Invalid("descricao", "descricao must be at most 1000 characters.");
        if (exemploJson.Length > 16 * 1024) return Outcome<CatalogEvent>.Invalid("exemplo", "exemplo must be at most 16 KiB.");
        if (state.State.Custom.Count >= MaxCustomEvents) return Outcome<CatalogEvent>.Conflict("nome", $"at most {MaxCustomEvents} custom events.");

        var added = new CatalogEvent(nome, descricao, exemploJson, "instancia-personalizado");
        state.State.Custom[nome] = added;
        await state.WriteStateAsync();
        await audit.RecordAsync(this.GetPrimaryKeyString(), AuditActions.Create, AuditResources.Event, nome, null, added);
        return Outcome<CatalogEvent>.Ok(added);
    }
}
