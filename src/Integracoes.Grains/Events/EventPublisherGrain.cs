using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Events;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Grains.Webhooks;
using Integracoes.Storage.Deliveries;
using Orleans.Concurrency;

namespace Integracoes.Grains.Events;

/// <summary>
/// Where a delivery starts. Validates the event, finds the subscriptions that want it, commits the
/// event and one queue item per subscription in a single group-committed transaction, and only then
/// answers; the subscriptions are told afterwards (and the sweeper finds the rows if that message is
/// lost in a crash).
/// </summary>
// Reentrant: the grain holds no mutable state, and a publish spends most of its time waiting for the
// group commit; without it each worker would hold one publish at a time and batches would be of one.
[StatelessWorker, Reentrant]
public sealed class EventPublisherGrain(
    DeliveryLedger ledger,
    QueueIdAllocator queueIds,
    DeliverySettings settings,
    TimeProvider time) : Grain, IEventPublisherGrain
{
    public const int MaxIdempotencyKey = 200;

    public async Task<Outcome<PublishResult>> PublishAsync(PublishRequest request)
    {
        var instance = this.GetPrimaryKeyString();
        if (!EventCatalog.IsValidName(request.Evento))
            return Outcome<PublishResult>.Invalid("evento", "evento must be an event name (letters, digits, '_', '.', '-').");
        if (!IsJson(request.DadosJson))
            return Outcome<PublishResult>.Invalid("dados", "dados must be valid JSON.");
        if (System.Text.Encoding.UTF8.GetByteCount(request.DadosJson) > settings.MaxEventBytes)
            return Outcome<PublishResult>.Invalid("dados", $"dados must be at most {settings.MaxEventBytes} bytes.");
        if (request.Prioridade is < -100 or > 100)
            return Outcome<PublishResult>.Invalid("prioridade", "prioridade must be between -100 and 100.");
        if (request.IdempotencyKey is { } key && (key.Length is 0 or > MaxIdempotencyKey || key.Any(char.IsControl)))
            return Outcome<PublishResult>.Invalid("idempotency_key", $"idempotency_key must be 1 to {MaxIdempotencyKey} printable characters.");
        if (!await GrainFactory.GetGrain<IEventCatalogGrain>(instance).IsKnownAsync(request.Evento))
            return Outcome<PublishResult>.Invalid("evento", $"unknown event '{request.Evento}': see GET /api/integracoes/eventos/ or register it with POST /api/integracoes/eventos/.");

        if (request.IdempotencyKey is not null)
        {
            // One grain per key serialises concurrent requests with the same key.
            return await GrainFactory.GetGrain<IIdempotentPublishGrain>(IdempotentPublishGrain.KeyOf(instance, request.IdempotencyKey)).PublishOnceAsync(request);
        }
        return Outcome<PublishResult>.Ok(await PublishCoreAsync(GrainFactory, ledger, queueIds, time, instance, request));
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = System.Text.Json.JsonDocument.Parse(text, new System.Text.Json.JsonDocumentOptions { MaxDepth = 64 });
            // PostgreSQL json cannot store the NUL escape; refuse it here rather than fail the commit.
            return !text.Contains("\\u0000", StringComparison.Ordinal);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    internal static async Task<PublishResult> PublishCoreAsync(
        IGrainFactory grains, DeliveryLedger ledger, QueueIdAllocator queueIds, TimeProvider time, string instance, PublishRequest request)
    {
        var subscriptions = await grains.GetGrain<IWebhookRegistryGrain>(instance).MatchAsync(request.Evento);
        var ids = subscriptions.Count == 0 ? [] : await queueIds.NextAsync(subscriptions.Count);
        var eventId = Guid.CreateVersion7();
        var createdAt = time.GetUtcNow();
        var items = subscriptions.Select((subscription, i) => new NewQueueItem(ids[i], subscription.Id, request.Prioridade, subscription.Tipo)).ToList();

        await ledger.AcceptAsync(new AcceptedEvent(eventId, instance, request.Evento, request.DadosJson, createdAt, items, request.IdempotencyKey));

        foreach (var item in items)
        {
            var delivery = new QueuedDelivery(item.QueueId, eventId, request.Evento, request.DadosJson, createdAt, item.Prioridade, 0, createdAt);
            _ = grains.GetGrain<IWebhookSubscriptionGrain>(item.DestinationId).EnqueueAsync([delivery]);
        }
        return new PublishResult(eventId, items.Count, Repetido: false);
    }
}

[Alias("Integracoes.IIdempotentPublishGrain")]
public interface IIdempotentPublishGrain : IGrainWithStringKey
{
    [Alias("PublishOnce")]
    Task<Outcome<PublishResult>> PublishOnceAsync(PublishRequest request);
}

/// <summary>Keyed by instance and Idempotency-Key: the first answer within 24 hours is the answer.</summary>
public sealed class IdempotentPublishGrain(
    DeliveryLedger ledger,
    QueueIdAllocator queueIds,
    DeliveryQueries queries,
    TimeProvider time) : Grain, IIdempotentPublishGrain
{
    private PublishResult? _first;
    private DateTimeOffset _firstAt;

    public static string KeyOf(string instance, string key) => instance + "\n" + key;

    public async Task<Outcome<PublishResult>> PublishOnceAsync(PublishRequest request)
    {
        var separator = this.GetPrimaryKeyString().IndexOf('\n');
        var instance = this.GetPrimaryKeyString()[..separator];
        var now = time.GetUtcNow();
        if (_first is not null && now - _firstAt < TimeSpan.FromHours(24))
        {
            return Outcome<PublishResult>.Ok(_first with { Repetido = true });
        }
        if (await queries.FindIdempotentAsync(instance, request.IdempotencyKey!, now) is { } stored)
        {
            _first = new PublishResult(stored.EventId, stored.Entregas, false);
            _firstAt = now;
            return Outcome<PublishResult>.Ok(_first with { Repetido = true });
        }
        _first = await EventPublisherGrain.PublishCoreAsync(GrainFactory, ledger, queueIds, time, instance, request);
        _firstAt = now;
        // One activation per key would pile up at high rates; PostgreSQL remembers the answer.
        DeactivateOnIdle();
        return Outcome<PublishResult>.Ok(_first);
    }
}
