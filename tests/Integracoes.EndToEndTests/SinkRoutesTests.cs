using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.EndToEndTests;

/// <summary>Seed 002's <c>/{tipo}/set/{instance}</c> and <c>/{tipo}/find/{instance}</c>, and the webhook sink's deliveries.</summary>
[Collection(SiloCollection.Name)]
public sealed class SinkRoutesTests(SiloFixture fixture)
{
    [Fact]
    public async Task The_webhook_sink_is_set_and_found_with_the_seed_bodies()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("sink-seed"));
        var body = new
        {
            url = "http://127.0.0.1:9/webhook",
            enabled = true,
            events = new[] { "MESSAGES_UPSERT", "CONNECTION_UPDATE" },
            webhook_by_events = false,
            webhook_base64 = false,
        };

        var created = await http.PostAsJsonAsync("webhook/set/sink-seed", body);
        var createdBody = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var found = JsonDocument.Parse(await http.GetStringAsync("webhook/find/sink-seed")).RootElement;
        var replaced = await http.PostAsJsonAsync("webhook/set/sink-seed", new { webhook = new { url = "http://127.0.0.1:9/other", enabled = false, events = Array.Empty<string>(), byEvents = true } });
        var replacedBody = JsonDocument.Parse(await replaced.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.StartsWith("whsec_", createdBody.GetProperty("secret").GetString());
        Assert.Equal("http://127.0.0.1:9/webhook", found.GetProperty("url").GetString());
        Assert.True(found.GetProperty("enabled").GetBoolean());
        Assert.Equal(["MESSAGES_UPSERT", "CONNECTION_UPDATE"], found.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.False(found.GetProperty("webhook_by_events").GetBoolean());
        Assert.False(found.GetProperty("webhook_base64").GetBoolean());
        Assert.False(found.TryGetProperty("secret", out _));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal(createdBody.GetProperty("id").GetInt64(), replacedBody.GetProperty("id").GetInt64());
        Assert.False(replacedBody.GetProperty("enabled").GetBoolean());
        Assert.True(replacedBody.GetProperty("webhook_by_events").GetBoolean());
        Assert.Empty(replacedBody.GetProperty("events").EnumerateArray());
    }

    [Fact]
    public async Task Sink_routes_refuse_bad_bodies_other_instances_and_unconfigured_servers()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("sink-bad"));
        using var other = fixture.Http(await fixture.CreateInstanceAsync("sink-bad-other"));

        await Problem.AssertAsync(await http.PostAsJsonAsync("webhook/set/sink-bad", new { enabled = true }), HttpStatusCode.BadRequest, "url");
        await Problem.AssertAsync(await http.PostAsJsonAsync("webhook/set/sink-bad", new { url = "http://127.0.0.1:9/x", events = new[] { "X" } }), HttpStatusCode.BadRequest, "enabled");
        await Problem.AssertAsync(await http.PostAsJsonAsync("webhook/set/sink-bad", new { url = "http://127.0.0.1:9/x", enabled = "yes" }), HttpStatusCode.BadRequest, "enabled");
        await Problem.AssertAsync(await http.PostAsJsonAsync("webhook/set/sink-bad", new { url = "http://127.0.0.1:9/x", enabled = true, events = new[] { "not an event" } }), HttpStatusCode.BadRequest, "events");
        await Problem.AssertAsync(await http.PostAsJsonAsync("websocket/set/sink-bad", new { enabled = true, url = "http://x" }), HttpStatusCode.BadRequest, "url");
        await Problem.AssertAsync(await http.PostAsJsonAsync("webhook/set/sink-bad", new { url = "http://10.1.2.3/x", enabled = true }), HttpStatusCode.BadRequest, "url");
        await Problem.AssertAsync(await other.PostAsJsonAsync("webhook/set/sink-bad", new { url = "http://127.0.0.1:9/x", enabled = true }), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await other.GetAsync("webhook/find/sink-bad"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await http.GetAsync("nats/find/sink-bad"), HttpStatusCode.NotFound);
        // No RabbitMQ is configured for this silo: set says so instead of accepting deliveries it cannot make.
        await Problem.AssertAsync(await http.PostAsJsonAsync("rabbitmq/set/sink-bad", new { enabled = true, events = Array.Empty<string>() }), HttpStatusCode.BadRequest, "rabbitmq");
    }

    [Fact]
    public async Task The_webhook_sink_delivers_the_seed_payload_per_event_url_signed_and_without_media_unless_asked()
    {
        var received = new ConcurrentQueue<(string Path, string Body)>();
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/webhook/{evento}", async (HttpRequest r, string evento) =>
        {
            using var reader = new StreamReader(r.Body);
            received.Enqueue(("/webhook/" + evento, await reader.ReadToEndAsync()));
            return Results.Ok();
        }));
        var key = await fixture.CreateInstanceAsync("sink-deliver");
        using var http = fixture.Http(key);
        var set = JsonDocument.Parse(await (await http.PostAsJsonAsync("webhook/set/sink-deliver", new
        {
            url = receiver.Url("/webhook"),
            enabled = true,
            events = new[] { "MESSAGES_UPSERT" },
            webhook_by_events = true,
            webhook_base64 = false,
        })).Content.ReadAsStringAsync()).RootElement;
        var secret = set.GetProperty("secret").GetString()!;
        var media = new { key = new { id = "3EB0" }, message = new { imageMessage = new { url = "https://mmg.example/x", base64 = "aW1hZ2Vt" } } };

        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "CONNECTION_UPDATE", dados = new { state = "open" } })).StatusCode);
        var published = JsonDocument.Parse(await (await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "MESSAGES_UPSERT", dados = media })).Content.ReadAsStringAsync()).RootElement;
        await Eventually.TrueAsync(() => Task.FromResult(!received.IsEmpty), TimeSpan.FromSeconds(20), "the webhook sink delivered nothing");
        var (path, body) = received.Single();
        var payload = JsonDocument.Parse(body).RootElement;

        Assert.Equal("/webhook/messages_upsert", path);
        Assert.Equal("MESSAGES_UPSERT", payload.GetProperty("event").GetString());
        Assert.Equal("sink-deliver", payload.GetProperty("instance").GetString());
        Assert.Equal(published.GetProperty("id").GetString(), payload.GetProperty("id").GetString());
        Assert.Equal(receiver.Url("/webhook/messages_upsert"), payload.GetProperty("destination").GetString());
        Assert.Equal("Integracoes", payload.GetProperty("sender").GetString());
        Assert.StartsWith("http://", payload.GetProperty("server_url").GetString());
        Assert.True(payload.TryGetProperty("date_time", out _));
        Assert.False(payload.TryGetProperty("apikey", out _));
        Assert.DoesNotContain(key.Split('.')[1], body);
        Assert.Equal("https://mmg.example/x", payload.GetProperty("data").GetProperty("message").GetProperty("imageMessage").GetProperty("url").GetString());
        Assert.False(payload.GetProperty("data").GetProperty("message").GetProperty("imageMessage").TryGetProperty("base64", out _));
        var recorded = receiver.Requests.Single();
        Assert.Equal("ok", await NodeVerify.StandardWebhooksAsync(secret, recorded));

        // With webhook_base64 the media content goes along.
        await http.PostAsJsonAsync("webhook/set/sink-deliver", new { url = receiver.Url("/webhook"), enabled = true, events = new[] { "MESSAGES_UPSERT" }, webhook_by_events = true, webhook_base64 = true });
        await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "MESSAGES_UPSERT", dados = media });
        await Eventually.TrueAsync(() => Task.FromResult(received.Count == 2), TimeSpan.FromSeconds(20), "the second delivery never came");
        var withMedia = JsonDocument.Parse(received.Last().Body).RootElement;
        Assert.Equal("aW1hZ2Vt", withMedia.GetProperty("data").GetProperty("message").GetProperty("imageMessage").GetProperty("base64").GetString());
    }
}
