using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Integracoes.Abstractions.Lines;
using Integracoes.Client;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Integracoes.EndToEndTests;

/// <summary>TOTVS (seed 003) against the real silo and the stand-in TOTVS server: master data sync and the lot workflow.</summary>
[Collection(SiloCollection.Name)]
public sealed class TotvsTests(SiloFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static async Task<long> CreateServiceAsync(HttpClient http, TotvsServer totvs, string password = TotvsServer.Password)
    {
        var response = await http.PostAsJsonAsync("api/integracoes/servicos/", new
        {
            nome = "TOTVS Protheus",
            tipo = "erp",
            config_padrao = totvs.Config(),
            auth_type = "basic",
            auth = new { username = TotvsServer.Username, password },
            timeout = 5,
            ativo = true,
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetInt64();
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, object? body, HttpStatusCode expected)
    {
        var response = body is null ? await http.PostAsync(path, null) : await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{path}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return Json(text);
    }

    private static async Task CreateLineAsync(HttpClient http, string id) =>
        await PostAsync(http, "api/linhas/", new { id, nome = "Linha " + id, familia_maquina = "Bottelpack", fonte_sensor = "nenhum", velocidade_nominal = 100 }, HttpStatusCode.Created);

    private static object Order(string numero, string linha, long quantidade = 1000) =>
        new { numero_op = numero, sku = "SKU-500ML", lote = "L" + numero, linha, quantidade_planejada = quantidade, validade = "2026-12-31" };

    /// <summary>A lot TOTVS opened for <paramref name="linha"/>, started on it: its id.</summary>
    private static async Task<long> StartedLotAsync(HttpClient http, string numero, string linha)
    {
        var id = (await PostAsync(http, "api/totvs/ordens-producao", Order(numero, linha), HttpStatusCode.Created)).GetProperty("id").GetInt64();
        await PostAsync(http, $"api/lotes/{id}/iniciar", null, HttpStatusCode.OK);
        return id;
    }

    [Fact]
    public async Task Master_data_syncs_on_demand_is_recorded_as_executions_and_the_second_run_is_incremental()
    {
        await using var totvs = await TotvsServer.StartAsync();
        for (var i = 1; i <= 5; i++)
        {
            totvs.Put("produtos", $"SKU{i}", new JsonObject { ["codigo"] = $"SKU{i}", ["descricao"] = $"Produto {i}", ["unidade"] = "UN", ["alterado_em"] = $"2025-10-2{i}T10:00:00Z" });
        }
        totvs.Put("produtos", "bad", new JsonObject { ["descricao"] = "sem código", ["alterado_em"] = "2025-10-20T10:00:00Z" });
        totvs.Put("insumos", "I1", new JsonObject { ["codigo"] = "I1", ["descricao"] = "Frasco", ["alterado_em"] = "2025-10-20T10:00:00Z" });
        totvs.Put("lotes-insumo", "I1/A", new JsonObject { ["insumo"] = "I1", ["lote"] = "A", ["validade"] = "2026-01-31", ["quantidade"] = 5000.5, ["alterado_em"] = "2025-10-20T10:00:00Z" });
        totvs.Put("velocidades-nominais", "SKU1/sync-l1", new JsonObject { ["sku"] = "SKU1", ["linha"] = "sync-l1", ["unidades_por_minuto"] = 240.0, ["alterado_em"] = "2025-10-20T10:00:00Z" });
        totvs.Put("lotes", "OP-S1", new JsonObject { ["numero_op"] = "OP-S1", ["sku"] = "SKU1", ["lote"] = "LS1", ["linha"] = "sync-l1", ["quantidade_planejada"] = 500, ["alterado_em"] = "2025-10-20T10:00:00Z" });
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-sync"));
        await CreateLineAsync(http, "sync-l1");
        var id = await CreateServiceAsync(http, totvs);

        var first = await PostAsync(http, $"api/integracoes/servicos/{id}/sincronizar/", null, HttpStatusCode.OK);
        var products = Json(await http.GetStringAsync("api/totvs/produtos?limit=3"));
        var lots = Json(await http.GetStringAsync("api/lotes?linha=sync-l1&status=disponivel"));
        var materialLots = Json(await http.GetStringAsync("api/totvs/lotes-insumo"));
        var speeds = Json(await http.GetStringAsync("api/totvs/velocidades"));

        totvs.Put("produtos", "SKU2", new JsonObject { ["codigo"] = "SKU2", ["descricao"] = "Produto 2 revisto", ["alterado_em"] = "2025-10-30T10:00:00Z" });
        totvs.RevokeTokens();
        var tokensBefore = totvs.TokensIssued;
        var second = await PostAsync(http, $"api/integracoes/servicos/{id}/sincronizar/", null, HttpStatusCode.OK);
        var revised = Json(await http.GetStringAsync("api/totvs/produtos?busca=SKU2"));
        var executions = Json(await http.GetStringAsync($"api/integracoes/execucoes/?servico_id={id}"));
        var lastProductsQuery = totvs.Queries.Last(q => q.Path == "/api/produtos").Query;

        // First run: 6 product items in 3 pages of 2, one without its key; every other entity once.
        Assert.Equal("sucesso", first.GetProperty("status").GetString());
        Assert.Equal(10, first.GetProperty("processados").GetInt32());
        Assert.Equal(9, first.GetProperty("sucesso").GetInt32());
        Assert.Equal(1, first.GetProperty("falha").GetInt32());
        Assert.Contains("codigo is required", first.GetProperty("error_log").GetString());
        Assert.Equal(3, first.GetProperty("request_data").GetProperty("entidades").GetProperty("produtos").GetProperty("paginas").GetInt32());
        Assert.Equal(5, products.GetProperty("count").GetInt32());
        Assert.Equal(3, products.GetProperty("results").GetArrayLength());
        Assert.Equal("SKU1", products.GetProperty("results")[0].GetProperty("codigo").GetString());
        Assert.Equal("OP-S1", lots.GetProperty("results")[0].GetProperty("numero_op").GetString());
        Assert.Equal(5000.5, materialLots.GetProperty("results")[0].GetProperty("quantidade").GetDouble());
        Assert.Equal(240.0, speeds.GetProperty("results")[0].GetProperty("unidades_por_minuto").GetDouble());
        // Second run: only what changed since the watermark, with a fresh token after the revocation.
        Assert.Contains("alteradoDesde=2025-10-25T10%3A00%3A00.000Z", lastProductsQuery);
        // The filter is inclusive: the item at the watermark comes again with the one changed after it.
        Assert.Equal(2, second.GetProperty("request_data").GetProperty("entidades").GetProperty("produtos").GetProperty("itens").GetInt32());
        Assert.True(totvs.TokensIssued > tokensBefore);
        Assert.True(totvs.Unauthorized > 0);
        Assert.Equal("Produto 2 revisto", revised.GetProperty("results")[0].GetProperty("descricao").GetString());
        Assert.Equal(2, executions.GetProperty("count").GetInt32());
        Assert.DoesNotContain(TotvsServer.Password, fixture.Silo.Tail());
    }

    [Fact]
    public async Task Wrong_credentials_fail_the_run_and_the_execution_says_why()
    {
        await using var totvs = await TotvsServer.StartAsync();
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-badcred"));
        var id = await CreateServiceAsync(http, totvs, password: "errada");

        var run = await PostAsync(http, $"api/integracoes/servicos/{id}/sincronizar/", null, HttpStatusCode.OK);

        Assert.Equal("falha", run.GetProperty("status").GetString());
        Assert.Contains("token endpoint answered 401", run.GetProperty("error_log").GetString());
        Assert.Equal(0, totvs.TokensIssued);
    }

    [Fact]
    public async Task A_bad_totvs_configuration_is_refused_naming_the_field()
    {
        await using var totvs = await TotvsServer.StartAsync();
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-badconfig"));
        var config = totvs.Config();
        config["totvs"]!["baseUrl"] = "ftp://totvs.example.com";

        var response = await http.PostAsJsonAsync("api/integracoes/servicos/", new
        {
            nome = "TOTVS",
            tipo = "erp",
            config_padrao = config,
            auth_type = "basic",
            auth = new { username = TotvsServer.Username, password = TotvsServer.Password },
        });

        await Problem.AssertAsync(response, HttpStatusCode.BadRequest, "config_padrao.totvs.baseUrl");
    }

    [Fact]
    public async Task A_lot_opened_by_totvs_is_started_closed_and_its_totals_reach_totvs()
    {
        await using var totvs = await TotvsServer.StartAsync();
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-lot"));
        using var intruder = fixture.Http(await fixture.CreateInstanceAsync("totvs-lot-intruder"));
        await CreateLineAsync(http, "spep-01");
        await CreateServiceAsync(http, totvs);

        var opened = await PostAsync(http, "api/totvs/ordens-producao", Order("OP100", "spep-01", 5000), HttpStatusCode.Created);
        var again = await PostAsync(http, "api/totvs/ordens-producao", Order("OP100", "spep-01", 5000), HttpStatusCode.OK);
        var id = opened.GetProperty("id").GetInt64();
        var available = Json(await http.GetStringAsync("api/lotes?linha=spep-01&status=disponivel"));
        var hidden = await intruder.GetAsync($"api/lotes/{id}");
        var started = await PostAsync(http, $"api/lotes/{id}/iniciar", null, HttpStatusCode.OK);
        var running = Json(await http.GetStringAsync("api/linhas/spep-01/contadores"));
        var closed = await PostAsync(http, $"api/lotes/{id}/fechar", new { assinado_por = "supervisor.maria", assinado_em = "2025-10-25T14:05:00Z" }, HttpStatusCode.OK);
        var received = await Eventually.GetAsync(() => Task.FromResult(totvs.Received.FirstOrDefault()), Patience, "the totals at TOTVS");
        var closeAgain = await http.PostAsJsonAsync($"api/lotes/{id}/fechar", new { assinado_por = "x", assinado_em = "2025-10-25T14:05:00Z" });

        Assert.Equal("disponivel", opened.GetProperty("status").GetString());
        Assert.Equal(id, again.GetProperty("id").GetInt64());
        Assert.Equal(1, available.GetProperty("count").GetInt32());
        await Problem.AssertAsync(hidden, HttpStatusCode.NotFound);
        Assert.Equal("em_producao", started.GetProperty("status").GetString());
        Assert.Equal("OP100", running.GetProperty("ordem").GetString());
        Assert.Equal("fechado", closed.GetProperty("status").GetString());
        Assert.Equal("supervisor.maria", closed.GetProperty("assinado_por").GetString());
        Assert.Equal(0, closed.GetProperty("producao_total").GetInt64());
        Assert.Equal("OP100", received.Body["numero_op"]!.GetValue<string>());
        Assert.Equal("supervisor.maria", received.Body["assinado_por"]!.GetValue<string>());
        Assert.Equal(0, received.Body["perdas_qualidade"]!.GetValue<long>());
        Assert.Equal(closed.GetProperty("evento_id").GetString(), received.IdempotencyKey);
        await Problem.AssertAsync(closeAgain, HttpStatusCode.Conflict, "status");
    }

    [Fact]
    public async Task Lot_requests_are_validated_naming_the_field()
    {
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-lot-invalid"));

        await Problem.AssertAsync(await http.PostAsJsonAsync("api/totvs/ordens-producao", new { sku = "S", lote = "L", linha = "l1", quantidade_planejada = 1 }), HttpStatusCode.BadRequest, "numero_op");
        await Problem.AssertAsync(await http.GetAsync("api/lotes?status=aberto"), HttpStatusCode.BadRequest, "status");
        var opened = await PostAsync(http, "api/totvs/ordens-producao", Order("OP7", "nao-existe"), HttpStatusCode.Created);
        var id = opened.GetProperty("id").GetInt64();
        await Problem.AssertAsync(await http.PostAsync($"api/lotes/{id}/iniciar", null), HttpStatusCode.Conflict, "linha");
        await Problem.AssertAsync(await http.PostAsJsonAsync($"api/lotes/{id}/fechar", new { assinado_em = "2025-10-25T14:05:00Z" }), HttpStatusCode.BadRequest, "assinado_por");
        await Problem.AssertAsync(await http.PostAsJsonAsync($"api/lotes/{id}/fechar", new { assinado_por = "maria", assinado_em = "2999-01-01T00:00:00Z" }), HttpStatusCode.BadRequest, "assinado_em");
        await Problem.AssertAsync(await http.PostAsJsonAsync($"api/lotes/{id + 1000}/fechar", new { assinado_por = "maria" }), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await http.PostAsJsonAsync($"api/lotes/{id}/fechar", new { assinado_por = "maria", assinado_em = "2025-10-25T14:05:00Z" }), HttpStatusCode.Conflict, "status");
    }

    [Fact]
    public async Task Totals_of_a_lot_closed_while_totvs_is_down_are_delivered_when_it_is_back()
    {
        await using var totvs = await TotvsServer.StartAsync();
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-outage"));
        await CreateLineAsync(http, "spep-02");
        await CreateServiceAsync(http, totvs);
        var id = await StartedLotAsync(http, "OP200", "spep-02");

        await totvs.StopAsync();
        await PostAsync(http, $"api/lotes/{id}/fechar", new { assinado_por = "supervisor.joao", assinado_em = "2025-10-25T15:00:00Z" }, HttpStatusCode.OK);
        var pending = await Eventually.GetAsync(async () =>
        {
            var queue = Json(await http.GetStringAsync("api/integracoes/filas/?status=pendente"));
            return queue.GetProperty("count").GetInt32() == 1 && queue.GetProperty("results")[0].GetProperty("tentativas").GetInt32() >= 1 ? (JsonElement?)queue : null;
        }, Patience, "a failed attempt waiting for its retry");
        await totvs.StartAgainAsync();
        var received = await Eventually.GetAsync(() => Task.FromResult(totvs.Received.FirstOrDefault()), TimeSpan.FromSeconds(120), "the totals after the outage");
        await Eventually.TrueAsync(async () =>
            Json(await http.GetStringAsync("api/integracoes/filas/?status=entregue")).GetProperty("count").GetInt32() == 1, Patience, "the queue item delivered");

        Assert.Equal("lote.fechado", pending!.Value.GetProperty("results")[0].GetProperty("payload").GetProperty("evento").GetString());
        Assert.Equal("totvs", pending.Value.GetProperty("results")[0].GetProperty("destino").GetString());
        Assert.Equal("OP200", received.Body["numero_op"]!.GetValue<string>());
        Assert.Single(totvs.Received);
    }

    /// <summary>Sensor records to a line grain through an Orleans client of the test silo, as the KEYENCE watcher hands them over.</summary>
    private async Task IngestAsync(string instance, string line, params (long Producao, long Rejeicao)[] cumulative)
    {
        var builder = Host.CreateApplicationBuilder();
        await using var dataSource = builder.AddIntegracoesClient(new IntegracoesClientOptions { ConnectionString = fixture.ConnectionString });
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var start = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(cumulative.Length);
            var readings = cumulative.Select((c, i) => new SensorReading((i + 1) * 100L, start + TimeSpan.FromSeconds(i), c.Producao, c.Rejeicao)).ToList();
            var result = await host.Services.GetRequiredService<IClusterClient>()
                .GetGrain<ILineGrain>(LineKeys.For(instance, line)).IngestAsync(new SensorBatch($"{line}.txt#1", readings));
            Assert.Equal(cumulative.Length, result.Applied);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static async Task<JsonElement> CountersAsync(HttpClient http, string line) => Json(await http.GetStringAsync($"api/linhas/{line}/contadores"));

    private static JsonObject Speed(string sku, string line, double unitsPerMinute, string changedAt) =>
        new() { ["sku"] = sku, ["linha"] = line, ["unidades_por_minuto"] = unitsPerMinute, ["alterado_em"] = changedAt };

    [Fact]
    public async Task Nominal_speed_from_totvs_reaches_the_line_before_the_order_and_the_line_speed()
    {
        await using var totvs = await TotvsServer.StartAsync();
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-speed"));
        await CreateLineAsync(http, "vel-01");
        var service = await CreateServiceAsync(http, totvs);
        var lot = await StartedLotAsync(http, "OP300", "vel-01");
        var beforeSync = await CountersAsync(http, "vel-01");

        totvs.Put("velocidades-nominais", "SKU-500ML/vel-01", Speed("SKU-500ML", "vel-01", 180, "2025-10-20T10:00:00Z"));
        totvs.Put("velocidades-nominais", "SKU-OUTRO/vel-01", Speed("SKU-OUTRO", "vel-01", 999, "2025-10-20T10:00:00Z"));
        totvs.Put("velocidades-nominais", "SKU-500ML/outra-linha", Speed("SKU-500ML", "outra-linha", 777, "2025-10-20T10:00:00Z"));
        await PostAsync(http, $"api/integracoes/servicos/{service}/sincronizar/", null, HttpStatusCode.OK);
        var afterSync = await CountersAsync(http, "vel-01");
        totvs.Put("velocidades-nominais", "SKU-500ML/vel-01", Speed("SKU-500ML", "vel-01", 210, "2025-10-21T10:00:00Z"));
        await PostAsync(http, $"api/integracoes/servicos/{service}/sincronizar/", null, HttpStatusCode.OK);
        var changed = await CountersAsync(http, "vel-01");
        await PostAsync(http, $"api/lotes/{lot}/fechar", new { assinado_por = "supervisor.ana", assinado_em = "2025-10-25T14:05:00Z" }, HttpStatusCode.OK);
        var withoutOrder = await CountersAsync(http, "vel-01");
        // An order started by hand with its own speed: TOTVS's speed for its SKU still wins; a SKU TOTVS has no speed for takes the order's.
        await PostAsync(http, "api/linhas/vel-01/ordem", new { ordem = "OP-M1", sku = "SKU-500ML", lote = "LM1", quantidade_planejada = 10, velocidade_nominal = 150 }, HttpStatusCode.OK);
        var manualKnownSku = await CountersAsync(http, "vel-01");
        await PostAsync(http, "api/linhas/vel-01/ordem/encerrar", new { ordem = "OP-M1" }, HttpStatusCode.OK);
        await PostAsync(http, "api/linhas/vel-01/ordem", new { ordem = "OP-M2", sku = "SKU-SEM-TOTVS", lote = "LM2", quantidade_planejada = 10, velocidade_nominal = 150 }, HttpStatusCode.OK);
        var manualUnknownSku = await CountersAsync(http, "vel-01");

        Assert.Equal(100, beforeSync.GetProperty("velocidade_nominal").GetDouble());
        Assert.Equal(180, afterSync.GetProperty("velocidade_nominal").GetDouble());
        Assert.Equal(210, changed.GetProperty("velocidade_nominal").GetDouble());
        Assert.Equal(100, withoutOrder.GetProperty("velocidade_nominal").GetDouble());
        Assert.Equal(210, manualKnownSku.GetProperty("velocidade_nominal").GetDouble());
        Assert.Equal(150, manualUnknownSku.GetProperty("velocidade_nominal").GetDouble());
    }

    [Fact]
    public async Task The_close_sends_totvs_exactly_the_totals_the_line_counted()
    {
        await using var totvs = await TotvsServer.StartAsync();
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-totals"));
        await CreateLineAsync(http, "cnt-01");
        await CreateServiceAsync(http, totvs);
        var lot = await StartedLotAsync(http, "OP400", "cnt-01");

        await IngestAsync("totvs-totals", "cnt-01", (0, 0), (100, 3), (250, 7), (400, 12));
        var counted = await CountersAsync(http, "cnt-01");
        var closed = await PostAsync(http, $"api/lotes/{lot}/fechar", new { assinado_por = "supervisor.rui", assinado_em = "2025-10-25T16:00:00Z" }, HttpStatusCode.OK);
        var received = await Eventually.GetAsync(() => Task.FromResult(totvs.Received.FirstOrDefault()), Patience, "the totals at TOTVS");

        Assert.Equal(400, counted.GetProperty("total").GetInt64());
        Assert.Equal(12, counted.GetProperty("rejeitos").GetInt64());
        Assert.Equal(400, closed.GetProperty("producao_total").GetInt64());
        Assert.Equal(388, closed.GetProperty("producao_boa").GetInt64());
        Assert.Equal(12, closed.GetProperty("perdas_qualidade").GetInt64());
        Assert.Equal(400, received.Body["producao_total"]!.GetValue<long>());
        Assert.Equal(388, received.Body["producao_boa"]!.GetValue<long>());
        Assert.Equal(12, received.Body["perdas_qualidade"]!.GetValue<long>());
        Assert.Equal("OP400", received.Body["numero_op"]!.GetValue<string>());
        Assert.Single(totvs.Received);
    }

    [Fact]
    public async Task A_close_totvs_refuses_ends_rejected_with_the_reason_on_the_queue_item_and_the_lot()
    {
        await using var totvs = await TotvsServer.StartAsync();
        totvs.RefuseClosesWith = "OP500 já encerrada no Protheus";
        await using var receiver = await LocalHttpServer.StartAsync(app => app.MapPost("/hook", () => Results.Ok()));
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-refused"));
        await PostAsync(http, "api/webhooks/", new { nome = "painel", url = receiver.Url("/hook"), eventos = "lote.fechado" }, HttpStatusCode.Created);
        await CreateLineAsync(http, "rej-01");
        await CreateServiceAsync(http, totvs);
        var lot = await StartedLotAsync(http, "OP500", "rej-01");

        var closed = await PostAsync(http, $"api/lotes/{lot}/fechar", new { assinado_por = "supervisor.lia", assinado_em = "2025-10-25T17:00:00Z" }, HttpStatusCode.OK);
        var rejected = await Eventually.GetAsync(async () =>
        {
            var queue = Json(await http.GetStringAsync("api/integracoes/filas/?status=rejeitada"));
            return queue.GetProperty("count").GetInt32() == 1 ? (JsonElement?)queue.GetProperty("results")[0] : null;
        }, Patience, "the push refused by TOTVS");
        var delivered = await Eventually.GetAsync(async () =>
        {
            var queue = Json(await http.GetStringAsync("api/integracoes/filas/?status=entregue"));
            return queue.GetProperty("count").GetInt32() == 1 ? (JsonElement?)queue.GetProperty("results")[0] : null;
        }, Patience, "the webhook delivery of the same event");
        var shown = Json(await http.GetStringAsync($"api/lotes/{lot}"));
        var all = Json(await http.GetStringAsync("api/integracoes/filas/"));

        Assert.Equal("fechado", closed.GetProperty("status").GetString());
        Assert.Equal("totvs", rejected!.Value.GetProperty("destino").GetString());
        Assert.Equal(422, rejected.Value.GetProperty("resultado").GetProperty("status_code").GetInt32());
        Assert.Contains("OP500 já encerrada no Protheus", rejected.Value.GetProperty("resultado").GetProperty("erro").GetString());
        Assert.Equal(1, rejected.Value.GetProperty("tentativas").GetInt32());
        Assert.Equal("webhook", delivered!.Value.GetProperty("destino").GetString());
        Assert.Equal("rejeitada", shown.GetProperty("envio_totvs").GetString());
        Assert.Contains("422", shown.GetProperty("envio_totvs_erro").GetString());
        Assert.Contains("OP500 já encerrada no Protheus", shown.GetProperty("envio_totvs_erro").GetString());
        Assert.Equal(2, all.GetProperty("count").GetInt32());
        Assert.Empty(totvs.Received);
    }

    [Fact]
    public async Task A_second_totvs_service_in_an_instance_is_refused_naming_the_field()
    {
        await using var totvs = await TotvsServer.StartAsync();
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-single"));
        using var other = fixture.Http(await fixture.CreateInstanceAsync("totvs-single-other"));
        var first = await CreateServiceAsync(http, totvs);
        object Service(string nome, object config) => new
        {
            nome,
            tipo = "erp",
            config_padrao = config,
            auth_type = "basic",
            auth = new { username = TotvsServer.Username, password = TotvsServer.Password },
        };

        var second = await http.PostAsJsonAsync("api/integracoes/servicos/", Service("TOTVS filial", totvs.Config()));
        var plainErp = await PostAsync(http, "api/integracoes/servicos/", Service("ERP legado", new { base_url = "https://erp.example.com" }), HttpStatusCode.Created);
        var turnedTotvs = await http.PutAsJsonAsync($"api/integracoes/servicos/{plainErp.GetProperty("id").GetInt64()}/", Service("ERP legado", totvs.Config()));
        var sameAgain = await http.PutAsJsonAsync($"api/integracoes/servicos/{first}/", Service("TOTVS Protheus", totvs.Config(syncMinutes: 30)));
        var otherInstance = await CreateServiceAsync(other, totvs);

        await Problem.AssertAsync(second, HttpStatusCode.Conflict, "config_padrao.totvs");
        await Problem.AssertAsync(turnedTotvs, HttpStatusCode.Conflict, "config_padrao.totvs");
        Assert.True(sameAgain.IsSuccessStatusCode, await sameAgain.Content.ReadAsStringAsync());
        Assert.True(otherInstance > 0);
    }

    [Fact]
    public async Task Closed_lots_a_crash_left_unpublished_reach_totvs_once_through_the_outbox_reminder()
    {
        await using var totvs = await TotvsServer.StartAsync();
        using var http = fixture.Http(await fixture.CreateInstanceAsync("totvs-outbox"));
        await CreateLineAsync(http, "obx-01");
        await CreateLineAsync(http, "obx-02");
        await CreateServiceAsync(http, totvs);
        var published = await StartedLotAsync(http, "OP600", "obx-01");
        await StartedLotAsync(http, "OP601", "obx-02");

        // OP600: closed, published and delivered; then a crash lost the write of evento_id (between steps 4 and 5).
        var closed = await PostAsync(http, $"api/lotes/{published}/fechar", new { assinado_por = "supervisor.bia", assinado_em = "2025-10-25T18:00:00Z" }, HttpStatusCode.OK);
        await Eventually.GetAsync(() => Task.FromResult(totvs.Received.FirstOrDefault()), Patience, "the first close at TOTVS");
        // OP601: the line ended the order and the lot was committed closed, then a crash came before the publish (between steps 3 and 4).
        await PostAsync(http, "api/linhas/obx-02/ordem/encerrar", new { ordem = "OP601" }, HttpStatusCode.OK);
        await using (var crash = fixture.DataSource.CreateCommand("""
            UPDATE lotes_producao SET evento_id = NULL WHERE instancia = 'totvs-outbox' AND numero_op = 'OP600';
            UPDATE lotes_producao
            SET status = 'fechado', assinado_por = 'supervisor.caio', assinado_em = '2025-10-25T18:30:00Z', fechado_em = now(),
                producao_total = 42, producao_boa = 40, perdas_qualidade = 2, tempo_produzindo = 60, tempo_parado = 0, oee = 0.5, atualizado_em = now()
            WHERE instancia = 'totvs-outbox' AND numero_op = 'OP601';
            """))
        {
            await crash.ExecuteNonQueryAsync();
        }

        // The reminder the first close registered (every minute) finds both.
        var repaired = await Eventually.GetAsync(async () =>
        {
            var lots = Json(await http.GetStringAsync("api/lotes?status=fechado")).GetProperty("results").EnumerateArray().ToList();
            return lots.Count == 2 && lots.All(l => l.GetProperty("evento_id").ValueKind == JsonValueKind.String) ? lots : null;
        }, TimeSpan.FromSeconds(180), "both closed lots published again by the outbox reminder");
        var second = await Eventually.GetAsync(() => Task.FromResult(totvs.Received.FirstOrDefault(r => r.Body["numero_op"]!.GetValue<string>() == "OP601")), Patience, "the crashed close at TOTVS");
        await Eventually.TrueAsync(async () =>
            Json(await http.GetStringAsync("api/integracoes/filas/?status=entregue")).GetProperty("count").GetInt32() == 2, Patience, "both queue items delivered");
        var queue = Json(await http.GetStringAsync("api/integracoes/filas/"));

        Assert.Equal(closed.GetProperty("evento_id").GetString(), repaired.Single(l => l.GetProperty("numero_op").GetString() == "OP600").GetProperty("evento_id").GetString());
        Assert.Equal(42, second.Body["producao_total"]!.GetValue<long>());
        Assert.Equal(2, second.Body["perdas_qualidade"]!.GetValue<long>());
        Assert.Equal("supervisor.caio", second.Body["assinado_por"]!.GetValue<string>());
        // Exactly once each: the republish of OP600 returned its first event and queued nothing new.
        Assert.Equal(2, queue.GetProperty("count").GetInt32());
        Assert.Equal(1, totvs.Received.Count(r => r.Body["numero_op"]!.GetValue<string>() == "OP600"));
        Assert.Equal(1, totvs.Received.Count(r => r.Body["numero_op"]!.GetValue<string>() == "OP601"));
    }
}
