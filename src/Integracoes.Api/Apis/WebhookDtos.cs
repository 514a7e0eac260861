using System.Text.Json;
using Integracoes.Abstractions.Webhooks;

namespace Integracoes.Api.Apis;

/// <summary>The body of POST/PUT /api/webhooks/ (seed 001 fields plus delivery settings).</summary>
public sealed record WebhookRequest(
    string? Nome,
    string? Url,
    JsonElement? Eventos,
    bool? Ativo,
    Dictionary<string, string>? Headers,
    int? Timeout,
    WebhookRetryRequest? RetryConfig,
    double? RateLimit,
    int? MaxConcorrencia,
    string? Secret);

/// <summary>Either an explicit schedule (seconds before each attempt) or a number of attempts on the default schedule.</summary>
public sealed record WebhookRetryRequest(int? MaxTentativas, List<int>? AgendaSegundos);

public sealed record WebhookRetryResponse(int MaxTentativas, IReadOnlyList<int> AgendaSegundos);

public sealed record WebhookResponse(
    long Id,
    string Nome,
    string Url,
    IReadOnlyList<string> Eventos,
    bool Ativo,
    IReadOnlyDictionary<string, string> Headers,
    int Timeout,
    WebhookRetryResponse RetryConfig,
    double? RateLimit,
    int MaxConcorrencia,
    string? MotivoDesativacao,
    string EstadoCircuito,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string? Secret = null)
{
    public static WebhookResponse From(WebhookView v, string? secret = null) => new(
        v.Id, v.Nome, v.Url, v.Eventos, v.Ativo, v.Headers, v.Timeout, new WebhookRetryResponse(v.RetrySchedule.Count, v.RetrySchedule),
        v.RateLimit, v.MaxConcurrency, v.MotivoDesativacao, v.CircuitState, v.CreatedAt, v.UpdatedAt, secret);
}

public sealed record PublishRequestBody(string? Evento, JsonElement? Dados, string? IdempotencyKey, int? Prioridade);

public sealed record RegisterEventRequest(string? Nome, string? Descricao, JsonElement? Exemplo);

public sealed record RecoverRequest(DateTimeOffset? Desde);

public static class WebhookRequestMapper
{
    public static (WebhookDefinition? Definition, (string Field, string Message)? Error) ToDefinition(WebhookRequest r)
    {
        if (r.Nome is null) return (null, ("nome", "nome is required."));
        if (r.Url is null) return (null, ("url", "url is required."));
        var eventos = new List<string>();
        switch (r.Eventos)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return (null, ("eventos", "eventos is required: a list, a comma-separated string, or \"*\"."));
            case { ValueKind: JsonValueKind.String } text:
                eventos.AddRange(text.GetString()!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                break;
            case { ValueKind: JsonValueKind.Array } list:
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String) return (null, ("eventos", "each event is a string."));
                    eventos.Add(item.GetString()!);
                }
                break;
            default:
                return (null, ("eventos", "eventos must be a list or a comma-separated string."));
        }

        IReadOnlyList<int> schedule = WebhookDefaults.RetrySchedule;
        if (r.RetryConfig?.AgendaSegundos is { } agenda)
        {
            schedule = agenda;
        }
        else if (r.RetryConfig?.MaxTentativas is { } attempts)
        {
            if (attempts is < 1 or > WebhookDefaults.MaxScheduleLength)
                return (null, ("retry_config.max_tentativas", $"max_tentativas must be between 1 and {WebhookDefaults.MaxScheduleLength}."));
            schedule = [.. Enumerable.Range(0, attempts).Select(i => WebhookDefaults.RetrySchedule[Math.Min(i, WebhookDefaults.RetrySchedule.Count - 1)])];
        }

        return (new WebhookDefinition(r.Nome, r.Url, eventos, r.Ativo ?? true, r.Headers ?? [], r.Timeout ?? WebhookDefaults.Timeout,
            schedule, r.RateLimit, r.MaxConcorrencia ?? WebhookDefaults.MaxConcurrency, r.Secret), null);
    }
}
