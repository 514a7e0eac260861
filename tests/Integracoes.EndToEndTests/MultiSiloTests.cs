using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;

namespace Integracoes.EndToEndTests;

/// <summary>A second silo process joins the fixture's cluster: keys and rate limits must hold on both.</summary>
[Collection(SiloCollection.Name)]
public sealed class MultiSiloTests(SiloFixture fixture) : IAsyncLifetime
{
    private SiloProcess _second = null!;

    public async Task InitializeAsync()
    {
        _second = new SiloProcess(fixture.ConnectionString, SiloFixture.AdminKey, SiloFixture.EncryptionKey);
        await _second.StartAsync();
        // Ready means its HTTP side answers; wait until it also sees the first silo as a cluster member.
        await Eventually.TrueAsync(async () =>
        {
            await using var command = fixture.DataSource.CreateCommand("SELECT count(*) FROM OrleansMembershipTable WHERE Status = 3");
            return (long)(await command.ExecuteScalarAsync())! >= 2;
        }, TimeSpan.FromSeconds(30), "the second silo never joined the cluster");
    }

    public async Task DisposeAsync() => await _second.DisposeAsync();

    private HttpClient SecondSilo(string key) => _second.Http(key);

    [Fact]
    public async Task A_key_revoked_through_one_silo_is_refused_by_the_other_within_one_second()
    {
        var adminKey = await fixture.CreateInstanceAsync("multi-revoke");
        using var manager = fixture.Http(adminKey);
        var created = JsonDocument.Parse(await (await manager.PostAsJsonAsync("api/instances/multi-revoke/keys/", new { name = "parceiro" })).Content.ReadAsStringAsync()).RootElement;
        using var onSecond = SecondSilo(created.GetProperty("api_key").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await onSecond.GetAsync("api/integracoes/servicos/")).StatusCode);

        Assert.True((await manager.DeleteAsync($"api/instances/multi-revoke/keys/{created.GetProperty("key_id").GetString()}")).IsSuccessStatusCode);
        var revoked = DateTimeOffset.UtcNow;
        var answer = await onSecond.GetAsync("api/integracoes/servicos/");

        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        Assert.True(DateTimeOffset.UtcNow - revoked < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_rate_limit_counts_requests_on_every_silo_together()
    {
        var key = await fixture.CreateInstanceAsync("multi-limit", rateLimitPerMinute: 4);
        using var onFirst = fixture.Http(key);
        using var onSecond = SecondSilo(key);

        var statuses = new List<HttpStatusCode>();
        foreach (var http in new[] { onFirst, onSecond, onFirst, onSecond, onFirst, onSecond })
        {
            statuses.Add((await http.GetAsync("api/integracoes/servicos/")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }
}
