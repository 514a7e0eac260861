using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Integracoes.Testing;

namespace Integracoes.BrokerTests;

/// <summary>The WebSocket sink: real clients of <c>/ws/{instance}</c> on a two-silo cluster, fed by the HTTP API.</summary>
[Collection(WebSocketClusterCollection.Name)]
public sealed class WebSocketSinkTests(WebSocketClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private SiloProcess A => fixture.SiloA;
    private SiloProcess B => fixture.SiloB;

    [Fact]
    public async Task A_WebSocket_client_receives_event_instance_and_data_of_the_enabled_events_only()
    {
        var key = await fixture.InstanceAsync("ws-events");
        using var http = A.Http(key);
        await WebSocketClusterFixture.SetWebSocketAsync(http, "ws-events", "MESSAGES_UPSERT");
        var found = JsonDocument.Parse(await http.GetStringAsync("websocket/find/ws-events")).RootElement;

        // A live feed, not a store: with nobody connected the event is delivered to no one, and not kept.
        await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 0 });
        await Eventually.TrueAsync(async () => await DeliveredAsync(http) == 1, Patience, "the delivery to no client never completed");
        var destination = found.GetProperty("id").GetInt64();
        Assert.Contains("websocket: 0 client(s) on 0 silo(s)", await http.GetStringAsync($"api/webhooks/{destination}/logs/"));

        await using var client = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(A, "ws-events"), ("X-Api-Key", key));
        var first = await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 1, key = new { id = "3EB0" } });
        await SinkClusterFixture.PublishAsync(http, "CONNECTION_UPDATE", new { state = "open", statusReason = 200 });
        var third = await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 3 });
        await Eventually.TrueAsync(() => Task.FromResult(client.Messages.Count >= 2), Patience, "the client received nothing");
        await Eventually.TrueAsync(async () => await DeliveredAsync(http) == 3, Patience, "the deliveries never completed");

        Assert.True(found.GetProperty("enabled").GetBoolean());
        Assert.Equal(["MESSAGES_UPSERT"], found.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(2, client.Messages.Count);
        var messages = client.Messages.OrderBy(m => m.GetProperty("data").GetProperty("n").GetInt32()).ToList();
        Assert.All(messages, m => Assert.Equal("MESSAGES_UPSERT", m.GetProperty("event").GetString()));
        Assert.All(messages, m => Assert.Equal("ws-events", m.GetProperty("instance").GetString()));
        Assert.Equal([1, 3], messages.Select(m => m.GetProperty("data").GetProperty("n").GetInt32()));
        Assert.Equal("3EB0", messages[0].GetProperty("data").GetProperty("key").GetProperty("id").GetString());
        Assert.Equal([first, third], messages.Select(m => m.GetProperty("id").GetGuid()));
        Assert.Contains("websocket: 1 client(s) on 1 silo(s)", await http.GetStringAsync($"api/webhooks/{destination}/logs/"));
    }

    [Fact]
    public async Task The_instance_key_is_accepted_as_apikey_query_or_header_and_must_belong_to_the_instance()
    {
        var key = await fixture.InstanceAsync("ws-keys");
        var otherKey = await fixture.InstanceAsync("ws-keys-other");
        using var http = A.Http(key);
        await WebSocketClusterFixture.SetWebSocketAsync(http, "ws-keys", "MESSAGES_UPSERT");
        var created = JsonDocument.Parse(await (await http.PostAsJsonAsync("api/instances/ws-keys/keys/", new { name = "leitor" })).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("read", created.GetProperty("scope").GetString());
        var readKey = created.GetProperty("api_key").GetString()!;
        var wrongSecret = key[..^4] + (key.EndsWith("aaaa", StringComparison.Ordinal) ? "bbbb" : "aaaa");

        var uri = WebSocketClusterFixture.FeedUri(A, "ws-keys");
        var refusals = new Dictionary<string, HttpStatusCode>
        {
            ["no key"] = await WebSocketFeedClient.RefusalAsync(uri),
            ["wrong secret"] = await WebSocketFeedClient.RefusalAsync(WebSocketClusterFixture.FeedUri(A, "ws-keys", wrongSecret)),
            ["another instance's key"] = await WebSocketFeedClient.RefusalAsync(WebSocketClusterFixture.FeedUri(A, "ws-keys", otherKey)),
            ["another instance's key, header"] = await WebSocketFeedClient.RefusalAsync(uri, ("X-Api-Key", otherKey)),
            ["the operator's key"] = await WebSocketFeedClient.RefusalAsync(WebSocketClusterFixture.FeedUri(A, "ws-keys", WebSocketClusterFixture.AdminKey)),
        };
        // ?apikey= is for WebSockets only; and /ws is only for WebSockets.
        using var anonymous = A.Http();
        var queryOnApi = await anonymous.GetAsync($"api/integracoes/servicos/?apikey={Uri.EscapeDataString(key)}");
        var plainGet = await http.GetAsync("ws/ws-keys");

        await using var byQuery = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(A, "ws-keys", key));
        await using var byBearer = await WebSocketFeedClient.ConnectAsync(uri, ("Authorization", "Bearer " + key));
        await using var byReadKey = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(B, "ws-keys", readKey));
        await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 1 });
        await Eventually.TrueAsync(() => Task.FromResult(new[] { byQuery, byBearer, byReadKey }.All(c => c.Messages.Count == 1)), Patience,
            "a client authenticated by query, Bearer header or read-scope key received nothing");

        Assert.Equal(HttpStatusCode.Unauthorized, refusals["no key"]);
        Assert.Equal(HttpStatusCode.Unauthorized, refusals["wrong secret"]);
        Assert.Equal(HttpStatusCode.NotFound, refusals["another instance's key"]);
        Assert.Equal(HttpStatusCode.NotFound, refusals["another instance's key, header"]);
        Assert.Equal(HttpStatusCode.Forbidden, refusals["the operator's key"]);
        Assert.Equal(HttpStatusCode.Unauthorized, queryOnApi.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, plainGet.StatusCode);

        // The connection is in the request log under its route template; the key is in no log.
        await byQuery.DisposeAsync();
        using var admin = A.Http(WebSocketClusterFixture.AdminKey);
        await Eventually.TrueAsync(async () =>
            JsonDocument.Parse(await admin.GetStringAsync("api/integracoes/requisicoes/?status=101")).RootElement.GetProperty("results")
                .EnumerateArray().Any(r => r.GetProperty("rota").GetString() == "/ws/{instance}"),
            Patience, "the WebSocket connection never appeared in the request log");
        foreach (var secret in new[] { key, wrongSecret, readKey, otherKey }.Select(k => k.Split('.')[1]))
        {
            Assert.DoesNotContain(secret, A.FullLog());
            Assert.DoesNotContain(secret, B.FullLog());
        }
    }

    [Fact]
    public async Task A_connected_client_whose_key_is_revoked_is_closed()
    {
        var key = await fixture.InstanceAsync("ws-revoke");
        using var http = A.Http(key);
        var created = JsonDocument.Parse(await (await http.PostAsJsonAsync("api/instances/ws-revoke/keys/", new { name = "painel" })).Content.ReadAsStringAsync()).RootElement;
        await using var client = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(A, "ws-revoke", created.GetProperty("api_key").GetString()));

        Assert.True((await http.DeleteAsync($"api/instances/ws-revoke/keys/{created.GetProperty("key_id").GetString()}")).IsSuccessStatusCode);

        // Keys are checked again at every renewal (30 s).
        await Eventually.TrueAsync(() => Task.FromResult(client.Ended), TimeSpan.FromSeconds(45), "the client of a revoked key stayed connected");
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
        Assert.Contains("revoked", client.CloseDescription);
    }

    [Fact]
    public async Task A_client_that_does_not_read_is_dropped_while_a_fast_one_on_the_same_instance_receives_every_event()
    {
        const int Events = 2_000;
        var key = await fixture.InstanceAsync("ws-slow");
        using var http = A.Http(key);
        await WebSocketClusterFixture.SetWebSocketAsync(http, "ws-slow", "MESSAGES_UPSERT");
        var uri = WebSocketClusterFixture.FeedUri(A, "ws-slow", key);
        // A tiny TCP receive buffer, so that what it does not read piles up on the server, not in this kernel.
        await using var slow = await WebSocketFeedClient.ConnectAsync(uri, read: false, receiveBuffer: 4_096);
        await using var fast = await WebSocketFeedClient.ConnectAsync(uri);
        var padding = new string('x', 8_000);

        var published = Stopwatch.StartNew();
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) <= Events)
            {
                await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n, padding });
            }
        })));
        var publishing = published.Elapsed;
        await Eventually.TrueAsync(() => Task.FromResult(fast.Messages.Count >= Events), Patience,
            $"the fast client had {fast.Messages.Count} of {Events} events 30 s after the last was published");
        var lag = published.Elapsed - publishing;

        await Eventually.TrueAsync(() => Task.FromResult(A.FullLog().Split('\n').Any(line =>
            line.Contains("dropped: too slow", StringComparison.Ordinal) && line.Contains("ws-slow", StringComparison.Ordinal))), Patience, "the slow client was never dropped");
        slow.StartReading();
        await Eventually.TrueAsync(() => Task.FromResult(slow.Ended), Patience, "the slow client's connection never ended");

        Assert.Equal(Events, fast.Messages.Select(m => m.GetProperty("data").GetProperty("n").GetInt32()).Distinct().Count());
        Assert.True(slow.Messages.Count < Events, $"the slow client got all {slow.Messages.Count} events");
        // Its close frame comes when it fits in the connection; a client that cannot take even that is cut off.
        if (slow.CloseStatus is { } status)
        {
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
            Assert.StartsWith("too slow", slow.CloseDescription);
        }
        Assert.True(fast.State == WebSocketState.Open, "the fast client was closed");
        Console.WriteLine($"published {Events} events of 8 KB in {publishing.TotalSeconds:0.0} s; the fast client had them all {lag.TotalSeconds:0.0} s later; the slow one got {slow.Messages.Count}");
    }

    [Fact]
    public async Task A_client_on_one_silo_receives_events_published_through_the_other()
    {
        var key = await fixture.InstanceAsync("ws-cross");
        using var onA = A.Http(key);
        using var onB = B.Http(key);
        await WebSocketClusterFixture.SetWebSocketAsync(onA, "ws-cross", "MESSAGES_UPSERT");
        await using var clientA = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(A, "ws-cross", key));
        await using var clientB = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(B, "ws-cross", key));

        var viaA = await SinkClusterFixture.PublishAsync(onA, "MESSAGES_UPSERT", new { via = "A" });
        await Eventually.TrueAsync(() => Task.FromResult(clientA.Messages.Count == 1 && clientB.Messages.Count == 1), Patience, "an event published through A did not reach both silos' clients");
        var viaB = await SinkClusterFixture.PublishAsync(onB, "MESSAGES_UPSERT", new { via = "B" });
        await Eventually.TrueAsync(() => Task.FromResult(clientA.Messages.Count == 2 && clientB.Messages.Count == 2), Patience, "an event published through B did not reach both silos' clients");

        foreach (var client in new[] { clientA, clientB })
        {
            Assert.Equal([viaA, viaB], client.Messages.Select(m => m.GetProperty("id").GetGuid()));
        }
        var destination = JsonDocument.Parse(await onA.GetStringAsync("websocket/find/ws-cross")).RootElement.GetProperty("id").GetInt64();
        Assert.Contains("websocket: 2 client(s) on 2 silo(s)", await onA.GetStringAsync($"api/webhooks/{destination}/logs/"));
    }

    [Fact]
    public async Task When_a_silo_stops_its_clients_are_told_and_clients_of_the_other_silos_keep_receiving()
    {
        var key = await fixture.InstanceAsync("ws-leave");
        using var http = A.Http(key);
        await WebSocketClusterFixture.SetWebSocketAsync(http, "ws-leave", "MESSAGES_UPSERT");
        var third = new SiloProcess(fixture.ConnectionString, WebSocketClusterFixture.AdminKey, WebSocketClusterFixture.EncryptionKey, WebSocketClusterFixture.Settings());
        WebSocketFeedClient? onThird = null;
        var stopped = false;
        try
        {
            await third.StartAsync();
            await fixture.WaitForMembersAsync(3);
            onThird = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(third, "ws-leave", key));
            await using var onA = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(A, "ws-leave", key));
            await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 0 });
            await Eventually.TrueAsync(() => Task.FromResult(onA.Messages.Count == 1 && onThird.Messages.Count == 1), Patience, "the clients of both silos did not receive the event");

            await third.DisposeAsync(); // SIGTERM: the silo leaves the cluster cleanly
            stopped = true;
            await Eventually.TrueAsync(() => Task.FromResult(onThird.Ended), Patience, "the stopped silo's client was not closed");

            // Wherever the instance's channel grain was, events published now reach A's client well before the
            // 30 s renewal: the hubs renew when the membership changes.
            var left = Stopwatch.StartNew();
            for (var n = 1; onA.Messages.Count < 2; n++)
            {
                Assert.True(left.Elapsed < TimeSpan.FromSeconds(10), "A's client received nothing for 10 s after the third silo left");
                await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n });
                var deadline = Stopwatch.StartNew();
                while (onA.Messages.Count < 2 && deadline.Elapsed < TimeSpan.FromSeconds(1)) await Task.Delay(50);
            }

            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, onThird.CloseStatus);
            Assert.Equal(WebSocketState.Open, onA.State);
        }
        finally
        {
            if (onThird is not null) await onThird.DisposeAsync();
            if (!stopped) await third.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_server_pings_and_closes_a_client_that_stops_answering_while_one_that_answers_stays()
    {
        // Silo B pings every second and waits 2 s for the pong.
        var key = await fixture.InstanceAsync("ws-heartbeat");
        using var http = B.Http(key);
        await WebSocketClusterFixture.SetWebSocketAsync(http, "ws-heartbeat", "MESSAGES_UPSERT");
        await using var answering = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(B, "ws-heartbeat", key));

        // A raw TCP client: the upgrade handshake by hand, then it reads what comes but never answers.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, B.HttpPort);
        var stream = tcp.GetStream();
        var handshake = $"GET /ws/ws-heartbeat?apikey={Uri.EscapeDataString(key)} HTTP/1.1\r\nHost: 127.0.0.1:{B.HttpPort}\r\n"
            + $"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))}\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(handshake));
        var (status, pings, closedAfter) = await ReadSilentlyAsync(stream, TimeSpan.FromSeconds(20));

        // Three times the ping and pong timeout have passed: the client that answers is still there and receiving.
        await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 1 });
        await Eventually.TrueAsync(() => Task.FromResult(answering.Messages.Count == 1), Patience, "the answering client received nothing");

        Assert.StartsWith("HTTP/1.1 101", status);
        Assert.True(pings >= 1, "the server never pinged");
        Assert.True(closedAfter < TimeSpan.FromSeconds(10), $"the silent client was closed only after {closedAfter.TotalSeconds:0.0} s");
        Assert.Equal(WebSocketState.Open, answering.State);
    }

    [Fact]
    public async Task An_instance_has_at_most_the_configured_clients_on_all_silos_together()
    {
        var key = await fixture.InstanceAsync("ws-limit");
        var first = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(A, "ws-limit", key));
        await using var second = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(A, "ws-limit", key));
        await using var third = await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(B, "ws-limit", key));

        var overOnA = await WebSocketFeedClient.RefusalAsync(WebSocketClusterFixture.FeedUri(A, "ws-limit", key));
        var overOnB = await WebSocketFeedClient.RefusalAsync(WebSocketClusterFixture.FeedUri(B, "ws-limit", key));
        await first.DisposeAsync();
        var again = await Eventually.GetAsync(async () =>
        {
            try
            {
                return await WebSocketFeedClient.ConnectAsync(WebSocketClusterFixture.FeedUri(B, "ws-limit", key));
            }
            catch (WebSocketException)
            {
                return null;
            }
        }, Patience, "no place was given back after a client left");
        await using (again)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, overOnA);
            Assert.Equal(HttpStatusCode.TooManyRequests, overOnB);
            Assert.Equal(WebSocketState.Open, again.State);
        }
    }

    /// <summary>Reads the 101 answer and then frames, never answering a ping, until the server closes the connection.</summary>
    private static async Task<(string Status, int Pings, TimeSpan ClosedAfter)> ReadSilentlyAsync(NetworkStream stream, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        var received = new List<byte>();
        var buffer = new byte[4096];
        var upgraded = Stopwatch.StartNew();
        int headerEnd;
        while ((headerEnd = IndexOfHeaderEnd(received)) < 0)
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0) throw new IOException("closed during the handshake");
            received.AddRange(buffer.AsSpan(0, read));
        }
        var status = Encoding.ASCII.GetString([.. received.Take(headerEnd)]).Split("\r\n")[0];
        received.RemoveRange(0, headerEnd + 4);
        upgraded.Restart();
        var pings = 0;
        try
        {
            while (true)
            {
                // Server frames are unmasked: opcode in the first byte, a 7-bit length (pings carry at most 125 bytes).
                while (received.Count >= 2 && received.Count >= 2 + (received[1] & 0x7F) && (received[1] & 0x7F) < 126)
                {
                    if ((received[0] & 0x0F) == 0x9) pings++;
                    received.RemoveRange(0, 2 + (received[1] & 0x7F));
                }
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0) break;
                received.AddRange(buffer.AsSpan(0, read));
            }
        }
        catch (IOException)
        {
            // Reset by the server: closed as well.
        }
        return (status, pings, upgraded.Elapsed);
    }

    private static int IndexOfHeaderEnd(List<byte> bytes)
    {
        for (var i = 0; i + 3 < bytes.Count; i++)
        {
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n') return i;
        }
        return -1;
    }

    private static async Task<int> DeliveredAsync(HttpClient http) =>
        JsonDocument.Parse(await http.GetStringAsync("api/integracoes/filas/?status=entregue")).RootElement.GetProperty("count").GetInt32();
}
