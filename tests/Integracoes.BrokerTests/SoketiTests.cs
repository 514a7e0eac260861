using System.Net;
using System.Text.Json.Nodes;
using Integracoes.Testing;

namespace Integracoes.BrokerTests;

/// <summary>
/// The private soketi server speaks the Pusher protocol: a WebSocket subscriber receives what a signed HTTP API
/// request publishes, and a request with a bad signature is refused.
/// </summary>
[Collection(SoketiCollection.Name)]
public sealed class SoketiTests(SoketiFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private SoketiServer Server => fixture.Server;

    [Fact]
    public async Task A_signed_HTTP_publish_reaches_a_WebSocket_subscriber_of_the_channel()
    {
        using var timeout = new CancellationTokenSource(Patience);
        var ct = timeout.Token;
        var channel = Unique.Name("pedidos");
        await using var socket = await SubscribeAsync(channel, ct);

        using var response = await Http.SendAsync(Trigger(channel, "pedido.criado", """{"pedido":42}""", Server.AppSecret), ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // soketi refuses with HTTP 200 and an error in the body (see below), so the body must have none.
        Assert.Null(JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))?["error"]);

        var message = await socket.ReceiveAsync(ct);
        Assert.Equal(new PusherMessage("pedido.criado", channel, """{"pedido":42}"""), message);
    }

    [Fact]
    public async Task A_publish_with_a_bad_signature_is_refused_and_never_delivered()
    {
        using var timeout = new CancellationTokenSource(Patience);
        var ct = timeout.Token;
        var channel = Unique.Name("pedidos");
        await using var socket = await SubscribeAsync(channel, ct);

        using (var refused = await Http.SendAsync(Trigger(channel, "forjado", "{}", "not-the-app-secret"), ct))
        {
            // Pusher answers 401. soketi 1.6.1 answers HTTP 200 with {"error": ..., "code": 401} in the body.
            var body = JsonNode.Parse(await refused.Content.ReadAsStringAsync(ct));
            var code = refused.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                ? (int)refused.StatusCode
                : body?["code"]?.GetValue<int>();
            Assert.True(code is 401 or 403, $"expected a refusal, got HTTP {(int)refused.StatusCode} {body?.ToJsonString()}");
        }

        // Requests are handled in order: once the good event arrives, the forged one would have come before it.
        using var accepted = await Http.SendAsync(Trigger(channel, "legitimo", "{}", Server.AppSecret), ct);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var message = await socket.ReceiveAsync(ct);
        Assert.Equal("legitimo", message.Event);
    }

    private Task<PusherSocket> SubscribeAsync(string channel, CancellationToken ct) =>
        PusherSocket.SubscribedAsync(Server.WebSocketUri, channel, ct);

    private HttpRequestMessage Trigger(string channel, string eventName, string data, string secret) =>
        PusherApi.TriggerEvent(Server.ApiBaseUri, Server.AppId, Server.AppKey, secret, channel, eventName, data,
            DateTimeOffset.UtcNow);
}
