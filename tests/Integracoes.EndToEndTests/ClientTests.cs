using System.Net.Http.Json;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Services;
using Integracoes.Client;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.EndToEndTests;

[Collection(SiloCollection.Name)]
public sealed class ClientTests(SiloFixture fixture)
{
    [Fact]
    public async Task A_dotnet_app_uses_the_registry_through_the_grain_client()
    {
        await using var client = await IntegracoesClient.ConnectAsync(new IntegracoesClientOptions { ConnectionString = fixture.ConnectionString, AppName = "erp-sync" });
        var services = client.Services("client-app");

        var created = await services.CreateAsync(new ServiceDefinition(
            "via-client", "crm", null, "{}", new ServiceAuth(AuthTypes.ApiKey, HeaderName: "X-Key"), new ServiceCredentials(ApiKey: "k"),
            [], new Dictionary<string, string>(), RetryConfig.Default, 10, true));
        var duplicate = await services.CreateAsync(new ServiceDefinition(
            "VIA-CLIENT", "api", null, "{}", ServiceAuth.None, null, [], new Dictionary<string, string>(), RetryConfig.Default, 10, true));
        var listed = await services.ListAsync(tipo: "crm");
        var read = await services.GetAsync(created.Value!.Id);

        Assert.True(created.IsOk);
        Assert.Equal(OutcomeStatus.Conflict, duplicate.Status);
        Assert.Equal("via-client", listed.Results.Single().Nome);
        Assert.Equal(["api_key"], read!.CredenciaisConfiguradas);
        using var admin = fixture.Http(SiloFixture.AdminKey);
        var audit = System.Text.Json.JsonDocument.Parse(await admin.GetStringAsync("api/auditoria/?instancia=client-app&recurso=servico&acao=criar")).RootElement;
        Assert.Equal("cliente:erp-sync", audit.GetProperty("results").EnumerateArray().Single().GetProperty("ator").GetString());
    }

    [Fact]
    public async Task The_silo_is_listed_as_an_active_gateway_in_the_ado_net_membership_table()
    {
        await using var command = fixture.DataSource.CreateCommand("SELECT count(*) FROM OrleansMembershipTable WHERE Status = 3 AND ProxyPort = @port");
        command.Parameters.AddWithValue("port", fixture.Silo.GatewayPort);

        Assert.Equal(1L, (long)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task A_dotnet_app_publishes_through_the_grain_client_with_idempotency()
    {
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.Ok()));
        var key = await fixture.CreateInstanceAsync("client-publisher");
        using (var http = fixture.Http(key))
        {
            var subscribed = await http.PostAsJsonAsync("api/webhooks/", new { nome = "r", url = receiver.Url("/hook"), eventos = "nfe_importada" });
            Assert.True(subscribed.IsSuccessStatusCode);
        }
        await using var client = await IntegracoesClient.ConnectAsync(new IntegracoesClientOptions { ConnectionString = fixture.ConnectionString });
        var events = client.Events("client-publisher");

        var first = await events.PublishAsync("nfe_importada", """{"numero":7}""", idempotencyKey: "nota-7");
        var again = await events.PublishAsync("nfe_importada", """{"numero":7}""", idempotencyKey: "nota-7");
        var unknown = await events.PublishAsync("nao_existe", "{}");
        var received = await Eventually.GetAsync(() => Task.FromResult(receiver.Requests.FirstOrDefault()), TimeSpan.FromSeconds(30), "the delivery");

        Assert.True(first.IsOk);
        Assert.Equal(1, first.Value!.Entregas);
        Assert.Equal(first.Value.Id, again.Value!.Id);
        Assert.True(again.Value.Repetido);
        Assert.Equal(OutcomeStatus.Invalid, unknown.Status);
        Assert.Equal(first.Value.Id.ToString(), received.Headers["webhook-id"]);
        Assert.Single(receiver.Requests);
    }
}
