using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Integracoes.Testing;

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
        var id = (await PostAsync(http, "api/totvs/ordens-producao", Order("OP200", "spep-02"), HttpStatusCode.Created)).GetProperty("id").GetInt64();
        await PostAsync(http, $"api/lotes/{id}/iniciar", null, HttpStatusCode.OK);

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
        Assert.Equal("OP200", received.Body["numero_op"]!.GetValue<string>());
        Assert.Single(totvs.Received);
    }
}
