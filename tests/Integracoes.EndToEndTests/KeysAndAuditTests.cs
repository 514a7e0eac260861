using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.EndToEndTests;

[Collection(SiloCollection.Name)]
public sealed class KeysAndAuditTests(SiloFixture fixture)
{
    private static object Service(string nome, string token) => new
    {
        nome,
        tipo = "api",
        config_padrao = new { base_url = "https://partner.example.com" },
        auth_type = "bearer",
        auth = new { token },
        endpoints = new { raiz = "/ok" },
    };

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<(string KeyId, string ApiKey)> CreateKeyAsync(HttpClient manager, string instance, object body)
    {
        var created = await JsonAsync(await manager.PostAsJsonAsync($"api/instances/{instance}/keys/", body));
        return (created.GetProperty("key_id").GetString()!, created.GetProperty("api_key").GetString()!);
    }

    [Fact]
    public async Task An_instance_holds_several_named_keys_whose_scope_limits_what_they_may_do()
    {
        var adminKey = await fixture.CreateInstanceAsync("keys-scopes");
        using var manager = fixture.Http(adminKey);
        var (_, readKey) = await CreateKeyAsync(manager, "keys-scopes", new { name = "painel", scope = "read" });
        var (writeId, writeKey) = await CreateKeyAsync(manager, "keys-scopes", new { name = "erp", scope = "write" });
        using var reader = fixture.Http(readKey);
        using var writer = fixture.Http(writeKey);

        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("api/integracoes/servicos/")).StatusCode);
        await Problem.AssertAsync(await reader.PostAsJsonAsync("api/integracoes/servicos/", Service("s1", "t")), HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.Created, (await writer.PostAsJsonAsync("api/integracoes/servicos/", Service("s1", "t"))).StatusCode);
        // Only admin-scoped keys (and the operator) manage keys.
        await Problem.AssertAsync(await writer.GetAsync("api/instances/keys-scopes/keys/"), HttpStatusCode.Forbidden);

        var listText = await manager.GetStringAsync("api/instances/keys-scopes/keys/");
        var list = JsonDocument.Parse(listText).RootElement;
        Assert.Equal(3, list.GetProperty("count").GetInt32());
        var erp = list.GetProperty("results").EnumerateArray().Single(k => k.GetProperty("key_id").GetString() == writeId);
        Assert.Equal("erp", erp.GetProperty("name").GetString());
        Assert.Equal("write", erp.GetProperty("scope").GetString());
        Assert.Equal("ativa", erp.GetProperty("status").GetString());
        foreach (var key in new[] { adminKey, readKey, writeKey })
        {
            Assert.DoesNotContain(key.Split('.')[1], listText);
        }
    }

    [Fact]
    public async Task A_revoked_key_stops_working_on_the_next_request_and_keys_are_scoped_to_their_instance()
    {
        var adminKey = await fixture.CreateInstanceAsync("keys-revoke");
        var otherAdmin = await fixture.CreateInstanceAsync("keys-revoke-other");
        using var manager = fixture.Http(adminKey);
        using var stranger = fixture.Http(otherAdmin);
        var (keyId, apiKey) = await CreateKeyAsync(manager, "keys-revoke", new { name = "temporaria", scope = "write" });
        using var client = fixture.Http(apiKey);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/integracoes/servicos/")).StatusCode);

        // Another instance's admin key can neither see nor touch this instance's keys.
        await Problem.AssertAsync(await stranger.GetAsync("api/instances/keys-revoke/keys/"), HttpStatusCode.Forbidden);
        await Problem.AssertAsync(await stranger.DeleteAsync($"api/instances/keys-revoke/keys/{keyId}"), HttpStatusCode.Forbidden);
        await Problem.AssertAsync(await stranger.DeleteAsync($"api/instances/keys-revoke-other/keys/{keyId}"), HttpStatusCode.NotFound);

        var revokedAt = DateTimeOffset.UtcNow;
        var revoked = await JsonAsync(await manager.DeleteAsync($"api/instances/keys-revoke/keys/{keyId}"));
        var after = await client.GetAsync("api/integracoes/servicos/");
        var elapsed = DateTimeOffset.UtcNow - revokedAt;

        Assert.Equal("revogada", revoked.GetProperty("status").GetString());
        await Problem.AssertAsync(after, HttpStatusCode.Unauthorized);
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"revocation took {elapsed}");
    }

    [Fact]
    public async Task Rotating_a_key_replaces_its_secret_at_once_and_stores_only_a_hash()
    {
        var adminKey = await fixture.CreateInstanceAsync("keys-rotate");
        using var manager = fixture.Http(adminKey);
        var (keyId, oldKey) = await CreateKeyAsync(manager, "keys-rotate", new { name = "erp", scope = "write" });

        var rotated = await JsonAsync(await manager.PostAsync($"api/instances/keys-rotate/keys/{keyId}/rotate", null));
        var newKey = rotated.GetProperty("api_key").GetString()!;
        using var oldClient = fixture.Http(oldKey);
        using var newClient = fixture.Http(newKey);

        Assert.Equal(keyId, rotated.GetProperty("key_id").GetString());
        Assert.NotEqual(oldKey, newKey);
        await Problem.AssertAsync(await oldClient.GetAsync("api/integracoes/servicos/"), HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await newClient.GetAsync("api/integracoes/servicos/")).StatusCode);
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT count(*) FROM OrleansStorage WHERE position(convert_to(@s, 'UTF8') in PayloadBinary) > 0");
        command.Parameters.AddWithValue("s", newKey.Split('.')[1]);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task A_key_stops_working_when_it_expires()
    {
        var adminKey = await fixture.CreateInstanceAsync("keys-expiry");
        using var manager = fixture.Http(adminKey);
        var (keyId, apiKey) = await CreateKeyAsync(manager, "keys-expiry",
            new { name = "curta", scope = "read", expires_at = DateTimeOffset.UtcNow.AddSeconds(3) });
        using var client = fixture.Http(apiKey);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/integracoes/servicos/")).StatusCode);
        await Eventually.TrueAsync(async () => (await client.GetAsync("api/integracoes/servicos/")).StatusCode == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(15), "the key never expired");
        var listed = JsonDocument.Parse(await manager.GetStringAsync("api/instances/keys-expiry/keys/")).RootElement;
        Assert.Equal("expirada", listed.GetProperty("results").EnumerateArray().Single(k => k.GetProperty("key_id").GetString() == keyId)
            .GetProperty("status").GetString());
        await Problem.AssertAsync(await manager.PostAsJsonAsync("api/instances/keys-expiry/keys/",
            new { name = "passado", expires_at = DateTimeOffset.UtcNow.AddMinutes(-1) }), HttpStatusCode.BadRequest, "expires_at");
    }

    [Fact]
    public async Task A_key_with_an_ip_allowlist_works_only_from_those_addresses()
    {
        var adminKey = await fixture.CreateInstanceAsync("keys-ips");
        using var manager = fixture.Http(adminKey);
        var (elsewhereId, elsewhere) = await CreateKeyAsync(manager, "keys-ips", new { name = "filial", allowed_ips = new[] { "10.20.0.0/16", "2001:db8::/32" } });
        var (_, local) = await CreateKeyAsync(manager, "keys-ips", new { name = "local", allowed_ips = new[] { "127.0.0.1" } });
        using var fromElsewhere = fixture.Http(elsewhere);
        using var fromLocal = fixture.Http(local);

        await Problem.AssertAsync(await fromElsewhere.GetAsync("api/integracoes/servicos/"), HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await fromLocal.GetAsync("api/integracoes/servicos/")).StatusCode);

        var widened = await JsonAsync(await manager.PatchAsJsonAsync($"api/instances/keys-ips/keys/{elsewhereId}",
            new { allowed_ips = new[] { "10.20.0.0/16", "127.0.0.0/8" } }));
        Assert.Equal(["10.20.0.0/16", "127.0.0.0/8"], widened.GetProperty("allowed_ips").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await fromElsewhere.GetAsync("api/integracoes/servicos/")).StatusCode);

        await Problem.AssertAsync(await manager.PostAsJsonAsync("api/instances/keys-ips/keys/",
            new { name = "torta", allowed_ips = new[] { "10.0.0.1/8" } }), HttpStatusCode.BadRequest, "allowed_ips");
        await Problem.AssertAsync(await manager.PatchAsJsonAsync($"api/instances/keys-ips/keys/{elsewhereId}",
            new { allowed_ips = new[] { "not-an-ip" } }), HttpStatusCode.BadRequest, "allowed_ips");
        await Problem.AssertAsync(await manager.PatchAsJsonAsync($"api/instances/keys-ips/keys/{elsewhereId}",
            new { colour = "blue" }), HttpStatusCode.BadRequest, "colour");
    }

    [Fact]
    public async Task A_key_can_carry_its_own_rate_limit_over_the_instance_limit()
    {
        var adminKey = await fixture.CreateInstanceAsync("keys-limit", rateLimitPerMinute: 0);
        using var manager = fixture.Http(adminKey);
        var (_, limited) = await CreateKeyAsync(manager, "keys-limit", new { name = "parceiro", scope = "read", rate_limit_por_minuto = 3 });
        using var client = fixture.Http(limited);

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++) answers.Add(await client.GetAsync("api/integracoes/servicos/"));

        Assert.All(answers.Take(3), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal("3", answers[0].Headers.GetValues("X-RateLimit-Limit").Single());
        await Problem.AssertAsync(answers[3], HttpStatusCode.TooManyRequests);
        // The instance's own admin key is unaffected (its instance is unlimited).
        using var unlimited = fixture.Http(adminKey);
        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.OK, (await unlimited.GetAsync("api/integracoes/servicos/")).StatusCode);
    }

    [Fact]
    public async Task Every_change_is_audited_with_who_what_when_and_before_after_without_secrets()
    {
        var adminKey = await fixture.CreateInstanceAsync("audit-trail");
        using var manager = fixture.Http(adminKey);
        var (writerId, writerKey) = await CreateKeyAsync(manager, "audit-trail", new { name = "erp", scope = "write" });
        using var writer = fixture.Http(writerKey);
        var started = DateTimeOffset.UtcNow.AddSeconds(-1);

        var service = await JsonAsync(await writer.PostAsJsonAsync("api/integracoes/servicos/", Service("antes", "token-secreto-audit")));
        var id = service.GetProperty("id").GetInt64();
        await JsonAsync(await writer.PutAsJsonAsync($"api/integracoes/servicos/{id}/", Service("depois", "token-secreto-audit-2")));
        Assert.Equal(HttpStatusCode.NoContent, (await writer.DeleteAsync($"api/integracoes/servicos/{id}/")).StatusCode);
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/in", () => Results.Ok()));
        var webhook = await JsonAsync(await writer.PostAsJsonAsync("api/webhooks/", new { nome = "w", url = receiver.Url("/in"), eventos = "nfe_importada" }));
        var webhookId = webhook.GetProperty("id").GetInt64();
        var rotated = await JsonAsync(await writer.PostAsync($"api/webhooks/{webhookId}/rotacionar-segredo/", null));
        await JsonAsync(await manager.DeleteAsync($"api/instances/audit-trail/keys/{writerId}"));

        var text = await manager.GetStringAsync($"api/auditoria/?desde={Uri.EscapeDataString(started.ToString("O"))}&limit=200");
        var entries = JsonDocument.Parse(text).RootElement.GetProperty("results").EnumerateArray().ToList();
        JsonElement Entry(string recurso, string acao) =>
            entries.Single(e => e.GetProperty("recurso").GetString() == recurso && e.GetProperty("acao").GetString() == acao
                && e.GetProperty("instancia").GetString() == "audit-trail");

        var update = Entry("servico", "atualizar");
        Assert.Equal(writerId, update.GetProperty("ator").GetString());
        Assert.Equal("antes", update.GetProperty("antes").GetProperty("nome").GetString());
        Assert.Equal("depois", update.GetProperty("depois").GetProperty("nome").GetString());
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), update.GetProperty("recurso_id").GetString());
        Assert.True(update.GetProperty("created_at").GetDateTimeOffset() >= started);
        Assert.Equal(JsonValueKind.Null, Entry("servico", "criar").GetProperty("antes").ValueKind);
        Assert.Equal(JsonValueKind.Null, Entry("servico", "excluir").GetProperty("depois").ValueKind);
        Assert.Equal(writerId, Entry("webhook", "criar").GetProperty("ator").GetString());
        Assert.Equal(writerId, Entry("webhook", "rotacionar").GetProperty("ator").GetString());
        var revoke = Entry("chave", "revogar");
        Assert.Equal("ativa", revoke.GetProperty("antes").GetProperty("status").GetString());
        Assert.Equal("revogada", revoke.GetProperty("depois").GetProperty("status").GetString());
        Assert.NotEqual(writerId, revoke.GetProperty("ator").GetString());

        foreach (var secret in new[] { "token-secreto-audit", rotated.GetProperty("secret").GetString()!, writerKey.Split('.')[1] })
        {
            Assert.DoesNotContain(secret, text);
        }
        await using var command = fixture.DataSource.CreateCommand("SELECT count(*) FROM auditoria WHERE (antes::text || depois::text) LIKE '%token-secreto-audit%'");
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Instance_keys_read_only_their_own_audit_trail_and_only_with_admin_scope()
    {
        var adminKey = await fixture.CreateInstanceAsync("audit-scope");
        await fixture.CreateInstanceAsync("audit-scope-other");
        using var manager = fixture.Http(adminKey);
        var (_, readKey) = await CreateKeyAsync(manager, "audit-scope", new { name = "leitor", scope = "read" });
        using var reader = fixture.Http(readKey);

        var own = JsonDocument.Parse(await manager.GetStringAsync("api/auditoria/?limit=200")).RootElement;
        Assert.All(own.GetProperty("results").EnumerateArray(), e => Assert.Equal("audit-scope", e.GetProperty("instancia").GetString()));
        Assert.True(own.GetProperty("count").GetInt64() >= 2);
        await Problem.AssertAsync(await manager.GetAsync("api/auditoria/?instancia=audit-scope-other"), HttpStatusCode.BadRequest, "instancia");
        await Problem.AssertAsync(await reader.GetAsync("api/auditoria/"), HttpStatusCode.Forbidden);
        await Problem.AssertAsync(await manager.GetAsync("api/auditoria/?acao=explodir"), HttpStatusCode.BadRequest, "acao");

        using var operatorClient = fixture.Http(SiloFixture.AdminKey);
        var other = JsonDocument.Parse(await operatorClient.GetStringAsync("api/auditoria/?instancia=audit-scope-other&recurso=instancia")).RootElement;
        var created = other.GetProperty("results").EnumerateArray().Single(e => e.GetProperty("acao").GetString() == "criar");
        Assert.Equal("admin", created.GetProperty("ator").GetString());
        Assert.Equal("audit-scope-other", created.GetProperty("depois").GetProperty("name").GetString());
    }
}
