using Integracoes.Delivery.Webhooks;

namespace Integracoes.Delivery.Sinks;

/// <summary>One delivery as a sink sends it: the event and the JSON envelope every destination receives.</summary>
/// <param name="Target">The destination's url, for sinks whose destinations differ (the TOTVS sink names its service there).</param>
public sealed record SinkMessage(string Instance, Guid EventId, string Evento, byte[] Body, string? Target = null);

/// <summary>
/// A destination kind other than HTTP webhooks (WebSocket, RabbitMQ, SQS, NATS, Pusher). The delivery
/// loop of <c>WebhookSubscriptionGrain</c> calls it exactly like the webhook sender: retries, circuit
/// breaker, dead letters and logs are the loop's, so a sink only sends and classifies the result.
/// </summary>
public interface IEventSink
{
    string Kind { get; }

    /// <summary>Null when the sink is configured and reachable; otherwise why not, for a problem answer.</summary>
    Task<string?> ProblemAsync(CancellationToken ct);

    /// <summary>Sends one event; never throws for what the server does (that is an <see cref="AttemptResult"/>).</summary>
    Task<AttemptResult> SendAsync(SinkMessage message, CancellationToken ct);
}

/// <summary>How long an attempt took, from a <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> taken before it.</summary>
public static class AttemptTiming
{
    public static double Since(long started) => System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
}

/// <summary>The sinks this silo can use, by kind.</summary>
public sealed class EventSinks(IEnumerable<IEventSink> sinks)
{
    private readonly Dictionary<string, IEventSink> _byKind = sinks.ToDictionary(s => s.Kind, StringComparer.Ordinal);

    public IEventSink? Find(string kind) => _byKind.GetValueOrDefault(kind);
}
