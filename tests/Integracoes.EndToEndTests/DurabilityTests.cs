using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.EndToEndTests;

[Collection(SiloCollection.Name)]
public sealed class DurabilityTests(SiloFixture fixture)
{
    [Fact]
    public async Task Services_and_execution_history_survive_a_kill_9_of_the_silo()
    {
        var key = await fixture.CreateInstanceAsync("durable");
        using var http = fixture.Http(key);
        var created = await http.PostAsJsonAsync("api/integracoes/servicos/", new
        {
            nome = "sobrevive",
            tipo = "api",
            endpoints = new[] { new { nome = "fechado", url = "http://127.0.0.1:9/" } },
        });
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
        var tested = await http.PostAsJsonAsync("api/integracoes/testar/", new { servico_id = id });
        var executionId = JsonDocument.Parse(await tested.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();

        await fixture.Silo.KillAsync();
        await fixture.Silo.StartAsync();

        using var afterRestart = fixture.Http(key);
        var service = await Eventually.GetAsync(async () =>
        {
            var response = await afterRestart.GetAsync($"api/integracoes/servicos/{id}/");
            return response.StatusCode == HttpStatusCode.OK ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement : (JsonElement?)null;
        }, TimeSpan.FromSeconds(60), "the service after restart");
        var executions = JsonDocument.Parse(await afterRestart.GetStringAsync($"api/integracoes/execucoes/?servico_id={id}")).RootElement;

        Assert.Equal("sobrevive", service!.Value.GetProperty("nome").GetString());
        Assert.Equal(executionId, executions.GetProperty("results")[0].GetProperty("id").GetInt64());
        Assert.Equal("falha", executions.GetProperty("results")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Every_accepted_event_reaches_the_receiver_after_a_kill_9_mid_stream()
    {
        var attemptsById = new ConcurrentDictionary<string, int>();
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", async (HttpRequest request) =>
        {
            var id = request.Headers["webhook-id"].ToString();
            var attempt = attemptsById.AddOrUpdate(id, 1, (_, n) => n + 1);
            await Task.Delay(20);
            // Every fourth event fails its first attempt, so retries are pending when the silo dies.
            return attempt == 1 && Math.Abs(id.GetHashCode()) % 4 == 0 ? Results.StatusCode(503) : Results.Ok();
        }));
        var key = await fixture.CreateInstanceAsync("durable-stream");
        using var http = fixture.Http(key);
        var subscribed = await http.PostAsJsonAsync("api/webhooks/", new
        {
            nome = "stream",
            url = receiver.Url("/hook"),
            eventos = "*",
            max_concorrencia = 4,
            retry_config = new { agenda_segundos = new[] { 0, 2, 2, 2, 2, 2, 2, 2, 2, 2 } },
        });
        Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);

        var accepted = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var publishers = Enumerable.Range(0, 8).Select(p => Task.Run(async () =>
        {
            using var client = fixture.Http(key);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var response = await client.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "nfe_importada", dados = new { publisher = p, i } });
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        accepted.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
                    }
                }
                catch (HttpRequestException)
                {
                    // The silo is down: this request was never acknowledged, so nothing is owed for it.
                }
                catch (TaskCanceledException)
                {
                }
            }
        })).ToList();

        await Eventually.TrueAsync(() => Task.FromResult(accepted.Count >= 300), TimeSpan.FromSeconds(60), "300 accepted events");
        await fixture.Silo.KillAsync();
        var pendingAtKill = accepted.Count(id => !attemptsById.ContainsKey(id));
        await stop.CancelAsync();
        await Task.WhenAll(publishers);
        await fixture.Silo.StartAsync();

        var acceptedIds = accepted.ToHashSet();
        await Eventually.TrueAsync(() => Task.FromResult(acceptedIds.All(attemptsById.ContainsKey)), TimeSpan.FromSeconds(90),
            $"all {acceptedIds.Count} accepted events at the receiver");
        Assert.True(pendingAtKill > 0 || attemptsById.Values.Any(n => n > 1), "the kill should interrupt pending work");
    }
}
