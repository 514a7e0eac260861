using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Integracoes.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Integracoes.BrokerTests;

/// <summary>The RabbitMQ sink, from the HTTP API to a queue bound to the instance's exchange, including a broker outage.</summary>
[Collection(SinkClusterCollection.Name)]
public sealed class RabbitMqSinkTests(SinkClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private sealed record Received(string RoutingKey, string? MessageId, DeliveryModes Mode, JsonElement Body);

    /// <summary>A durable queue bound to everything on the instance's exchange, consumed into a channel.</summary>
    private async Task<(IConnection Connection, ChannelReader<Received> Messages)> ConsumeAsync(string instance)
    {
        var factory = new ConnectionFactory { Uri = fixture.RabbitMq.AmqpUri, AutomaticRecoveryEnabled = true, NetworkRecoveryInterval = TimeSpan.FromSeconds(1) };
        var connection = await factory.CreateConnectionAsync();
        var channel = await connection.CreateChannelAsync();
        var exchange = "integracoes." + instance;
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false);
        var queue = instance + ".leitor";
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueueBindAsync(queue, exchange, "#");
        var messages = Channel.CreateUnbounded<Received>();
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            messages.Writer.TryWrite(new Received(delivery.RoutingKey, delivery.BasicProperties.MessageId, delivery.BasicProperties.DeliveryMode,
                JsonDocument.Parse(Encoding.UTF8.GetString(delivery.Body.Span)).RootElement.Clone()));
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        return (connection, messages.Reader);
    }

    [Fact]
    public async Task Events_are_confirmed_persistent_messages_on_the_instance_exchange_routed_by_event_name_in_order()
    {
        using var http = await fixture.InstanceAsync("rmq-order");
        var (connection, messages) = await ConsumeAsync("rmq-order");
        await using var _ = connection;
        var set = await http.PostAsJsonAsync("rabbitmq/set/rmq-order", new { enabled = true, events = new[] { "MESSAGES_UPSERT", "SEND_MESSAGE" } });
        Assert.True(set.IsSuccessStatusCode, await set.Content.ReadAsStringAsync());
        var found = JsonDocument.Parse(await http.GetStringAsync("rabbitmq/find/rmq-order")).RootElement;
        Assert.Equal(["MESSAGES_UPSERT", "SEND_MESSAGE"], found.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.True(found.GetProperty("enabled").GetBoolean());

        var ids = new List<Guid>();
        foreach (var (evento, n) in new[] { ("MESSAGES_UPSERT", 1), ("CONNECTION_UPDATE", 0), ("SEND_MESSAGE", 2), ("MESSAGES_UPSERT", 3) })
        {
            var id = await SinkClusterFixture.PublishAsync(http, evento, new { n });
            if (n > 0) ids.Add(id);
        }
        using var timeout = new CancellationTokenSource(Patience);
        var received = new List<Received>();
        for (var i = 0; i < 3; i++) received.Add(await messages.ReadAsync(timeout.Token));

        Assert.Equal(["MESSAGES_UPSERT", "SEND_MESSAGE", "MESSAGES_UPSERT"], received.Select(r => r.RoutingKey));
        Assert.Equal(ids.Select(id => id.ToString()), received.Select(r => r.MessageId));
        Assert.All(received, r => Assert.Equal(DeliveryModes.Persistent, r.Mode));
        Assert.Equal([1, 2, 3], received.Select(r => r.Body.GetProperty("data").GetProperty("n").GetInt32()));
        Assert.All(received, r => Assert.Equal("rmq-order", r.Body.GetProperty("instance").GetString()));
    }

    [Fact]
    public async Task Events_published_while_the_broker_is_down_all_arrive_in_order_after_it_comes_back()
    {
        using var http = await fixture.InstanceAsync("rmq-outage");
        var (connection, messages) = await ConsumeAsync("rmq-outage");
        await using var _ = connection;
        Assert.True((await http.PostAsJsonAsync("rabbitmq/set/rmq-outage", new { enabled = true, events = Array.Empty<string>() })).IsSuccessStatusCode);
        var before = await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 0 });
        using (var first = new CancellationTokenSource(Patience))
        {
            Assert.Equal(before.ToString(), (await messages.ReadAsync(first.Token)).MessageId);
        }

        var during = new List<Guid>();
        await fixture.RabbitMq.StopAsync();
        try
        {
            for (var n = 1; n <= 5; n++) during.Add(await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n }));
            // The hub accepted them (202) and keeps them pending while the broker is away; the first is being
            // retried and holds the others back, so they keep their order.
            await Eventually.TrueAsync(async () =>
            {
                var pending = JsonDocument.Parse(await http.GetStringAsync("api/integracoes/filas/?status=pendente")).RootElement;
                return pending.GetProperty("count").GetInt32() == 5
                    && pending.GetProperty("results").EnumerateArray().Any(i => i.GetProperty("tentativas").GetInt32() >= 2);
            }, Patience, "the deliveries to fail while the broker is down");
        }
        finally
        {
            // Whatever happened above, the other tests of the collection need the broker back.
            await fixture.RabbitMq.StartAgainAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var arrived = new List<string?>();
        while (arrived.Count < 5)
        {
            // At least once: the broker may hand the consumer again a message whose ack the restart lost.
            var id = (await messages.ReadAsync(timeout.Token)).MessageId;
            if (id != before.ToString() && !arrived.Contains(id)) arrived.Add(id);
        }

        Assert.Equal(during.Select(id => id.ToString()), arrived);
        await Eventually.TrueAsync(async () =>
            JsonDocument.Parse(await http.GetStringAsync("api/integracoes/filas/?status=entregue")).RootElement.GetProperty("count").GetInt32() == 6,
            Patience, "every queue item to be marked delivered");
    }
}
