using System.Diagnostics;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Delivery.Webhooks;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Net;

namespace Integracoes.Delivery.Sinks;

/// <summary>
/// NATS: subject <c>&lt;instance&gt;.&lt;event&gt;</c>. When a JetStream stream covers the subject the
/// event is published there with <c>Nats-Msg-Id</c> = event id (the server drops a redelivered id) and
/// counts as delivered only once the stream acknowledged it; otherwise it is a core publish, delivered
/// once the server has it (flushed). One connection per silo, reconnecting by itself.
/// </summary>
public sealed class NatsSink : IEventSink, IAsyncDisposable
{
    private static readonly TimeSpan StreamLookupTtl = TimeSpan.FromSeconds(30);
    private readonly NatsClient _client;
    private readonly INatsJSContext _jetStream;
    private readonly ILogger<NatsSink> _logger;
    private readonly Dictionary<string, (string? Stream, long At)> _streams = new(StringComparer.Ordinal);
    private readonly Lock _streamsLock = new();

    public NatsSink(SinkConnections connections, ILogger<NatsSink> logger)
    {
        _logger = logger;
        _client = new NatsClient(new NatsOpts { Url = connections.NatsUrl!, Name = "integracoes", ConnectTimeout = TimeSpan.FromSeconds(5) });
        _jetStream = _client.CreateJetStreamContext();
    }

    public string Kind => SinkKinds.Nats;

    public static string Subject(string instance, string evento) => $"{instance}.{evento}";

    public async Task<string?> ProblemAsync(CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await _client.ConnectAsync();
            await _client.PingAsync(timeout.Token);
            return null;
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException or TimeoutException)
        {
            return $"the NATS server is not reachable: {e.Message}";
        }
    }

    public async Task<AttemptResult> SendAsync(SinkMessage message, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var subject = Subject(message.Instance, message.Evento);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            if (await StreamForAsync(subject, timeout.Token) is { } stream)
            {
                var ack = await _jetStream.PublishAsync(subject, message.Body,
                    opts: new NatsJSPubOpts { MsgId = message.EventId.ToString() }, cancellationToken: timeout.Token);
                ack.EnsureSuccess();
                return new AttemptResult(AttemptOutcome.Delivered, null, AttemptTiming.Since(started),
                    ack.Duplicate ? $"jetstream {stream} seq {ack.Seq} (duplicate)" : $"jetstream {stream} seq {ack.Seq}", null, null);
            }
            var headers = new NatsHeaders { ["Nats-Msg-Id"] = message.EventId.ToString() };
            await _client.PublishAsync(subject, message.Body, headers, cancellationToken: timeout.Token);
            // A core publish is fire-and-forget; a ping round trip means the server has processed it.
            await _client.PingAsync(timeout.Token);
            return new AttemptResult(AttemptOutcome.Delivered, null, AttemptTiming.Since(started), "core publish", null, null);
        }
        catch (Exception e) when (e is NatsException or NatsJSException or OperationCanceledException or TimeoutException)
        {
            return new AttemptResult(AttemptOutcome.Retry, null, AttemptTiming.Since(started), null, $"NATS: {e.Message}", null);
        }
    }

    /// <summary>The stream covering a subject, looked up at most every 30 s per subject (streams are created by operators).</summary>
    private async Task<string?> StreamForAsync(string subject, CancellationToken ct)
    {
        var now = Environment.TickCount64;
        lock (_streamsLock)
        {
            if (_streams.TryGetValue(subject, out var known) && now - known.At < StreamLookupTtl.TotalMilliseconds) return known.Stream;
        }
        string? stream = null;
        try
        {
            await foreach (var name in _jetStream.ListStreamNamesAsync(subject, ct))
            {
                stream = name;
                break;
            }
        }
        catch (NatsJSApiException e) when (e.Error.Code is 404 or 503)
        {
            stream = null;
        }
        catch (NatsJSApiNoResponseException)
        {
            // JetStream is not enabled on this server: core publish.
            stream = null;
        }
        lock (_streamsLock)
        {
            _streams[subject] = (stream, now);
        }
        if (stream is not null) _logger.LogDebug("NATS subject {Subject} is stored by stream {Stream}", subject, stream);
        return stream;
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
