using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Lines;
using Integracoes.Abstractions.Services;
using Integracoes.Abstractions.Totvs;
using Integracoes.Grains.Audit;
using Integracoes.Grains.Hosting;
using Integracoes.Grains.Lines.Keyence;
using Integracoes.Storage.Executions;

namespace Integracoes.Grains.Services;

public sealed class ServiceRegistryState
{
    public int Version { get; set; } = 1;
    public Dictionary<long, RegistryEntry> Entries { get; set; } = [];
}

/// <summary>What the registry needs to enforce unique names and filter listings without asking every service.</summary>
public sealed record RegistryEntry(string Nome, string Tipo, bool Ativo);

public sealed class ServiceRegistryGrain(
    [PersistentState("serviceregistry", GrainStorage.Name)] IPersistentState<ServiceRegistryState> state,
    ServiceIdSequence ids,
    GrainLimits limits,
    KeyenceSettings keyence,
    Auditor audit) : Grain, IServiceRegistryGrain
{
    private string Instance => this.GetPrimaryKeyString();

    public async Task<Outcome<ServiceView>> CreateAsync(ServiceDefinition definition)
    {
        if (ServiceDefinitionRules.Validate(definition, definition.Credentials ?? new ServiceCredentials()) is { } error)
        {
            return Outcome<ServiceView>.Invalid(error.Field, error.Message);
        }
        if (KeyenceConfigRules.Read(definition.ConfigPadraoJson, keyence.Root).Error is { } keyenceError)
        {
            return Outcome<ServiceView>.Invalid(keyenceError.Field, keyenceError.Message);
        }
        if (NameTaken(definition.Nome, exceptId: null))
        {
            return Outcome<ServiceView>.Conflict("nome", $"a service named '{definition.Nome}' already exists.");
        }
        if (await OtherTotvsServiceAsync(definition, exceptId: null) is { } conflict)
        {
            return conflict;
        }
        if (state.State.Entries.Count >= limits.MaxServicesPerInstance)
        {
            return Outcome<ServiceView>.Conflict("nome", $"the instance already has the maximum of {limits.MaxServicesPerInstance} services.");
        }

        // The entry is recorded before the service exists, so a crash in between can never let a
        // second service take the same name; a listing skips an entry whose service never got written.
        var id = await ids.NextAsync();
        state.State.Entries[id] = new RegistryEntry(definition.Nome, definition.Tipo, definition.Ativo);
        await state.WriteStateAsync();

        var outcome = await Service(id).InitializeAsync(Instance, definition);
        if (!outcome.IsOk)
        {
            state.State.Entries.Remove(id);
            await state.WriteStateAsync();
            return outcome;
        }
        await audit.RecordAsync(Instance, AuditActions.Create, AuditResources.Service, Id(id), null, outcome.Value);
        await ConfigureWatcherAsync(id, outcome.Value);
        return outcome;
    }

    public async Task<Outcome<ServiceView>> UpdateAsync(long id, ServiceDefinition definition)
    {
        if (!state.State.Entries.ContainsKey(id))
        {
            return Outcome<ServiceView>.NotFound($"service {id} not found.");
        }
        if (NameTaken(definition.Nome, exceptId: id))
        {
            return Outcome<ServiceView>.Conflict("nome", $"a service named '{definition.Nome}' already exists.");
        }
        if (await OtherTotvsServiceAsync(definition, exceptId: id) is { } conflict)
        {
            return conflict;
        }
        var before = await Service(id).GetAsync(Instance);
        var outcome = await Service(id).UpdateAsync(Instance, definition);
        if (outcome.IsOk)
        {
            state.State.Entries[id] = new RegistryEntry(definition.Nome, definition.Tipo, definition.Ativo);
            await state.WriteStateAsync();
            await audit.RecordAsync(Instance, AuditActions.Update, AuditResources.Service, Id(id), before, outcome.Value);
            await ConfigureWatcherAsync(id, outcome.Value);
        }
        return outcome;
    }

    public async Task<bool> DeleteAsync(long id)
    {
        if (!state.State.Entries.ContainsKey(id))
        {
            return false;
        }
        var before = await Service(id).GetAsync(Instance);
        await Service(id).DeleteAsync(Instance);
        state.State.Entries.Remove(id);
        await state.WriteStateAsync();
        await audit.RecordAsync(Instance, AuditActions.Delete, AuditResources.Service, Id(id), before, null);
        await ConfigureWatcherAsync(id, null);
        return true;
    }

    public async Task<Page<ServiceView>> ListAsync(ServiceFilter filter)
    {
        var matching = state.State.Entries
            .Where(e => (filter.Tipo is null || e.Value.Tipo == filter.Tipo) && (filter.Ativo is null || e.Value.Ativo == filter.Ativo))
            .Select(e => e.Key)
            .Order()
            .ToList();
        var pageIds = matching.Skip(filter.Offset).Take(filter.Limit).ToList();
        var views = await Task.WhenAll(pageIds.Select(id => Service(id).GetAsync(Instance)));
        return new Page<ServiceView>(matching.Count, [.. views.OfType<ServiceView>()], filter.Limit, filter.Offset);
    }

    /// <summary>The instance's KEYENCE watcher reads what an active service's <c>clps.keyence</c> names, and stops reading what it no longer names.</summary>
    private async Task ConfigureWatcherAsync(long id, ServiceView? view)
    {
        var source = view is { Ativo: true } ? KeyenceConfigRules.Read(view.ConfigPadraoJson, keyence.Root).Source : null;
        await GrainFactory.GetGrain<IKeyenceWatcherGrain>(Instance).ConfigureAsync(id, source);
    }

    /// <summary>
    /// One TOTVS service per instance: the instance's <c>totvs</c> destination names one service, and the
    /// lots it pushes belong to one ERP. Only <c>erp</c> services can carry <c>config_padrao.totvs</c>.
    /// </summary>
    private async Task<Outcome<ServiceView>?> OtherTotvsServiceAsync(ServiceDefinition definition, long? exceptId)
    {
        if (!TotvsSettings.IsTotvs(definition.ConfigPadraoJson)) return null;
        foreach (var id in state.State.Entries.Where(e => e.Key != exceptId && e.Value.Tipo == "erp").Select(e => e.Key))
        {
            if (await Service(id).GetAsync(Instance) is { } other && TotvsSettings.IsTotvs(other.ConfigPadraoJson))
            {
                return Outcome<ServiceView>.Conflict("config_padrao.totvs",
                    $"service {Id(id)} ('{other.Nome}') is already the instance's TOTVS connection: an instance has one; change or delete that one.");
            }
        }
        return null;
    }

    private bool NameTaken(string nome, long? exceptId) =>
        state.State.Entries.Any(e => e.Key != exceptId && string.Equals(e.Value.Nome, nome, StringComparison.OrdinalIgnoreCase));

    private static string Id(long id) => id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private IIntegrationServiceGrain Service(long id) => GrainFactory.GetGrain<IIntegrationServiceGrain>(id);
}
