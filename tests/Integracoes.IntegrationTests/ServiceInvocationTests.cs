using System.Text;
using System.Text.Json;
using Integracoes.Abstractions.Services;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.IntegrationTests;

/// <summary>
/// POST /api/integracoes/testar/ semantics at the grain level: every auth type against a local server
/// that enforces it, timeouts, SSRF blocking, and the executions each call records.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ServiceInvocationTests(ClusterFixture fixture) : IAsyncLifetime
{
    private LocalHttpServer _server = null!;
    private int _tokensIssued;

    public async Task InitializeAsync()
    {
        _server = await LocalHttpServer.StartAsync(app =>
        {
            app.MapGet("/apikey", (HttpRequest r) => r.Headers["X-Key"] == "k1" ? Results.Ok(new { ok = true }) : Results.Unauthorized());
            app.MapGet("/bearer", (HttpRequest r) => r.Headers.Authorization == "Bearer tok-1" ? Results.Ok(new { ok = true }) : Results.Unauthorized());
            app.MapGet("/basic", (HttpRequest r) =>
                r.Headers.Authorization == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("user:pw")) ? Results.Ok() : Results.Unauthorized());
            app.MapPost("/oauth/token", async (HttpRequest r) =>
            {
                var form = await r.ReadFormAsync();
                var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("client-1:secret-1"));
                if (r.Headers.Authorization != expected || form["grant_type"] != "client_credentials")
                {
                    return Results.Json(new { error = "invalid_client" }, statusCode: 401);
                }
                var n = Interlocked.Increment(ref _tokensIssued);
                return Results.Json(new { access_token = $"at-{n}", token_type = "Bearer", expires_in = 3600 });
            });
            app.MapGet("/oauth/resource", (HttpRequest r) =>
                r.Headers.Authorization.ToString().StartsWith("Bearer at-", StringComparison.Ordinal) ? Results.Ok(new { data = 42 }) : Results.Unauthorized());
            app.MapGet("/slow", async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(5));
                return Results.Ok();
            });
            app.MapPost("/echo", async (HttpRequest r) => Results.Text(await new StreamReader(r.Body).ReadToEndAsync(), "application/json"));
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(long Id, IIntegrationServiceGrain Grain)> CreateAsync(string instance, ServiceDefinition definition)
    {
        var created = await fixture.Grains.GetGrain<IServiceRegistryGrain>(instance).CreateAsync(definition);
        Assert.True(created.IsOk, created.Detail);
        return (created.Value!.Id, fixture.Grains.GetGrain<IIntegrationServiceGrain>(created.Value.Id));
    }

    private string BaseUrl => _server.BaseUri.ToString().TrimEnd('/');

    [Theory]
    [InlineData("api_key", "/apikey")]
    [InlineData("bearer", "/bearer")]
    [InlineData("basic", "/basic")]
    [InlineData("oauth2_client_credentials", "/oauth/resource")]
    public async Task Each_auth_type_is_accepted_by_a_server_enforcing_it(string authType, string path)
    {
        var (auth, credentials) = authType switch
        {
            "api_key" => (new ServiceAuth(AuthTypes.ApiKey, HeaderName: "X-Key"), new ServiceCredentials(ApiKey: "k1")),
            "bearer" => (new ServiceAuth(AuthTypes.Bearer), new ServiceCredentials(Token: "tok-1")),
            "basic" => (new ServiceAuth(AuthTypes.Basic, Username: "user"), new ServiceCredentials(Password: "pw")),
            _ => (new ServiceAuth(AuthTypes.OAuth2ClientCredentials, TokenUrl: BaseUrl + "/oauth/token", ClientId: "client-1"),
                new ServiceCredentials(ClientSecret: "secret-1")),
        };
        var (_, grain) = await CreateAsync("inv-auth", Definitions.Api($"auth-{authType}", baseUrl: BaseUrl, auth: auth, credentials: credentials,
            endpoints: [new ServiceEndpoint("alvo", "GET", path)]));

        var execution = await grain.TestAsync("inv-auth", new ServiceTestRequest(null, null, null, null, null));

        Assert.True(execution.IsOk);
        Assert.Equal(ExecutionStatus.Success, execution.Value!.Status);
        Assert.Equal((1, 1, 0), (execution.Value.Processados, execution.Value.Sucesso, execution.Value.Falha));
        Assert.Contains("\"status_code\":200", execution.Value.ResponseDataJson);
        Assert.DoesNotContain("k1", execution.Value.RequestDataJson);
        Assert.DoesNotContain("tok-1", execution.Value.RequestDataJson);
    }

    [Fact]
    public async Task Wrong_credentials_record_a_failed_execution_with_the_status_code()
    {
        var (_, grain) = await CreateAsync("inv-wrong", Definitions.Api("wrong", baseUrl: BaseUrl,
            auth: new ServiceAuth(AuthTypes.Bearer), credentials: new ServiceCredentials(Token: "nope"),
            endpoints: [new ServiceEndpoint("alvo", "GET", "/bearer")]));

        var execution = (await grain.TestAsync("inv-wrong", new ServiceTestRequest("alvo", null, null, null, null))).Value!;

        Assert.Equal(ExecutionStatus.Failure, execution.Status);
        Assert.Equal("HTTP 401", execution.ErrorLog);
        Assert.Equal(1, execution.Falha);
    }

    [Fact]
    public async Task OAuth2_tokens_are_fetched_once_and_reused_until_they_expire()
    {
        var before = _tokensIssued;
        var (_, grain) = await CreateAsync("inv-oauth", Definitions.Api("oauth-cache", baseUrl: BaseUrl,
            auth: new ServiceAuth(AuthTypes.OAuth2ClientCredentials, TokenUrl: BaseUrl + "/oauth/token", ClientId: "client-1"),
            credentials: new ServiceCredentials(ClientSecret: "secret-1"),
            endpoints: [new ServiceEndpoint("alvo", "GET", "/oauth/resource")]));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(ExecutionStatus.Success, (await grain.TestAsync("inv-oauth", new ServiceTestRequest(null, null, null, null, null))).Value!.Status);
        }

        Assert.Equal(1, _tokensIssued - before);
    }

    [Fact]
    public async Task A_call_slower_than_the_service_timeout_fails_as_a_timeout()
    {
        var (_, grain) = await CreateAsync("inv-timeout", Definitions.Api("slow", baseUrl: BaseUrl, timeout: 1,
            endpoints: [new ServiceEndpoint("alvo", "GET", "/slow")]));

        var execution = (await grain.TestAsync("inv-timeout", new ServiceTestRequest(null, null, null, null, null))).Value!;

        Assert.Equal(ExecutionStatus.Failure, execution.Status);
        Assert.StartsWith("timeout after 1 s", execution.ErrorLog);
    }

    [Theory]
    [InlineData("http://127.0.0.2:9/")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://10.0.0.1/")]
    [InlineData("http://[::1]:9/")]
    public async Task Internal_addresses_not_listed_in_allowed_targets_are_refused(string url)
    {
        var (_, grain) = await CreateAsync("inv-ssrf", Definitions.Api("ssrf-" + Guid.NewGuid().ToString("N")[..8],
            endpoints: [new ServiceEndpoint("alvo", "GET", url)]));

        var execution = (await grain.TestAsync("inv-ssrf", new ServiceTestRequest(null, null, null, null, null))).Value!;

        Assert.Equal(ExecutionStatus.Failure, execution.Status);
        Assert.Contains("INTEGRACOES_ALLOWED_TARGETS", execution.ErrorLog);
    }

    [Fact]
    public async Task The_payload_default_headers_and_extra_headers_reach_the_service()
    {
        var (_, grain) = await CreateAsync("inv-echo", Definitions.Api("echo", baseUrl: BaseUrl,
            endpoints: [new ServiceEndpoint("echo", "POST", "/echo")]));

        var execution = (await grain.TestAsync("inv-echo",
            new ServiceTestRequest("echo", null, null, """{"pedido":7}""", new Dictionary<string, string> { ["X-Extra"] = "1" }))).Value!;

        Assert.Equal(ExecutionStatus.Success, execution.Status);
        using var response = JsonDocument.Parse(execution.ResponseDataJson!);
        Assert.Equal(7, response.RootElement.GetProperty("body").GetProperty("pedido").GetInt32());
        var received = _server.Requests.Last(r => r.Path == "/echo");
        Assert.Equal("yes", received.Headers["X-Default"]);
        Assert.Equal("1", received.Headers["X-Extra"]);
    }

    [Fact]
    public async Task Executions_are_listed_per_instance_newest_first_with_filters_and_paging()
    {
        var (id, grain) = await CreateAsync("inv-hist", Definitions.Api("hist", baseUrl: BaseUrl,
            endpoints: [new ServiceEndpoint("ok", "POST", "/echo"), new ServiceEndpoint("bad", "GET", "/bearer")]));
        await grain.TestAsync("inv-hist", new ServiceTestRequest("ok", null, null, "{}", null));
        await grain.TestAsync("inv-hist", new ServiceTestRequest("bad", null, null, null, null));
        await grain.TestAsync("inv-hist", new ServiceTestRequest("ok", null, null, "{}", null));
        var history = fixture.Grains.GetGrain<IExecutionHistoryGrain>("inv-hist");

        var all = await history.ListAsync(id, null, 50, 0);
        var failures = await history.ListAsync(id, ExecutionStatus.Failure, 50, 0);
        var page = await history.ListAsync(id, null, 2, 2);
        var otherInstance = await fixture.Grains.GetGrain<IExecutionHistoryGrain>("someone-else").ListAsync(id, null, 50, 0);

        Assert.Equal(3, all.Count);
        Assert.True(all.Results[0].Id > all.Results[1].Id);
        Assert.Single(failures.Results);
        Assert.Single(page.Results);
        Assert.Equal(0, otherInstance.Count);
    }
}
