using Integracoes.Abstractions.Common;
using Orleans.Concurrency;

namespace Integracoes.Abstractions.Webhooks;

/// <summary>A queue item (seed 000 integracoes_filas) as listed.</summary>
[GenerateSerializer, Immutable]
public sealed record QueueItemView(
    [property: Id(0)] long Id,
    [property: Id(1)] long ServicoId,
    [property: Id(2)] string Destino,
    [property: Id(3)] Guid EventoId,
    [property: Id(4)] string Evento,
    [property: Id(5)] string DadosJson,
    [property: Id(6)] int Prioridade,
    [property: Id(7)] int Tentativas,
    [property: Id(8)] DateTimeOffset ProximaTentativa,
    [property: Id(9)] string Status,
    [property: Id(10)] string? ResultadoJson,
    [property: Id(11)] DateTimeOffset CreatedAt,
    [property: Id(12)] DateTimeOffset UpdatedAt);

/// <summary>One delivery attempt (seed 001 WebhookLog).</summary>
[GenerateSerializer, Immutable]
public sealed record WebhookLogView(
    [property: Id(0)] long Id,
    [property: Id(1)] long WebhookId,
    [property: Id(2)] long? FilaId,
    [property: Id(3)] Guid? EventoId,
    [property: Id(4)] string Evento,
    [property: Id(5)] int Tentativa,
    [property: Id(6)] int? StatusCode,
    [property: Id(7)] bool Sucesso,
    [property: Id(8)] double DuracaoMs,
    [property: Id(9)] string? Resposta,
    [property: Id(10)] string? Erro,
    [property: Id(11)] DateTimeOffset CreatedAt);

[GenerateSerializer, Immutable]
public sealed record DeliveryStats(
    [property: Id(0)] long? WebhookId,
    [property: Id(1)] string? Nome,
    [property: Id(2)] long Entregas,
    [property: Id(3)] long Sucessos,
    [property: Id(4)] long Falhas,
    [property: Id(5)] double? P50,
    [property: Id(6)] double? P95,
    [property: Id(7)] double? P99,
    [property: Id(8)] long Mortas,
    [property: Id(9)] string? Circuito);

[GenerateSerializer, Immutable]
public sealed record RedriveResult([property: Id(0)] int Reenviadas);

/// <summary>Reads and redrives of one instance's deliveries (keyed by instance). Stateless.</summary>
[Alias("Integracoes.IDeliveryQueryGrain")]
public interface IDeliveryQueryGrain : IGrainWithStringKey
{
    [Alias("Queue"), ReadOnly]
    Task<Page<QueueItemView>> QueueAsync(string? status, long? servicoId, int limit, int offset);

    [Alias("Logs"), ReadOnly]
    Task<Outcome<Page<WebhookLogView>>> LogsAsync(long webhookId, bool? sucesso, string? evento, int limit, int offset);

    [Alias("Stats"), ReadOnly]
    Task<IReadOnlyList<DeliveryStats>> StatsAsync(DateTimeOffset desde);

    /// <summary>Sends one queue item again from the start of its schedule.</summary>
    [Alias("Redrive")]
    Task<Outcome<RedriveResult>> RedriveAsync(long queueId);

    /// <summary>Sends again every failed delivery of a subscription since a time.</summary>
    [Alias("Recover")]
    Task<Outcome<RedriveResult>> RecoverAsync(long webhookId, DateTimeOffset desde);
}
