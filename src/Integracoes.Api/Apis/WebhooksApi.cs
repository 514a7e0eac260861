using Integracoes.Abstractions.Events;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>Webhook subscriptions of seed 001: /api/webhooks/.</summary>
public static class WebhooksApi
{
    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/webhooks").WithTags("Webhooks").RequireAuthorization(Policies.InstanceRead);
        group.MapGet("/", ListAsync).WithName("ListWebhooks");
        group.MapPost("/", CreateAsync).WithName("CreateWebhook").RequireAuthorization(Policies.InstanceWrite);
        group.MapGet("/estatisticas/", StatsAsync).WithName("WebhookStats");
        group.MapGet("/{id:long}/", GetAsync).WithName("GetWebhook");
        group.MapPut("/{id:long}/", UpdateAsync).WithName("UpdateWebhook").RequireAuthorization(Policies.InstanceWrite);
        group.MapDelete("/{id:long}/", DeleteAsync).WithName("DeleteWebhook").RequireAuthorization(Policies.InstanceWrite);
        group.MapPost("/{id:long}/testar/", TestAsync).WithName("TestWebhook").RequireAuthorization(Policies.InstanceWrite);
        group.MapGet("/{id:long}/logs/", LogsAsync).WithName("WebhookLogs");
        group.MapPost("/{id:long}/rotacionar-segredo/", RotateAsync).WithName("RotateWebhookSecret").RequireAuthorization(Policies.InstanceWrite);
        group.MapPost("/{id:long}/recuperar/", RecoverAsync).WithName("RecoverWebhook").RequireAuthorization(Policies.InstanceWrite);
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext http, IGrainFactory grains)
    {
        if (!Paging.TryRead(http.Request, out var limit, out var offset, out var error)) return Problems.Invalid(error.Field, error.Message);
        var page = await Registry(grains, http).ListAsync(limit, offset);
        return TypedResults.Ok(Paging.Envelope(http.Request, page, v => WebhookResponse.From(v)));
    }

    private static async Task<IResult> CreateAsync(WebhookRequest body, HttpContext http, IGrainFactory grains)
    {
        var (definition, error) = WebhookRequestMapper.ToDefinition(body);
        if (error is { } e) return Problems.Invalid(e.Field, e.Message);
        var outcome = await Registry(grains, http).CreateAsync(definition!);
        return outcome.IsOk
            ? TypedResults.Created($"/api/webhooks/{outcome.Value!.Webhook.Id}/", WebhookResponse.From(outcome.Value.Webhook, outcome.Value.Secret))
            : Problems.From(outcome);
    }

    private static async Task<IResult> GetAsync(long id, HttpContext http, IGrainFactory grains) =>
        await Subscription(grains, id).GetAsync(http.User.Instance()) is { } view
            ? TypedResults.Ok(WebhookResponse.From(view))
            : Problems.NotFound($"webhook {id} not found.");

    private static async Task<IResult> UpdateAsync(long id, WebhookRequest body, HttpContext http, IGrainFactory grains)
    {
        var (definition, error) = WebhookRequestMapper.ToDefinition(body);
        if (error is { } e) return Problems.Invalid(e.Field, e.Message);
        var outcome = await Registry(grains, http).UpdateAsync(id, definition!);
        return outcome.IsOk ? TypedResults.Ok(WebhookResponse.From(outcome.Value!)) : Problems.From(outcome);
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext http, IGrainFactory grains) =>
        await Registry(grains, http).DeleteAsync(id) ? TypedResults.NoContent() : Problems.NotFound($"webhook {id} not found.");

    private static async Task<IResult> TestAsync(long id, HttpContext http, IGrainFactory grains)
    {
        var outcome = await Subscription(grains, id).TestAsync(http.User.Instance());
        return outcome.IsOk ? TypedResults.Ok(outcome.Value) : Problems.From(outcome);
    }

    private static async Task<IResult> RotateAsync(long id, HttpContext http, IGrainFactory grains)
    {
        var outcome = await Subscription(grains, id).RotateSecretAsync(http.User.Instance());
        return outcome.IsOk ? TypedResults.Ok(WebhookResponse.From(outcome.Value!.Webhook, outcome.Value.Secret)) : Problems.From(outcome);
    }

    private static async Task<IResult> LogsAsync(long id, HttpContext http, IGrainFactory grains)
    {
        if (!Paging.TryRead(http.Request, out var limit, out var offset, out var error)) return Problems.Invalid(error.Field, error.Message);
        var statusText = http.Request.Query["status"].ToString();
        if (statusText is not ("" or "sucesso" or "falha")) return Problems.Invalid("status", "status must be sucesso or falha.");
        bool? sucesso = statusText.Length == 0 ? null : statusText == "sucesso";
        var evento = http.Request.Query["evento"].ToString() is { Length: > 0 } ev ? ev : null;
        // Only a valid event name can match; anything else (a NUL, say) must not reach PostgreSQL.
        if (evento is not null && !EventCatalog.IsValidName(evento)) return Problems.Invalid("evento", "evento must be an event name (letters, digits, '_', '.', '-', at most 100 characters).");
        var outcome = await Queries(grains, http).LogsAsync(id, sucesso, evento, limit, offset);
        return outcome.IsOk ? TypedResults.Ok(Paging.Envelope(http.Request, outcome.Value!, l => l)) : Problems.From(outcome);
    }

    private static async Task<IResult> StatsAsync(HttpContext http, IGrainFactory grains, TimeProvider time)
    {
        if (!Paging.TryDate(http.Request, "desde", out var requested, out var error)) return Problems.Invalid(error.Field, error.Message);
        var desde = requested ?? time.GetUtcNow().AddHours(-24);
        var stats = await Queries(grains, http).StatsAsync(desde);
        return TypedResults.Ok(new
        {
            desde,
            total = Describe(stats[0]),
            webhooks = stats.Skip(1).Select(Describe).ToList(),
        });
    }

    private static object Describe(DeliveryStats s) => new
    {
        webhook_id = s.WebhookId,
        nome = s.Nome,
        entregas = s.Entregas,
        sucessos = s.Sucessos,
        falhas = s.Falhas,
        taxa_sucesso = s.Entregas == 0 ? (double?)null : Math.Round((double)s.Sucessos / s.Entregas, 4),
        latencia_ms = new { p50 = Round(s.P50), p95 = Round(s.P95), p99 = Round(s.P99) },
        mortas = s.Mortas,
        circuito = s.Circuito,
    };

    private static double? Round(double? value) => value is null ? null : Math.Round(value.Value, 1);

    private static async Task<IResult> RecoverAsync(long id, RecoverRequest body, HttpContext http, IGrainFactory grains)
    {
        if (body.Desde is not { } desde) return Problems.Invalid("desde", "desde is required (ISO 8601 date-time).");
        var outcome = await Queries(grains, http).RecoverAsync(id, desde);
        return outcome.IsOk ? TypedResults.Accepted((string?)null, new { reenviadas = outcome.Value!.Reenviadas }) : Problems.From(outcome);
    }

    private static IWebhookRegistryGrain Registry(IGrainFactory grains, HttpContext http) => grains.GetGrain<IWebhookRegistryGrain>(http.User.Instance());

    private static IWebhookSubscriptionGrain Subscription(IGrainFactory grains, long id) => grains.GetGrain<IWebhookSubscriptionGrain>(id);

    private static IDeliveryQueryGrain Queries(IGrainFactory grains, HttpContext http) => grains.GetGrain<IDeliveryQueryGrain>(http.User.Instance());
}
