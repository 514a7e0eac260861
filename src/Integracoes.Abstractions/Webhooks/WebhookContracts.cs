namespace Integracoes.Abstractions.Webhooks;

/// <summary>The writable fields of a webhook subscription (seed 001).</summary>
[GenerateSerializer, Immutable]
public sealed record WebhookDefinition(
    [property: Id(0)] string Nome,
    [property: Id(1)] string Url,
    [property: Id(2)] IReadOnlyList<string> Eventos,
    [property: Id(3)] bool Ativo,
    [property: Id(4)] IReadOnlyDictionary<string, string> Headers,
    [property: Id(5)] int Timeout,
    [property: Id(6)] IReadOnlyList<int> RetrySchedule,
    [property: Id(7)] double? RateLimit,
    [property: Id(8)] int MaxConcurrency,
    [property: Id(9)] string? Secret,
    [property: Id(10)] string Tipo = SinkKinds.Webhook,
    [property: Id(11)] bool PorEvento = false,
    [property: Id(12)] bool Base64 = false,
    [property: Id(13)] bool Sink = false);

/// <summary>A subscription as read back. The secret is never part of it.</summary>
[GenerateSerializer, Immutable]
public sealed record WebhookView(
    [property: Id(0)] long Id,
    [property: Id(1)] string Instance,
    [property: Id(2)] string Nome,
    [property: Id(3)] string Url,
    [property: Id(4)] IReadOnlyList<string> Eventos,
    [property: Id(5)] bool Ativo,
    [property: Id(6)] IReadOnlyDictionary<string, string> Headers,
    [property: Id(7)] int Timeout,
    [property: Id(8)] IReadOnlyList<int> RetrySchedule,
    [property: Id(9)] double? RateLimit,
    [property: Id(10)] int MaxConcurrency,
    [property: Id(11)] string? MotivoDesativacao,
    [property: Id(12)] DateTimeOffset CreatedAt,
    [property: Id(13)] DateTimeOffset UpdatedAt,
    [property: Id(14)] string CircuitState,
    [property: Id(15)] string Tipo = SinkKinds.Webhook,
    [property: Id(16)] bool PorEvento = false,
    [property: Id(17)] bool Base64 = false,
    [property: Id(18)] bool Sink = false);

/// <summary>Returned on create and on rotation: the only answers that carry the signing secret.</summary>
[GenerateSerializer, Immutable]
public sealed record WebhookWithSecret(
    [property: Id(0)] WebhookView Webhook,
    [property: Id(1)] string Secret);

/// <summary>The result of a synchronous test delivery.</summary>
[GenerateSerializer, Immutable]
public sealed record WebhookTestResult(
    [property: Id(0)] bool Sucesso,
    [property: Id(1)] int? StatusCode,
    [property: Id(2)] double DuracaoMs,
    [property: Id(3)] string? Resposta,
    [property: Id(4)] string? Erro);

/// <summary>One queued delivery handed to a subscription: enough to send it without reading PostgreSQL.</summary>
[GenerateSerializer, Immutable]
public sealed record QueuedDelivery(
    [property: Id(0)] long QueueId,
    [property: Id(1)] Guid EventId,
    [property: Id(2)] string Evento,
    [property: Id(3)] string DadosJson,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] int Prioridade,
    [property: Id(6)] int Tentativas,
    [property: Id(7)] DateTimeOffset ProximaTentativa);

/// <summary>The body of <c>POST /{tipo}/set/{instance}</c> (seed 002).</summary>
[GenerateSerializer, Immutable]
public sealed record SinkSettings(
    [property: Id(0)] string Tipo,
    [property: Id(1)] bool Enabled,
    [property: Id(2)] IReadOnlyList<string> Events,
    [property: Id(3)] string? Url = null,
    [property: Id(4)] bool WebhookByEvents = false,
    [property: Id(5)] bool WebhookBase64 = false);

/// <summary>A sink after <c>set</c>; the signing secret only when this call created it (webhook sinks sign like every webhook).</summary>
[GenerateSerializer, Immutable]
public sealed record SinkSetResult(
    [property: Id(0)] WebhookView Sink,
    [property: Id(1)] string? Secret);

/// <summary>
/// Where a destination's deliveries go. A seed-001 webhook subscription is a <c>webhook</c>; the
/// seed-002 per-instance sinks (<c>/{tipo}/set/{instance}</c>) are one destination of each kind.
/// Every kind runs on the same durable queue, retries, dead letters, logs and statistics.
/// </summary>
public static class SinkKinds
{
    public const string Webhook = "webhook";
    public const string WebSocket = "websocket";
    public const string RabbitMq = "rabbitmq";
    public const string Sqs = "sqs";
    public const string Nats = "nats";
    public const string Pusher = "pusher";

    public static readonly IReadOnlyList<string> All = [Webhook, WebSocket, RabbitMq, Sqs, Nats, Pusher];

    /// <summary>
    /// TOTVS (seed 003): closed lots' totals POSTed to the ERP. Not a seed-002 sink anyone sets by route:
    /// the hub creates it, one per instance, when a TOTVS service is configured; its url names the service.
    /// </summary>
    public const string Totvs = "totvs";

    /// <summary>Every kind a destination may have: the public ones and those the hub creates itself.</summary>
    public static bool IsKnown(string kind) => All.Contains(kind) || kind == Totvs;

    /// <summary>Message servers receive an instance's events one at a time, in order; webhooks concurrently.</summary>
    public static bool IsOrdered(string kind) => kind != Webhook;
}

public static class WebhookDefaults
{
    /// <summary>Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (each with ±20 % jitter).</summary>
    public static readonly IReadOnlyList<int> RetrySchedule = [0, 5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

    /// <summary>
    /// Message servers (RabbitMQ, SQS, NATS, Pusher) are usually back within seconds after a restart,
    /// so their sinks retry sooner before settling into the webhook pace: 0, 1, 2, 5, 10, 20, 30 s,
    /// 1, 5, 30 min, 2, 5, 10 h.
    /// </summary>
    public static readonly IReadOnlyList<int> ServerRetrySchedule = [0, 1, 2, 5, 10, 20, 30, 60, 300, 1_800, 7_200, 18_000, 36_000];

    public const int Timeout = 30;
    public const int MaxConcurrency = 10;
    public const int MaxTimeout = 120;
    public const int MaxConcurrencyLimit = 100;
    public const int MaxEventsPerSubscription = 200;
    public const int MaxScheduleLength = 30;
    public const int MaxScheduleDelaySeconds = 7 * 24 * 3600;
}
