using System.Text;
using System.Text.Json;
using Integracoes.Abstractions.Events;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>Publishing and the event catalogue (seed 001), and the delivery queue (seed 000 integracoes_filas).</summary>
public static class EventsApi
{
    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/integracoes").WithTags("Eventos").RequireAuthorization(Policies.InstanceRead);
        group.MapPost("/disparar/", PublishAsync).WithName("PublishEvent").RequireAuthorization(Policies.InstanceWrite);
        group.MapGet("/eventos/", ListEventsAsync).WithName("ListEvents");
        group.MapPost("/eventos/", RegisterEventAsync).WithName("RegisterEvent").RequireAuthorization(Policies.InstanceWrite);
        group.MapGet("/filas/", ListQueueAsync).WithName("ListQueue");
        group.MapPost("/filas/{id:long}/reenviar/", RedriveAsync).WithName("RedriveQueueItem").RequireAuthorization(Policies.InstanceWrite);
        return app;
    }

    private static async Task<IResult> PublishAsync(PublishRequestBody body, HttpContext http, IGrainFactory grains, ApiSettings settings)
    {
        if (string.IsNullOrEmpty(body.Evento)) return Problems.Invalid("evento", "evento is required.");
        if (body.Dados is not { } dados || dados.ValueKind == JsonValueKind.Undefined) return Problems.Invalid("dados", "dados is required (any JSON value).");
        var dadosJson = dados.GetRawText();
        if (Encoding.UTF8.GetByteCount(dadosJson) > settings.MaxEventBytes)
        {
            return Problems.Field(StatusCodes.Status413PayloadTooLarge, "dados", $"dados must be at most {settings.MaxEventBytes} bytes.");
        }
        var key = http.Request.Headers["Idempotency-Key"].ToString() is { Length: > 0 } header ? header : body.IdempotencyKey;
        var outcome = await grains.GetGrain<IEventPublisherGrain>(http.User.Instance())
            .PublishAsync(new PublishRequest(body.Evento, dadosJson, key, body.Prioridade ?? 0));
        if (!outcome.IsOk) return Problems.From(outcome);
        if (outcome.Value!.Repetido) http.Response.Headers["Idempotent-Replayed"] = "true";
        return TypedResults.Accepted((string?)null, new { id = outcome.Value.Id, entregas = outcome.Value.Entregas });
    }

    private static async Task<IResult> ListEventsAsync(HttpContext http, IGrainFactory grains)
    {
        var events = await grains.GetGrain<IEventCatalogGrain>(http.User.Instance()).ListAsync();
        return TypedResults.Ok(new
        {
            count = events.Count,
            results = events.Select(e => new { nome = e.Nome, descricao = e.Descricao, origem = e.Origem, exemplo = ServiceResponse.Json(e.ExemploJson) }),
        });
    }

    private static async Task<IResult> RegisterEventAsync(RegisterEventRequest body, HttpContext http, IGrainFactory grains)
    {
        if (body.Nome is null) return Problems.Invalid("nome", "nome is required.");
        var example = body.Exemplo is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } e ? e.GetRawText() : "{}";
        var outcome = await grains.GetGrain<IEventCatalogGrain>(http.User.Instance()).RegisterAsync(body.Nome, body.Descricao ?? "", example);
        return outcome.IsOk
            ? TypedResults.Created("/api/integracoes/eventos/", new { nome = outcome.Value!.Nome, descricao = outcome.Value.Descricao, origem = outcome.Value.Origem, exemplo = ServiceResponse.Json(outcome.Value.ExemploJson) })
            : Problems.From(outcome);
    }

    private static async Task<IResult> ListQueueAsync(HttpContext http, IGrainFactory grains)
    {
        if (!Paging.TryRead(http.Request, out var limit, out var offset, out var error)) return Problems.Invalid(error.Field, error.Message);
        var status = http.Request.Query["status"].ToString() is { Length: > 0 } s ? s : null;
        if (status is not (null or "pendente" or "entregue" or "falha" or "rejeitada" or "cancelada"))
            return Problems.Invalid("status", "status must be pendente, entregue, falha, rejeitada or cancelada.");
        if (!Paging.TryLong(http.Request, "servico_id", out var servicoId, out error)) return Problems.Invalid(error.Field, error.Message);
        var page = await grains.GetGrain<IDeliveryQueryGrain>(http.User.Instance()).QueueAsync(status, servicoId, limit, offset);
        return TypedResults.Ok(Paging.Envelope(http.Request, page, q => new
        {
            id = q.Id,
            servico_id = q.ServicoId,
            destino = q.Destino,
            payload = new { id = q.EventoId, evento = q.Evento, dados = ServiceResponse.Json(q.DadosJson) },
            prioridade = q.Prioridade,
            tentativas = q.Tentativas,
            proxima_tentativa = q.ProximaTentativa,
            status = q.Status,
            resultado = ServiceResponse.Json(q.ResultadoJson),
            created_at = q.CreatedAt,
            updated_at = q.UpdatedAt,
        }));
    }

    private static async Task<IResult> RedriveAsync(long id, HttpContext http, IGrainFactory grains)
    {
        var outcome = await grains.GetGrain<IDeliveryQueryGrain>(http.User.Instance()).RedriveAsync(id);
        return outcome.IsOk ? TypedResults.Accepted((string?)null, new { id, status = "pendente" }) : Problems.From(outcome);
    }
}
