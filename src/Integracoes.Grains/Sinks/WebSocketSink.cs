using System.Diagnostics;
using Integracoes.Abstractions.Sinks;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Delivery.Sinks;
using Integracoes.Delivery.Webhooks;

namespace Integracoes.Grains.Sinks;

/// <summary>
/// WebSocket: the clients connected to <c>/ws/{instance}</c> on any silo. An attempt hands the envelope to
/// the instance's <see cref="WebSocketChannelGrain"/>, which pushes it to every silo hub with clients; each
/// hub only queues it per client. It is a live feed, not a store: the attempt is delivered once the hubs
/// have it, also when no client is connected (nothing is kept for clients that connect later). There is
/// no server to configure, so this sink is always available.
/// </summary>
public sealed class WebSocketSink(IGrainFactory grains, TimeProvider time) : IEventSink
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public string Kind => SinkKinds.WebSocket;

    public Task<string?> ProblemAsync(CancellationToken ct) => Task.FromResult<string?>(null);

    public async Task<AttemptResult> SendAsync(SinkMessage message, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var fanOut = await grains.GetGrain<IWebSocketChannelGrain>(message.Instance)
                .PublishAsync(new WebSocketEvent(message.Instance, message.Body)).WaitAsync(Timeout, time, ct);
            var text = $"websocket: {fanOut.Clients} client(s) on {fanOut.Silos} silo(s)"
                + (fanOut.Unreachable > 0 ? $", {fanOut.Unreachable} silo(s) did not answer" : "");
            return new AttemptResult(AttemptOutcome.Delivered, null, AttemptTiming.Since(started), text, null, null);
        }
        catch (Exception e)
        {
            return new AttemptResult(AttemptOutcome.Retry, null, AttemptTiming.Since(started), null, $"WebSocket channel: {e.Message}", null);
        }
    }
}
