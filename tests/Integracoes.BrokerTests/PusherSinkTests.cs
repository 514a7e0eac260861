using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Integracoes.Delivery.Sinks;
using Integracoes.Delivery.Webhooks;
using Integracoes.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Integracoes.BrokerTests;

/// <summary>The Pusher sink, from the HTTP API to a WebSocket client of the Pusher server (soketi).</summary>
[Collection(SinkClusterCollection.Name)]
public sealed class PusherSinkTests(SinkClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_subscriber_of_the_instance_channel_receives_the_event_under_its_name_with_the_envelope_as_data()
    {
        using var http = await fixture.InstanceAsync("pusher-canal");
        using var timeout = new CancellationTokenSource(Patience);
        await using var socket = await PusherSocket.SubscribedAsync(fixture.Soketi.WebSocketUri, "pusher-canal", timeout.Token);
        var set = await http.PostAsJsonAsync("pusher/set/pusher-canal", new { enabled = true, events = Array.Empty<string>() });
        Assert.True(set.IsSuccessStatusCode, await set.Content.ReadAsStringAsync());

        var id = await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { texto = "olá", n = 1 });
        var message = await socket.ReceiveAsync(timeout.Token);

        Assert.Equal("MESSAGES_UPSERT", message.Event);
        Assert.Equal("pusher-canal", message.Channel);
        var envelope = JsonDocument.Parse(message.Data!).RootElement;
        Assert.Equal(id, envelope.GetProperty("id").GetGuid());
        Assert.Equal("MESSAGES_UPSERT", envelope.GetProperty("event").GetString());
        Assert.Equal("pusher-canal", envelope.GetProperty("instance").GetString());
        Assert.Equal("olá", envelope.GetProperty("data").GetProperty("texto").GetString());
        Assert.Equal(1, envelope.GetProperty("data").GetProperty("n").GetInt32());
        await Eventually.TrueAsync(async () => await SinkClusterFixture.QueueCountAsync(http, "entregue") == 1, Patience, "the delivery recorded as entregue");
    }

    [Fact]
    public async Task An_event_over_10_KB_is_dead_lettered_after_one_attempt_with_the_reason_and_the_sink_stays_enabled()
    {
        using var http = await fixture.InstanceAsync("pusher-grande");
        using var timeout = new CancellationTokenSource(Patience);
        await using var socket = await PusherSocket.SubscribedAsync(fixture.Soketi.WebSocketUri, "pusher-grande", timeout.Token);
        var set = await http.PostAsJsonAsync("pusher/set/pusher-grande", new { enabled = true, events = new[] { "MESSAGES_UPSERT" } });
        var sinkId = JsonDocument.Parse(await set.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();

        await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { texto = new string('x', 11 * 1024) });
        var item = await Eventually.GetAsync(async () =>
            JsonDocument.Parse(await http.GetStringAsync("api/integracoes/filas/?status=falha")).RootElement.GetProperty("results")
                .EnumerateArray().Select(e => (JsonElement?)e.Clone()).FirstOrDefault(),
            Patience, "the big event in the dead-letter queue");

        Assert.Equal(1, item!.Value.GetProperty("tentativas").GetInt32());
        Assert.Matches("payload of [0-9]+ bytes exceeds Pusher's 10 KB limit", item.Value.GetProperty("resultado").GetProperty("erro").GetString());
        var logs = JsonDocument.Parse(await http.GetStringAsync($"api/webhooks/{sinkId}/logs/")).RootElement;
        var attempt = Assert.Single(logs.GetProperty("results").EnumerateArray());
        Assert.False(attempt.GetProperty("sucesso").GetBoolean());
        Assert.Matches("payload of [0-9]+ bytes exceeds Pusher's 10 KB limit", attempt.GetProperty("erro").GetString());

        // One big payload says nothing about the destination: it stays enabled and the next event goes out.
        var find = JsonDocument.Parse(await http.GetStringAsync("pusher/find/pusher-grande")).RootElement;
        Assert.True(find.GetProperty("enabled").GetBoolean());
        var small = await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { texto = "pequeno" });
        var message = await socket.ReceiveAsync(timeout.Token);
        Assert.Equal(small, JsonDocument.Parse(message.Data!).RootElement.GetProperty("id").GetGuid());
        Assert.Equal(1, await SinkClusterFixture.QueueCountAsync(http, "falha"));
        Assert.Single(JsonDocument.Parse(await http.GetStringAsync($"api/webhooks/{sinkId}/logs/?status=falha")).RootElement
            .GetProperty("results").EnumerateArray());
    }

    [Fact]
    public async Task With_a_wrong_secret_the_sink_reports_a_problem_and_a_send_is_not_taken_for_a_delivery()
    {
        await using var right = Sink(fixture.Soketi.AppSecret);
        Assert.Null(await right.GetRequiredService<EventSinks>().Find("pusher")!.ProblemAsync(CancellationToken.None));

        await using var wrong = Sink("not-the-app-secret");
        var sink = wrong.GetRequiredService<EventSinks>().Find("pusher")!;
        Assert.StartsWith("the Pusher server refused a signed request (code 401", await sink.ProblemAsync(CancellationToken.None));
        // soketi answers HTTP 200 with the error in the body: still not delivered, and retried (the operator fixes the secret).
        var result = await sink.SendAsync(new SinkMessage("pusher-segredo", Guid.NewGuid(), "MESSAGES_UPSERT", Encoding.UTF8.GetBytes("{}")),
            CancellationToken.None);
        Assert.Equal(AttemptOutcome.Retry, result.Outcome);
        Assert.Contains("401", result.Error);
    }

    private ServiceProvider Sink(string secret) => new ServiceCollection()
        .AddLogging()
        .AddEventSinks(new SinkConnections(PusherUrl: fixture.Soketi.ApiBaseUri.ToString().TrimEnd('/'), PusherAppId: fixture.Soketi.AppId,
            PusherKey: fixture.Soketi.AppKey, PusherSecret: secret))
        .BuildServiceProvider();

}
