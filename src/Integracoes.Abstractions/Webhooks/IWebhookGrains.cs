using Integracoes.Abstractions.Common;
using Orleans.Concurrency;

namespace Integracoes.Abstractions.Webhooks;

/// <summary>
/// One webhook subscription, keyed by its id: its configuration, and the delivery loop for its
/// endpoint (queue, retries, circuit breaker, rate limit, concurrency bound).
/// </summary>
[Alias("Integracoes.IWebhookSubscriptionGrain")]
public interface IWebhookSubscriptionGrain : IGrainWithIntegerKey
{
    [Alias("Initialize")]
    Task<Outcome<WebhookWithSecret>> InitializeAsync(string instance, WebhookDefinition definition);

    [Alias("Update")]
    Task<Outcome<WebhookView>> UpdateAsync(string instance, WebhookDefinition definition);

    [Alias("Delete")]
    Task<bool> DeleteAsync(string instance);

    [Alias("Get"), ReadOnly]
    Task<WebhookView?> GetAsync(string instance);

    [Alias("RotateSecret")]
    Task<Outcome<WebhookWithSecret>> RotateSecretAsync(string instance);

    /// <summary>Sends a test event synchronously and logs the attempt.</summary>
    [Alias("Test")]
    Task<Outcome<WebhookTestResult>> TestAsync(string instance);

    /// <summary>New durable deliveries for this subscription (already committed to PostgreSQL).</summary>
    [Alias("Enqueue"), OneWay]
    Task EnqueueAsync(IReadOnlyList<QueuedDelivery> deliveries);

    /// <summary>Reload due deliveries from PostgreSQL (after a restart, a redrive, or from the sweeper).</summary>
    /// <param name="redriven">Queue items just put back to pending by a redrive, to send again even if this activation finished them.</param>
    [Alias("Wake"), OneWay]
    Task WakeAsync(IReadOnlyList<long>? redriven = null);
}

/// <summary>A subscription an event goes to, and its kind (<see cref="SinkKinds"/>): the queue item's <c>destino</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record MatchedDestination(
    [property: Id(0)] long Id,
    [property: Id(1)] string Tipo);

/// <summary>The subscriptions of one instance (keyed by instance): listing, limits and event matching.</summary>
[Alias("Integracoes.IWebhookRegistryGrain")]
public interface IWebhookRegistryGrain : IGrainWithStringKey
{
    [Alias("Create")]
    Task<Outcome<WebhookWithSecret>> CreateAsync(WebhookDefinition definition);

    [Alias("Update")]
    Task<Outcome<WebhookView>> UpdateAsync(long id, WebhookDefinition definition);

    [Alias("Delete")]
    Task<bool> DeleteAsync(long id);

    [Alias("List"), ReadOnly]
    Task<Page<WebhookView>> ListAsync(int limit, int offset);

    /// <summary>The active subscriptions that receive <paramref name="evento"/>, with their kind (recorded on each queue item).</summary>
    [Alias("MatchDestinations"), ReadOnly]
    Task<IReadOnlyList<MatchedDestination>> MatchAsync(string evento);

    /// <summary>
    /// Creates or replaces the instance's seed-002 sink of one kind (<c>POST /{tipo}/set/{instance}</c>):
    /// <c>events</c> empty means every event.
    /// </summary>
    [Alias("SetSink")]
    Task<Outcome<SinkSetResult>> SetSinkAsync(SinkSettings settings);

    /// <summary>The instance's sink of one kind, or null when it was never set.</summary>
    [Alias("FindSink"), ReadOnly]
    Task<WebhookView?> FindSinkAsync(string tipo);

    /// <summary>Keeps the matching index in step when a subscription disables itself.</summary>
    [Alias("SetActive")]
    Task SetActiveAsync(long id, bool ativo);
}

/// <summary>Runs the recovery sweep: wakes every subscription with due deliveries. Key 0.</summary>
[Alias("Integracoes.IDeliverySweeperGrain")]
public interface IDeliverySweeperGrain : IGrainWithIntegerKey
{
    [Alias("Start")]
    Task StartAsync();

    [Alias("Sweep")]
    Task<int> SweepAsync();
}
