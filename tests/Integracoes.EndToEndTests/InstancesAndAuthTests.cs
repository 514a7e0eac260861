using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Integracoes.EndToEndTests;

[Collection(SiloCollection.Name)]
public sealed class InstancesAndAuthTests(SiloFixture fixture)
{
    [Fact]
    public async Task Creating_an_instance_returns_its_key_once_and_never_again()
    {
        using var admin = fixture.Http(SiloFixture.AdminKey);

        var created = await admin.PostAsJsonAsync("api/instances", new { name = "auth-once" });
        var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("api_key").GetString()!;
        var read = await admin.GetStringAsync("api/instances/auth-once");
        var again = await admin.PostAsJsonAsync("api/instances", new { name = "auth-once" });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.StartsWith("intg_", key);
        Assert.DoesNotContain(key.Split('.')[1], read);
        await Problem.AssertAsync(again, HttpStatusCode.Conflict, "name");
    }

    [Fact]
    public async Task The_stored_key_is_a_hash_not_the_key()
    {
        var key = await fixture.CreateInstanceAsync("auth-hash");
        var secret = key.Split('.')[1];

        await using var command = fixture.DataSource.CreateCommand("SELECT count(*) FROM OrleansStorage WHERE position(convert_to(@s, 'UTF8') in PayloadBinary) > 0");
        command.Parameters.AddWithValue("s", secret);

        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Token")]
    [InlineData("X-Api-Key")]
    public async Task Every_accepted_header_style_authenticates(string scheme)
    {
        var key = await fixture.CreateInstanceAsync("auth-" + scheme.ToLowerInvariant().Replace("-", ""));
        using var http = fixture.Http(key, scheme);

        var response = await http.GetAsync("api/integracoes/servicos/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("intg_0123456789abcdef.wrong")]
    [InlineData("not-a-key")]
    public async Task Missing_or_wrong_keys_get_401_problem(string? key)
    {
        using var http = fixture.Http(key);

        var response = await http.GetAsync("api/integracoes/servicos/");

        await Problem.AssertAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Instance_keys_cannot_manage_instances_and_admin_key_cannot_act_as_an_instance()
    {
        var key = await fixture.CreateInstanceAsync("auth-scope");
        using var instance = fixture.Http(key);
        using var admin = fixture.Http(SiloFixture.AdminKey);

        await Problem.AssertAsync(await instance.PostAsJsonAsync("api/instances", new { name = "sneaky" }), HttpStatusCode.Forbidden);
        await Problem.AssertAsync(await admin.GetAsync("api/integracoes/servicos/"), HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("A")]
    [InlineData("UPPER")]
    [InlineData("with space")]
    [InlineData("<script>")]
    public async Task Invalid_instance_names_are_rejected_naming_the_field(string name)
    {
        using var admin = fixture.Http(SiloFixture.AdminKey);

        var response = await admin.PostAsJsonAsync("api/instances", new { name });

        await Problem.AssertAsync(response, HttpStatusCode.BadRequest, "name");
    }

    [Fact]
    public async Task Operations_endpoints_answer()
    {
        using var anonymous = fixture.Http();
        using var admin = fixture.Http(SiloFixture.AdminKey);

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("health/live")).StatusCode);
        var ready = JsonDocument.Parse(await anonymous.GetStringAsync("health/ready")).RootElement;
        var openApi = JsonDocument.Parse(await anonymous.GetStringAsync("openapi/v1.json")).RootElement;
        var docs = await anonymous.GetAsync("docs/");
        var metricsAnonymous = await anonymous.GetAsync("metrics");
        var metrics = await admin.GetStringAsync("metrics");

        Assert.Equal("healthy", ready.GetProperty("status").GetString());
        Assert.Equal("healthy", ready.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        Assert.True(openApi.GetProperty("paths").TryGetProperty("/api/integracoes/servicos", out _));
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, metricsAnonymous.StatusCode);
        Assert.Contains("http_server_request_duration", metrics);
        Assert.Contains("orleans_", metrics);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await admin.PostAsync("health/ready", null)).StatusCode);
    }
}
