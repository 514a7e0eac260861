using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.EndToEndTests;

/// <summary>scripts/backup.sh and scripts/restore.sh, run as an operator runs them, against the silo's database.</summary>
[Collection(SiloCollection.Name)]
public sealed class BackupRestoreTests(SiloFixture fixture) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(3);

    private readonly string _directory = Directory.CreateTempSubdirectory("integracoes-backup-").FullName;

    [Fact]
    public async Task A_backup_restored_into_a_fresh_database_brings_back_instances_services_subscriptions_and_pending_deliveries()
    {
        // Nothing listens on the receiver's port until the end, so the published event waits in the queue.
        var receiverPort = LocalHttpServer.FreePort();
        var key = await fixture.CreateInstanceAsync("backup-origem");
        using var http = fixture.Http(key);
        var serviceId = await CreatedIdAsync(await http.PostAsJsonAsync("api/integracoes/servicos/", new
        {
            nome = "ERP salvo",
            tipo = "erp",
            config_padrao = new { base_url = "https://erp.example.com/api" },
            auth_type = "bearer",
            auth = new { token = "token-no-backup" },
            endpoints = new { ordens = "/ordens" },
            timeout = 10,
        }));
        var subscribed = await http.PostAsJsonAsync("api/webhooks/", new
        {
            nome = "destino-fora-do-ar",
            url = $"http://127.0.0.1:{receiverPort}/hook",
            eventos = "*",
            retry_config = new { agenda_segundos = new[] { 0 }.Concat(Enumerable.Repeat(3, 29)) },
        });
        var subscription = JsonDocument.Parse(await subscribed.Content.ReadAsStringAsync()).RootElement;
        Assert.True(subscribed.StatusCode == HttpStatusCode.Created, subscription.ToString());
        var webhookId = subscription.GetProperty("id").GetInt64();
        var secret = subscription.GetProperty("secret").GetString()!;
        var published = await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "nfe_importada", dados = new { numero = 1234 } });
        Assert.Equal(HttpStatusCode.Accepted, published.StatusCode);
        var eventId = JsonDocument.Parse(await published.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var pending = await Eventually.GetAsync(async () =>
            await QueueItemAsync(http, webhookId, eventId) is { } item && item.GetProperty("status").GetString() == "pendente"
                && item.GetProperty("tentativas").GetInt32() >= 1 ? item : (JsonElement?)null,
            Patience, "a failed first attempt leaving the delivery pending");
        var queueItemId = pending!.Value.GetProperty("id").GetInt64();

        var backup = Path.Combine(_directory, "integracoes.dump");
        var backedUp = await RunScriptAsync("backup.sh", fixture.ConnectionString, backup);
        Assert.True(backedUp.ExitCode == 0, backedUp.Output);
        Assert.Contains($"backup: {backup} (", backedUp.Output);

        // Gone from the original after the backup: the restored subscription can only come from the backup, and the
        // original silo cancels its copy of the delivery, so only the restored silo can deliver it.
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"api/webhooks/{webhookId}/")).StatusCode);
        Assert.Equal("cancelada", (await QueueItemAsync(http, webhookId, eventId))!.Value.GetProperty("status").GetString());

        var restoredDatabase = await fixture.Postgres.CreateDatabaseAsync($"e2e_restored_{Guid.NewGuid():N}");
        var restored = await RunScriptAsync("restore.sh", restoredDatabase, backup);
        Assert.True(restored.ExitCode == 0, restored.Output);

        await using var silo = new SiloProcess(restoredDatabase, SiloFixture.AdminKey, SiloFixture.EncryptionKey);
        await silo.StartAsync();
        using var admin = silo.Http(SiloFixture.AdminKey);
        using var restoredHttp = silo.Http(key);

        var instance = await admin.GetAsync("api/instances/backup-origem");
        Assert.True(instance.StatusCode == HttpStatusCode.OK, await instance.Content.ReadAsStringAsync());
        var services = JsonDocument.Parse(await restoredHttp.GetStringAsync("api/integracoes/servicos/")).RootElement;
        var service = Assert.Single(services.GetProperty("results").EnumerateArray());
        Assert.Equal(serviceId, service.GetProperty("id").GetInt64());
        Assert.Equal("ERP salvo", service.GetProperty("nome").GetString());
        Assert.Equal("https://erp.example.com/api", service.GetProperty("config_padrao").GetProperty("base_url").GetString());
        Assert.Equal("token", service.GetProperty("auth").GetProperty("credenciais_configuradas")[0].GetString());
        var audit = JsonDocument.Parse(await admin.GetStringAsync($"api/auditoria/?instancia=backup-origem&recurso=servico&recurso_id={serviceId}")).RootElement;
        Assert.Equal("criar", Assert.Single(audit.GetProperty("results").EnumerateArray()).GetProperty("acao").GetString());
        var webhook = JsonDocument.Parse(await restoredHttp.GetStringAsync($"api/webhooks/{webhookId}/")).RootElement;
        Assert.Equal("destino-fora-do-ar", webhook.GetProperty("nome").GetString());
        Assert.Equal($"http://127.0.0.1:{receiverPort}/hook", webhook.GetProperty("url").GetString());
        var restoredItem = await QueueItemAsync(restoredHttp, webhookId, eventId);
        Assert.NotNull(restoredItem);
        Assert.Equal(queueItemId, restoredItem.Value.GetProperty("id").GetInt64());
        Assert.Equal("pendente", restoredItem.Value.GetProperty("status").GetString());
        Assert.Equal(1234, restoredItem.Value.GetProperty("payload").GetProperty("dados").GetProperty("numero").GetInt32());

        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.Ok()), receiverPort);
        var delivery = await Eventually.GetAsync(() => Task.FromResult(receiver.Requests.FirstOrDefault()), Patience,
            "the restored silo's delivery at the receiver");
        await Eventually.TrueAsync(async () =>
            (await QueueItemAsync(restoredHttp, webhookId, eventId))?.GetProperty("status").GetString() == "entregue",
            Patience, "the restored queue item to be delivered");

        Assert.Equal(eventId, delivery.Headers["webhook-id"]);
        Assert.Equal(1234, JsonDocument.Parse(delivery.Body).RootElement.GetProperty("data").GetProperty("numero").GetInt32());
        // Signed with the secret given at creation: the encrypted secret came back and the key still opens it.
        Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(delivery.Body))),
            delivery.Headers["X-Webhook-Signature"]);
        Assert.Single(receiver.Requests);
    }

    [Fact]
    public async Task Restore_refuses_a_database_that_a_running_silo_uses_and_changes_nothing()
    {
        await fixture.CreateInstanceAsync("backup-antes");
        var backup = Path.Combine(_directory, "em-uso.dump");
        var backedUp = await RunScriptAsync("backup.sh", fixture.ConnectionString, backup);
        Assert.True(backedUp.ExitCode == 0, backedUp.Output);
        await fixture.CreateInstanceAsync("backup-depois");

        var refused = await RunScriptAsync("restore.sh", fixture.ConnectionString, backup);

        Assert.True(refused.ExitCode != 0, refused.Output);
        Assert.Contains("integracoes-silo", refused.Output);
        Assert.Contains("Stop the silo", refused.Output);
        // A restore would have taken the database back to before this instance existed.
        using var admin = fixture.Http(SiloFixture.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("api/instances/backup-depois")).StatusCode);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<long> CreatedIdAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetInt64();
    }

    private static async Task<JsonElement?> QueueItemAsync(HttpClient http, long webhookId, string eventId)
    {
        var page = JsonDocument.Parse(await http.GetStringAsync($"api/integracoes/filas/?servico_id={webhookId}")).RootElement;
        return page.GetProperty("results").EnumerateArray()
            .Where(item => item.GetProperty("payload").GetProperty("id").GetString() == eventId)
            .Select(item => (JsonElement?)item)
            .FirstOrDefault();
    }

    /// <summary>Runs scripts/NAME with INTEGRACOES_CONNECTION_STRING, not on a terminal; returns its exit code and output.</summary>
    private static async Task<(int ExitCode, string Output)> RunScriptAsync(string name, string connectionString, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(RepoPaths.Root, "scripts", name));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["INTEGRACOES_CONNECTION_STRING"] = connectionString;
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ScriptTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"scripts/{name} did not finish in {ScriptTimeout.TotalMinutes:0} minutes.");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
