using Integracoes.Abstractions.Services;

namespace Integracoes.UnitTests;

public sealed class ServiceDefinitionRulesTests
{
    private static ServiceDefinition Definition(
        string nome = "svc", string tipo = "api", string config = "{}", ServiceAuth? auth = null,
        IReadOnlyList<ServiceEndpoint>? endpoints = null, Dictionary<string, string>? headers = null, int timeout = 30) =>
        new(nome, tipo, null, config, auth ?? ServiceAuth.None, null, endpoints ?? [], headers ?? [], RetryConfig.Default, timeout, true);

    private static string? FieldOf(ServiceDefinition d, ServiceCredentials? c = null) =>
        ServiceDefinitionRules.Validate(d, c ?? new ServiceCredentials())?.Field;

    [Fact]
    public void A_minimal_definition_is_valid() => Assert.Null(FieldOf(Definition()));

    [Theory]
    [InlineData("", "nome")]
    [InlineData("   ", "nome")]
    public void Blank_names_are_rejected(string nome, string field) => Assert.Equal(field, FieldOf(Definition(nome: nome)));

    [Fact]
    public void Names_longer_than_the_seed_column_are_rejected() => Assert.Equal("nome", FieldOf(Definition(nome: new string('n', 101))));

    [Fact]
    public void Unknown_tipo_is_rejected() => Assert.Equal("tipo", FieldOf(Definition(tipo: "API")));

    [Theory]
    [InlineData(0)]
    [InlineData(301)]
    public void Timeouts_outside_1_to_300_seconds_are_rejected(int timeout) => Assert.Equal("timeout", FieldOf(Definition(timeout: timeout)));

    [Theory]
    [InlineData("Bad Header")]
    [InlineData("")]
    [InlineData("X-Ç")]
    public void Invalid_header_names_are_rejected(string name) =>
        Assert.Equal("headers_padrao", FieldOf(Definition(headers: new() { [name] = "v" })));

    [Fact]
    public void Header_values_with_line_breaks_are_rejected_to_prevent_header_injection() =>
        Assert.Equal("headers_padrao.X-A", FieldOf(Definition(headers: new() { ["X-A"] = "v\r\nX-Injected: 1" })));

    [Fact]
    public void Relative_endpoints_need_a_base_url()
    {
        var endpoints = new[] { new ServiceEndpoint("e", "GET", "/x") };

        Assert.Equal("endpoints[0].url", FieldOf(Definition(endpoints: endpoints)));
        Assert.Null(FieldOf(Definition(endpoints: endpoints, config: """{"base_url":"https://erp.example.com/api"}""")));
        Assert.Null(FieldOf(Definition(endpoints: endpoints, config: """{"baseUrl":"https://erp.example.com/api"}""")));
    }

    [Theory]
    [InlineData("ftp://example.com/x")]
    [InlineData("file:///etc/passwd")]
    [InlineData("https://user:pass@example.com/")]
    [InlineData("example.com/x")]
    public void Endpoint_urls_must_be_plain_http_or_https(string url) =>
        Assert.Equal("endpoints[0].url", FieldOf(Definition(endpoints: [new ServiceEndpoint("e", "GET", url)])));

    [Fact]
    public void Endpoint_names_are_unique_and_methods_are_http_methods()
    {
        Assert.Equal("endpoints[1].nome", FieldOf(Definition(endpoints: [new("a", "GET", "https://x.example/"), new("a", "GET", "https://x.example/")])));
        Assert.Equal("endpoints[0].metodo", FieldOf(Definition(endpoints: [new("a", "FETCH", "https://x.example/")])));
    }

    [Theory]
    [InlineData("api_key", "auth.api_key")]
    [InlineData("bearer", "auth.token")]
    [InlineData("basic", "auth.username")]
    [InlineData("oauth2_client_credentials", "auth.token_url")]
    [InlineData("ntlm", "auth_type")]
    public void Each_auth_type_requires_its_settings(string type, string field) =>
        Assert.Equal(field, FieldOf(Definition(auth: new ServiceAuth(type))));

    [Fact]
    public void Complete_auth_settings_are_valid()
    {
        Assert.Null(FieldOf(Definition(auth: new ServiceAuth(AuthTypes.ApiKey, HeaderName: "X-Key")), new ServiceCredentials(ApiKey: "k")));
        Assert.Null(FieldOf(Definition(auth: new ServiceAuth(AuthTypes.Basic, Username: "u")), new ServiceCredentials(Password: "p")));
        Assert.Null(FieldOf(
            Definition(auth: new ServiceAuth(AuthTypes.OAuth2ClientCredentials, TokenUrl: "https://idp.example/token", ClientId: "c")),
            new ServiceCredentials(ClientSecret: "s")));
    }

    [Fact]
    public void Relative_urls_join_the_base_url_without_doubling_slashes() =>
        Assert.Equal("https://totvs.example.com/api/ordens-producao",
            ServiceDefinitionRules.ResolveUrl("https://totvs.example.com/api/", "/ordens-producao").ToString());

    [Fact]
    public void Credential_merge_keeps_unspecified_values()
    {
        var merged = new ServiceCredentials(Token: "new").MergeOver(new ServiceCredentials(ApiKey: "old-key", Token: "old"));

        Assert.Equal(("old-key", "new"), (merged.ApiKey, merged.Token));
        Assert.Equal(["api_key", "token"], merged.ConfiguredNames());
    }
}
