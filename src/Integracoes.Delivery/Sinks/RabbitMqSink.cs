using System.Collections.Concurrent;
using System.Diagnostics;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Delivery.Webhooks;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Integracoes.Delivery.Sinks;

/// <summary>
/// RabbitMQ: per instance a durable topic exchange (<c>&lt;prefix&gt;&lt;instance&gt;</c>); each event is a
/// persistent message with the event name as routing key and the event id as message id, and counts as
/// delivered only when the broker confirmed it (publisher confirms). One connection per silo with
/// automatic recovery; while the broker is away attempts fail and the delivery loop retries them, so what
/// was pending goes out once it is back. Unroutable messages (no queue bound) are the consumer's choice:
/// the exchange accepted them.
/// </summary>
public sealed class RabbitMqSink(SinkConnections connections, ILogger<RabbitMqSink> logger) : IEventSink, IAsyncDisposable
{
    private const int MaxChannels = 8;
    private readonly ConnectionFactory _factory = new()
    {
        Uri = new Uri(connections.RabbitMqUri!),
        AutomaticRecoveryEnabled = true,
        TopologyRecoveryEnabled = true,
        NetworkRecoveryInterval = TimeSpan.FromSeconds(2),
        RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        ClientProvidedName = "integracoes",
    };
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private readonly SemaphoreSlim _channelSlots = new(MaxChannels, MaxChannels);
    private readonly ConcurrentBag<IChannel> _idle = [];
    private readonly ConcurrentDictionary<string, bool> _declared = new(StringComparer.Ordinal);
    private IConnection? _connection;

    public string Kind => SinkKinds.RabbitMq;

    public string Exchange(string instance) => connections.RabbitMqExchangePrefix + instance;

    public async Task<string?> ProblemAsync(CancellationToken ct)
    {
        try
        {
            var connection = await ConnectionAsync(ct);
            return connection.IsOpen ? null : "the RabbitMQ connection is closed (the broker is recovering).";
        }
        catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or AlreadyClosedException or IOException or TimeoutException)
        {
            return $"RabbitMQ is not reachable: {e.Message}";
        }
    }

    public async Task<AttemptResult> SendAsync(SinkMessage message, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        await _channelSlots.WaitAsync(ct);
        IChannel? channel = null;
        try
        {
            channel = await ChannelAsync(ct);
            var exchange = Exchange(message.Instance);
            if (!_declared.ContainsKey(exchange))
            {
                await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: ct);
                _declared[exchange] = true;
            }
            var properties = new BasicProperties
            {
                Persistent = true,
                MessageId = message.EventId.ToString(),
                Type = message.Evento,
                ContentType = "application/json",
                AppId = "integracoes",
                Timestamp = new AmqpTimestamp(DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
            };
            // With confirmation tracking the call returns once the broker confirmed (or throws on a nack).
            await channel.BasicPublishAsync(exchange, message.Evento, mandatory: false, properties, message.Body, ct);
            _idle.Add(channel);
            channel = null;
            return new AttemptResult(AttemptOutcome.Delivered, null, AttemptTiming.Since(started), $"confirmed by exchange {exchange}", null, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The channel may be broken: drop it, and the exchange may need declaring again on a new one.
            _declared.Clear();
            logger.LogDebug(e, "RabbitMQ publish of event {EventId} failed", message.EventId);
            return new AttemptResult(AttemptOutcome.Retry, null, AttemptTiming.Since(started), null, $"RabbitMQ: {e.GetType().Name}: {e.Message}", null);
        }
        finally
        {
            if (channel is not null) await DisposeQuietlyAsync(channel);
            _channelSlots.Release();
        }
    }

    private async Task<IChannel> ChannelAsync(CancellationToken ct)
    {
        while (_idle.TryTake(out var idle))
        {
            if (idle.IsOpen) return idle;
            await DisposeQuietlyAsync(idle);
        }
        var connection = await ConnectionAsync(ct);
        // While automatic recovery reconnects, a new channel would wait for it: fail this attempt now and
        // let the delivery loop retry on its schedule.
        if (!connection.IsOpen) throw new IOException("the connection to RabbitMQ is recovering");
        return await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct);
    }

    private async Task<IConnection> ConnectionAsync(CancellationToken ct)
    {
        if (_connection is { } open) return open;
        await _connecting.WaitAsync(ct);
        try
        {
            // Created once; after that automatic recovery keeps it (a first connection that fails is retried here).
            _connection ??= await _factory.CreateConnectionAsync(ct);
            return _connection;
        }
        finally
        {
            _connecting.Release();
        }
    }

    private static async Task DisposeQuietlyAsync(IChannel channel)
    {
        try
        {
            await channel.DisposeAsync();
        }
        catch (Exception)
        {
            // Closing a channel of a dead connection can fail; there is nothing left to release.
        }
    }

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryTake(out var channel)) await DisposeQuietlyAsync(channel);
        if (_connection is not null) await _connection.DisposeAsync();
    }
}
