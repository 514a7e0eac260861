using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.EndToEndTests;

/// <summary>Durable, signed webhook delivery against real receivers, through the running silo.</summary>
[Collection(SiloCollection.Name)]
public sealed class WebhookDeliveryTests(SiloFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private async Task<HttpClient> InstanceAsync(string name) => fixture.Http(await fixture.CreateInstanceAsync(name));

    private static async Task<(long Id, string Secret)> SubscribeAsync(HttpClient http, string url, JsonObject? extra = null)
    {
        var body = new JsonObject { ["nome"] = "receiver", ["url"] = url, ["eventos"] = "*" };
        foreach (var (key, value) in extra ?? [])
        {
            body[key] = value?.DeepClone();
        }
        var response = await http.PostAsync("api/webhooks/", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        var created = JsonDocument.Parse(text).RootElement;
        return (created.GetProperty("id").GetInt64(), created.GetProperty("secret").GetString()!);
    }

    private static async Task<string> PublishAsync(HttpClient http, string evento, object dados, string? idempotencyKey = null, int prioridade = 0)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/integracoes/disparar/")
        {
            Content = JsonContent.Create(new { evento, dados, prioridade }),
        };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<JsonElement> QueueItemAsync(HttpClient http, string status)
    {
        var page = JsonDocument.Parse(await http.GetStringAsync($"api/integracoes/filas/?status={status}")).RootElement;
        return page.GetProperty("results").EnumerateArray().FirstOrDefault();
    }

    [Fact]
    public async Task Deliveries_carry_the_envelope_and_signatures_that_the_reference_library_verifies()
    {
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.Ok()));
        using var http = await InstanceAsync("wh-sign");
        var (_, secret) = await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject { ["headers"] = new JsonObject { ["X-Cliente"] = "acme" } });

        var eventId = await PublishAsync(http, "nfe_importada", new { chave = "3524", valor_total = 10.5, texto = "ação é ü" });
        var received = await Eventually.GetAsync(() => Task.FromResult(receiver.Requests.FirstOrDefault()), Patience, "the delivery");

        var envelope = JsonDocument.Parse(received.Body).RootElement;
        Assert.Equal(eventId, envelope.GetProperty("id").GetString());
        Assert.Equal("nfe_importada", envelope.GetProperty("event").GetString());
        Assert.Equal("wh-sign", envelope.GetProperty("instance").GetString());
        Assert.Equal("ação é ü", envelope.GetProperty("data").GetProperty("texto").GetString());
        Assert.True(DateTimeOffset.TryParse(envelope.GetProperty("date_time").GetString(), out _));
        Assert.Equal(eventId, received.Headers["webhook-id"]);
        Assert.Equal("acme", received.Headers["X-Cliente"]);
        var expectedBodySignature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(received.Body)));
        Assert.Equal(expectedBodySignature, received.Headers["X-Webhook-Signature"]);
        Assert.Equal("ok", await NodeVerify.StandardWebhooksAsync(secret, received));
    }

    [Fact]
    public async Task Signing_secrets_are_not_stored_in_plaintext_nor_returned_after_creation()
    {
        using var http = await InstanceAsync("wh-secret-at-rest");
        var (id, secret) = await SubscribeAsync(http, "http://127.0.0.1:9/hook");
        var rotated = JsonDocument.Parse(await (await http.PostAsync($"api/webhooks/{id}/rotacionar-segredo/", null)).Content.ReadAsStringAsync())
            .RootElement.GetProperty("secret").GetString()!;

        foreach (var value in new[] { secret, rotated, secret["whsec_".Length..], rotated["whsec_".Length..] })
        {
            await using var command = fixture.DataSource.CreateCommand(
                "SELECT count(*) FROM OrleansStorage WHERE position(convert_to(@s, 'UTF8') in PayloadBinary) > 0");
            command.Parameters.AddWithValue("s", value);
            Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
        }
        Assert.DoesNotContain("whsec_", await http.GetStringAsync("api/webhooks/"));
        Assert.DoesNotContain(rotated, fixture.Silo.Tail());
    }

    [Fact]
    public async Task Custom_header_values_are_encrypted_at_rest_masked_in_reads_and_kept_when_sent_back_masked()
    {
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.Ok()));
        using var http = await InstanceAsync("wh-headers");
        var (id, _) = await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject { ["headers"] = new JsonObject { ["X-Token-Parceiro"] = "tok-segredo-123" } });

        var read = JsonDocument.Parse(await http.GetStringAsync($"api/webhooks/{id}/")).RootElement;
        var update = await http.PutAsync($"api/webhooks/{id}/", new StringContent(new JsonObject
        {
            ["nome"] = "renamed",
            ["url"] = receiver.Url("/hook"),
            ["eventos"] = "*",
            ["headers"] = new JsonObject { ["X-Token-Parceiro"] = read.GetProperty("headers").GetProperty("X-Token-Parceiro").GetString() },
        }.ToJsonString(), Encoding.UTF8, "application/json"));
        await PublishAsync(http, "nfe_importada", new { n = 1 });
        var received = await Eventually.GetAsync(() => Task.FromResult(receiver.Requests.FirstOrDefault()), Patience, "the delivery");
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT count(*) FROM OrleansStorage WHERE position(convert_to('tok-segredo-123', 'UTF8') in PayloadBinary) > 0");

        Assert.Equal("***", read.GetProperty("headers").GetProperty("X-Token-Parceiro").GetString());
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.Equal("tok-segredo-123", received.Headers["X-Token-Parceiro"]);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Rotating_the_secret_signs_with_both_secrets_for_the_rotation_window()
    {
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.Ok()));
        using var http = await InstanceAsync("wh-rotate");
        var (id, oldSecret) = await SubscribeAsync(http, receiver.Url("/hook"));

        var rotated = JsonDocument.Parse(await (await http.PostAsync($"api/webhooks/{id}/rotacionar-segredo/", null)).Content.ReadAsStringAsync()).RootElement;
        var newSecret = rotated.GetProperty("secret").GetString()!;
        var read = await http.GetStringAsync($"api/webhooks/{id}/");
        await PublishAsync(http, "cte_importado", new { n = 1 });
        var received = await Eventually.GetAsync(() => Task.FromResult(receiver.Requests.FirstOrDefault()), Patience, "the delivery");

        Assert.NotEqual(oldSecret, newSecret);
        Assert.DoesNotContain("whsec_", read);
        Assert.Equal(2, received.Headers["webhook-signature"].Split(' ').Length);
        Assert.Equal("ok", await NodeVerify.StandardWebhooksAsync(newSecret, received));
        Assert.Equal("ok", await NodeVerify.StandardWebhooksAsync(oldSecret, received));
    }

    [Fact]
    public async Task Failed_attempts_are_retried_with_the_same_webhook_id_and_every_attempt_is_logged()
    {
        var calls = 0;
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () =>
            Interlocked.Increment(ref calls) <= 2 ? Results.StatusCode(503) : Results.Ok()));
        using var http = await InstanceAsync("wh-retry");
        var (id, _) = await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject { ["retry_config"] = new JsonObject { ["agenda_segundos"] = new JsonArray(0, 1, 1, 1) } });

        var eventId = await PublishAsync(http, "consulta_concluida", new { cnpj = "1" });
        await Eventually.TrueAsync(async () => (await QueueItemAsync(http, "entregue")).ValueKind == JsonValueKind.Object, Patience, "delivery after retries");
        var logs = JsonDocument.Parse(await http.GetStringAsync($"api/webhooks/{id}/logs/")).RootElement;
        var failures = JsonDocument.Parse(await http.GetStringAsync($"api/webhooks/{id}/logs/?status=falha")).RootElement;

        Assert.Equal(3, receiver.Requests.Count);
        Assert.All(receiver.Requests, r => Assert.Equal(eventId, r.Headers["webhook-id"]));
        Assert.Equal(3, logs.GetProperty("count").GetInt32());
        Assert.Equal(3, logs.GetProperty("results")[0].GetProperty("tentativa").GetInt32());
        Assert.Equal(2, failures.GetProperty("count").GetInt32());
        Assert.Equal(503, failures.GetProperty("results")[0].GetProperty("status_code").GetInt32());
    }

    [Fact]
    public async Task A_4xx_answer_is_final_and_is_not_retried_nor_dead_lettered()
    {
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.BadRequest(new { erro = "campo" })));
        using var http = await InstanceAsync("wh-4xx");
        await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject { ["retry_config"] = new JsonObject { ["agenda_segundos"] = new JsonArray(0, 1, 1) } });

        await PublishAsync(http, "nfe_importada", new { n = 1 });
        var rejected = await Eventually.GetAsync(async () => await QueueItemAsync(http, "rejeitada") is { ValueKind: JsonValueKind.Object } e ? e : (JsonElement?)null, Patience, "rejection");
        var dead = await QueueItemAsync(http, "falha");

        Assert.Equal(1, rejected!.Value.GetProperty("tentativas").GetInt32());
        Assert.Equal(JsonValueKind.Undefined, dead.ValueKind);
        Assert.Single(receiver.Requests);
    }

    [Fact]
    public async Task Exhausted_deliveries_go_to_the_dead_letter_queue_emit_an_event_and_can_be_redriven()
    {
        var healthy = false;
        await using var receiver = await LocalHttpServer.StartAsync(app =>
        {
            app.MapPost("/hook", () => healthy ? Results.Ok() : Results.StatusCode(500));
            app.MapPost("/ops", () => Results.Ok());
        });
        using var http = await InstanceAsync("wh-dlq");
        var (id, _) = await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject
        {
            ["eventos"] = new JsonArray("nfe_importada"),
            ["retry_config"] = new JsonObject { ["agenda_segundos"] = new JsonArray(0, 1) },
        });
        await SubscribeAsync(http, receiver.Url("/ops"), new JsonObject { ["eventos"] = new JsonArray("entrega.esgotada") });

        var eventId = await PublishAsync(http, "nfe_importada", new { n = 1 });
        var dead = await Eventually.GetAsync(async () => await QueueItemAsync(http, "falha") is { ValueKind: JsonValueKind.Object } e ? e : (JsonElement?)null, Patience, "dead letter");
        var alarm = await Eventually.GetAsync(() => Task.FromResult(receiver.Requests.FirstOrDefault(r => r.Path == "/ops")), Patience, "entrega.esgotada");
        healthy = true;
        var redrive = await http.PostAsync($"api/integracoes/filas/{dead!.Value.GetProperty("id").GetInt64()}/reenviar/", null);
        await Eventually.TrueAsync(async () => (await QueueItemAsync(http, $"entregue&servico_id={id}")).ValueKind == JsonValueKind.Object, Patience, "delivery after redrive");
        var stats = JsonDocument.Parse(await http.GetStringAsync("api/webhooks/estatisticas/")).RootElement;

        Assert.Equal(2, dead.Value.GetProperty("tentativas").GetInt32());
        var alarmData = JsonDocument.Parse(alarm.Body).RootElement.GetProperty("data");
        Assert.Equal(eventId, alarmData.GetProperty("evento_id").GetString());
        Assert.Equal(id, alarmData.GetProperty("webhook_id").GetInt64());
        Assert.Equal(HttpStatusCode.Accepted, redrive.StatusCode);
        Assert.Equal(eventId, receiver.Requests.Last(r => r.Path == "/hook").Headers["webhook-id"]);
        var forHook = stats.GetProperty("webhooks").EnumerateArray().Single(w => w.GetProperty("webhook_id").GetInt64() == id);
        Assert.Equal(3, forHook.GetProperty("entregas").GetInt32());
        Assert.Equal(1, forHook.GetProperty("sucessos").GetInt32());
    }

    [Fact]
    public async Task Recuperar_redrives_every_failed_delivery_of_a_subscription_since_a_time()
    {
        var healthy = false;
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => healthy ? Results.Ok() : Results.StatusCode(502)));
        using var http = await InstanceAsync("wh-recover");
        var (id, _) = await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject
        {
            ["eventos"] = new JsonArray("nfe_importada"),
            ["retry_config"] = new JsonObject { ["agenda_segundos"] = new JsonArray(0) },
        });
        var since = DateTimeOffset.UtcNow.AddMinutes(-1);
        for (var i = 0; i < 3; i++) await PublishAsync(http, "nfe_importada", new { i });
        await Eventually.TrueAsync(async () =>
            JsonDocument.Parse(await http.GetStringAsync("api/integracoes/filas/?status=falha")).RootElement.GetProperty("count").GetInt32() == 3, Patience, "3 dead letters");

        healthy = true;
        var recovered = await http.PostAsJsonAsync($"api/webhooks/{id}/recuperar/", new { desde = since });
        var body = JsonDocument.Parse(await recovered.Content.ReadAsStringAsync()).RootElement;
        await Eventually.TrueAsync(async () =>
            JsonDocument.Parse(await http.GetStringAsync("api/integracoes/filas/?status=entregue")).RootElement.GetProperty("count").GetInt32() == 3, Patience, "3 redelivered");

        Assert.Equal(3, body.GetProperty("reenviadas").GetInt32());
    }

    [Fact]
    public async Task Retry_after_is_honoured()
    {
        var times = new ConcurrentQueue<long>();
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", (HttpResponse response) =>
        {
            times.Enqueue(Stopwatch.GetTimestamp());
            if (times.Count > 1) return Results.Ok();
            response.Headers.RetryAfter = "2";
            return Results.StatusCode(429);
        }));
        using var http = await InstanceAsync("wh-retry-after");
        await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject { ["retry_config"] = new JsonObject { ["agenda_segundos"] = new JsonArray(0, 0) } });

        await PublishAsync(http, "nfe_importada", new { n = 1 });
        await Eventually.TrueAsync(() => Task.FromResult(times.Count >= 2), Patience, "the second attempt");

        var gap = Stopwatch.GetElapsedTime(times.ElementAt(0), times.ElementAt(1));
        Assert.True(gap >= TimeSpan.FromSeconds(1.9), $"second attempt after {gap.TotalSeconds:0.00} s");
    }

    [Fact]
    public async Task A_410_gone_disables_the_subscription_and_emits_webhook_desativado()
    {
        await using var receiver = await LocalHttpServer.StartAsync(app =>
        {
            app.MapPost("/gone", () => Results.StatusCode(410));
            app.MapPost("/ops", () => Results.Ok());
        });
        using var http = await InstanceAsync("wh-gone");
        var (id, _) = await SubscribeAsync(http, receiver.Url("/gone"), new JsonObject { ["eventos"] = new JsonArray("nfe_importada") });
        await SubscribeAsync(http, receiver.Url("/ops"), new JsonObject { ["eventos"] = new JsonArray("webhook.desativado") });

        await PublishAsync(http, "nfe_importada", new { n = 1 });
        var alarm = await Eventually.GetAsync(() => Task.FromResult(receiver.Requests.FirstOrDefault(r => r.Path == "/ops")), Patience, "webhook.desativado");
        var webhook = JsonDocument.Parse(await http.GetStringAsync($"api/webhooks/{id}/")).RootElement;
        var second = JsonDocument.Parse(await (await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "nfe_importada", dados = new { n = 2 } })).Content.ReadAsStringAsync()).RootElement;

        Assert.False(webhook.GetProperty("ativo").GetBoolean());
        Assert.Equal("410 Gone", webhook.GetProperty("motivo_desativacao").GetString());
        Assert.Equal(id, JsonDocument.Parse(alarm.Body).RootElement.GetProperty("data").GetProperty("webhook_id").GetInt64());
        Assert.Equal(0, second.GetProperty("entregas").GetInt32());
    }

    [Fact]
    public async Task The_same_idempotency_key_returns_the_first_answer_and_delivers_once()
    {
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.Ok()));
        using var http = await InstanceAsync("wh-idem");
        await SubscribeAsync(http, receiver.Url("/hook"));

        var first = await PublishAsync(http, "nfe_importada", new { n = 1 }, idempotencyKey: "pedido-42");
        var again = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => PublishAsync(http, "nfe_importada", new { n = 1 }, idempotencyKey: "pedido-42")));
        await Eventually.TrueAsync(() => Task.FromResult(!receiver.Requests.IsEmpty), Patience, "the delivery");
        var queued = JsonDocument.Parse(await http.GetStringAsync("api/integracoes/filas/")).RootElement;

        Assert.All(again, id => Assert.Equal(first, id));
        Assert.Equal(1, queued.GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Higher_priority_goes_first_when_the_endpoint_is_backed_up()
    {
        var gate = new TaskCompletionSource();
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", async () =>
        {
            await gate.Task;
            return Results.Ok();
        }));
        using var http = await InstanceAsync("wh-priority");
        await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject { ["max_concorrencia"] = 1 });

        await PublishAsync(http, "nfe_importada", new { ordem = "primeiro" });
        await Eventually.TrueAsync(() => Task.FromResult(receiver.Requests.Count == 1), Patience, "the first delivery in flight");
        for (var i = 0; i < 3; i++) await PublishAsync(http, "nfe_importada", new { ordem = $"baixa-{i}" });
        await PublishAsync(http, "nfe_importada", new { ordem = "urgente" }, prioridade: 10);
        gate.SetResult();
        await Eventually.TrueAsync(() => Task.FromResult(receiver.Requests.Count == 5), Patience, "every delivery");

        var order = receiver.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("data").GetProperty("ordem").GetString()).ToList();
        Assert.Equal(["primeiro", "urgente", "baixa-0", "baixa-1", "baixa-2"], order);
    }

    [Fact]
    public async Task Everything_arrives_after_a_receiver_comes_back_from_an_outage()
    {
        var port = LocalHttpServer.FreePort();
        using var http = await InstanceAsync("wh-outage");
        await SubscribeAsync(http, $"http://127.0.0.1:{port}/hook", new JsonObject
        {
            ["retry_config"] = new JsonObject { ["agenda_segundos"] = new JsonArray(0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2) },
        });
        var published = new List<string>();
        for (var i = 0; i < 20; i++) published.Add(await PublishAsync(http, "nfe_importada", new { i }));
        await Eventually.TrueAsync(async () =>
            JsonDocument.Parse(await http.GetStringAsync("api/webhooks/estatisticas/")).RootElement.GetProperty("total").GetProperty("falhas").GetInt32() >= 20,
            Patience, "failed attempts while the receiver is down");

        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.Ok()), port);
        await Eventually.TrueAsync(() => Task.FromResult(published.All(id => receiver.Requests.Any(r => r.Headers["webhook-id"] == id))),
            Patience, "every event after the outage");
    }

    [Fact]
    public async Task A_stuck_endpoint_never_delays_the_others()
    {
        var stuck = new TaskCompletionSource();
        await using var receiver = await LocalHttpServer.StartAsync(app =>
        {
            app.MapPost("/stuck", async () =>
            {
                await stuck.Task;
                return Results.Ok();
            });
            app.MapPost("/fast", () => Results.Ok());
        });
        using var http = await InstanceAsync("wh-isolation");
        await SubscribeAsync(http, receiver.Url("/stuck"), new JsonObject { ["max_concorrencia"] = 2, ["timeout"] = 60 });
        await SubscribeAsync(http, receiver.Url("/fast"));
        try
        {
            for (var i = 0; i < 20; i++) await PublishAsync(http, "nfe_importada", new { i });

            await Eventually.TrueAsync(() => Task.FromResult(receiver.Requests.Count(r => r.Path == "/fast") == 20), TimeSpan.FromSeconds(15), "the fast endpoint");
            Assert.Equal(2, receiver.Requests.Count(r => r.Path == "/stuck"));
        }
        finally
        {
            stuck.SetResult();
        }
    }

    [Fact]
    public async Task The_circuit_opens_on_a_failing_endpoint_and_parked_deliveries_go_out_when_it_recovers()
    {
        var healthy = false;
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => healthy ? Results.Ok() : Results.StatusCode(500)));
        using var http = await InstanceAsync("wh-circuit");
        var (id, _) = await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject
        {
            ["max_concorrencia"] = 1,
            ["retry_config"] = new JsonObject { ["agenda_segundos"] = new JsonArray(0, 1) },
        });

        for (var i = 0; i < 40; i++) await PublishAsync(http, "nfe_importada", new { i });
        await Eventually.TrueAsync(async () =>
            JsonDocument.Parse(await http.GetStringAsync($"api/webhooks/{id}/")).RootElement.GetProperty("estado_circuito").GetString() == "aberto",
            Patience, "the circuit to open");
        var attemptsWhileOpen = receiver.Requests.Count;
        healthy = true;
        await Eventually.TrueAsync(async () =>
            JsonDocument.Parse(await http.GetStringAsync($"api/integracoes/filas/?status=pendente&servico_id={id}")).RootElement.GetProperty("count").GetInt32() == 0,
            Patience, "the backlog to drain");
        var delivered = JsonDocument.Parse(await http.GetStringAsync($"api/integracoes/filas/?status=entregue&servico_id={id}")).RootElement.GetProperty("count").GetInt32();

        // The breaker stopped the hammering: far fewer than 40 × 2 attempts reached the failing endpoint,
        // and deliveries it turned away were not charged an attempt, so they went out after recovery.
        Assert.True(attemptsWhileOpen < 40, $"{attemptsWhileOpen} attempts reached the endpoint while failing");
        Assert.True(delivered > 0);
    }

    [Fact]
    public async Task Receivers_that_break_the_connection_or_answer_nul_bytes_are_retried_and_logged()
    {
        var calls = 0;
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", async (HttpContext context) =>
        {
            switch (Interlocked.Increment(ref calls))
            {
                case 1:
                    // Headers promise a body that never comes: the connection is cut mid-response.
                    context.Response.ContentLength = 1_000;
                    await context.Response.WriteAsync("partial");
                    await context.Response.Body.FlushAsync();
                    context.Abort();
                    return;
                case 2:
                    context.Response.StatusCode = 500;
                    await context.Response.WriteAsync("erro\0binario");
                    return;
                default:
                    context.Response.StatusCode = 200;
                    return;
            }
        }));
        using var http = await InstanceAsync("wh-hostile");
        var (id, _) = await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject { ["retry_config"] = new JsonObject { ["agenda_segundos"] = new JsonArray(0, 1, 1, 1) } });

        await PublishAsync(http, "nfe_importada", new { n = 1 });
        await Eventually.TrueAsync(async () => (await QueueItemAsync(http, $"entregue&servico_id={id}")).ValueKind == JsonValueKind.Object, Patience, "delivery");
        var logs = JsonDocument.Parse(await http.GetStringAsync($"api/webhooks/{id}/logs/")).RootElement;

        Assert.Equal(3, logs.GetProperty("count").GetInt32());
        Assert.Contains("erro", logs.GetProperty("results")[1].GetProperty("resposta").GetString());
    }

    [Fact]
    public async Task Deleting_a_subscription_cancels_its_pending_deliveries()
    {
        using var http = await InstanceAsync("wh-delete");
        var (id, _) = await SubscribeAsync(http, $"http://127.0.0.1:{LocalHttpServer.FreePort()}/hook", new JsonObject
        {
            ["retry_config"] = new JsonObject { ["agenda_segundos"] = new JsonArray(0, 600) },
        });
        await PublishAsync(http, "nfe_importada", new { n = 1 });
        await Eventually.TrueAsync(async () =>
            JsonDocument.Parse(await http.GetStringAsync($"api/webhooks/{id}/logs/")).RootElement.GetProperty("count").GetInt32() == 1, Patience, "the first attempt");

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"api/webhooks/{id}/")).StatusCode);

        var cancelled = JsonDocument.Parse(await http.GetStringAsync($"api/integracoes/filas/?status=cancelada&servico_id={id}")).RootElement;
        Assert.Equal(1, cancelled.GetProperty("count").GetInt32());
        await Problem.AssertAsync(await http.GetAsync($"api/webhooks/{id}/"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_rate_limit_spaces_deliveries_to_one_endpoint()
    {
        var times = new ConcurrentQueue<long>();
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () =>
        {
            times.Enqueue(Stopwatch.GetTimestamp());
            return Results.Ok();
        }));
        using var http = await InstanceAsync("wh-rate");
        await SubscribeAsync(http, receiver.Url("/hook"), new JsonObject { ["rate_limit"] = 5 });

        for (var i = 0; i < 15; i++) await PublishAsync(http, "nfe_importada", new { i });
        await Eventually.TrueAsync(() => Task.FromResult(times.Count == 15), Patience, "15 deliveries");

        // A burst of 5, then 5 per second: the last of 15 arrives about 2 s after the first.
        var span = Stopwatch.GetElapsedTime(times.First(), times.Last());
        Assert.True(span >= TimeSpan.FromSeconds(1.5), $"15 deliveries took {span.TotalSeconds:0.00} s");
    }

    [Theory]
    [InlineData("""{"nome":"x","url":"ftp://example.com/hook","eventos":"*"}""", "url")]
    [InlineData("""{"nome":"x","url":"http://10.1.2.3/hook","eventos":"*"}""", "url")]
    [InlineData("""{"nome":"x","url":"http://169.254.169.254/latest","eventos":"*"}""", "url")]
    [InlineData("""{"nome":"x","url":"http://[::1]:8080/","eventos":"*"}""", "url")]
    [InlineData("""{"nome":"x","url":"http://user:pw@example.com/","eventos":"*"}""", "url")]
    [InlineData("""{"nome":"x","url":"http://127.0.0.1:9/","eventos":42}""", "eventos")]
    [InlineData("""{"nome":"x","url":"http://127.0.0.1:9/","eventos":"bad name!"}""", "eventos")]
    [InlineData("""{"nome":"x","url":"http://127.0.0.1:9/","eventos":"*","secret":"not-a-secret"}""", "secret")]
    [InlineData("""{"nome":"x","url":"http://127.0.0.1:9/","eventos":"*","timeout":0}""", "timeout")]
    [InlineData("""{"nome":"x","url":"http://127.0.0.1:9/","eventos":"*","headers":{"webhook-id":"x"}}""", "headers")]
    [InlineData("""{"nome":"x","url":"http://127.0.0.1:9/","eventos":"*","headers":{"Host":"intranet"}}""", "headers")]
    [InlineData("""{"nome":"x","url":"http://127.0.0.1:9/","eventos":"*","headers":{"Transfer-Encoding":"chunked"}}""", "headers")]
    [InlineData("""{"nome":"x","url":"http://127.0.0.1:9/","eventos":"*","headers":{"X-A":"a\r\nX-B: b"}}""", "headers.X-A")]
    [InlineData("""{"nome":"x","url":"http://127.0.0.1:9/","eventos":"*","retry_config":{"agenda_segundos":[-1]}}""", "retry_config.agenda_segundos")]
    public async Task Bad_subscriptions_get_problem_json_naming_the_field(string json, string field)
    {
        using var http = await InstanceAsync("wh-bad-" + Math.Abs(json.GetHashCode() % 100000));

        var response = await http.PostAsync("api/webhooks/", new StringContent(json, Encoding.UTF8, "application/json"));

        await Problem.AssertAsync(response, HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Bad_events_get_problem_json()
    {
        using var http = await InstanceAsync("wh-bad-events");

        await Problem.AssertAsync(await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "nao_existe", dados = new { } }), HttpStatusCode.BadRequest, "evento");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "nfe_importada" }), HttpStatusCode.BadRequest, "dados");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "nfe_importada", dados = new { x = new string('x', 40_000) } }),
            HttpStatusCode.RequestEntityTooLarge, "dados");
        var registered = await http.PostAsJsonAsync("api/integracoes/eventos/", new { nome = "pedido_faturado", descricao = "Pedido faturado", exemplo = new { pedido = 1 } });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "pedido_faturado", dados = new { pedido = 1 } })).StatusCode);
        var catalogue = JsonDocument.Parse(await http.GetStringAsync("api/integracoes/eventos/")).RootElement;
        var names = catalogue.GetProperty("results").EnumerateArray().Select(e => e.GetProperty("nome").GetString()).ToList();
        Assert.Contains("nfe_importada", names);
        Assert.Contains("MESSAGES_UPSERT", names);
        Assert.Contains("entrega.esgotada", names);
        Assert.Contains("pedido_faturado", names);
        Assert.All(catalogue.GetProperty("results").EnumerateArray(), e => Assert.NotEqual(JsonValueKind.Null, e.GetProperty("exemplo").ValueKind));
    }

    [Fact]
    public async Task Another_instance_cannot_see_or_touch_webhooks_or_queue_items()
    {
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.StatusCode(500)));
        using var owner = await InstanceAsync("wh-owner");
        using var intruder = await InstanceAsync("wh-intruder");
        var (id, _) = await SubscribeAsync(owner, receiver.Url("/hook"), new JsonObject { ["retry_config"] = new JsonObject { ["agenda_segundos"] = new JsonArray(0) } });
        await PublishAsync(owner, "nfe_importada", new { n = 1 });
        var dead = await Eventually.GetAsync(async () => await QueueItemAsync(owner, "falha") is { ValueKind: JsonValueKind.Object } e ? e : (JsonElement?)null, Patience, "dead letter");

        await Problem.AssertAsync(await intruder.GetAsync($"api/webhooks/{id}/"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await intruder.GetAsync($"api/webhooks/{id}/logs/"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await intruder.PostAsync($"api/webhooks/{id}/testar/", null), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await intruder.PostAsync($"api/webhooks/{id}/rotacionar-segredo/", null), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await intruder.PostAsJsonAsync($"api/webhooks/{id}/recuperar/", new { desde = DateTimeOffset.UtcNow.AddDays(-1) }), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await intruder.PostAsync($"api/integracoes/filas/{dead!.Value.GetProperty("id").GetInt64()}/reenviar/", null), HttpStatusCode.NotFound);
        Assert.Equal(0, JsonDocument.Parse(await intruder.GetStringAsync("api/integracoes/filas/")).RootElement.GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Testar_sends_a_signed_test_event_synchronously()
    {
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.Text("recebido")));
        using var http = await InstanceAsync("wh-testar");
        var (id, secret) = await SubscribeAsync(http, receiver.Url("/hook"));

        var result = JsonDocument.Parse(await (await http.PostAsync($"api/webhooks/{id}/testar/", null)).Content.ReadAsStringAsync()).RootElement;

        Assert.True(result.GetProperty("sucesso").GetBoolean());
        Assert.Equal(200, result.GetProperty("status_code").GetInt32());
        Assert.Equal("recebido", result.GetProperty("resposta").GetString());
        Assert.Equal("ok", await NodeVerify.StandardWebhooksAsync(secret, receiver.Requests.Single()));
    }
}

/// <summary>Runs the reference <c>standardwebhooks</c> npm library on a received request.</summary>
internal static class NodeVerify
{
    public static async Task<string> StandardWebhooksAsync(string secret, RecordedRequest request)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Path.Combine(RepoPaths.Root, "tests", "Integracoes.EndToEndTests", "node"),
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("verify-standardwebhooks.mjs");
        using var process = Process.Start(start)!;
        var input = new JsonObject
        {
            ["secret"] = secret,
            ["body"] = request.Body,
            ["headers"] = new JsonObject
            {
                ["webhook-id"] = request.Headers["webhook-id"],
                ["webhook-timestamp"] = request.Headers["webhook-timestamp"],
                ["webhook-signature"] = request.Headers["webhook-signature"],
            },
        };
        await process.StandardInput.WriteAsync(input.ToJsonString());
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output.Trim() : "failed: " + error.Trim();
    }
}
