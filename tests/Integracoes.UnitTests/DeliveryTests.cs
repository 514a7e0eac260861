using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Integracoes.Abstractions.Events;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Api.Apis;
using Integracoes.Delivery.Webhooks;
using Integracoes.Grains.Webhooks;

namespace Integracoes.UnitTests;

public sealed class WebhookSignerTests
{
    [Fact]
    public void Signatures_follow_the_standard_webhooks_scheme()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var secret = "whsec_" + Convert.ToBase64String(key);
        var body = Encoding.UTF8.GetBytes("""{"a":1}""");

        var signature = WebhookSigner.Sign(secret, "msg_1", 1_700_000_000, body);

        var expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("msg_1.1700000000.{\"a\":1}")));
        Assert.Equal("v1," + expected, signature);
    }

    [Fact]
    public void During_rotation_the_header_carries_one_signature_per_secret()
    {
        var header = WebhookSigner.SignatureHeader([WebhookSigner.NewSecret(), WebhookSigner.NewSecret()], "id", 1, [1, 2]);

        Assert.Equal(2, header.Split(' ').Length);
        Assert.All(header.Split(' '), s => Assert.StartsWith("v1,", s));
    }

    [Fact]
    public void The_seed_style_body_signature_is_hex_hmac_keyed_with_the_secret_text()
    {
        var body = Encoding.UTF8.GetBytes("{}");

        Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("whsec_abc"), body)),
            WebhookSigner.BodySignature("whsec_abc", body));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("secret", false)]
    [InlineData("whsec_", false)]
    [InlineData("whsec_!!!", false)]
    [InlineData("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", true)]
    public void Only_whsec_secrets_of_24_to_64_bytes_are_accepted(string? secret, bool valid) =>
        Assert.Equal(valid, WebhookSigner.IsValidSecret(secret));

    [Fact]
    public void Generated_secrets_are_valid_and_unique() =>
        Assert.True(WebhookSigner.IsValidSecret(WebhookSigner.NewSecret()) && WebhookSigner.NewSecret() != WebhookSigner.NewSecret());
}

public sealed class RetryPlannerTests
{
    private sealed class FixedJitter(double value) : IJitterSource
    {
        public double NextDouble() => value;
    }

    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0.0, 0.8)]
    [InlineData(0.5, 1.0)]
    [InlineData(0.999999, 1.2)]
    public void Waits_follow_the_schedule_with_plus_minus_20_percent_jitter(double jitter, double factor)
    {
        var next = new RetryPlanner(new FixedJitter(jitter)).NextAttempt(WebhookDefaults.RetrySchedule, 2, Now, null);

        Assert.Equal(300 * factor, (next!.Value - Now).TotalSeconds, 2);
    }

    [Fact]
    public void The_default_schedule_is_immediately_5s_5min_30min_2h_5h_10h_10h() =>
        Assert.Equal([0, 5, 300, 1_800, 7_200, 18_000, 36_000, 36_000], WebhookDefaults.RetrySchedule);

    [Fact]
    public void After_the_last_scheduled_attempt_there_is_no_next() =>
        Assert.Null(new RetryPlanner(new FixedJitter(0.5)).NextAttempt([0, 5], 2, Now, null));

    [Fact]
    public void Retry_after_is_honoured_when_longer_and_bounded_to_one_hour()
    {
        var planner = new RetryPlanner(new FixedJitter(0.5));

        Assert.Equal(Now.AddSeconds(60), planner.NextAttempt([0, 5], 1, Now, TimeSpan.FromSeconds(60)));
        Assert.Equal(Now.AddSeconds(5), planner.NextAttempt([0, 5], 1, Now, TimeSpan.FromSeconds(1)));
        Assert.Equal(Now.AddHours(1), planner.NextAttempt([0, 5], 1, Now, TimeSpan.FromDays(3)));
    }
}

public sealed class AttemptClassificationTests
{
    [Theory]
    [InlineData(200, AttemptOutcome.Delivered)]
    [InlineData(204, AttemptOutcome.Delivered)]
    [InlineData(408, AttemptOutcome.Retry)]
    [InlineData(425, AttemptOutcome.Retry)]
    [InlineData(429, AttemptOutcome.Retry)]
    [InlineData(500, AttemptOutcome.Retry)]
    [InlineData(503, AttemptOutcome.Retry)]
    [InlineData(410, AttemptOutcome.Gone)]
    [InlineData(400, AttemptOutcome.Rejected)]
    [InlineData(401, AttemptOutcome.Rejected)]
    [InlineData(404, AttemptOutcome.Rejected)]
    [InlineData(301, AttemptOutcome.Rejected)]
    public void Status_codes_decide_between_delivered_retry_gone_and_rejected(int status, AttemptOutcome outcome) =>
        Assert.Equal(outcome, WebhookSender.Classify(status));
}

public sealed class EnvelopeTests
{
    [Fact]
    public void The_envelope_keeps_the_published_data_byte_for_byte()
    {
        var id = Guid.CreateVersion7();
        var delivery = new QueuedDelivery(1, id, "nfe_importada", """{"b": 2,  "a":"ç"}""", new DateTimeOffset(2024, 1, 1, 12, 0, 0, TimeSpan.Zero), 0, 0, DateTimeOffset.UtcNow);

        var body = Encoding.UTF8.GetString(DeliveryEnvelope.Write(new EnvelopeShape("minha-instancia"), delivery));

        Assert.Equal($$"""{"id":"{{id}}","event":"nfe_importada","instance":"minha-instancia","data":{"b": 2,  "a":"ç"},"date_time":"2024-01-01T12:00:00.000Z"}""", body);
    }

    [Fact]
    public void A_seed_sink_envelope_is_the_seed_webhook_payload_without_media_unless_asked()
    {
        var delivery = new QueuedDelivery(1, Guid.CreateVersion7(), "MESSAGES_UPSERT",
            """{"message":{"imageMessage":{"url":"u","base64":"AAA"}},"list":[{"base64":"BBB","k":1}]}""", DateTimeOffset.UtcNow, 0, 0, DateTimeOffset.UtcNow);

        var without = JsonDocument.Parse(DeliveryEnvelope.Write(new EnvelopeShape("i", true, "https://r/x", "https://hub", KeepBase64: false), delivery)).RootElement;
        var withMedia = JsonDocument.Parse(DeliveryEnvelope.Write(new EnvelopeShape("i", true, "https://r/x", "https://hub", KeepBase64: true), delivery)).RootElement;

        Assert.Equal("https://r/x", without.GetProperty("destination").GetString());
        Assert.Equal("Integracoes", without.GetProperty("sender").GetString());
        Assert.Equal("https://hub", without.GetProperty("server_url").GetString());
        Assert.False(without.TryGetProperty("apikey", out _));
        Assert.Equal("""{"message":{"imageMessage":{"url":"u"}},"list":[{"k":1}]}""", without.GetProperty("data").GetRawText());
        Assert.Equal("AAA", withMedia.GetProperty("data").GetProperty("message").GetProperty("imageMessage").GetProperty("base64").GetString());
    }

    [Theory]
    [InlineData("""{"url":"https://x/h","enabled":true,"events":["MESSAGES_UPSERT"],"webhook_by_events":true,"webhook_base64":false}""", "webhook", true, 1, true)]
    [InlineData("""{"webhook":{"url":"https://x/h","enabled":false,"events":[],"byEvents":true,"base64":true}}""", "webhook", false, 0, true)]
    [InlineData("""{"enabled":true,"events":["A","B","A"]}""", "rabbitmq", true, 2, false)]
    [InlineData("""{"nats":{"enabled":true}}""", "nats", true, 0, false)]
    public void Sink_bodies_are_read_plain_or_wrapped(string json, string kind, bool enabled, int events, bool byEvents)
    {
        Assert.True(SinksApi.TryRead(kind, JsonDocument.Parse(json).RootElement, out var settings, out var error), error.Message);

        Assert.Equal(kind, settings.Tipo);
        Assert.Equal(enabled, settings.Enabled);
        Assert.Equal(events, settings.Events.Count);
        Assert.Equal(byEvents, settings.WebhookByEvents);
    }

    [Theory]
    [InlineData("""{"enabled":true}""", "webhook", "url")]
    [InlineData("""{"url":"https://x"}""", "webhook", "enabled")]
    [InlineData("""{"enabled":1,"url":"https://x"}""", "webhook", "enabled")]
    [InlineData("""{"enabled":true,"events":"MESSAGES_UPSERT"}""", "nats", "events")]
    [InlineData("""{"enabled":true,"url":"https://x"}""", "sqs", "url")]
    [InlineData("""{"enabled":true,"webhook_by_events":true}""", "pusher", "webhook_by_events")]
    [InlineData("""[]""", "nats", "body")]
    public void Bad_sink_bodies_name_the_field(string json, string kind, string field)
    {
        Assert.False(SinksApi.TryRead(kind, JsonDocument.Parse(json).RootElement, out _, out var error));
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void The_catalogue_has_the_seed_events_and_the_operational_ones()
    {
        foreach (var name in new[] { "nfe_importada", "cte_importado", "consulta_concluida", "documento_atualizado", "erro_importacao", "APPLICATION_STARTUP", "MESSAGES_UPSERT", "TYPEBOT_CHANGE_STATUS" })
        {
            Assert.True(EventCatalog.IsBuiltIn(name), name);
        }
        Assert.True(EventCatalog.IsOperational(EventCatalog.DeliveryExhausted));
        Assert.True(EventCatalog.IsOperational(EventCatalog.WebhookDisabled));
        Assert.False(EventCatalog.IsOperational("nfe_importada"));
    }
}
