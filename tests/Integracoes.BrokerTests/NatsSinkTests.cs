using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;

namespace Integracoes.BrokerTests;

/// <summary>The NATS sink, from the HTTP API to a NATS consumer.</summary>
[Collection(SinkClusterCollection.Name)]
public sealed class NatsSinkTests(SinkClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Events_are_published_on_instance_dot_event_subjects_in_order_with_their_ids()
    {
        using var http = await fixture.InstanceAsync("nats-core");
        using var timeout = new CancellationTokenSource(Patience);
        await using var nats = new NatsClient(fixture.Nats.Url);
        var received = new List<NatsMsg<byte[]>>();
        var subscription = Task.Run(async () =>
        {
            await foreach (var message in nats.SubscribeAsync<byte[]>("nats-core.>", cancellationToken: timeout.Token))
            {
                received.Add(message);
                if (received.Count == 3) break;
            }
        });
        await nats.PingAsync(timeout.Token);
        var set = await http.PostAsJsonAsync("nats/set/nats-core", new { enabled = true, events = Array.Empty<string>() });
        Assert.True(set.IsSuccessStatusCode, await set.Content.ReadAsStringAsync());

        var ids = new List<Guid>();
        foreach (var (evento, n) in new[] { ("MESSAGES_UPSERT", 1), ("CONNECTION_UPDATE", 2), ("MESSAGES_UPSERT", 3) })
        {
            ids.Add(await SinkClusterFixture.PublishAsync(http, evento, new { n }));
            // One at a time: order per instance is what a single publisher sees.
            await Eventually.TrueAsync(() => Task.FromResult(received.Count >= ids.Count), Patience, "NATS received nothing");
        }
        await subscription;

        Assert.Equal(["nats-core.MESSAGES_UPSERT", "nats-core.CONNECTION_UPDATE", "nats-core.MESSAGES_UPSERT"], received.Select(m => m.Subject));
        var bodies = received.Select(m => JsonDocument.Parse(m.Data!).RootElement).ToList();
        Assert.Equal(ids, bodies.Select(b => b.GetProperty("id").GetGuid()));
        Assert.Equal([1, 2, 3], bodies.Select(b => b.GetProperty("data").GetProperty("n").GetInt32()));
        Assert.All(bodies, b => Assert.Equal("nats-core", b.GetProperty("instance").GetString()));
        Assert.Equal(ids.Select(id => id.ToString()), received.Select(m => m.Headers!["Nats-Msg-Id"].ToString()));
    }

    [Fact]
    public async Task With_a_stream_covering_the_subject_it_is_a_jetstream_publish_acknowledged_under_the_event_id()
    {
        using var http = await fixture.InstanceAsync("nats-js");
        using var timeout = new CancellationTokenSource(Patience);
        await using var nats = new NatsClient(fixture.Nats.Url);
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig("NATS_JS_EVENTOS", ["nats-js.>"]) { DuplicateWindow = TimeSpan.FromMinutes(5) }, timeout.Token);
        Assert.True((await http.PostAsJsonAsync("nats/set/nats-js", new { enabled = true, events = new[] { "MESSAGES_UPSERT" } })).IsSuccessStatusCode);

        var first = await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 1 });
        await SinkClusterFixture.PublishAsync(http, "CONNECTION_UPDATE", new { n = 2 });
        var third = await SinkClusterFixture.PublishAsync(http, "MESSAGES_UPSERT", new { n = 3 });
        await Eventually.TrueAsync(async () =>
            JsonDocument.Parse(await http.GetStringAsync("api/integracoes/filas/?status=entregue")).RootElement.GetProperty("count").GetInt32() == 2,
            Patience, "the NATS deliveries never completed");
        // The stream acknowledged each one (a delivery counts only then), under the event id as Nats-Msg-Id,
        // so a retry after a lost acknowledgement is dropped by the server instead of stored twice.
        var log = JsonDocument.Parse(await http.GetStringAsync("api/integracoes/filas/?status=entregue")).RootElement.GetProperty("results")[0];
        Assert.Contains("jetstream NATS_JS_EVENTOS", log.GetProperty("resultado").ToString() + await LogsAsync(http, log.GetProperty("servico_id").GetInt64()));
        Assert.Equal("nats", log.GetProperty("destino").GetString());

        var stream = await js.GetStreamAsync("NATS_JS_EVENTOS", cancellationToken: timeout.Token);
        Assert.Equal(2, (long)stream.Info.State.Messages);
        var consumer = await js.CreateOrUpdateConsumerAsync("NATS_JS_EVENTOS", new ConsumerConfig("leitor") { AckPolicy = ConsumerConfigAckPolicy.Explicit }, timeout.Token);
        var ids = new List<string>();
        await foreach (var message in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 10 }, cancellationToken: timeout.Token))
        {
            ids.Add(message.Headers!["Nats-Msg-Id"].ToString());
            await message.AckAsync(cancellationToken: timeout.Token);
        }
        Assert.Equal([first.ToString(), third.ToString()], ids);
    }

    private static async Task<string> LogsAsync(HttpClient http, long destination) => await http.GetStringAsync($"api/webhooks/{destination}/logs/");
}
