using System.Text;
using System.Threading.Channels;
using Integracoes.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Integracoes.BrokerTests;

/// <summary>The private RabbitMQ node works with RabbitMQ.Client 7, including a broker outage.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMqTests(RabbitMqFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private RabbitMqServer Server => fixture.Server;

    [Fact]
    public async Task Confirmed_publishes_to_a_durable_topic_exchange_reach_the_bound_queue_consumer_in_order()
    {
        await using var connection = await Factory().CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(ConfirmedChannel);
        var (exchange, queue) = await DeclareTopologyAsync(channel);

        var deliveries = Channel.CreateUnbounded<(string RoutingKey, string? MessageId, string Body)>();
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            // The body buffer is only valid during the handler: copy it out.
            deliveries.Writer.TryWrite((delivery.RoutingKey, delivery.BasicProperties.MessageId, Encoding.UTF8.GetString(delivery.Body.Span)));
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);

        // With confirmation tracking each publish returns only after the broker confirmed it.
        await PublishAsync(channel, exchange, "pedido.criado", "evt-1", """{"pedido":1}""");
        // An unroutable mandatory message comes back to the publisher instead of vanishing.
        await Assert.ThrowsAsync<PublishReturnException>(() => PublishAsync(channel, exchange, "cliente.criado", "evt-x", "{}"));
        await PublishAsync(channel, exchange, "pedido.pago", "evt-2", """{"pedido":1,"pago":true}""");

        using var timeout = new CancellationTokenSource(Patience);
        var first = await deliveries.Reader.ReadAsync(timeout.Token);
        var second = await deliveries.Reader.ReadAsync(timeout.Token);
        Assert.Equal(("pedido.criado", "evt-1", """{"pedido":1}"""), first);
        Assert.Equal(("pedido.pago", "evt-2", """{"pedido":1,"pago":true}"""), second);
    }

    [Fact]
    public async Task After_the_broker_stops_and_starts_again_the_client_recovers_and_persistent_messages_survive()
    {
        await using var connection = await Factory().CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(ConfirmedChannel);
        var (exchange, queue) = await DeclareTopologyAsync(channel);
        await PublishAsync(channel, exchange, "pedido.criado", "before", "antes da queda");

        await Server.StopAsync();
        await Eventually.TrueAsync(() => Task.FromResult(!connection.IsOpen), Patience, "the client to see the broker go away");
        await Assert.ThrowsAnyAsync<Exception>(() => PublishAsync(channel, exchange, "pedido.criado", "lost", "durante a queda"));

        await Server.StartAgainAsync();
        // Automatic recovery reopens the connection and the channel; until then publishing fails and is retried.
        await Eventually.TrueAsync(async () =>
        {
            await PublishAsync(channel, exchange, "pedido.criado", "after", "depois da queda");
            return true;
        }, TimeSpan.FromSeconds(60), "a publish after the broker came back");

        var before = await channel.BasicGetAsync(queue, autoAck: true);
        var after = await channel.BasicGetAsync(queue, autoAck: true);
        Assert.Equal("antes da queda", Encoding.UTF8.GetString(before!.Body.Span));
        Assert.Equal("depois da queda", Encoding.UTF8.GetString(after!.Body.Span));
        Assert.Null(await channel.BasicGetAsync(queue, autoAck: true));
    }

    private static CreateChannelOptions ConfirmedChannel =>
        new(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true);

    private ConnectionFactory Factory() => new()
    {
        Uri = Server.AmqpUri,
        AutomaticRecoveryEnabled = true,
        TopologyRecoveryEnabled = true,
        NetworkRecoveryInterval = TimeSpan.FromMilliseconds(500),
        RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        ClientProvidedName = "integracoes-broker-tests",
    };

    /// <summary>A durable topic exchange and a durable queue bound to <c>pedido.*</c>.</summary>
    private static async Task<(string Exchange, string Queue)> DeclareTopologyAsync(IChannel channel)
    {
        var exchange = Unique.Name("eventos");
        var queue = Unique.Name("sink");
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false);
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueueBindAsync(queue, exchange, "pedido.*");
        return (exchange, queue);
    }

    private static async Task PublishAsync(IChannel channel, string exchange, string routingKey, string messageId, string body)
    {
        var properties = new BasicProperties
        {
            Persistent = true,
            MessageId = messageId,
            ContentType = "application/json",
        };
        await channel.BasicPublishAsync(exchange, routingKey, mandatory: true, properties, Encoding.UTF8.GetBytes(body));
    }
}
