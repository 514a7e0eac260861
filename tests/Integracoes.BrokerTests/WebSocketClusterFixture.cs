using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;
using Npgsql;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Integracoes.BrokerTests;

/// <summary>
/// PostgreSQL and two silo processes forming one cluster, for the WebSocket sink: silo A with the default
/// heartbeat (a ping every 30 s), silo B with a short one (a ping every second, 2 s for the pong), so that
/// one proves the heartbeat and the other the slow-client policy on its own. Both allow 3 clients per instance.
/// </summary>
public sealed class WebSocketClusterFixture(IMessageSink diagnostics) : IAsyncLifetime
{
    public const string AdminKey = "adm_websocket_0123456789abcdefghijk";
    public const string EncryptionKey = "d2Vic29ja2V0LWtleS13ZWJzb2NrZXQta2V5LXdzLTE=";
    public const int MaxClientsPerInstance = 3;

    public PostgresServer Postgres { get; private set; } = null!;
    public string ConnectionString { get; private set; } = "";
    public NpgsqlDataSource DataSource { get; private set; } = null!;
    public SiloProcess SiloA { get; private set; } = null!;
    public SiloProcess SiloB { get; private set; } = null!;

    /// <summary>Settings of every silo of these tests (extra ones override).</summary>
    public static Dictionary<string, string> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string>
        {
            ["INTEGRACOES_WEBSOCKET_MAX_CLIENTS_PER_INSTANCE"] = MaxClientsPerInstance.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Everything ASP.NET Core logs, so that the check for keys in the log sees what a verbose operator would.
            ["INTEGRACOES_Serilog__MinimumLevel__Override__Microsoft.AspNetCore"] = "Debug",
        };
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        Postgres = await PostgresServer.StartAsync();
        ConnectionString = await Postgres.CreateDatabaseAsync("websocket");
        DataSource = NpgsqlDataSource.Create(ConnectionString);
        SiloA = new SiloProcess(ConnectionString, AdminKey, EncryptionKey, Settings());
        await SiloA.StartAsync();
        SiloB = new SiloProcess(ConnectionString, AdminKey, EncryptionKey, Settings(
            ("INTEGRACOES_WEBSOCKET_PING_SECONDS", "1"),
            ("INTEGRACOES_WEBSOCKET_PONG_TIMEOUT_SECONDS", "2")));
        await SiloB.StartAsync();
        await WaitForMembersAsync(2);
        diagnostics.OnMessage(new DiagnosticMessage($"websocket cluster (PostgreSQL, two silos) ready in {clock.Elapsed.TotalSeconds:0.0} s"));
    }

    public async Task DisposeAsync()
    {
        foreach (var server in new IAsyncDisposable?[] { SiloB, SiloA, DataSource, Postgres })
        {
            if (server is not null) await server.DisposeAsync();
        }
    }

    /// <summary>Ready means a silo's HTTP side answers; this waits until the cluster has <paramref name="count"/> active members.</summary>
    public Task WaitForMembersAsync(int count) => Eventually.TrueAsync(async () =>
    {
        await using var command = DataSource.CreateCommand("SELECT count(*) FROM OrleansMembershipTable WHERE Status = 3");
        return (long)(await command.ExecuteScalarAsync())! == count;
    }, TimeSpan.FromSeconds(60), $"the cluster never had {count} active silos");

    /// <summary>Creates an instance (unlimited requests) and returns its admin-scope key.</summary>
    public async Task<string> InstanceAsync(string name)
    {
        using var admin = SiloA.Http(AdminKey);
        var created = await admin.PostAsJsonAsync("api/instances", new { name });
        created.EnsureSuccessStatusCode();
        (await admin.PatchAsJsonAsync($"api/instances/{name}", new { rate_limit_por_minuto = 0 })).EnsureSuccessStatusCode();
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("api_key").GetString()!;
    }

    /// <summary>Sets the instance's websocket sink, the seed's way.</summary>
    public static async Task SetWebSocketAsync(HttpClient http, string instance, params string[] events)
    {
        var set = await http.PostAsJsonAsync($"websocket/set/{instance}", new { enabled = true, events });
        Assert.True(set.IsSuccessStatusCode, $"{(int)set.StatusCode}: {await set.Content.ReadAsStringAsync()}");
    }

    /// <summary>The URL of an instance's feed on a silo.</summary>
    public static Uri FeedUri(SiloProcess silo, string instance, string? apikey = null) =>
        new($"ws://127.0.0.1:{silo.HttpPort}/ws/{instance}" + (apikey is null ? "" : "?apikey=" + Uri.EscapeDataString(apikey)));
}

[CollectionDefinition(Name)]
public sealed class WebSocketClusterCollection : ICollectionFixture<WebSocketClusterFixture>
{
    public const string Name = "websocket cluster";
}
