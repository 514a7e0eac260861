using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.EndToEndTests;

/// <summary>
/// Every kind of secret the hub holds is created and used, then PostgreSQL (every table, every column,
/// grain state included) and the silo's whole log are searched for each one in plaintext.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class SecretsTests(SiloFixture fixture)
{
    [Fact]
    public async Task No_secret_is_stored_in_plaintext_or_written_to_the_log()
    {
        const string basicPassword = "senha-basic-8d1f0c";
        const string apiKeyCredential = "chave-api-parceiro-5b7e21";
        const string bearerToken = "token-bearer-parceiro-a93c44";
        const string webhookHeaderValue = "cabecalho-secreto-77e0b2";
        await using var partner = await LocalHttpServer.StartAsync(app =>
        {
            app.MapGet("/basic", (HttpRequest r) => r.Headers.Authorization.ToString().StartsWith("Basic ", StringComparison.Ordinal) ? Results.Ok() : Results.Unauthorized());
            app.MapGet("/apikey", (HttpRequest r) => r.Headers["X-Api-Key"] == apiKeyCredential ? Results.Ok() : Results.Unauthorized());
            app.MapGet("/bearer", (HttpRequest r) => r.Headers.Authorization == $"Bearer {bearerToken}" ? Results.StatusCode(500) : Results.Unauthorized());
            app.MapPost("/hook", () => Results.StatusCode(503));
        });
        var baseUrl = partner.BaseUri.ToString().TrimEnd('/');
        var instanceKey = await fixture.CreateInstanceAsync("secrets-scan");
        using var http = fixture.Http(instanceKey);
        var secrets = new List<string> { SiloFixture.AdminKey, Secret(instanceKey), basicPassword, apiKeyCredential, bearerToken, webhookHeaderValue };

        var extra = await Json(await http.PostAsJsonAsync("api/instances/secrets-scan/keys/", new { name = "extra", scope = "write" }));
        secrets.Add(Secret(extra.GetProperty("api_key").GetString()!));
        var rotated = await Json(await http.PostAsync($"api/instances/secrets-scan/keys/{extra.GetProperty("key_id").GetString()}/rotate", null));
        secrets.Add(Secret(rotated.GetProperty("api_key").GetString()!));

        foreach (var (nome, authType, auth, endpoint) in new (string, string, object, string)[]
        {
            ("basic", "basic", new { username = "u", password = basicPassword }, "/basic"),
            ("apikey", "api_key", new { api_key = apiKeyCredential }, "/apikey"),
            ("bearer", "bearer", new { token = bearerToken }, "/bearer"),
        })
        {
            var service = await Json(await http.PostAsJsonAsync("api/integracoes/servicos/", new
            {
                nome,
                tipo = "api",
                config_padrao = new { base_url = baseUrl },
                auth_type = authType,
                auth,
                endpoints = new { raiz = endpoint },
            }));
            await http.PostAsJsonAsync("api/integracoes/testar/", new { servico_id = service.GetProperty("id").GetInt64(), endpoint = "raiz" });
        }

        var webhook = await Json(await http.PostAsJsonAsync("api/webhooks/", new
        {
            nome = "w",
            url = $"{baseUrl}/hook",
            eventos = "nfe_importada",
            headers = new Dictionary<string, string> { ["X-Partner-Token"] = webhookHeaderValue },
        }));
        secrets.Add(webhook.GetProperty("secret").GetString()!);
        var webhookId = webhook.GetProperty("id").GetInt64();
        var rotatedSecret = await Json(await http.PostAsync($"api/webhooks/{webhookId}/rotacionar-segredo/", null));
        secrets.Add(rotatedSecret.GetProperty("secret").GetString()!);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "nfe_importada", dados = new { n = 1 } })).StatusCode);
        await Eventually.TrueAsync(async () =>
        {
            var logs = JsonDocument.Parse(await http.GetStringAsync($"api/webhooks/{webhookId}/logs/")).RootElement;
            return logs.GetProperty("count").GetInt32() >= 1;
        }, TimeSpan.FromSeconds(20), "no delivery attempt was logged");
        Assert.All(partner.Requests.Where(r => r.Path == "/hook"), r => Assert.Equal(webhookHeaderValue, r.Headers["X-Partner-Token"]));

        // Let the request log's batch (written once a second) reach PostgreSQL too.
        await Eventually.TrueAsync(async () =>
        {
            await using var logged = fixture.DataSource.CreateCommand("SELECT count(*) FROM api_requisicoes WHERE instance = 'secrets-scan'");
            return (long)(await logged.ExecuteScalarAsync())! >= 10;
        }, TimeSpan.FromSeconds(10), "the request log was not written");

        var log = fixture.Silo.FullLog();
        // The searches can see what they look for: the log holds this test's requests (Debug level),
        // and the database holds the instance name both in tables and in grain state (bytea).
        Assert.Contains("/api/instances/secrets-scan/keys", log);
        await using (var state = fixture.DataSource.CreateCommand("SELECT count(*) FROM orleansstorage t WHERE strpos(t::text, @hex) > 0"))
        {
            state.Parameters.AddWithValue("hex", Convert.ToHexStringLower("secrets-scan"u8.ToArray()));
            Assert.True((long)(await state.ExecuteScalarAsync())! > 0, "the grain state search finds nothing it should");
        }
        foreach (var secret in secrets)
        {
            Assert.False(log.Contains(secret, StringComparison.Ordinal), $"a secret ({secret[..4]}...) is in the silo's log");
            Assert.Equal(0, await CountInDatabaseAsync(secret));
        }
    }

    /// <summary>Rows, in any table of the database, whose text (or bytea payload) holds the value.</summary>
    private async Task<long> CountInDatabaseAsync(string value)
    {
        var tables = new List<string>();
        await using (var list = fixture.DataSource.CreateCommand("SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        }
        Assert.Contains("auditoria", tables);
        long found = 0;
        foreach (var table in tables)
        {
            // A row cast to text shows bytea as hex, so grain state (bytea) is searched through its hex form as well.
            await using var command = fixture.DataSource.CreateCommand(
                $"SELECT count(*) FROM {table} t WHERE strpos(t::text, @plain) > 0 OR strpos(t::text, @hex) > 0");
            command.Parameters.AddWithValue("plain", value);
            command.Parameters.AddWithValue("hex", Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(value)));
            found += (long)(await command.ExecuteScalarAsync())!;
        }
        return found;
    }

    private static string Secret(string apiKey) => apiKey.Split('.')[1];

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
