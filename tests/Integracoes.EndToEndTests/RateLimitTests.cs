using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Integracoes.EndToEndTests;

[Collection(SiloCollection.Name)]
public sealed class RateLimitTests(SiloFixture fixture)
{
    [Fact]
    public async Task A_key_over_its_per_minute_limit_gets_429_problem_with_retry_after_and_headers_count_down()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("rl-limited", rateLimitPerMinute: 5));

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++) answers.Add(await http.GetAsync("api/integracoes/servicos/"));

        Assert.All(answers.Take(5), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(["4", "3", "2", "1", "0"], answers.Take(5).Select(r => r.Headers.GetValues("X-RateLimit-Remaining").Single()));
        Assert.All(answers, r => Assert.Equal("5", r.Headers.GetValues("X-RateLimit-Limit").Single()));
        Assert.True(long.Parse(answers[0].Headers.GetValues("X-RateLimit-Reset").Single()) > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await Problem.AssertAsync(answers[5], HttpStatusCode.TooManyRequests, "rate_limit");
        Assert.InRange(int.Parse(answers[5].Headers.GetValues("Retry-After").Single()), 1, 60);
    }

    [Fact]
    public async Task Limits_are_per_key_and_the_admin_can_change_them()
    {
        using var limited = fixture.Http(await fixture.CreateInstanceAsync("rl-a", rateLimitPerMinute: 2));
        using var other = fixture.Http(await fixture.CreateInstanceAsync("rl-b", rateLimitPerMinute: 2));
        using var admin = fixture.Http(SiloFixture.AdminKey);

        for (var i = 0; i < 2; i++) await limited.GetAsync("api/integracoes/servicos/");
        var blocked = await limited.GetAsync("api/integracoes/servicos/");
        var otherKey = await other.GetAsync("api/integracoes/servicos/");
        var raised = await admin.PatchAsJsonAsync("api/instances/rl-a", new { rate_limit_por_minuto = 0 });
        var afterRaise = await limited.GetAsync("api/integracoes/servicos/");
        var invalid = await admin.PatchAsJsonAsync("api/instances/rl-a", new { rate_limit_por_minuto = -1 });

        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.Equal(HttpStatusCode.OK, otherKey.StatusCode);
        Assert.Equal(0, JsonDocument.Parse(await raised.Content.ReadAsStringAsync()).RootElement.GetProperty("rate_limit_por_minuto").GetInt32());
        Assert.Equal(HttpStatusCode.OK, afterRaise.StatusCode);
        await Problem.AssertAsync(invalid, HttpStatusCode.BadRequest, "rate_limit_por_minuto");
    }
}
