using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Integracoes.Abstractions.Lines;
using Integracoes.Client;
using Integracoes.Testing;

namespace Integracoes.EndToEndTests;

/// <summary>/api/linhas/ and /ws/linhas through the silo process, and the same lines through the grain client.</summary>
[Collection(SiloCollection.Name)]
public sealed class LinesApiTests(SiloFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static object Line(string id, string nome = "Envase 1") =>
        new { id, nome, familia_maquina = "Bottelpack", fonte_sensor = "keyence", sensor_id = "KEY-" + id, velocidade_nominal = 240.5 };

    [Fact]
    public async Task Lines_are_created_read_listed_updated_and_deleted_with_problems_naming_the_field()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("linhas-crud"));

        var created = await http.PostAsJsonAsync("api/linhas/", Line("SPEP-01"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/api/linhas/SPEP-01/", created.Headers.Location?.OriginalString);
        var line = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Bottelpack", line.GetProperty("familia_maquina").GetString());
        Assert.Equal("KEY-SPEP-01", line.GetProperty("sensor_id").GetString());
        Assert.Equal(240.5, line.GetProperty("velocidade_nominal").GetDouble());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("ordem_atual").ValueKind);

        await Problem.AssertAsync(await http.PostAsJsonAsync("api/linhas/", Line("SPEP-01")), HttpStatusCode.Conflict, "id");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/linhas/", Line("SPEP 02")), HttpStatusCode.BadRequest, "id");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/linhas/", new { id = "X", nome = "x", fonte_sensor = "modbus" }), HttpStatusCode.BadRequest, "fonte_sensor");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/linhas/", new { id = "X", nome = "x", velocidade_nominal = "rapida" }), HttpStatusCode.BadRequest, "velocidade_nominal");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/linhas/", new { id = "X", nome = "x", cor = "azul" }), HttpStatusCode.BadRequest, "cor");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/linhas/", new { id = "contadores", nome = "x" }), HttpStatusCode.BadRequest, "id");

        var updated = await http.PutAsJsonAsync("api/linhas/SPEP-01/", new { nome = "Envase 1A", familia_maquina = "Pró Maquia", fonte_sensor = "nenhum", velocidade_nominal = 100 });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var read = JsonDocument.Parse(await http.GetStringAsync("api/linhas/SPEP-01/")).RootElement;
        Assert.Equal("Envase 1A", read.GetProperty("nome").GetString());
        Assert.Equal("nenhum", read.GetProperty("fonte_sensor").GetString());
        Assert.Equal(1, JsonDocument.Parse(await http.GetStringAsync("api/linhas/")).RootElement.GetProperty("count").GetInt32());

        // Another instance sees none of it.
        using var other = fixture.Http(await fixture.CreateInstanceAsync("linhas-outra"));
        await Problem.AssertAsync(await other.GetAsync("api/linhas/SPEP-01/"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await other.GetAsync("api/linhas/SPEP-01/contadores"), HttpStatusCode.NotFound);
        Assert.Equal(0, JsonDocument.Parse(await other.GetStringAsync("api/linhas/contadores")).RootElement.GetProperty("count").GetInt32());

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("api/linhas/SPEP-01/")).StatusCode);
        await Problem.AssertAsync(await http.GetAsync("api/linhas/SPEP-01/"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_order_runs_on_a_line_and_its_live_counters_are_served_for_one_line_and_for_all()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("linhas-ordem"));
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("api/linhas/", Line("L1"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("api/linhas/", Line("L2", "Envase 2"))).StatusCode);

        var started = await http.PostAsJsonAsync("api/linhas/L1/ordem", new { ordem = "OP-1001", sku = "SKU-10", lote = "L2611-01", quantidade_planejada = 50_000, velocidade_nominal = 300 });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/linhas/L1/ordem", new { ordem = "OP-1002", sku = "SKU-10", lote = "L2" }), HttpStatusCode.Conflict, "ordem");
        await Problem.AssertAsync(await http.PostAsJsonAsync("api/linhas/L2/ordem", new { ordem = "OP 1", sku = "SKU-10", lote = "L2" }), HttpStatusCode.BadRequest, "ordem");

        var counters = JsonDocument.Parse(await http.GetStringAsync("api/linhas/L1/contadores")).RootElement;
        Assert.Equal("L1", counters.GetProperty("linha").GetString());
        Assert.Equal("OP-1001", counters.GetProperty("ordem").GetString());
        Assert.Equal("SKU-10", counters.GetProperty("sku").GetString());
        Assert.Equal("L2611-01", counters.GetProperty("lote").GetString());
        Assert.Equal("parada", counters.GetProperty("estado").GetString());
        Assert.Equal(50_000, counters.GetProperty("quantidade_planejada").GetInt64());
        Assert.Equal(300, counters.GetProperty("velocidade_nominal").GetDouble());
        Assert.True(counters.GetProperty("sensor_inativo").GetBoolean());
        foreach (var field in new[] { "total", "bons", "rejeitos", "progresso", "velocidade_atual", "tempo_produzindo", "tempo_parado", "disponibilidade", "performance", "qualidade", "oee", "estado_desde", "ultima_amostra" })
        {
            Assert.True(counters.TryGetProperty(field, out _), field);
        }

        var all = JsonDocument.Parse(await http.GetStringAsync("api/linhas/contadores")).RootElement;
        Assert.Equal(["L1", "L2"], all.GetProperty("results").EnumerateArray().Select(c => c.GetProperty("linha").GetString()));
        Assert.Equal("sem_ordem", all.GetProperty("results")[1].GetProperty("estado").GetString());

        await Problem.AssertAsync(await http.PostAsJsonAsync("api/linhas/L1/ordem/encerrar", new { ordem = "OP-9" }), HttpStatusCode.Conflict, "ordem");
        var ended = JsonDocument.Parse(await (await http.PostAsJsonAsync("api/linhas/L1/ordem/encerrar", new { ordem = "OP-1001" })).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("OP-1001", ended.GetProperty("ordem").GetProperty("ordem").GetString());
        Assert.Equal(0, ended.GetProperty("total").GetInt64());
        Assert.Equal("sem_ordem", JsonDocument.Parse(await http.GetStringAsync("api/linhas/L1/contadores")).RootElement.GetProperty("estado").GetString());

        var history = JsonDocument.Parse(await http.GetStringAsync("api/linhas/L1/historico")).RootElement;
        Assert.Equal(JsonValueKind.Array, history.GetProperty("results").ValueKind);
        // A plant asks in its own offset (Brasília, -03:00).
        var local = await http.GetAsync("api/linhas/L1/historico?de=" + Uri.EscapeDataString("2026-11-24T05:00:00-03:00") + "&ate=" + Uri.EscapeDataString("2026-11-24T06:00:00-03:00"));
        Assert.Equal(HttpStatusCode.OK, local.StatusCode);
        await Problem.AssertAsync(await http.GetAsync("api/linhas/L1/historico?de=2026-01-02T00:00:00Z&ate=2026-01-01T00:00:00Z"), HttpStatusCode.BadRequest, "de");
        await Problem.AssertAsync(await http.GetAsync("api/linhas/L1/historico?de=2026-01-01T00:00:00Z&ate=2026-01-03T00:00:00Z"), HttpStatusCode.BadRequest, "ate");
    }

    [Fact]
    public async Task The_line_feed_sends_every_line_first_then_pushes_changes()
    {
        var key = await fixture.CreateInstanceAsync("linhas-ws");
        using var http = fixture.Http(key);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("api/linhas/", Line("W1"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("api/linhas/", Line("W2"))).StatusCode);

        var uri = new Uri(fixture.Silo.BaseUri, "/ws/linhas?apikey=" + Uri.EscapeDataString(key));
        await using var feed = await WebSocketFeedClient.ConnectAsync(new Uri(uri.ToString().Replace("http://", "ws://")));
        await Eventually.TrueAsync(() => Task.FromResult(feed.Messages.Count >= 2), Patience, "the snapshot of both lines");
        Assert.Equal(["W1", "W2"], feed.Messages.Take(2).Select(m => m.GetProperty("data").GetProperty("linha").GetString()));
        Assert.All(feed.Messages, m => Assert.Equal("linha.contadores", m.GetProperty("event").GetString()));

        // A change (an order starts) is pushed; the line waits at most a second between pushes.
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("api/linhas/W2/ordem", new { ordem = "OP-5", sku = "S", lote = "L" })).StatusCode);
        var pushed = await Eventually.GetAsync(() => Task.FromResult(feed.Messages.Skip(2).FirstOrDefault(m => m.GetProperty("data").GetProperty("ordem").GetString() == "OP-5") is { ValueKind: JsonValueKind.Object } m ? m.ToString() : null),
            Patience, "the pushed counters of W2");
        Assert.Contains("\"linha\":\"W2\"", pushed);

        // Without a key, or with another instance's, there is no feed.
        var anonymous = new Uri(new Uri(fixture.Silo.BaseUri, "/ws/linhas").ToString().Replace("http://", "ws://"));
        Assert.Equal(HttpStatusCode.Unauthorized, await WebSocketFeedClient.RefusalAsync(anonymous));
    }

    [Fact]
    public async Task A_dotnet_app_reads_live_counters_through_the_grain_client()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("linhas-cliente"));
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("api/linhas/", Line("C1"))).StatusCode);
        await using var client = await IntegracoesClient.ConnectAsync(new IntegracoesClientOptions { ConnectionString = fixture.ConnectionString, AppName = "mes" });
        var lines = client.Lines("linhas-cliente");

        var started = await lines.StartOrderAsync("C1", new ProductionOrder("OP-3", "SKU-1", "LOTE-3", null, 1_000, null, DateTimeOffset.UtcNow));
        var counters = await lines.CountersAsync("C1");
        var all = await lines.AllCountersAsync();

        Assert.True(started.IsOk, started.Detail);
        Assert.Equal("OP-3", counters!.Ordem);
        Assert.Equal(240.5, counters.VelocidadeNominal);
        Assert.Equal("C1", Assert.Single(all).Linha);
        Assert.Null(await lines.CountersAsync("nao-existe"));
        Assert.Null(await client.Lines("linhas-outra-c").CountersAsync("C1"));
    }
}
