using System.Net;
using System.Text.Json;
using Integracoes.Testing;

namespace Integracoes.EndToEndTests;

[Collection(SiloCollection.Name)]
public sealed class RequestLogTests(SiloFixture fixture)
{
    [Fact]
    public async Task Every_response_carries_x_response_time()
    {
        using var anonymous = fixture.Http();
        using var admin = fixture.Http(SiloFixture.AdminKey);

        var health = await anonymous.GetAsync("health/live");
        var api = await admin.GetAsync("api/instances");
        var denied = await anonymous.GetAsync("api/integracoes/servicos/");

        foreach (var response in new[] { health, api, denied })
        {
            Assert.True(response.Headers.TryGetValues("X-Response-Time", out var values), response.RequestMessage!.RequestUri!.ToString());
            Assert.EndsWith("ms", values!.Single());
        }
    }

    [Fact]
    public async Task Api_requests_are_recorded_by_route_template_with_instance_and_key_but_no_secrets()
    {
        var key = await fixture.CreateInstanceAsync("reqlog");
        using var http = fixture.Http(key);
        http.DefaultRequestHeaders.UserAgent.ParseAdd("reqlog-test/1.0");
        using var admin = fixture.Http(SiloFixture.AdminKey);

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("api/integracoes/servicos/424242/")).StatusCode);
        var entry = await Eventually.GetAsync(async () =>
        {
            var page = JsonDocument.Parse(await admin.GetStringAsync("api/integracoes/requisicoes/?status=404&limit=200")).RootElement;
            return page.GetProperty("results").EnumerateArray()
                .Where(r => r.GetProperty("user_agent").GetString() == "reqlog-test/1.0")
                .Select(r => (JsonElement?)r).FirstOrDefault();
        }, TimeSpan.FromSeconds(20), "the request in the log");
        var all = await admin.GetStringAsync("api/integracoes/requisicoes/?limit=200");

        var row = entry!.Value;
        Assert.Equal("GET", row.GetProperty("metodo").GetString());
        Assert.Equal("/api/integracoes/servicos/{id:long}/", row.GetProperty("rota").GetString());
        Assert.Equal("reqlog", row.GetProperty("instance").GetString());
        Assert.Equal(key[5..key.IndexOf('.')], row.GetProperty("key_id").GetString());
        Assert.True(row.GetProperty("duracao_ms").GetDouble() >= 0);
        Assert.DoesNotContain(key.Split('.')[1], all);
        Assert.DoesNotContain(SiloFixture.AdminKey, all);
    }

    [Fact]
    public async Task Only_the_admin_reads_the_request_log_and_bad_filters_are_problems()
    {
        using var instance = fixture.Http(await fixture.CreateInstanceAsync("reqlog-denied"));
        using var admin = fixture.Http(SiloFixture.AdminKey);

        await Problem.AssertAsync(await instance.GetAsync("api/integracoes/requisicoes/"), HttpStatusCode.Forbidden);
        await Problem.AssertAsync(await admin.GetAsync("api/integracoes/requisicoes/?status=999"), HttpStatusCode.BadRequest, "status");
        await Problem.AssertAsync(await admin.GetAsync("api/integracoes/requisicoes/?desde=ontem"), HttpStatusCode.BadRequest, "desde");
    }
}
