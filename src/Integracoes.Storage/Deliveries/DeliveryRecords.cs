namespace Integracoes.Storage.Deliveries;

public static class QueueStatus
{
    public const string Pending = "pendente";
    public const string Delivered = "entregue";
    public const string DeadLetter = "falha";

    /// <summary>A final 4xx from the receiver: not retried, and not counted as a dead letter.</summary>
    public const string Rejected = "rejeitada";

    /// <summary>The destination was deleted before the delivery went out.</summary>
    public const string Cancelled = "cancelada";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Pending, Delivered, DeadLetter, Rejected, Cancelled };
}

/// <summary>One (event, destination) pair to queue; <paramref name="Destino"/> is the destination's kind (webhook, totvs, rabbitmq, ...).</summary>
public sealed record NewQueueItem(long QueueId, long DestinationId, int Prioridade, string Destino);

/// <summary>An event with its deliveries, committed together (and the idempotency key, when given).</summary>
public sealed record AcceptedEvent(
    Guid EventId,
    string Instance,
    string Evento,
    string DadosJson,
    DateTimeOffset CreatedAt,
    IReadOnlyList<NewQueueItem> Deliveries,
    string? IdempotencyKey);

/// <summary>A queue item's new state after an attempt or a redrive.</summary>
public sealed record QueueTransition(long QueueId, string Status, int Tentativas, DateTimeOffset ProximaTentativa, string? ResultadoJson);

/// <summary>One delivery attempt for the log, and the queue item's state after it.</summary>
public sealed record AttemptRecord(
    string Instance,
    long WebhookId,
    long? QueueId,
    Guid? EventId,
    string Evento,
    int Tentativa,
    int? StatusCode,
    bool Sucesso,
    double DuracaoMs,
    string? Resposta,
    string? Erro,
    DateTimeOffset At,
    QueueTransition? Transition);

public sealed record QueueItemRow(
    long Id,
    string Instance,
    long ServicoId,
    string Destino,
    Guid EventoId,
    string Evento,
    string DadosJson,
    int Prioridade,
    int Tentativas,
    DateTimeOffset ProximaTentativa,
    string Status,
    string? ResultadoJson,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record WebhookLogRow(
    long Id,
    long WebhookId,
    long? FilaId,
    Guid? EventoId,
    string Evento,
    int Tentativa,
    int? StatusCode,
    bool Sucesso,
    double DuracaoMs,
    string? Resposta,
    string? Erro,
    DateTimeOffset CreatedAt);

public sealed record DeliveryStatsRow(
    long? WebhookId,
    long Entregas,
    long Sucessos,
    long Falhas,
    double? P50,
    double? P95,
    double? P99,
    long MortasNaFila);
