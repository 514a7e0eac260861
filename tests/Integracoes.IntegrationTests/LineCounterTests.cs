using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Lines;
using Integracoes.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Integracoes.IntegrationTests;

/// <summary>Line grains against PostgreSQL: counters, their batched writes with file positions, replays, orders and history.</summary>
[Collection(ClusterCollection.Name)]
public sealed class LineCounterTests(ClusterFixture fixture)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 8, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static LineDefinition Keyence(string nome, double nominal = 240) => new(nome, "Bottelpack", SensorSources.Keyence, null, nominal);

    /// <summary>Records every 250 ms from <paramref name="fromSecond"/>, producing <paramref name="perRecord"/> units each and rejecting every tenth.</summary>
    private static List<SensorReading> Records(int count, double fromSecond, long startCount, long startRejects, long startOffset, int perRecord = 3)
    {
        var readings = new List<SensorReading>(count);
        for (var i = 0; i < count; i++)
        {
            var n = i + 1;
            readings.Add(new SensorReading(startOffset + n * 40, T0.AddSeconds(fromSecond + i * 0.25), startCount + n * perRecord, startRejects + n / 10));
        }
        return readings;
    }

    private async Task<ILineGrain> CreateAsync(string instance, string id, LineDefinition? definition = null)
    {
        var created = await fixture.Grains.GetGrain<ILineRegistryGrain>(instance).CreateAsync(id, definition ?? Keyence("Linha " + id));
        Assert.True(created.IsOk, created.Detail);
        return fixture.Grains.GetGrain<ILineGrain>(LineKeys.For(instance, id));
    }

    private Task<string?> RowAsync(string instance, string id) => fixture.ScalarAsync<string>(
        "SELECT total || '/' || rejeitos || ' ' || posicoes::text FROM ordens_producao_ativas WHERE instancia = @i AND linha = @l AND ativa",
        ("i", instance), ("l", id));

    private async Task DeactivateAllAsync() =>
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    [Fact]
    public async Task Counters_are_written_with_the_positions_they_include_and_a_replay_counts_nothing_twice()
    {
        var line = await CreateAsync("lin-a", "L01");
        var first = Records(40, 0, 1_000, 5, 0);
        // The first record is the baseline: 39 records of 3 units count.
        var applied = await line.IngestAsync(new SensorBatch("gw.txt#1", first));
        Assert.Equal(new IngestResult(40, 0), applied);
        var counters = (await line.GetCountersAsync())!;
        Assert.Equal(39 * 3, counters.Total);
        Assert.Equal(4, counters.Rejeitos);
        Assert.Equal(39 * 3 - 4, counters.Bons);
        Assert.Equal(LineStates.NoOrder, counters.Estado);

        var expectedRow = $"{39 * 3}/4 {{\"gw.txt#1\": {first[^1].EndOffset}}}";
        Assert.Equal(expectedRow, await Eventually.GetAsync(async () => await RowAsync("lin-a", "L01") is { } row && row == expectedRow ? row : null, Patience, "the row to be written"));

        // The same records again (a watcher that resumed from an older position): nothing counts twice.
        Assert.Equal(new IngestResult(0, 40), await line.IngestAsync(new SensorBatch("gw.txt#1", first)));

        // After the line's activation is gone, it comes back from its row and still skips them.
        await DeactivateAllAsync();
        var overlap = first.Skip(20).Concat(Records(8, 10, 1_000 + 40 * 3, 9, first[^1].EndOffset)).ToList();
        Assert.Equal(new IngestResult(8, 20), await line.IngestAsync(new SensorBatch("gw.txt#1", overlap)));
        counters = (await line.GetCountersAsync())!;
        Assert.Equal(39 * 3 + 8 * 3, counters.Total);
    }

    [Fact]
    public async Task A_line_that_starts_reading_a_file_stores_its_position_at_once_so_a_watcher_never_resumes_past_it()
    {
        var a = await CreateAsync("lin-d", "A");
        var b = await CreateAsync("lin-d", "B");
        await a.IngestAsync(new SensorBatch("shared.txt#1", Records(10, 0, 0, 0, 0)));
        await a.IngestAsync(new SensorBatch("shared.txt#1", Records(10, 3, 30, 1, 400)));

        // B's first records from the file sit below A's newest position. Right away (no flush has to
        // happen first), the file's resume position is at most where B's records end.
        await b.IngestAsync(new SensorBatch("shared.txt#1", Records(2, 0, 0, 0, 100)));
        var store = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<Storage.Lines.LineCounterStore>();
        var positions = await store.FilePositionsAsync("lin-d");
        Assert.True(positions["shared.txt#1"] <= 180, $"resume position {positions["shared.txt#1"]}");
    }

    [Fact]
    public async Task An_order_counts_from_its_start_and_its_end_writes_the_totals_and_closes_its_row()
    {
        var line = await CreateAsync("lin-b", "L02");
        await line.IngestAsync(new SensorBatch("b.txt#1", Records(10, 0, 0, 0, 0)));
        var order = new ProductionOrder("OP-77", "SKU-9", "LOTE-1", null, 1_000, 300, T0);
        var started = await line.StartOrderAsync(order);
        Assert.True(started.IsOk, started.Detail);
        Assert.Equal(0, started.Value!.Total);
        // The sensor showed production a moment ago: the line runs, counted for the order from its start (sensor time).
        Assert.Equal(LineStates.Running, started.Value.Estado);
        Assert.Equal(T0.AddSeconds(2.25), started.Value.EstadoDesde);
        Assert.Equal(OutcomeStatus.Conflict, (await line.StartOrderAsync(order with { Ordem = "OP-78" })).Status);

        // 2 minutes at 4 records a second, 3 units each: 720 units a minute against a nominal 300.
        var readings = Records(480, 2.5, 30, 1, 400);
        await line.IngestAsync(new SensorBatch("b.txt#1", readings));
        var live = (await line.GetCountersAsync())!;
        Assert.Equal("OP-77", live.Ordem);
        Assert.Equal("SKU-9", live.Sku);
        Assert.Equal("LOTE-1", live.Lote);
        Assert.Equal(LineStates.Running, live.Estado);
        Assert.Equal(480 * 3, live.Total);
        Assert.Equal(48, live.Rejeitos);
        Assert.Equal(300, live.VelocidadeNominal);
        Assert.Equal(720, live.VelocidadeAtual, 0);
        Assert.Equal(1.0, live.Disponibilidade);
        Assert.Equal(Math.Round((480.0 * 3 - 48) / 1_000, 4), Math.Round(live.Progresso, 4));
        Assert.Equal(Math.Round(live.Disponibilidade * live.Performance * live.Qualidade, 3), Math.Round(live.Oee, 3));

        var ended = await line.EndOrderAsync("OP-77");
        Assert.True(ended.IsOk, ended.Detail);
        Assert.Equal(480 * 3, ended.Value!.Total);
        Assert.Equal(480 * 3 - 48, ended.Value.Bons);
        Assert.Equal(OutcomeStatus.Conflict, (await line.EndOrderAsync("OP-77")).Status);

        // The order's row holds its totals and is no longer active; the line counts on in a new row.
        Assert.Equal($"{480 * 3}/48", await fixture.ScalarAsync<string>(
            "SELECT total || '/' || rejeitos FROM ordens_producao_ativas WHERE instancia = 'lin-b' AND ordem = 'OP-77' AND NOT ativa AND fim IS NOT NULL"));
        Assert.Equal("", await fixture.ScalarAsync<string>("SELECT ordem FROM ordens_producao_ativas WHERE instancia = 'lin-b' AND linha = 'L02' AND ativa"));
        // Per-minute history: the two whole minutes of the order plus its last (closed by the end).
        var minutes = await fixture.ScalarAsync<long>("SELECT sum(producao)::bigint FROM contadores_minuto WHERE instancia = 'lin-b' AND ordem = 'OP-77'");
        Assert.Equal(480 * 3, minutes);
        Assert.Equal(LineStates.NoOrder, (await line.GetCountersAsync())!.Estado);
    }

    [Fact]
    public async Task The_registry_validates_ids_sensors_and_routes_sensor_ids_to_lines()
    {
        var registry = fixture.Grains.GetGrain<ILineRegistryGrain>("lin-c");
        Assert.Equal(("id", OutcomeStatus.Invalid), Field(await registry.CreateAsync("contadores", Keyence("x"))));
        Assert.Equal(("id", OutcomeStatus.Invalid), Field(await registry.CreateAsync("a b", Keyence("x"))));
        Assert.Equal(("fonte_sensor", OutcomeStatus.Invalid), Field(await registry.CreateAsync("L1", Keyence("x") with { FonteSensor = "opc" })));
        Assert.Equal(("velocidade_nominal", OutcomeStatus.Invalid), Field(await registry.CreateAsync("L1", Keyence("x", -1))));
        Assert.True((await registry.CreateAsync("L1", Keyence("x") with { SensorId = "KEY-01" })).IsOk);
        Assert.Equal(("id", OutcomeStatus.Conflict), Field(await registry.CreateAsync("L1", Keyence("x"))));
        Assert.Equal(("sensor_id", OutcomeStatus.Conflict), Field(await registry.CreateAsync("L2", Keyence("y") with { SensorId = "KEY-01" })));
        Assert.True((await registry.CreateAsync("L2", Keyence("y"))).IsOk);

        var map = await registry.SensorMapAsync(SensorSources.Keyence);
        Assert.Equal("L1", map["KEY-01"]);
        Assert.Equal("L2", map["L2"]);
        Assert.True(await registry.DeleteAsync("L2"));
        Assert.False((await registry.SensorMapAsync(SensorSources.Keyence)).ContainsKey("L2"));
        Assert.Null(await fixture.ScalarAsync<string>("SELECT ordem FROM ordens_producao_ativas WHERE instancia = 'lin-c' AND linha = 'L2' AND ativa"));
    }

    private static (string?, OutcomeStatus) Field<T>(Outcome<T> outcome) => (outcome.Field, outcome.Status);
}
