using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Integracoes.BrokerTests;

/// <summary>
/// Every message server plus PostgreSQL and one real silo process configured to use them: the sinks
/// are tested end to end, from <c>POST /api/integracoes/disparar/</c> to a consumer of the server.
/// </summary>
public sealed class SinkClusterFixture(IMessageSink diagnostics) : IAsyncLifetime
{
    public const string AdminKey = "adm_sinks_0123456789abcdefghijklmn";
    public const string EncryptionKey = "c2lua3Mta2V5LXNpbmtzLWtleS1zaW5rcy1rZXktMTI=";

    public PostgresServer Postgres { get; private set; } = null!;
    public RabbitMqServer RabbitMq { get; private set; } = null!;
    public NatsServer Nats { get; private set; } = null!;
    public SqsServer Sqs { get; private set; } = null!;
    public SoketiServer Soketi { get; private set; } = null!;
    public SiloProcess Silo { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        var postgres = PostgresServer.StartAsync();
        var rabbit = RabbitMqServer.StartAsync();
        var nats = NatsServer.StartAsync();
        var sqs = SqsServer.StartAsync();
        var soketi = SoketiServer.StartAsync();
        (Postgres, RabbitMq, Nats, Sqs, Soketi) = (await postgres, await rabbit, await nats, await sqs, await soketi);
        var connectionString = await Postgres.CreateDatabaseAsync("sinks");
        Silo = new SiloProcess(connectionString, AdminKey, EncryptionKey, new Dictionary<string, string>
        {
            ["INTEGRACOES_RABBITMQ_URI"] = RabbitMq.AmqpUri.ToString(),
            ["INTEGRACOES_NATS_URL"] = Nats.Url,
            ["INTEGRACOES_SQS_ENDPOINT"] = Sqs.ServiceUrl,
            ["INTEGRACOES_SQS_REGION"] = Sqs.Region,
            ["INTEGRACOES_SQS_ACCESS_KEY"] = "test",
            ["INTEGRACOES_SQS_SECRET_KEY"] = "test",
            ["INTEGRACOES_PUSHER_URL"] = Soketi.ApiBaseUri.ToString().TrimEnd('/'),
            ["INTEGRACOES_PUSHER_APP_ID"] = Soketi.AppId,
            ["INTEGRACOES_PUSHER_KEY"] = Soketi.AppKey,
            ["INTEGRACOES_PUSHER_SECRET"] = Soketi.AppSecret,
            ["INTEGRACOES_CIRCUIT_BREAK_SECONDS"] = "2",
        });
        await Silo.StartAsync();
        diagnostics.OnMessage(new DiagnosticMessage($"sink cluster (PostgreSQL, RabbitMQ, NATS, SQS, soketi, silo) ready in {clock.Elapsed.TotalSeconds:0.0} s"));
    }

    public async Task DisposeAsync()
    {
        foreach (var server in new IAsyncDisposable?[] { Silo, Soketi, Sqs, Nats, RabbitMq, Postgres })
        {
            if (server is not null) await server.DisposeAsync();
        }
    }

    /// <summary>Creates an instance (unlimited requests) and returns a client sending its key.</summary>
    public async Task<HttpClient> InstanceAsync(string name)
    {
        using var admin = Silo.Http(AdminKey);
        var created = await admin.PostAsJsonAsync("api/instances", new { name });
        created.EnsureSuccessStatusCode();
        (await admin.PatchAsJsonAsync($"api/instances/{name}", new { rate_limit_por_minuto = 0 })).EnsureSuccessStatusCode();
        var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("api_key").GetString()!;
        return Silo.Http(key);
    }

    /// <summary>Publishes an event and returns its id.</summary>
    public static async Task<Guid> PublishAsync(HttpClient http, string evento, object dados)
    {
        var response = await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento, dados });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetGuid();
    }

    /// <summary>How many of the instance's queue items have this status (<c>pendente</c>, <c>entregue</c>, <c>falha</c>, ...).</summary>
    public static async Task<int> QueueCountAsync(HttpClient http, string status) =>
        JsonDocument.Parse(await http.GetStringAsync($"api/integracoes/filas/?status={status}")).RootElement.GetProperty("count").GetInt32();
}

[CollectionDefinition(Name)]
public sealed class SinkClusterCollection : ICollectionFixture<SinkClusterFixture>
{
    public const string Name = "sink cluster";
}
