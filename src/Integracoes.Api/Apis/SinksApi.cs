using System.Text.Json;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>
/// Seed 002: where an instance's events go, one sink of each kind, configured with
/// <c>POST /{tipo}/set/{instance}</c> and read with <c>GET /{tipo}/find/{instance}</c>. Each sink is a
/// destination on the durable delivery engine, so its deliveries show in <c>/api/integracoes/filas/</c>
/// and <c>/api/webhooks/{id}/logs/</c> under the <c>id</c> these answers carry.
/// </summary>
public static class SinksApi
{
    public static IEndpointRouteBuilder MapSinksApi(this IEndpointRouteBuilder app)
    {
        foreach (var kind in SinkKinds.All)
        {
            var group = app.MapGroup($"/{kind}").WithTags("Sinks");
            group.MapPost("/set/{instance}", (string instance, JsonElement body, HttpContext http, IGrainFactory grains) => SetAsync(kind, instance, body, http, grains))
                .WithName($"Set{Pascal(kind)}").RequireAuthorization(Policies.InstanceWrite);
            group.MapGet("/find/{instance}", (string instance, HttpContext http, IGrainFactory grains) => FindAsync(kind, instance, http, grains))
                .WithName($"Find{Pascal(kind)}").RequireAuthorization(Policies.InstanceRead);
        }
        return app;
    }

    private static async Task<IResult> SetAsync(string kind, string instance, JsonElement body, HttpContext http, IGrainFactory grains)
    {
        if (instance != http.User.Instance()) return Problems.NotFound("instance not found.");
        if (!TryRead(kind, body, out var settings, out var error)) return Problems.Invalid(error.Field, error.Message);
        var outcome = await grains.GetGrain<IWebhookRegistryGrain>(instance).SetSinkAsync(settings);
        if (!outcome.IsOk) return Problems.From(outcome.Field == "eventos" ? outcome with { Field = "events" } : outcome);
        var response = Response(outcome.Value!.Sink);
        if (outcome.Value.Secret is not { } secret) return TypedResults.Ok(response);
        // Created: the only answer that carries the signing secret (rotate it with /api/webhooks/{id}/rotacionar-segredo/).
        if (kind == SinkKinds.Webhook) response["secret"] = secret;
        return TypedResults.Created($"/{kind}/find/{instance}", response);
    }

    private static async Task<IResult> FindAsync(string kind, string instance, HttpContext http, IGrainFactory grains)
    {
        if (instance != http.User.Instance()) return Problems.NotFound("instance not found.");
        var view = await grains.GetGrain<IWebhookRegistryGrain>(instance).FindSinkAsync(kind);
        return view is null ? Problems.NotFound($"no {kind} is set for this instance.") : TypedResults.Ok(Response(view));
    }

    /// <summary>The seed's answer: <c>{"enabled","events"}</c>, and for webhooks <c>url</c>, <c>webhook_by_events</c>, <c>webhook_base64</c>; plus the destination <c>id</c>.</summary>
    private static Dictionary<string, object?> Response(WebhookView v)
    {
        var response = new Dictionary<string, object?>();
        if (v.Tipo == SinkKinds.Webhook) response["url"] = v.Url;
        response["enabled"] = v.Ativo;
        response["events"] = v.Eventos.SequenceEqual(["*"]) ? [] : v.Eventos;
        if (v.Tipo == SinkKinds.Webhook)
        {
            response["webhook_by_events"] = v.PorEvento;
            response["webhook_base64"] = v.Base64;
        }
        response["id"] = v.Id;
        if (v.MotivoDesativacao is not null) response["motivo_desativacao"] = v.MotivoDesativacao;
        return response;
    }

    /// <summary>
    /// The seed's body, or the same fields wrapped in an object named after the sink
    /// (<c>{"webhook": {...}}</c>, as Evolution API v2 clients send, where <c>byEvents</c> and
    /// <c>base64</c> are also accepted). Unknown fields are refused by name.
    /// </summary>
    public static bool TryRead(string kind, JsonElement body, out SinkSettings settings, out (string Field, string Message) error)
    {
        settings = new SinkSettings(kind, true, []);
        error = default;
        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty(kind, out var wrapped) && wrapped.ValueKind == JsonValueKind.Object)
        {
            body = wrapped;
        }
        if (body.ValueKind != JsonValueKind.Object)
        {
            error = ("body", "the body must be a JSON object.");
            return false;
        }
        bool? enabled = null;
        var events = new List<string>();
        string? url = null;
        bool byEvents = false, base64 = false;
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            var isWebhook = kind == SinkKinds.Webhook;
            switch (property.Name)
            {
                case "enabled" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    enabled = value.GetBoolean();
                    break;
                case "events" when value.ValueKind == JsonValueKind.Null:
                    break;
                case "events" when value.ValueKind == JsonValueKind.Array && value.GetArrayLength() <= WebhookDefaults.MaxEventsPerSubscription
                    && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String):
                    events = [.. value.EnumerateArray().Select(e => e.GetString()!).Distinct(StringComparer.Ordinal)];
                    break;
                case "url" when isWebhook && value.ValueKind == JsonValueKind.String:
                    url = value.GetString();
                    break;
                case "webhook_by_events" or "byEvents" when isWebhook && value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    byEvents = value.GetBoolean();
                    break;
                case "webhook_base64" or "base64" when isWebhook && value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    base64 = value.GetBoolean();
                    break;
                case "enabled" or "webhook_by_events" or "byEvents" or "webhook_base64" or "base64" when isWebhook || property.Name == "enabled":
                    error = (property.Name, $"{property.Name} must be true or false.");
                    return false;
                case "events":
                    error = ("events", $"events must be a list of event names (at most {WebhookDefaults.MaxEventsPerSubscription}); empty means every event.");
                    return false;
                case "url" when isWebhook:
                    error = ("url", "url must be a string.");
                    return false;
                default:
                    error = (TextBounds.Shorten(property.Name, 64), isWebhook
                        ? "unknown field: a webhook has url, enabled, events, webhook_by_events and webhook_base64."
                        : $"unknown field: a {kind} sink has enabled and events.");
                    return false;
            }
        }
        if (enabled is null)
        {
            error = ("enabled", "enabled is required (true or false).");
            return false;
        }
        if (kind == SinkKinds.Webhook && string.IsNullOrWhiteSpace(url))
        {
            error = ("url", "url is required.");
            return false;
        }
        settings = new SinkSettings(kind, enabled.Value, events, url, byEvents, base64);
        return true;
    }

    private static string Pascal(string kind) => kind switch
    {
        SinkKinds.WebSocket => "WebSocket",
        SinkKinds.RabbitMq => "RabbitMq",
        SinkKinds.Sqs => "Sqs",
        SinkKinds.Nats => "Nats",
        SinkKinds.Pusher => "Pusher",
        _ => "Webhook",
    };
}
