using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;

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
}
