using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Services;
using Integracoes.Client;

namespace Integracoes.EndToEndTests;

[Collection(SiloCollection.Name)]
public sealed class ClientTests(SiloFixture fixture)
{
    [Fact]
    public async Task A_dotnet_app_uses_the_registry_through_the_grain_client()
    {
        await using var client = await IntegracoesClient.ConnectAsync(new IntegracoesClientOptions { ConnectionString = fixture.ConnectionString });
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
    }

    [Fact]
    public async Task The_silo_is_listed_as_an_active_gateway_in_the_ado_net_membership_table()
    {
        await using var command = fixture.DataSource.CreateCommand("SELECT count(*) FROM OrleansMembershipTable WHERE Status = 3 AND ProxyPort = @port");
        command.Parameters.AddWithValue("port", fixture.Silo.GatewayPort);

        Assert.Equal(1L, (long)(await command.ExecuteScalarAsync())!);
    }
}
