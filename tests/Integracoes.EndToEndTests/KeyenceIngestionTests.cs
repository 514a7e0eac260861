using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Testing;

namespace Integracoes.EndToEndTests;

/// <summary>
/// KEYENCE gateway files through the real silo process: its own database and a silo whose
/// INTEGRACOES_KEYENCE_ROOT is a temp directory the gateway simulator writes into.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class KeyenceIngestionTests(SiloFixture fixture) : IAsyncLifetime
{
    private string _root = "";
    private string _connectionString = "";
    private SiloProcess _silo = null!;

    public async Task InitializeAsync()
    {
        _root = TempDirectory.Create("keyence-root");
        // xunit runs InitializeAsync before each test: a database of its own each time.
        _connectionString = await fixture.Postgres.CreateDatabaseAsync("keyence_" + Guid.NewGuid().ToString("N")[..12]);
        _silo = new SiloProcess(_connectionString, SiloFixture.AdminKey, SiloFixture.EncryptionKey, new Dictionary<string, string>
        {
            ["INTEGRACOES_KEYENCE_ROOT"] = _root,
            ["INTEGRACOES_KEYENCE_POLL_MS"] = "250",
        });
        await _silo.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await TempDirectory.DeleteAsync(_root);
    }

    [Fact]
    public async Task Counters_end_exactly_at_what_the_gateway_wrote_across_a_kill_9_in_the_middle_of_ingestion_with_a_reset_and_a_malformed_line()
    {
        var key = await CreateInstanceAsync("keyence-kill");
        using var http = _silo.Http(key);
        var sensors = Enumerable.Range(1, 6).Select(i => $"KEY-{i:00}").ToList();
        foreach (var sensor in sensors) await CreateLineAsync(http, sensor);
        await ConfigureGatewayAsync(http, "fabrica/sicfar");
        await using var gateway = new KeyenceGatewaySimulator(Path.Combine(_root, "fabrica", "sicfar"), sensors);

        gateway.Start();
        // Past one 5-second write of the counters, so the restart resumes from stored positions, not from zero.
        await Eventually.TrueAsync(async () => gateway.RecordsWritten > sensors.Count * 30 && await TotalAsync(http, sensors[0]) > 0,
            TimeSpan.FromSeconds(60), "counting under way");
        await Eventually.TrueAsync(async () => await ActiveRowsWithPositionsAsync() == sensors.Count, TimeSpan.FromSeconds(30), "positions stored for every line");
        await _silo.KillAsync();
        var writtenAtKill = gateway.RecordsWritten;
        await Eventually.TrueAsync(() => Task.FromResult(gateway.RecordsWritten > writtenAtKill + sensors.Count * 8), TimeSpan.FromSeconds(30),
            "the gateway writing while the silo is down");
        await _silo.StartAsync();
        gateway.ResetCounter(sensors[1]);
        gateway.WriteMalformed(sensors[2]);
        gateway.WriteUnknownSensor(sensors[3], "SEM-LINHA");
        var writtenAtRestart = gateway.RecordsWritten;
        using var afterRestart = _silo.Http(key);
        // The silo's start wakes the watcher (not its one-minute reminder): counting resumes within seconds.
        var resumedAt = System.Diagnostics.Stopwatch.StartNew();
        var durable = (await CountersAsync(afterRestart, sensors[0])).GetProperty("total").GetInt64();
        await Eventually.TrueAsync(async () => (await CountersAsync(afterRestart, sensors[0])).GetProperty("total").GetInt64() > durable,
            TimeSpan.FromSeconds(20), "counting to resume right after the restart");
        Assert.True(resumedAt.Elapsed < TimeSpan.FromSeconds(20), $"counting resumed after {resumedAt.Elapsed}");
        await Eventually.TrueAsync(() => Task.FromResult(gateway.RecordsWritten > writtenAtRestart + sensors.Count * 8), TimeSpan.FromSeconds(30),
            "the gateway writing after the restart");
        await gateway.StopAsync();

        // The watcher reads what the files gained while the silo was down and since.
        await Eventually.TrueAsync(async () =>
        {
            foreach (var sensor in sensors)
            {
                var expected = gateway.Expected(sensor);
                var counters = await CountersAsync(afterRestart, sensor);
                if (counters.GetProperty("total").GetInt64() != expected.Total) return false;
            }
            return true;
        }, TimeSpan.FromSeconds(60), "every line's total at what the gateway wrote");
        var files = await Eventually.GetAsync(async () =>
        {
            var status = JsonDocument.Parse(await afterRestart.GetStringAsync("api/linhas/arquivos")).RootElement;
            var all = status.GetProperty("arquivos").EnumerateArray().ToList();
            return all.Count == sensors.Count && all.All(f => f.GetProperty("bytes_lidos").GetInt64() == f.GetProperty("tamanho").GetInt64()) ? all : null;
        }, TimeSpan.FromSeconds(30), "every file read to its end");

        foreach (var sensor in sensors)
        {
            var expected = gateway.Expected(sensor);
            var counters = await CountersAsync(afterRestart, sensor);
            Assert.Equal((expected.Total, expected.Bons, expected.Rejeitos),
                (counters.GetProperty("total").GetInt64(), counters.GetProperty("bons").GetInt64(), counters.GetProperty("rejeitos").GetInt64()));
        }
        Assert.Equal(1, gateway.Expected(sensors[1]).Resets);
        Assert.True((await CountersAsync(afterRestart, sensors[1])).GetProperty("reinicio_contador").GetInt32() >= 1);
        var malformedFile = files.Single(f => f.GetProperty("arquivo").GetString() == sensors[2] + ".txt");
        Assert.Equal(1, malformedFile.GetProperty("malformados").GetInt64());
        Assert.StartsWith("line ", malformedFile.GetProperty("ultimo_erro").GetString());
        Assert.Equal(1, files.Single(f => f.GetProperty("arquivo").GetString() == sensors[3] + ".txt").GetProperty("sensores_desconhecidos").GetInt64());
        Assert.Contains("Malformed KEYENCE line", _silo.FullLog());
    }

    [Fact]
    public async Task A_gateway_path_outside_the_root_is_refused_naming_the_field_on_create_and_update()
    {
        var outside = TempDirectory.Create("keyence-outside");
        File.CreateSymbolicLink(Path.Combine(_root, "atalho-para-fora"), outside);
        var key = await CreateInstanceAsync("keyence-fora");
        using var http = _silo.Http(key);
        var id = await ConfigureGatewayAsync(http, "dentro");

        foreach (var path in new[] { "../fora", "/etc", "atalho-para-fora", "atalho-para-fora/sub", _root + "/dentro/../../fora" })
        {
            await Problem.AssertAsync(await http.PostAsJsonAsync("api/integracoes/servicos/", Service(path)), HttpStatusCode.BadRequest,
                "config_padrao.clps.keyence.path");
            await Problem.AssertAsync(await http.PutAsJsonAsync($"api/integracoes/servicos/{id}/", Service(path)), HttpStatusCode.BadRequest,
                "config_padrao.clps.keyence.path");
        }
        await TempDirectory.DeleteAsync(outside);
    }

    [Fact]
    public async Task Deleting_the_service_stops_the_watcher_and_a_new_one_reads_again()
    {
        var key = await CreateInstanceAsync("keyence-config");
        using var http = _silo.Http(key);
        await CreateLineAsync(http, "CFG-1");
        var id = await ConfigureGatewayAsync(http, "config");
        await using var gateway = new KeyenceGatewaySimulator(Path.Combine(_root, "config"), ["CFG-1"]);
        for (var round = 0; round < 5; round++) gateway.WriteRound();
        await Eventually.TrueAsync(async () => await FullyReadAsync(http) && await TotalAsync(http, "CFG-1") == gateway.Expected("CFG-1").Total,
            TimeSpan.FromSeconds(30), "the first records counted");
        Assert.True(gateway.Expected("CFG-1").Total > 0);

        (await http.DeleteAsync($"api/integracoes/servicos/{id}/")).EnsureSuccessStatusCode();
        var status = JsonDocument.Parse(await http.GetStringAsync("api/linhas/arquivos")).RootElement;
        Assert.False(status.GetProperty("habilitado").GetBoolean());
        Assert.Empty(status.GetProperty("arquivos").EnumerateArray());

        for (var round = 0; round < 5; round++) gateway.WriteRound();
        var before = await TotalAsync(http, "CFG-1");
        await ConfigureGatewayAsync(http, "config");
        await Eventually.TrueAsync(async () => await FullyReadAsync(http) && await TotalAsync(http, "CFG-1") == gateway.Expected("CFG-1").Total,
            TimeSpan.FromSeconds(30), "the records written while nothing watched, counted once the new service reads the directory");
        Assert.True(gateway.Expected("CFG-1").Total > before);
    }

    private static async Task<bool> FullyReadAsync(HttpClient http)
    {
        var files = JsonDocument.Parse(await http.GetStringAsync("api/linhas/arquivos")).RootElement.GetProperty("arquivos").EnumerateArray().ToList();
        return files.Count > 0 && files.All(f => f.GetProperty("bytes_lidos").GetInt64() == f.GetProperty("tamanho").GetInt64());
    }

    private async Task<string> CreateInstanceAsync(string name)
    {
        using var admin = _silo.Http(SiloFixture.AdminKey);
        var response = await admin.PostAsJsonAsync("api/instances", new { name });
        response.EnsureSuccessStatusCode();
        (await admin.PatchAsJsonAsync($"api/instances/{name}", new { rate_limit_por_minuto = 0 })).EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("api_key").GetString()!;
    }

    private static async Task CreateLineAsync(HttpClient http, string sensor)
    {
        var response = await http.PostAsJsonAsync("api/linhas/", new
        {
            id = sensor.ToLowerInvariant(),
            nome = "Linha " + sensor,
            familia_maquina = "Bottelpack",
            fonte_sensor = "keyence",
            sensor_id = sensor,
            velocidade_nominal = 600,
        });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private static object Service(string path) => new
    {
        nome = "erp-" + Guid.NewGuid().ToString("N")[..8],
        tipo = "erp",
        config_padrao = new
        {
            clps = new { keyence = new { gateway = "192.168.1.100", protocol = "file", path } },
        },
    };

    private static async Task<long> ConfigureGatewayAsync(HttpClient http, string path)
    {
        var response = await http.PostAsJsonAsync("api/integracoes/servicos/", Service(path));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
    }

    private static async Task<JsonElement> CountersAsync(HttpClient http, string sensor) =>
        JsonDocument.Parse(await http.GetStringAsync($"api/linhas/{sensor.ToLowerInvariant()}/contadores")).RootElement;

    private static async Task<long> TotalAsync(HttpClient http, string sensor) =>
        (await CountersAsync(http, sensor)).GetProperty("total").GetInt64();

    private async Task<int> ActiveRowsWithPositionsAsync()
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(_connectionString);
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM ordens_producao_ativas WHERE ativa AND posicoes <> '{}'::jsonb");
        return Convert.ToInt32(await command.ExecuteScalarAsync());
    }
}
