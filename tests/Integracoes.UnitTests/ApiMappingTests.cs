using System.Text.Json;
using Integracoes.Api.Apis;
using Integracoes.Api.Http;

namespace Integracoes.UnitTests;

public sealed class ApiMappingTests
{
    private static ServiceRequest Parse(string json) =>
        JsonSerializer.Deserialize<ServiceRequest>(json, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!;

    [Fact]
    public void Endpoints_accept_the_totvs_map_form()
    {
        var (definition, error) = ServiceRequestMapper.ToDefinition(Parse("""
            {"nome":"totvs","tipo":"erp","config_padrao":{"baseUrl":"https://totvs.farmace.com/api"},
             "endpoints":{"ordens":"/ordens-producao","produtos":"/produtos"}}
            """));

        Assert.Null(error);
        Assert.Equal(["ordens", "produtos"], definition!.Endpoints.Select(e => e.Nome));
        Assert.All(definition.Endpoints, e => Assert.Equal("GET", e.Metodo));
    }

    [Fact]
    public void Endpoints_accept_the_list_form_with_methods()
    {
        var (definition, _) = ServiceRequestMapper.ToDefinition(Parse("""
            {"nome":"x","tipo":"api","endpoints":[{"nome":"criar","metodo":"post","url":"https://x.example/c"}]}
            """));

        Assert.Equal(("criar", "POST"), (definition!.Endpoints[0].Nome, definition.Endpoints[0].Metodo));
    }

    [Theory]
    [InlineData("""{"tipo":"api"}""", "nome")]
    [InlineData("""{"nome":"x"}""", "tipo")]
    [InlineData("""{"nome":"x","tipo":"api","config_padrao":"text"}""", "config_padrao")]
    [InlineData("""{"nome":"x","tipo":"api","endpoints":5}""", "endpoints")]
    [InlineData("""{"nome":"x","tipo":"api","endpoints":[{"url":"https://a"}]}""", "endpoints[0].nome")]
    [InlineData("""{"nome":"x","tipo":"api","endpoints":{"a":1}}""", "endpoints.a")]
    public void Shape_errors_name_the_field(string json, string field)
    {
        var (_, error) = ServiceRequestMapper.ToDefinition(Parse(json));

        Assert.Equal(field, error?.Field);
    }

    [Fact]
    public void Credentials_are_only_sent_to_the_grain_when_given()
    {
        var (withoutSecret, _) = ServiceRequestMapper.ToDefinition(Parse("""{"nome":"x","tipo":"api","auth_type":"bearer","auth":{}}"""));
        var (withSecret, _) = ServiceRequestMapper.ToDefinition(Parse("""{"nome":"x","tipo":"api","auth_type":"bearer","auth":{"token":"t"}}"""));

        Assert.Null(withoutSecret!.Credentials);
        Assert.Equal("t", withSecret!.Credentials!.Token);
    }

    [Theory]
    [InlineData(null, "body")]
    [InlineData("$", "body")]
    [InlineData("$.timeout", "timeout")]
    [InlineData("$.retry_config.max_tentativas", "retry_config.max_tentativas")]
    public void Json_paths_become_field_names(string? path, string field) =>
        Assert.Equal(field, BadRequestExceptionHandler.FieldFromPath(path));
}
