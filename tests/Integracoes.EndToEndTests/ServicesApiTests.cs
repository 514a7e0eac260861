using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.EndToEndTests;

[Collection(SiloCollection.Name)]
public sealed class ServicesApiTests(SiloFixture fixture)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static object Service(string nome, string tipo = "api", string baseUrl = "https://partner.example.com") => new
    {
        nome,
        tipo,
        descricao = "e2e",
        config_padrao = new { base_url = baseUrl },
        auth_type = "bearer",
        auth = new { token = "super-secret-token-e2e" },
        endpoints = new { raiz = "/ok" },
        headers_padrao = new Dictionary<string, string> { ["X-Origem"] = "integracoes" },
        retry_config = new { max_tentativas = 2, backoff_segundos = 1 },
        timeout = 5,
        ativo = true,
    };

    [Fact]
    public async Task Services_are_created_read_listed_updated_and_deleted_over_http()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("svc-crud"));

        var created = await http.PostAsJsonAsync("api/integracoes/servicos/", Service("TOTVS", "erp", "https://totvs.example.com/api"));
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var id = body.GetProperty("id").GetInt64();
        var read = JsonDocument.Parse(await http.GetStringAsync($"api/integracoes/servicos/{id}/")).RootElement;
        var listed = JsonDocument.Parse(await http.GetStringAsync("api/integracoes/servicos/?tipo=erp&ativo=true")).RootElement;
        var updated = await http.PutAsJsonAsync($"api/integracoes/servicos/{id}/", Service("TOTVS Protheus", "erp", "https://totvs.example.com/api"));
        var deleted = await http.DeleteAsync($"api/integracoes/servicos/{id}/");
        var afterDelete = await http.GetAsync($"api/integracoes/servicos/{id}/");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/api/integracoes/servicos/{id}/", created.Headers.Location!.ToString());
        Assert.Equal("TOTVS", read.GetProperty("nome").GetString());
        Assert.Equal("https://totvs.example.com/api", read.GetProperty("config_padrao").GetProperty("base_url").GetString());
        Assert.Equal("token", read.GetProperty("auth").GetProperty("credenciais_configuradas")[0].GetString());
        Assert.Equal(1, listed.GetProperty("count").GetInt32());
        Assert.Equal("TOTVS Protheus", JsonDocument.Parse(await updated.Content.ReadAsStringAsync()).RootElement.GetProperty("nome").GetString());
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await Problem.AssertAsync(afterDelete, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Credentials_are_write_only_and_not_stored_in_plaintext()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("svc-secret"));

        var created = await http.PostAsJsonAsync("api/integracoes/servicos/", Service("secret-holder"));
        var createdText = await created.Content.ReadAsStringAsync();
        var id = JsonDocument.Parse(createdText).RootElement.GetProperty("id").GetInt64();
        var readText = await http.GetStringAsync($"api/integracoes/servicos/{id}/");
        var listText = await http.GetStringAsync("api/integracoes/servicos/");
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT count(*) FROM OrleansStorage WHERE position(convert_to('super-secret-token-e2e', 'UTF8') in PayloadBinary) > 0");
        var plaintextRows = (long)(await command.ExecuteScalarAsync())!;

        Assert.DoesNotContain("super-secret-token-e2e", createdText);
        Assert.DoesNotContain("super-secret-token-e2e", readText);
        Assert.DoesNotContain("super-secret-token-e2e", listText);
        Assert.Equal(0, plaintextRows);
        Assert.DoesNotContain("super-secret-token-e2e", fixture.Silo.Tail());
    }

    [Fact]
    public async Task Another_instances_service_answers_404()
    {
        using var owner = fixture.Http(await fixture.CreateInstanceAsync("svc-owner"));
        using var intruder = fixture.Http(await fixture.CreateInstanceAsync("svc-intruder"));
        var created = await owner.PostAsJsonAsync("api/integracoes/servicos/", Service("mine"));
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();

        await Problem.AssertAsync(await intruder.GetAsync($"api/integracoes/servicos/{id}/"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await intruder.PutAsJsonAsync($"api/integracoes/servicos/{id}/", Service("taken")), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await intruder.DeleteAsync($"api/integracoes/servicos/{id}/"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await intruder.PostAsJsonAsync("api/integracoes/testar/", new { servico_id = id }), HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"api/integracoes/servicos/{id}/")).StatusCode);
    }

    [Theory]
    [InlineData("""{"nome": "x", "tipo": """, "tipo")]
    [InlineData("""not json at all""", "body")]
    [InlineData("""{"nome": "x", "tipo": "api", "timeout": "soon"}""", "timeout")]
    [InlineData("""{"nome": 12, "tipo": "api"}""", "nome")]
    [InlineData("""{"nome": "x", "tipo": "planilha"}""", "tipo")]
    [InlineData("""{"tipo": "api"}""", "nome")]
    [InlineData("""{"nome": "x", "tipo": "api", "auth_type": "kerberos"}""", "auth_type")]
    [InlineData("""{"nome": "x", "tipo": "api", "auth_type": "basic", "auth": {"username": "u"}}""", "auth.password")]
    [InlineData("""{"nome": "x", "tipo": "api", "config_padrao": [1, 2]}""", "config_padrao")]
    [InlineData("""{"nome": "x", "tipo": "api", "endpoints": [{"nome": "a", "url": "ftp://x"}]}""", "endpoints[0].url")]
    [InlineData("""{"nome": "x", "tipo": "api", "headers_padrao": {"Bad Header": "v"}}""", "headers_padrao")]
    [InlineData("""{"nome": "x", "tipo": "api", "timeout": 100000}""", "timeout")]
    [InlineData("""{"nome": "x", "tipo": "api", "retry_config": {"max_tentativas": -1}}""", "retry_config.max_tentativas")]
    [InlineData("""[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]""", "body")]
    public async Task Bad_input_gets_problem_json_naming_the_field(string json, string field)
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("svc-bad-" + Math.Abs(json.GetHashCode() % 100000)));

        var response = await http.PostAsync("api/integracoes/servicos/", Json(json));

        await Problem.AssertAsync(response, HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Duplicate_names_oversized_bodies_unknown_ids_and_wrong_media_types_get_problems()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("svc-problems"));
        await http.PostAsJsonAsync("api/integracoes/servicos/", Service("dup"));

        await Problem.AssertAsync(await http.PostAsJsonAsync("api/integracoes/servicos/", Service("dup")), HttpStatusCode.Conflict, "nome");
        var huge = Json($$"""{"nome":"{{new string('a', 70_000)}}","tipo":"api"}""");
        await Problem.AssertAsync(await http.PostAsync("api/integracoes/servicos/", huge), HttpStatusCode.RequestEntityTooLarge, "body");
        await Problem.AssertAsync(await http.GetAsync("api/integracoes/servicos/987654/"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await http.PostAsync("api/integracoes/servicos/", new StringContent("nome=x", Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "body");
        await Problem.AssertAsync(await http.GetAsync("api/integracoes/servicos/?limit=100000"), HttpStatusCode.BadRequest, "limit");
        await Problem.AssertAsync(await http.GetAsync("api/integracoes/servicos/?ativo=talvez"), HttpStatusCode.BadRequest, "ativo");
        await Problem.AssertAsync(await http.GetAsync("api/integracoes/execucoes/?status=nope"), HttpStatusCode.BadRequest, "status");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/integracoes/testar/", new { }), HttpStatusCode.BadRequest, "servico_id");
    }

    [Fact]
    public async Task Testar_calls_the_endpoint_and_the_execution_is_listed()
    {
        await using var partner = await LocalHttpServer.StartAsync(app =>
            app.MapGet("/ok", (HttpRequest r) => r.Headers.Authorization == "Bearer super-secret-token-e2e"
                ? Results.Ok(new { recebido = true })
                : Results.Unauthorized()));
        using var http = fixture.Http(await fixture.CreateInstanceAsync("svc-testar"));
        var created = await http.PostAsJsonAsync("api/integracoes/servicos/", Service("parceiro", baseUrl: partner.BaseUri.ToString().TrimEnd('/')));
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();

        var tested = await http.PostAsJsonAsync("api/integracoes/testar/", new { servico_id = id, endpoint = "raiz" });
        var execution = JsonDocument.Parse(await tested.Content.ReadAsStringAsync()).RootElement;
        var listed = JsonDocument.Parse(await http.GetStringAsync($"api/integracoes/execucoes/?servico_id={id}&status=sucesso&limit=10")).RootElement;

        Assert.Equal(HttpStatusCode.OK, tested.StatusCode);
        Assert.Equal("sucesso", execution.GetProperty("status").GetString());
        Assert.True(execution.GetProperty("response_data").GetProperty("body").GetProperty("recebido").GetBoolean());
        Assert.Equal("***", execution.GetProperty("request_data").GetProperty("headers").GetProperty("Authorization").GetString());
        Assert.Equal(1, listed.GetProperty("count").GetInt32());
        Assert.Equal(execution.GetProperty("id").GetInt64(), listed.GetProperty("results")[0].GetProperty("id").GetInt64());
        Assert.Equal("integracoes", partner.Requests.Single().Headers["X-Origem"]);
    }
}
