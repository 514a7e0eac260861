using Integracoes.Storage.Deliveries;

namespace Integracoes.IntegrationTests;

[Collection(ClusterCollection.Name)]
public sealed class RetentionTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Delivery_logs_older_than_the_retention_are_purged_and_newer_ones_kept()
    {
        var now = DateTimeOffset.UtcNow;
        await using (var insert = fixture.DataSource.CreateCommand("""
            INSERT INTO webhook_logs (instance, webhook_id, evento, tentativa, sucesso, duracao_ms, created_at)
            VALUES ('retention', 9001, 'nfe_importada', 1, true, 1, @old), ('retention', 9001, 'nfe_importada', 1, true, 1, @recent)
            """))
        {
            insert.Parameters.AddWithValue("old", now.AddDays(-31).UtcDateTime);
            insert.Parameters.AddWithValue("recent", now.AddDays(-29).UtcDateTime);
            await insert.ExecuteNonQueryAsync();
        }

        var purged = await new DeliveryQueries(fixture.DataSource).PurgeLogsAsync(now.AddDays(-30));

        Assert.True(purged >= 1);
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM webhook_logs WHERE instance = 'retention'"));
    }
}
