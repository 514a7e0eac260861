using System.Text.Json;
using System.Text.Json.Nodes;
using Integracoes.Abstractions.Services;
using Integracoes.Abstractions.Totvs;
using Integracoes.Delivery.Totvs;
using Integracoes.Storage.Totvs;

namespace Integracoes.UnitTests;

public sealed class TotvsRulesTests
{
    private static JsonObject Seed() => JsonNode.Parse("""
        {"totvs":{"baseUrl":"https://totvs.farmace.com/api",
          "endpoints":{"ordens":"/ordens-producao","produtos":"/produtos","lotes":"/lotes"},
          "auth":{"type":"bearer","tokenUrl":"/auth/token"}},
         "clps":{"keyence":{"gateway":"192.168.1.100","protocol":"file","path":"/data/production"}}}
        """)!.AsObject();

    private static string? FieldOf(JsonObject config, string tipo = "erp", string authType = AuthTypes.Basic) =>
        ServiceDefinitionRules.Validate(
            new ServiceDefinition("TOTVS", tipo, null, config.ToJsonString(), new ServiceAuth(authType, Username: "integracao"), null, [], new Dictionary<string, string>(), RetryConfig.Default, 30, true),
            new ServiceCredentials(Password: "segredo"))?.Field;

    [Fact]
    public void The_seeds_endpoint_configuration_is_a_valid_totvs_service()
    {
        var (settings, error) = TotvsSettings.Read(Seed().ToJsonString());

        Assert.Null(FieldOf(Seed()));
        Assert.Null(error);
        Assert.Equal("https://totvs.farmace.com/api/auth/token", settings!.TokenUri.ToString());
        Assert.Equal("https://totvs.farmace.com/api/produtos", settings.EndpointUrl(TotvsEndpoints.Produtos).ToString());
        Assert.Equal(TotvsSettings.DefaultSyncMinutes, settings.SyncMinutes);
    }

    [Theory]
    [InlineData("baseUrl", "\"ftp://totvs\"", "config_padrao.totvs.baseUrl")]
    [InlineData("baseUrl", "\"https://user:pw@totvs.example.com/api\"", "config_padrao.totvs.baseUrl")]
    [InlineData("baseUrl", "null", "config_padrao.totvs.baseUrl")]
    [InlineData("endpoints", "{\"ordens\":\"/o\",\"produtos\":\"/p\"}", "config_padrao.totvs.endpoints.lotes")]
    [InlineData("endpoints", "{\"ordens\":\"/o\",\"produtos\":\"/p\",\"lotes\":\"http://169.254.169.254/\"}", "config_padrao.totvs.endpoints.lotes")]
    [InlineData("endpoints", "{\"ordens\":\"/o\",\"produtos\":\"/../admin\",\"lotes\":\"/l\"}", "config_padrao.totvs.endpoints.produtos")]
    [InlineData("endpoints", "{\"ordens\":\"/o\",\"produtos\":\"/p\",\"lotes\":\"/l\",\"outro\":\"/x\"}", "config_padrao.totvs.endpoints.outro")]
    [InlineData("auth", "{\"type\":\"basic\",\"tokenUrl\":\"/auth/token\"}", "config_padrao.totvs.auth.type")]
    [InlineData("auth", "{\"type\":\"bearer\",\"tokenUrl\":\"file:///etc/passwd\"}", "config_padrao.totvs.auth.tokenUrl")]
    [InlineData("sincronizacao", "{\"intervaloMinutos\":0}", "config_padrao.totvs.sincronizacao.intervaloMinutos")]
    [InlineData("sincronizacao", "{\"tamanhoPagina\":5000}", "config_padrao.totvs.sincronizacao.tamanhoPagina")]
    public void A_bad_totvs_block_is_refused_naming_the_field(string property, string json, string field)
    {
        var config = Seed();
        config["totvs"]![property] = JsonNode.Parse(json);

        Assert.Equal(field, FieldOf(config));
    }

    [Fact]
    public void A_totvs_service_is_an_erp_with_username_and_password()
    {
        Assert.Equal("tipo", FieldOf(Seed(), tipo: "api"));
        Assert.Equal("auth_type", FieldOf(Seed(), authType: AuthTypes.None));
    }

    [Theory]
    [InlineData(200, TotvsPushOutcomes.Delivered)]
    [InlineData(201, TotvsPushOutcomes.Delivered)]
    [InlineData(401, TotvsPushOutcomes.Retry)]
    [InlineData(429, TotvsPushOutcomes.Retry)]
    [InlineData(500, TotvsPushOutcomes.Retry)]
    [InlineData(503, TotvsPushOutcomes.Retry)]
    [InlineData(400, TotvsPushOutcomes.Rejected)]
    [InlineData(422, TotvsPushOutcomes.Rejected)]
    [InlineData(null, TotvsPushOutcomes.Retry)]
    public void Lot_pushes_are_classified_for_the_delivery_loop(int? status, string outcome) =>
        Assert.Equal(outcome, TotvsClient.Classify(new TotvsResponse(status, null, status is null ? "network error" : null, null)));

    [Fact]
    public void Pages_ask_for_changes_since_the_watermark()
    {
        var url = TotvsClient.PageUrl(new Uri("https://totvs.example.com/api/produtos"), 3, 50, new DateTimeOffset(2025, 10, 25, 14, 0, 0, TimeSpan.FromHours(-3)));

        Assert.Equal("?page=3&pageSize=50&alteradoDesde=2025-10-25T17%3A00%3A00.000Z", url.Query);
    }

    [Fact]
    public void Master_data_items_are_checked_against_their_columns()
    {
        static JsonElement Item(string json) => JsonDocument.Parse(json).RootElement;

        var (row, error) = MasterTable.Produtos.Normalize(Item("""{"codigo":"SKU1","descricao":"Soro 500 mL","alterado_em":"2025-10-25T10:00:00-03:00","extra":1}"""));
        var (_, missingKey) = MasterTable.Produtos.Normalize(Item("""{"descricao":"x"}"""));
        var (_, badSpeed) = MasterTable.Velocidades.Normalize(Item("""{"sku":"SKU1","linha":"L1","unidades_por_minuto":"rápido"}"""));
        var (_, badDate) = MasterTable.LotesInsumo.Normalize(Item("""{"insumo":"I1","lote":"A","validade":"31/12/2025"}"""));

        Assert.Null(error);
        Assert.True(row!["ativo"]!.GetValue<bool>());
        Assert.Equal("2025-10-25T13:00:00.0000000Z", row["alterado_em"]!.GetValue<string>());
        Assert.False(row.ContainsKey("extra"));
        Assert.StartsWith("codigo", missingKey);
        Assert.StartsWith("unidades_por_minuto", badSpeed);
        Assert.StartsWith("validade", badDate);
    }

    [Theory]
    [InlineData("""{"sku":"S","lote":"L","linha":"L1","quantidade_planejada":10}""", "numero_op")]
    [InlineData("""{"numero_op":"OP 1","sku":"S","lote":"L","linha":"L1","quantidade_planejada":10}""", "numero_op")]
    [InlineData("""{"numero_op":"OP1","sku":"S","lote":"L","linha":"L 1","quantidade_planejada":10}""", "linha")]
    [InlineData("""{"numero_op":"OP1","sku":"S","lote":"L","linha":"L1","quantidade_planejada":0}""", "quantidade_planejada")]
    [InlineData("""{"numero_op":"OP1","sku":"S","lote":"L","linha":"L1","quantidade_planejada":5,"validade":"amanhã"}""", "validade")]
    [InlineData("""[1]""", "body")]
    public void Production_orders_are_validated_naming_the_field(string json, string field) =>
        Assert.Equal(field, LotOrderReader.Read(JsonDocument.Parse(json).RootElement).Error?.Field);

    [Fact]
    public void A_production_order_accepts_ordem_for_numero_op_and_keeps_what_was_sent()
    {
        var (order, error) = LotOrderReader.Read(JsonDocument.Parse("""{"ordem":"OP9","sku":"S","lote":"L","linha":"L1","quantidade_planejada":7,"cliente":"x"}""").RootElement);

        Assert.Null(error);
        Assert.Equal("OP9", order!.NumeroOp);
        Assert.Contains("cliente", order.DadosJson);
    }
}
