using System.Text.RegularExpressions;

namespace Integracoes.Abstractions.Events;

/// <summary>
/// The built-in events: seed 001's fiscal events, seed 002's instance events and the hub's own
/// operational events. Instances may register more (<see cref="IEventCatalogGrain"/>).
/// </summary>
public static partial class EventCatalog
{
    public const string WebhookDisabled = "webhook.desativado";
    public const string DeliveryExhausted = "entrega.esgotada";
    public const string WebhookTest = "webhook.teste";
    public const string LotClosed = "lote.fechado";

    public static readonly IReadOnlyList<CatalogEvent> BuiltIn =
    [
        Fiscal("nfe_importada", "Uma NF-e foi importada.", """{"chave":"35240112345678000199550010000012341000012345","numero":1234,"emitente":"12345678000199","valor_total":1500.75}"""),
        Fiscal("cte_importado", "Um CT-e foi importado.", """{"chave":"35240112345678000199570010000004561000004567","numero":456,"remetente":"12345678000199","valor_prestacao":320.0}"""),
        Fiscal("consulta_concluida", "Uma consulta à SEFAZ terminou.", """{"cnpj":"12345678000199","documentos":12,"ultimo_nsu":"000000000001234"}"""),
        Fiscal("documento_atualizado", "Um documento fiscal foi atualizado.", """{"chave":"35240112345678000199550010000012341000012345","situacao":"cancelada"}"""),
        Fiscal("erro_importacao", "Uma importação falhou.", """{"arquivo":"nfe_1234.xml","erro":"XML inválido"}"""),

        Instance("APPLICATION_STARTUP", "Inicialização da aplicação.", """{"status":"started"}"""),
        Instance("QRCODE_UPDATED", "QR Code atualizado.", """{"qrcode":{"code":"2@abc...","base64":"data:image/png;base64,..."}}"""),
        Instance("CONNECTION_UPDATE", "Mudança no status da conexão.", """{"state":"open","statusReason":200}"""),
        Instance("NEW_JWT_TOKEN", "Novo token JWT gerado.", """{"token":"<jwt>"}"""),
        Instance("MESSAGES_UPSERT", "Nova mensagem recebida/enviada.", """{"key":{"remoteJid":"5511999999999@s.whatsapp.net","fromMe":false,"id":"3EB0C767D82B632A2E4A"},"message":{"conversation":"Olá, como você está?"},"messageTimestamp":1640995200,"status":"RECEIVED"}"""),
        Instance("MESSAGES_UPDATE", "Mensagem atualizada.", """{"key":{"id":"3EB0C767D82B632A2E4A"},"status":"READ"}"""),
        Instance("MESSAGES_DELETE", "Mensagem deletada.", """{"key":{"id":"3EB0C767D82B632A2E4A"}}"""),
        Instance("SEND_MESSAGE", "Mensagem enviada.", """{"key":{"remoteJid":"5511999999999@s.whatsapp.net","fromMe":true,"id":"3EB0C767D82B632A2E4B"},"message":{"conversation":"Oi!"}}"""),
        Instance("CONTACTS_SET", "Lista de contatos definida.", """[{"id":"5511999999999@s.whatsapp.net","name":"Carlos"}]"""),
        Instance("CONTACTS_UPSERT", "Contato adicionado/atualizado.", """[{"id":"5511999999999@s.whatsapp.net","name":"Carlos"}]"""),
        Instance("CONTACTS_UPDATE", "Contato atualizado.", """[{"id":"5511999999999@s.whatsapp.net","notify":"Carlos S."}]"""),
        Instance("PRESENCE_UPDATE", "Status de presença atualizado.", """{"id":"5511999999999@s.whatsapp.net","presences":{"5511999999999@s.whatsapp.net":{"lastKnownPresence":"available"}}}"""),
        Instance("CHATS_SET", "Lista de chats definida.", """[{"id":"5511999999999@s.whatsapp.net","unreadCount":0}]"""),
        Instance("CHATS_UPSERT", "Chat adicionado/atualizado.", """[{"id":"5511999999999@s.whatsapp.net","unreadCount":1}]"""),
        Instance("CHATS_UPDATE", "Chat atualizado.", """[{"id":"5511999999999@s.whatsapp.net","unreadCount":0}]"""),
        Instance("CHATS_DELETE", "Chat deletado.", """["5511999999999@s.whatsapp.net"]"""),
        Instance("GROUPS_UPSERT", "Grupo adicionado/atualizado.", """[{"id":"120363000000000000@g.us","subject":"Equipe"}]"""),
        Instance("GROUP_UPDATE", "Informações do grupo atualizadas.", """{"id":"120363000000000000@g.us","subject":"Equipe de vendas"}"""),
        Instance("GROUP_PARTICIPANTS_UPDATE", "Participantes do grupo atualizados.", """{"id":"120363000000000000@g.us","participants":["5511999999999@s.whatsapp.net"],"action":"add"}"""),
        Instance("TYPEBOT_START", "Typebot iniciado.", """{"remoteJid":"5511999999999@s.whatsapp.net","url":"https://typebot.example.com","typebot":"atendimento"}"""),
        Instance("TYPEBOT_CHANGE_STATUS", "Status do Typebot alterado.", """{"remoteJid":"5511999999999@s.whatsapp.net","status":"paused"}"""),

        Operational(WebhookDisabled, "Uma assinatura de webhook foi desativada (410 Gone ou falhas contínuas).", """{"webhook_id":1,"nome":"ERP","motivo":"410 Gone"}"""),
        Operational(DeliveryExhausted, "Uma entrega esgotou as tentativas e foi para a fila de mensagens mortas.", """{"webhook_id":1,"fila_id":1001,"evento_id":"0193b0a4-...","evento":"nfe_importada","tentativas":8,"ultimo_erro":"HTTP 503"}"""),
        new(LotClosed, "Um lote de produção foi fechado (assinado): totais de produção e perdas, enviados ao TOTVS.",
            """{"lote_id":1,"numero_op":"OP000123","sku":"SKU-500ML","lote":"L2025-001","linha":"SPEP-01","quantidade_planejada":10000,"producao_total":10120,"producao_boa":10010,"perdas_qualidade":110,"tempo_produzindo":27000.0,"tempo_parado":1800.0,"oee":0.82,"inicio":"2025-10-25T06:00:00Z","fim":"2025-10-25T14:00:00Z","assinado_por":"supervisor.maria","assinado_em":"2025-10-25T14:05:00Z"}""",
            "producao"),
        Operational(WebhookTest, "Evento de teste enviado por POST /api/webhooks/{id}/testar/.", """{"mensagem":"teste"}"""),
    ];

    private static readonly Dictionary<string, CatalogEvent> ByName = BuiltIn.ToDictionary(e => e.Nome, StringComparer.Ordinal);

    public static bool IsBuiltIn(string name) => ByName.ContainsKey(name);

    public static bool IsOperational(string name) => ByName.TryGetValue(name, out var e) && e.Origem == "operacional";

    /// <summary>Letters, digits, '_', '.', '-', 1 to 100 characters.</summary>
    public static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    private static CatalogEvent Fiscal(string name, string description, string example) => new(name, description, example, "fiscal");

    private static CatalogEvent Instance(string name, string description, string example) => new(name, description, example, "instancia");

    private static CatalogEvent Operational(string name, string description, string example) => new(name, description, example, "operacional");
}
