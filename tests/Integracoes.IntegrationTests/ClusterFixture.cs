using Integracoes.Grains.Hosting;
using Integracoes.Storage.Migrations;
using Integracoes.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.TestingHost;

namespace Integracoes.IntegrationTests;

/// <summary>
/// A PostgreSQL started for this test run, the repo's sql/ applied to it, and an in-process Orleans
/// cluster configured exactly as the silo host configures itself (ADO.NET clustering, storage, reminders).
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>How long a subscription may fail before it is disabled, shortened so a test can watch it happen.</summary>
    public static readonly TimeSpan DisableAfter = TimeSpan.FromSeconds(3);

    /// <summary>How often line counters are written: shorter than production's 5 s so tests wait less.</summary>
    public static readonly TimeSpan LineFlushInterval = TimeSpan.FromSeconds(1);

    public const string EncryptionKey = "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktMzJieXQ=";

    public PostgresServer Postgres { get; private set; } = null!;
    public NpgsqlDataSource DataSource { get; private set; } = null!;
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartAsync();
        var connectionString = await Postgres.CreateDatabaseAsync("integration");
        DataSource = NpgsqlDataSource.Create(connectionString);
        await new SchemaMigrator(DataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(RepoPaths.SqlDirectory);

        var builder = new InProcessTestClusterBuilder(initialSilosCount: 1);
        var clusterId = builder.Options.ClusterId;
        var serviceId = builder.Options.ServiceId;
        var dataSource = DataSource;
        builder.ConfigureSilo((_, silo) => silo.AddIntegracoesGrains(new GrainHostSettings(
            dataSource, EncryptionKey, "127.0.0.1", new GrainLimits(MaxServicesPerInstance: 5), clusterId, serviceId,
            new Grains.Webhooks.DeliverySettings(DisableAfterFailingDays: DisableAfter.TotalDays),
            LineCounters: new Storage.Lines.LineCounterSettings(LineFlushInterval))));
        builder.ConfigureClient(client => client.UseAdoNetClustering(o =>
        {
            o.Invariant = GrainHostingExtensions.AdoNetInvariant;
            o.DataSource = dataSource;
        }));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await DataSource.DisposeAsync();
        await Postgres.DisposeAsync();
    }

    public async Task<T?> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        var result = await command.ExecuteScalarAsync();
        return result is DBNull or null ? default : (T)result;
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
