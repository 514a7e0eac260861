using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Integracoes.Testing;

namespace Integracoes.BrokerTests;

/// <summary>The private SQS-protocol server behaves like an SQS FIFO queue for AWSSDK.SQS 4.</summary>
[Collection(SqsCollection.Name)]
public sealed class SqsTests(SqsFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private SqsServer Server => fixture.Server;

    [Fact]
    public async Task A_fifo_queue_delivers_a_group_in_order_and_drops_a_repeated_deduplication_id()
    {
        using var sqs = Client();
        var queueUrl = await CreateFifoQueueAsync(sqs);

        var sequenceNumbers = new List<string>();
        foreach (var n in new[] { 1, 2, 3 })
        {
            var sent = await sqs.SendMessageAsync(Message(queueUrl, "pedido-42", $"evt-{n}", $"evento {n}"));
            sequenceNumbers.Add(sent.SequenceNumber);
        }

        // Within the deduplication interval a repeated id is accepted but never delivered.
        await sqs.SendMessageAsync(Message(queueUrl, "pedido-42", "evt-2", "evento 2 repetido"));
        // A FIFO queue refuses a message without a group.
        await Assert.ThrowsAnyAsync<AmazonSQSException>(() => sqs.SendMessageAsync(
            new SendMessageRequest { QueueUrl = queueUrl, MessageBody = "sem grupo", MessageDeduplicationId = "evt-9" }));

        var received = new List<Message>();
        await Eventually.TrueAsync(async () =>
        {
            foreach (var message in await ReceiveAsync(sqs, queueUrl))
            {
                received.Add(message);
                await sqs.DeleteMessageAsync(queueUrl, message.ReceiptHandle);
            }

            return received.Count >= 3;
        }, Patience, "three messages from the FIFO queue");

        Assert.Equal(["evento 1", "evento 2", "evento 3"], received.Select(m => m.Body));
        Assert.All(received, m => Assert.Equal("pedido-42", m.Attributes["MessageGroupId"]));
        Assert.Equal(sequenceNumbers, received.Select(m => m.Attributes["SequenceNumber"]));
        Assert.Equal(3, sequenceNumbers.Distinct().Count());
        Assert.Empty(await ReceiveAsync(sqs, queueUrl));
    }

    [Fact]
    public async Task While_a_message_is_in_flight_its_group_waits_and_other_groups_do_not()
    {
        using var sqs = Client();
        var queueUrl = await CreateFifoQueueAsync(sqs);
        await sqs.SendMessageAsync(Message(queueUrl, "pedido-1", "a-1", "pedido 1, primeiro"));
        await sqs.SendMessageAsync(Message(queueUrl, "pedido-1", "a-2", "pedido 1, segundo"));
        await sqs.SendMessageAsync(Message(queueUrl, "pedido-2", "b-1", "pedido 2, primeiro"));

        var inFlight = new List<Message>();
        await Eventually.TrueAsync(async () =>
        {
            inFlight.AddRange(await ReceiveAsync(sqs, queueUrl));
            return inFlight.Count >= 2;
        }, Patience, "the first message of each group");

        // Not deleted yet: "pedido 1, segundo" must wait behind "pedido 1, primeiro".
        Assert.Equal(["pedido 1, primeiro", "pedido 2, primeiro"], inFlight.Select(m => m.Body).Order());
        Assert.Empty(await ReceiveAsync(sqs, queueUrl));

        await sqs.DeleteMessageAsync(queueUrl, inFlight.Single(m => m.Body == "pedido 1, primeiro").ReceiptHandle);
        var next = await Eventually.GetAsync(async () => (await ReceiveAsync(sqs, queueUrl)).SingleOrDefault(),
            Patience, "the second message of the first group");
        Assert.Equal("pedido 1, segundo", next.Body);
    }

    private AmazonSQSClient Client() => new(
        new BasicAWSCredentials("integracoes", "integracoes-secret"),
        new AmazonSQSConfig { ServiceURL = Server.ServiceUrl, AuthenticationRegion = Server.Region });

    private static async Task<string> CreateFifoQueueAsync(AmazonSQSClient sqs)
    {
        var created = await sqs.CreateQueueAsync(new CreateQueueRequest
        {
            QueueName = Unique.Name("pedidos") + ".fifo",
            Attributes = new Dictionary<string, string>
            {
                ["FifoQueue"] = "true",
                ["ContentBasedDeduplication"] = "false",
                ["VisibilityTimeout"] = "60",
            },
        });
        return created.QueueUrl;
    }

    private static SendMessageRequest Message(string queueUrl, string group, string deduplicationId, string body) => new()
    {
        QueueUrl = queueUrl,
        MessageBody = body,
        MessageGroupId = group,
        MessageDeduplicationId = deduplicationId,
    };

    /// <summary>One receive of up to 10 messages; the v4 SDK gives null rather than an empty list.</summary>
    private static async Task<List<Message>> ReceiveAsync(AmazonSQSClient sqs, string queueUrl)
    {
        var response = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = queueUrl,
            MaxNumberOfMessages = 10,
            WaitTimeSeconds = 0,
            MessageSystemAttributeNames = ["All"],
        });
        return response.Messages ?? [];
    }
}
