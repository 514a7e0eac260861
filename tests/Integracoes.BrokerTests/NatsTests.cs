using Integracoes.Testing;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;

namespace Integracoes.BrokerTests;

/// <summary>The private nats-server works with NATS.Net: JetStream with deduplication, and core publish/subscribe.</summary>
[Collection(NatsCollection.Name)]
public sealed class NatsTests(NatsFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private NatsServer Server => fixture.Server;

    [Fact]
    public async Task JetStream_drops_a_repeated_Nats_Msg_Id_and_a_consumer_reads_each_stored_message_once()
    {
        using var timeout = new CancellationTokenSource(Patience);
        var ct = timeout.Token;
        await using var nats = new NatsClient(Server.Url);
        var js = nats.CreateJetStreamContext();
        var stream = Unique.Name("EVENTOS").ToUpperInvariant();
        var subject = $"{stream.ToLowerInvariant()}.pedido";
        await js.CreateStreamAsync(new StreamConfig(stream, [$"{stream.ToLowerInvariant()}.>"])
        {
            Storage = StreamConfigStorage.File,
            DuplicateWindow = TimeSpan.FromMinutes(2),
        }, ct);

        var first = await js.PublishAsync(subject, "um", opts: new NatsJSPubOpts { MsgId = "evt-1" }, cancellationToken: ct);
        // A repeated Nats-Msg-Id is acknowledged as a duplicate and not stored (EnsureSuccess would throw on it).
        var repeated = await js.PublishAsync(subject, "um de novo", opts: new NatsJSPubOpts { MsgId = "evt-1" }, cancellationToken: ct);
        var second = await js.PublishAsync(subject, "dois", opts: new NatsJSPubOpts { MsgId = "evt-2" }, cancellationToken: ct);
        first.EnsureSuccess();
        second.EnsureSuccess();
        Assert.False(first.Duplicate);
        Assert.True(repeated.Duplicate);
        Assert.Equal((1UL, 2UL), (first.Seq, second.Seq));

        var consumer = await js.CreateOrUpdateConsumerAsync(stream,
            new ConsumerConfig("sink") { AckPolicy = ConsumerConfigAckPolicy.Explicit }, ct);
        var received = new List<string?>();
        await foreach (var message in consumer.FetchNoWaitAsync<string>(new NatsJSFetchOpts { MaxMsgs = 10 }, cancellationToken: ct))
        {
            received.Add(message.Data);
            // Double ack: wait until the server has recorded the ack, so the consumer state below is settled.
            await message.AckAsync(new AckOpts { DoubleAck = true }, ct);
        }

        Assert.Equal(["um", "dois"], received);
        await consumer.RefreshAsync(ct);
        Assert.Equal(0UL, consumer.Info.NumPending);
        Assert.Equal(0, consumer.Info.NumAckPending);
    }

    [Fact]
    public async Task A_core_subscriber_receives_what_another_connection_publishes()
    {
        using var timeout = new CancellationTokenSource(Patience);
        var ct = timeout.Token;
        await using var subscriberClient = new NatsClient(Server.Url);
        await using var publisherClient = new NatsClient(Server.Url);
        var subject = Unique.Name("eventos");

        await using var subscription = await subscriberClient.Connection.SubscribeCoreAsync<string>(subject, cancellationToken: ct);
        // The round trip makes sure the server has registered the subscription before anything is published.
        await subscriberClient.PingAsync(ct);
        await publisherClient.PublishAsync(subject, "olá", cancellationToken: ct);

        var message = await subscription.Msgs.ReadAsync(ct);
        Assert.Equal("olá", message.Data);
        Assert.Equal(subject, message.Subject);
    }
}
