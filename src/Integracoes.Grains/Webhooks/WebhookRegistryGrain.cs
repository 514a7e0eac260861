using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Grains.Audit;
using Npgsql;

namespace Integracoes.Grains.Webhooks;

public sealed class WebhookRegistryState
{
    public int Version { get; set; } = 1;
    public Dictionary<long, WebhookRegistryEntry> Entries { get; set; } = [];

    /// <summary>The seed-002 sinks of the instance: one destination id per kind.</summary>
    public Dictionary<string, long> Sinks { get; set; } = [];
}

/// <summary>What event matching needs, kept in the registry so a publish asks one grain, not every subscription.</summary>
public sealed record WebhookRegistryEntry(List<string> Eventos, bool Ativo);

public sealed class WebhookRegistryGrain(
    [PersistentState("webhookregistry", GrainStorage.Name)] IPersistentState<WebhookRegistryState> state,
    NpgsqlDataSource dataSource,
    DeliverySettings settings,
    Auditor audit) : Grain, IWebhookRegistryGrain
{
    private string Instance => this.GetPrimaryKeyString();

    public async Task<Outcome<WebhookWithSecret>> CreateAsync(WebhookDefinition definition)
    {
        if (state.State.Entries.Count >= settings.MaxSubscriptionsPerInstance)
        {
            return Outcome<WebhookWithSecret>.Conflict("nome", $"the instance already has the maximum of {settings.MaxSubscriptionsPerInstance} webhooks.");
        }
        await using var command = dataSource.CreateCommand("SELECT nextval('webhooks_id_seq')");
        var id = (long)(await command.ExecuteScalarAsync())!;
        var outcome = await Subscription(id).InitializeAsync(Instance, definition);
        if (outcome.IsOk)
        {
            state.State.Entries[id] = new WebhookRegistryEntry([.. definition.Eventos], definition.Ativo);
            await state.WriteStateAsync();
            await audit.RecordAsync(Instance, AuditActions.Create, AuditResources.Webhook, Id(id), null, outcome.Value!.Webhook);
        }
        return outcome;
    }

    public async Task<Outcome<WebhookView>> UpdateAsync(long id, WebhookDefinition definition)
    {
        if (!state.State.Entries.ContainsKey(id))
        {
            return Outcome<WebhookView>.NotFound($"webhook {id} not found.");
        }
        var before = await Subscription(id).GetAsync(Instance);
        var outcome = await Subscription(id).UpdateAsync(Instance, definition);
        if (outcome.IsOk)
        {
            state.State.Entries[id] = new WebhookRegistryEntry([.. definition.Eventos], definition.Ativo);
            await state.WriteStateAsync();
            await audit.RecordAsync(Instance, AuditActions.Update, AuditResources.Webhook, Id(id), before, outcome.Value);
        }
        return outcome;
    }

    public async Task<bool> DeleteAsync(long id)
    {
        if (!state.State.Entries.Remove(id))
        {
            return false;
        }
        foreach (var kind in state.State.Sinks.Where(s => s.Value == id).Select(s => s.Key).ToList())
        {
            state.State.Sinks.Remove(kind);
        }
        var before = await Subscription(id).GetAsync(Instance);
        await state.WriteStateAsync();
        await Subscription(id).DeleteAsync(Instance);
        await audit.RecordAsync(Instance, AuditActions.Delete, AuditResources.Webhook, Id(id), before, null);
        return true;
    }

    public async Task<Page<WebhookView>> ListAsync(int limit, int offset)
    {
        var ids = state.State.Entries.Keys.Order().ToList();
        var views = await Task.WhenAll(ids.Skip(offset).Take(limit).Select(id => Subscription(id).GetAsync(Instance)));
        return new Page<WebhookView>(ids.Count, [.. views.OfType<WebhookView>()], limit, offset);
    }

    public Task<IReadOnlyList<MatchedDestination>> MatchAsync(string evento)
    {
        // A destination is a webhook unless the instance's sinks name it (one id per kind).
        var kinds = state.State.Sinks.ToDictionary(s => s.Value, s => s.Key);
        return Task.FromResult<IReadOnlyList<MatchedDestination>>(
            [.. state.State.Entries
                .Where(e => e.Value.Ativo && (e.Value.Eventos.Contains("*") || e.Value.Eventos.Contains(evento)))
                .Select(e => new MatchedDestination(e.Key, kinds.GetValueOrDefault(e.Key, SinkKinds.Webhook)))]);
    }

    public async Task<Outcome<SinkSetResult>> SetSinkAsync(SinkSettings sink)
    {
        if (!SinkKinds.IsKnown(sink.Tipo)) return Outcome<SinkSetResult>.NotFound($"unknown sink '{sink.Tipo}'.");
        var definition = new WebhookDefinition(
            Nome: sink.Tipo,
            Url: sink.Url ?? "",
            Eventos: sink.Events.Count == 0 ? ["*"] : sink.Events,
            Ativo: sink.Enabled,
            Headers: new Dictionary<string, string>(),
            Timeout: WebhookDefaults.Timeout,
            // WebSocket too: its attempts fail only while a channel grain moves (seconds), and they hold the feed back in order.
            RetrySchedule: sink.Tipo is SinkKinds.Webhook ? WebhookDefaults.RetrySchedule : WebhookDefaults.ServerRetrySchedule,
            RateLimit: null,
            MaxConcurrency: WebhookDefaults.MaxConcurrency,
            Secret: null,
            Tipo: sink.Tipo,
            PorEvento: sink.WebhookByEvents,
            Base64: sink.WebhookBase64,
            Sink: true);
        if (state.State.Sinks.TryGetValue(sink.Tipo, out var id) && state.State.Entries.ContainsKey(id))
        {
            var updated = await UpdateAsync(id, definition);
            return updated.IsOk ? Outcome<SinkSetResult>.Ok(new SinkSetResult(updated.Value!, null)) : updated.As<SinkSetResult>();
        }
        var created = await CreateAsync(definition);
        if (!created.IsOk) return created.As<SinkSetResult>();
        state.State.Sinks[sink.Tipo] = created.Value!.Webhook.Id;
        await state.WriteStateAsync();
        return Outcome<SinkSetResult>.Ok(new SinkSetResult(created.Value.Webhook, created.Value.Secret));
    }

    public async Task<WebhookView?> FindSinkAsync(string tipo) =>
        state.State.Sinks.TryGetValue(tipo, out var id) ? await Subscription(id).GetAsync(Instance) : null;

    public async Task SetActiveAsync(long id, bool ativo)
    {
        if (state.State.Entries.TryGetValue(id, out var entry) && entry.Ativo != ativo)
        {
            state.State.Entries[id] = entry with { Ativo = ativo };
            await state.WriteStateAsync();
        }
    }

    private static string Id(long id) => id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private IWebhookSubscriptionGrain Subscription(long id) => GrainFactory.GetGrain<IWebhookSubscriptionGrain>(id);
}
