using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Integracoes.BrokerTests;

/// <summary>
/// The Pusher HTTP API's request signing (auth_version 1.0), written from the protocol description; no Pusher server
/// library for .NET is on the feed.
/// </summary>
public static class PusherApi
{
    /// <summary>
    /// <c>POST /apps/{appId}/events</c> with the body's MD5 and an HMAC-SHA256 signature, in hex, of
    /// <c>"POST\n/apps/{appId}/events\n" + the query sorted by name</c>, keyed with <paramref name="secret"/>.
    /// </summary>
    public static HttpRequestMessage TriggerEvent(
        Uri baseUri, string appId, string key, string secret, string channel, string eventName, string data,
        DateTimeOffset now)
    {
        var body = JsonSerializer.Serialize(new { name = eventName, channel, data });
        var path = $"/apps/{appId}/events";
        var query = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["auth_key"] = key,
            ["auth_timestamp"] = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["auth_version"] = "1.0",
            // The protocol fixes MD5 here: a checksum of the body, not a security measure.
#pragma warning disable CA5351
            ["body_md5"] = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(body))),
#pragma warning restore CA5351
        };
        var queryString = string.Join('&', query.Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value)}"));
        var signature = Convert.ToHexStringLower(
            HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"POST\n{path}\n{queryString}")));
        return new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, $"{path}?{queryString}&auth_signature={signature}"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
    }
}

/// <summary>A message of the Pusher WebSocket protocol: <c>{"event", "channel", "data"}</c>.</summary>
public sealed record PusherMessage(string Event, string? Channel, string? Data);

/// <summary>A Pusher protocol client over a real WebSocket (<see cref="ClientWebSocket"/>).</summary>
public sealed class PusherSocket : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;

    private PusherSocket(ClientWebSocket socket, string socketId)
    {
        _socket = socket;
        SocketId = socketId;
    }

    /// <summary>The id the server gave this connection in <c>pusher:connection_established</c>.</summary>
    public string SocketId { get; }

    public static async Task<PusherSocket> ConnectAsync(Uri uri, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(uri, ct);
            var established = await ReceiveFromAsync(socket, ct);
            if (established.Event != "pusher:connection_established" || established.Data is null)
            {
                throw new InvalidOperationException($"Expected pusher:connection_established, got {established}.");
            }

            var socketId = JsonNode.Parse(established.Data)?["socket_id"]?.GetValue<string>()
                ?? throw new InvalidOperationException($"No socket_id in {established.Data}.");
            return new PusherSocket(socket, socketId);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A new connection subscribed to the public <paramref name="channel"/>.</summary>
    public static async Task<PusherSocket> SubscribedAsync(Uri uri, string channel, CancellationToken ct)
    {
        var socket = await ConnectAsync(uri, ct);
        try
        {
            await socket.SubscribeAsync(channel, ct);
            return socket;
        }
        catch
        {
            await socket.DisposeAsync();
            throw;
        }
    }

    /// <summary>Subscribes to a public channel and waits for the server's confirmation.</summary>
    public async Task SubscribeAsync(string channel, CancellationToken ct)
    {
        await SendAsync(new { @event = "pusher:subscribe", data = new { channel } }, ct);
        var answer = await ReceiveAsync(ct);
        if (answer.Event != "pusher_internal:subscription_succeeded" || answer.Channel != channel)
        {
            throw new InvalidOperationException($"Subscribing to {channel} answered {answer}.");
        }
    }

    /// <summary>The next message other than the protocol's keep-alive pings (which are answered).</summary>
    public async Task<PusherMessage> ReceiveAsync(CancellationToken ct)
    {
        while (true)
        {
            var message = await ReceiveFromAsync(_socket, ct);
            if (message.Event == "pusher:ping")
            {
                await SendAsync(new { @event = "pusher:pong", data = new { } }, ct);
                continue;
            }

            return message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // The server went first; nothing to close.
            }
        }

        _socket.Dispose();
    }

    private Task SendAsync(object message, CancellationToken ct) =>
        _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, endOfMessage: true, ct);

    private static async Task<PusherMessage> ReceiveFromAsync(ClientWebSocket socket, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        using var text = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, ct);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"The server closed the WebSocket: {result.CloseStatus} {result.CloseStatusDescription}");
            }

            text.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        var json = JsonNode.Parse(text.ToArray()) ?? throw new InvalidOperationException("Empty WebSocket message.");
        return new PusherMessage(
            json["event"]?.GetValue<string>() ?? throw new InvalidOperationException($"No event in {json.ToJsonString()}."),
            json["channel"]?.GetValue<string>(),
            // Pusher sends data as a JSON string; some server messages carry an object.
            json["data"] is JsonValue value && value.TryGetValue<string>(out var s) ? s : json["data"]?.ToJsonString());
    }
}
