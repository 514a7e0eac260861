using System.Net.Http.Json;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Integracoes.Delivery.Sinks;
using Integracoes.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Integracoes.BrokerTests;

/// <summary>The SQS sink, from the HTTP API to an SQS consumer (AWSSDK.SQS) of the FIFO queues it creates.</summary>
[Collection(SinkClusterCollection.Name)]
public sealed class SqsSinkTests(SinkClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Events_go_to_a_fifo_queue_per_event_grouped_by_instance_in_order_and_deduplicated_by_event_id()
    {
        using var http = await fixture.InstanceAsync("sqs-ordem");
        var set = await http.PostAsJsonAsync("sqs/set/sqs-ordem", new { enabled = true, events = Array.Empty<string>() });
        Assert.True(set.IsSuccessStatusCode, await set.Content.ReadAsStringAsync());

        // Published back to back, without waiting for deliveries: the order must hold anyway.
        var published = new List<(Guid Id, string Evento, int N)>();
        foreach (var (evento, n) in new[] { ("MESSAGES_UPSERT", 1), ("CONNECTION_UPDATE", 2), ("MESSAGES_UPSERT", 3) })
        {
            published.Add((await SinkClusterFixture.PublishAsync(http, evento, new { n }), evento, n));
        }
        await Eventually.TrueAsync(async () => await SinkClusterFixture.QueueCountAsync(http, "entregue") == 3, Patience, "the three SQS deliveries");

        using var sqs = Client();
        var upserts = await QueueUrlAsync(sqs, "integracoes-sqs-ordem_MESSAGES_UPSERT.fifo");
        var updates = await QueueUrlAsync(sqs, "integracoes-sqs-ordem_CONNECTION_UPDATE.fifo");
        var attributes = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = upserts, AttributeNames = ["All"] });
        Assert.Equal("true", attributes.Attributes["FifoQueue"]);
        Assert.Equal("false", attributes.Attributes["ContentBasedDeduplication"]);

        // A resend of an event (a retry after a lost answer, a redrive) carries the same deduplication id: stored once.
        var first = published[0];
        await sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = upserts,
            MessageBody = "repetido",
            MessageGroupId = "sqs-ordem",
            MessageDeduplicationId = first.Id.ToString(),
        });

        var fromUpserts = await ReceiveAllAsync(sqs, upserts, 2);
        var fromUpdates = await ReceiveAllAsync(sqs, updates, 1);

        foreach (var (received, expected) in fromUpserts.Concat(fromUpdates).Zip(new[] { published[0], published[2], published[1] }))
        {
            var envelope = JsonDocument.Parse(received.Body).RootElement;
            Assert.Equal(expected.Id, envelope.GetProperty("id").GetGuid());
            Assert.Equal(expected.Evento, envelope.GetProperty("event").GetString());
            Assert.Equal("sqs-ordem", envelope.GetProperty("instance").GetString());
            Assert.Equal(expected.N, envelope.GetProperty("data").GetProperty("n").GetInt32());
            Assert.Equal("sqs-ordem", received.Attributes["MessageGroupId"]);
            Assert.Equal(expected.Id.ToString(), received.Attributes["MessageDeduplicationId"]);
        }
        Assert.Empty(await ReceiveAsync(sqs, upserts));
        Assert.Empty(await ReceiveAsync(sqs, updates));
    }

    [Fact]
    public async Task A_queue_deleted_behind_the_hubs_back_is_created_again_and_the_event_delivered()
    {
        using var http = await fixture.InstanceAsync("sqs-recria");
        Assert.True((await http.PostAsJsonAsync("sqs/set/sqs-recria", new { enabled = true, events = new[] { "MESSAGES_UPSERT" } })).IsSuccessStatusCode);
        await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 1 });
        await Eventually.TrueAsync(async () => await SinkClusterFixture.QueueCountAsync(http, "entregue") == 1, Patience, "the first SQS delivery");

        using var sqs = Client();
        await sqs.DeleteQueueAsync(await QueueUrlAsync(sqs, "integracoes-sqs-recria_MESSAGES_UPSERT.fifo"));
        var second = await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 2 });
        await Eventually.TrueAsync(async () => await SinkClusterFixture.QueueCountAsync(http, "entregue") == 2, Patience, "the delivery after the queue was deleted");

        var received = await ReceiveAllAsync(sqs, await QueueUrlAsync(sqs, "integracoes-sqs-recria_MESSAGES_UPSERT.fifo"), 1);
        Assert.Equal(second, JsonDocument.Parse(received[0].Body).RootElement.GetProperty("id").GetGuid());
        Assert.Equal(0, await SinkClusterFixture.QueueCountAsync(http, "pendente"));
    }

    [Fact]
    public async Task The_sink_reports_a_problem_when_the_endpoint_does_not_answer_and_none_when_it_does()
    {
        await using var reachable = Sink(fixture.Sqs.ServiceUrl);
        Assert.Null(await reachable.GetRequiredService<EventSinks>().Find("sqs")!.ProblemAsync(CancellationToken.None));

        // Port 1 (tcpmux): nothing listens there.
        await using var unreachable = Sink("http://127.0.0.1:1");
        var problem = await unreachable.GetRequiredService<EventSinks>().Find("sqs")!.ProblemAsync(CancellationToken.None);
        Assert.StartsWith("the SQS endpoint is not usable", problem);
    }

    private static ServiceProvider Sink(string serviceUrl) => new ServiceCollection()
        .AddLogging()
        .AddEventSinks(new SinkConnections(SqsServiceUrl: serviceUrl, SqsAccessKey: "test", SqsSecretKey: "test"))
        .BuildServiceProvider();

    private AmazonSQSClient Client() => new(
        new BasicAWSCredentials("test", "test"),
        new AmazonSQSConfig { ServiceURL = fixture.Sqs.ServiceUrl, AuthenticationRegion = fixture.Sqs.Region });

    private static async Task<string> QueueUrlAsync(AmazonSQSClient sqs, string name) =>
        (await sqs.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = name })).QueueUrl;


    /// <summary>Receives and deletes until <paramref name="count"/> messages came (a FIFO group gives one at a time).</summary>
    private static async Task<List<Message>> ReceiveAllAsync(AmazonSQSClient sqs, string queueUrl, int count)
    {
        var received = new List<Message>();
        await Eventually.TrueAsync(async () =>
        {
            foreach (var message in await ReceiveAsync(sqs, queueUrl))
            {
                received.Add(message);
                await sqs.DeleteMessageAsync(queueUrl, message.ReceiptHandle);
            }
            return received.Count >= count;
        }, Patience, $"{count} messages from {queueUrl}");
        return received;
    }

    private static async Task<List<Message>> ReceiveAsync(AmazonSQSClient sqs, string queueUrl) =>
        (await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = queueUrl,
            MaxNumberOfMessages = 10,
            WaitTimeSeconds = 0,
            MessageSystemAttributeNames = ["All"],
        })).Messages ?? [];
}
