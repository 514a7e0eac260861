using System.Text;
using System.Text.Json;
using Integracoes.Delivery.Sinks;
using Integracoes.Delivery.Webhooks;

namespace Integracoes.UnitTests;

public sealed class PusherSignerTests
{
    // The worked example of Pusher's HTTP API reference ("Worked authentication example").
    private const string Body = """{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}""";

    [Fact]
    public void The_body_md5_and_signature_match_the_documented_example()
    {
        Assert.Equal("ec365a775a4cd0599faeb73354201b6f", PusherSigner.BodyMd5(Encoding.UTF8.GetBytes(Body)));

        var signature = PusherSigner.Signature("POST", "/apps/3/events", new Dictionary<string, string>
        {
            ["body_md5"] = "ec365a775a4cd0599faeb73354201b6f",
            ["auth_version"] = "1.0",
            ["auth_key"] = "278d425bdf160c739803",
            ["auth_timestamp"] = "1353088179",
        }, "7ad3773142a6692b25b8");

        Assert.Equal("da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c", signature);
    }

    [Fact]
    public void The_signed_query_of_the_documented_example_is_the_documented_one()
    {
        var query = PusherSigner.SignedQuery("POST", "/apps/3/events", "278d425bdf160c739803", "7ad3773142a6692b25b8", 1353088179,
            Encoding.UTF8.GetBytes(Body));

        Assert.Equal("auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"
            + "&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c", query);
    }

    [Fact]
    public void A_request_without_a_body_has_no_body_md5() =>
        Assert.DoesNotContain("body_md5", PusherSigner.SignedQuery("GET", "/apps/3/channels", "k", "s", 1, []));

    [Fact]
    public void Parameter_names_are_lower_cased_and_sorted_and_values_are_signed_unescaped()
    {
        var signature = PusherSigner.Signature("get", "/apps/3/channels", new Dictionary<string, string>
        {
            ["Name"] = "Something else",
            ["auth_key"] = "foo",
        }, "secret");

        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(
            Encoding.UTF8.GetBytes("secret"), Encoding.UTF8.GetBytes("GET\n/apps/3/channels\nauth_key=foo&name=Something else")));
        Assert.Equal(expected, signature);
    }
}

public sealed class PusherSinkRulesTests
{
    [Fact]
    public void The_trigger_body_names_the_event_on_the_instance_channel_with_the_envelope_as_a_string()
    {
        var envelope = """{"id":"x","event":"MESSAGES_UPSERT","instance":"loja-1","data":{"a":"<ç>"}}""";
        var body = PusherSink.TriggerBody(new SinkMessage("loja-1", Guid.NewGuid(), "MESSAGES_UPSERT", Encoding.UTF8.GetBytes(envelope)));

        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal("MESSAGES_UPSERT", root.GetProperty("name").GetString());
        Assert.Equal(["loja-1"], root.GetProperty("channels").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(envelope, root.GetProperty("data").GetString());
    }

    [Theory]
    [InlineData(200, "{}", AttemptOutcome.Delivered)]
    [InlineData(202, null, AttemptOutcome.Delivered)]
    // soketi's refusal of a bad signature: HTTP 200 with the error in the body.
    [InlineData(200, """{"error":"The request signature is invalid.","code":401}""", AttemptOutcome.Retry)]
    [InlineData(200, """{"error":"Invalid payload","code":400}""", AttemptOutcome.Rejected)]
    [InlineData(200, """{"error":"too big","code":413}""", AttemptOutcome.DeadLetter)]
    [InlineData(200, """{"error":"something"}""", AttemptOutcome.Retry)]
    [InlineData(413, "Request Entity Too Large", AttemptOutcome.DeadLetter)]
    [InlineData(401, "Invalid signature", AttemptOutcome.Retry)]
    [InlineData(403, "Over quota", AttemptOutcome.Retry)]
    [InlineData(404, "Unknown app", AttemptOutcome.Retry)]
    [InlineData(429, null, AttemptOutcome.Retry)]
    [InlineData(503, null, AttemptOutcome.Retry)]
    [InlineData(400, "Invalid channel name", AttemptOutcome.Rejected)]
    public void Answers_are_classified_by_status_and_by_an_error_in_the_body(int status, string? body, AttemptOutcome outcome) =>
        Assert.Equal(outcome, PusherSink.Classify(status, body).Outcome);

    [Fact]
    public async Task Data_over_10_KB_goes_to_the_dead_letter_queue_without_calling_the_server()
    {
        var sink = new PusherSink(new NoHttp(), new SinkConnections(PusherUrl: "http://127.0.0.1:9", PusherAppId: "1", PusherKey: "k", PusherSecret: "s"),
            TimeProvider.System);

        var result = await sink.SendAsync(new SinkMessage("loja", Guid.NewGuid(), "E", new byte[PusherSink.MaxDataBytes + 1]), CancellationToken.None);

        Assert.Equal(AttemptOutcome.DeadLetter, result.Outcome);
        Assert.StartsWith($"payload of {PusherSink.MaxDataBytes + 1} bytes exceeds Pusher's 10 KB limit", result.Error);
    }

    private sealed class NoHttp : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => throw new InvalidOperationException("no HTTP call expected");
    }
}
