using Integracoes.Abstractions.Services;
using Integracoes.Storage.Migrations;
using Integracoes.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Integracoes.IntegrationTests;

[Collection(ClusterCollection.Name)]
public sealed class SchemaTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Migrating_an_up_to_date_database_applies_nothing()
    {
        var applied = await new SchemaMigrator(fixture.DataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(RepoPaths.SqlDirectory);

        Assert.Empty(applied);
        var recorded = await fixture.ScalarAsync<long>("SELECT count(*) FROM schema_migrations");
        Assert.Equal(Directory.GetFiles(RepoPaths.SqlDirectory, "*.sql").Length, recorded);
    }

    [Fact]
    public async Task Grain_state_is_written_to_the_orleans_storage_table()
    {
        var registry = fixture.Grains.GetGrain<IServiceRegistryGrain>("schema-test");
        var created = await registry.CreateAsync(Definitions.Api("stored"));
        Assert.True(created.IsOk);

        var rows = await fixture.ScalarAsync<long>("SELECT count(*) FROM OrleansStorage WHERE GrainTypeString = 'service'");
        Assert.True(rows >= 1);
    }
}
