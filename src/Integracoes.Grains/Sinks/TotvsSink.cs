using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Integracoes.Abstractions.Totvs;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Delivery.Sinks;
using Integracoes.Delivery.Webhooks;

namespace Integracoes.Grains.Sinks;

/// <summary>
/// TOTVS: a closed lot's totals (the event's <c>data</c>) POSTed to the service's <c>ordens</c> endpoint
/// with its bearer token and the event id as <c>Idempotency-Key</c>. The destination's url names the
/// service (<c>servico:{id}</c>); its <see cref="ITotvsSyncGrain"/> holds the connection and makes the
/// call, so credentials are decrypted only there. 2xx delivered; 401 after a fresh token, 408, 425,
/// 429, 5xx and no answer retried; other 4xx rejected (final).
/// </summary>
public sealed class TotvsSink(IGrainFactory grains) : IEventSink
{
    public string Kind => SinkKinds.Totvs;

    public Task<string?> ProblemAsync(CancellationToken ct) => Task.FromResult<string?>(null);

    public async Task<AttemptResult> SendAsync(SinkMessage message, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        if (ServiceOf(message.Target) is not { } serviceId)
            return new AttemptResult(AttemptOutcome.Retry, null, AttemptTiming.Since(started), null, "the totvs destination names no service", null);
        string data;
        using (var envelope = JsonDocument.Parse(message.Body))
        {
            data = envelope.RootElement.GetProperty("data").GetRawText();
        }
        try
        {
            var result = await grains.GetGrain<ITotvsSyncGrain>(serviceId).PushAsync(message.Instance, message.EventId, data).WaitAsync(ct);
            var outcome = result.Outcome switch
            {
                TotvsPushOutcomes.Delivered => AttemptOutcome.Delivered,
                TotvsPushOutcomes.Rejected => AttemptOutcome.Rejected,
                _ => AttemptOutcome.Retry,
            };
            return new AttemptResult(outcome, result.StatusCode, AttemptTiming.Since(started), result.Body, result.Error, result.RetryAfter);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new AttemptResult(AttemptOutcome.Retry, null, AttemptTiming.Since(started), null, $"TOTVS service {serviceId}: {e.GetType().Name}", null);
        }
    }

    private static long? ServiceOf(string? target) =>
        target is not null && target.StartsWith("servico:", StringComparison.Ordinal)
        && long.TryParse(target.AsSpan("servico:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
}
