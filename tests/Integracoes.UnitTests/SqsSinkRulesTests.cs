using System.Net;
using Amazon.SQS;
using Amazon.SQS.Model;
using Integracoes.Delivery.Sinks;
using Integracoes.Delivery.Webhooks;

namespace Integracoes.UnitTests;

public sealed class SqsQueueNameTests
{
    [Fact]
    public void A_valid_short_name_is_prefix_instance_underscore_event_dot_fifo() =>
        Assert.Equal("integracoes-loja-1_MESSAGES_UPSERT.fifo", SqsSink.QueueName("integracoes-", "loja-1", "MESSAGES_UPSERT"));

    [Theory]
    [InlineData("integracoes-", "loja-1", "entrega.esgotada")] // '.' is not allowed in SQS names
    [InlineData("integracoes-", "loja_1", "MESSAGES_UPSERT")] // '_' in the instance would make the split ambiguous
    [InlineData("integracoes-", "loja-1", "E-0123456789abcdef")] // looks like a hashed name
    [InlineData("integracoes-", "uma-instancia-com-um-nome-bem-comprido-demais", "GROUP_PARTICIPANTS_UPDATE")] // too long
    public void Other_names_are_sanitised_cut_and_suffixed_with_a_hash(string prefix, string instance, string evento)
    {
        var name = SqsSink.QueueName(prefix, instance, evento);

        Assert.Matches("^[A-Za-z0-9_-]+-[0-9a-f]{16}\\.fifo$", name);
        Assert.InRange(name.Length, 1, SqsSink.MaxQueueNameLength);
        Assert.StartsWith(prefix, name);
        Assert.Equal(name, SqsSink.QueueName(prefix, instance, evento));
    }

    [Fact]
    public void The_readme_example_of_a_hashed_name_is_the_one_computed() =>
        Assert.Equal("integracoes-minha_loja_MESSAGES_UPSERT-8015bf4f605c2ee1.fifo", SqsSink.QueueName("integracoes-", "minha_loja", "MESSAGES_UPSERT"));

    [Fact]
    public void The_longest_names_fit_in_80_characters()
    {
        var name = SqsSink.QueueName(new string('p', 40), new string('i', 63), new string('E', 100));

        Assert.Equal(SqsSink.MaxQueueNameLength, name.Length);
        Assert.EndsWith(".fifo", name);
    }

    [Fact]
    public void A_name_of_exactly_80_characters_stays_plain()
    {
        var evento = new string('E', 80 - ".fifo".Length - "integracoes-loja_".Length);

        Assert.Equal("integracoes-loja_" + evento + ".fifo", SqsSink.QueueName("integracoes-", "loja", evento));
    }

    [Fact]
    public void Instances_and_events_that_would_concatenate_alike_get_different_queues()
    {
        // "x_y" + "_" + "z" and "x" + "_" + "y_z" read the same; so do "a.b" and "a-b" after sanitising.
        Assert.NotEqual(SqsSink.QueueName("p-", "x_y", "z"), SqsSink.QueueName("p-", "x", "y_z"));
        Assert.NotEqual(SqsSink.QueueName("p-", "loja", "a.b"), SqsSink.QueueName("p-", "loja", "a-b"));
        // A plain name can never be chosen to equal another instance's hashed one.
        var hashed = SqsSink.QueueName("p-", "vi_tima", "E");
        var forged = hashed["p-vi_".Length..^".fifo".Length];
        Assert.NotEqual(hashed, SqsSink.QueueName("p-", "vi", forged));
    }

    [Fact]
    public void Errors_are_retried_unless_sqs_refuses_the_message_itself()
    {
        Assert.Equal(AttemptOutcome.Retry, SqsSink.Classify(new RequestThrottledException("slow down")));
        Assert.Equal(AttemptOutcome.Retry, SqsSink.Classify(new QueueDoesNotExistException("gone")));
        Assert.Equal(AttemptOutcome.Retry, SqsSink.Classify(Service("InternalError", HttpStatusCode.InternalServerError)));
        Assert.Equal(AttemptOutcome.Retry, SqsSink.Classify(Service("InvalidClientTokenId", HttpStatusCode.Forbidden)));
        Assert.Equal(AttemptOutcome.Retry, SqsSink.Classify(Service("SignatureDoesNotMatch", HttpStatusCode.BadRequest)));
        Assert.Equal(AttemptOutcome.Retry, SqsSink.Classify(Service("ThrottlingException", HttpStatusCode.BadRequest)));
        Assert.Equal(AttemptOutcome.Retry, SqsSink.Classify(new HttpRequestException("connection refused")));
        Assert.Equal(AttemptOutcome.Retry, SqsSink.Classify(new TaskCanceledException()));
        Assert.Equal(AttemptOutcome.Rejected, SqsSink.Classify(Service("InvalidParameterValue", HttpStatusCode.BadRequest)));
        Assert.Equal(AttemptOutcome.Rejected, SqsSink.Classify(new InvalidMessageContentsException("bad characters")));
    }

    private static AmazonSQSException Service(string code, HttpStatusCode status) =>
        new("refused", null, Amazon.Runtime.ErrorType.Sender, code, "req-1", status);
}
