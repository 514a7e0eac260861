using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;

namespace Integracoes.EndToEndTests;

/// <summary>Every input is bounded: headers, bodies, nesting, strings, pages, and clients too slow to finish a request.</summary>
[Collection(SiloCollection.Name)]
public sealed class LimitsTests(SiloFixture fixture)
{
    [Fact]
    public async Task A_client_that_never_finishes_its_headers_is_disconnected()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, fixture.Silo.HttpPort);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: "));
        var started = DateTimeOffset.UtcNow;

        // Keep trickling one byte a second; the silo (headers timeout 2 s here) must hang up anyway.
        var closed = false;
        var buffer = new byte[1024];
        while (!closed && DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(20))
        {
            try
            {
                await stream.WriteAsync("a"u8.ToArray());
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                closed = await stream.ReadAsync(buffer, wait.Token) == 0 || Encoding.ASCII.GetString(buffer).StartsWith("HTTP/1.1 408", StringComparison.Ordinal);
            }
            catch (OperationCanceledException)
            {
            }
            catch (IOException)
            {
                closed = true;
            }
        }

        Assert.True(closed, "the silo kept a connection whose headers never ended");
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Oversized_headers_are_refused()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("limits-headers"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/integracoes/servicos/");
        request.Headers.Add("X-Filler", new string('a', 40 * 1024));

        var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Json_nested_deeper_than_the_limit_is_a_400_naming_the_body()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("limits-depth"));
        var deep = new string('[', 40) + new string(']', 40);
        var body = """{"nome": "fundo", "tipo": "api", "config_padrao": {"x": """ + deep + "}}";

        var response = await http.PostAsync("api/integracoes/servicos/", new StringContent(body, Encoding.UTF8, "application/json"));

        await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("api/integracoes/servicos/?limit=201", "limit")]
    [InlineData("api/integracoes/servicos/?limit=0", "limit")]
    [InlineData("api/integracoes/filas/?offset=-1", "offset")]
    [InlineData("api/integracoes/execucoes/?offset=99999999999", "offset")]
    public async Task Page_sizes_and_offsets_are_bounded(string route, string field)
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("limits-pages-" + field + route.Length));

        await Problem.AssertAsync(await http.GetAsync(route), HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task String_fields_have_maximum_lengths()
    {
        var key = await fixture.CreateInstanceAsync("limits-strings");
        using var http = fixture.Http(key);
        var longName = new string('n', 101);

        await Problem.AssertAsync(await http.PostAsJsonAsync("api/integracoes/servicos/", new { nome = longName, tipo = "api" }), HttpStatusCode.BadRequest, "nome");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/webhooks/", new { nome = longName, url = "http://127.0.0.1:9/x", eventos = "nfe_importada" }),
            HttpStatusCode.BadRequest, "nome");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/instances/limits-strings/keys/", new { name = longName }), HttpStatusCode.BadRequest, "name");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/integracoes/eventos/", new { nome = "ok_evento", descricao = new string('d', 1_001) }),
            HttpStatusCode.BadRequest, "descricao");
        using var withKey = new HttpRequestMessage(HttpMethod.Post, "api/integracoes/disparar/")
        {
            Content = JsonContent.Create(new { evento = "nfe_importada", dados = new { } }),
        };
        withKey.Headers.Add("Idempotency-Key", new string('k', 300));
        await Problem.AssertAsync(await http.SendAsync(withKey), HttpStatusCode.BadRequest, "idempotency_key");
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_the_forwarded_client_address_is_what_the_allowlist_sees()
    {
        var adminKey = await fixture.CreateInstanceAsync("limits-proxy");
        using var manager = fixture.Http(adminKey);
        var created = await manager.PostAsJsonAsync("api/instances/limits-proxy/keys/", new { name = "filial", allowed_ips = new[] { "10.20.0.0/16" } });
        var apiKey = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("api_key").GetString()!;
        using var client = fixture.Http(apiKey);

        async Task<HttpStatusCode> FromAsync(string? forwardedFor)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/integracoes/servicos/");
            if (forwardedFor is not null) request.Headers.Add("X-Forwarded-For", forwardedFor);
            return (await client.SendAsync(request)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await FromAsync("10.20.3.4"));
        Assert.Equal(HttpStatusCode.Unauthorized, await FromAsync("192.0.2.10"));
        Assert.Equal(HttpStatusCode.Unauthorized, await FromAsync(null));
        // Only the address the trusted proxy saw counts, not what the client wrote before it.
        Assert.Equal(HttpStatusCode.Unauthorized, await FromAsync("10.20.3.4, 192.0.2.10"));
    }
}
