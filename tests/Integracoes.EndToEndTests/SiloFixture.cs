using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;
using Npgsql;

namespace Integracoes.EndToEndTests;

/// <summary>PostgreSQL plus one running silo process, shared by the end-to-end tests (run one at a time).</summary>
public sealed class SiloFixture : IAsyncLifetime
{
    public const string AdminKey = "adm_e2e_0123456789abcdefghijklmnop";
    public const string EncryptionKey = "ZTJlLWtleS1lMmUta2V5LWUyZS1rZXktZTJlLWtleTM=";

    public PostgresServer Postgres { get; private set; } = null!;
    public string ConnectionString { get; private set; } = "";
    public SiloProcess Silo { get; private set; } = null!;
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartAsync();
        ConnectionString = await Postgres.CreateDatabaseAsync("e2e");
        DataSource = NpgsqlDataSource.Create(ConnectionString);
        Silo = new SiloProcess(ConnectionString, AdminKey, EncryptionKey);
        await Silo.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await DataSource.DisposeAsync();
        await Postgres.DisposeAsync();
    }

    public HttpClient Http(string? key = null, string scheme = "Bearer") => Silo.Http(key, scheme);

    /// <summary>
    /// Creates an instance with the admin key and returns its API key. Test instances raise their own
    /// request limit (unlimited by default here) so that load in a test is not throttled.
    /// </summary>
    public async Task<string> CreateInstanceAsync(string name, int rateLimitPerMinute = 0)
    {
        using var admin = Http(AdminKey);
        var response = await admin.PostAsJsonAsync("api/instances", new { name });
        response.EnsureSuccessStatusCode();
        (await admin.PatchAsJsonAsync($"api/instances/{name}", new { rate_limit_por_minuto = rateLimitPerMinute })).EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("api_key").GetString()!;
    }
}

[CollectionDefinition(Name)]
public sealed class SiloCollection : ICollectionFixture<SiloFixture>
{
    public const string Name = "silo";
}
