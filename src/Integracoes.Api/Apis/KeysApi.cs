using System.Text.Json;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Instances;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

public sealed record CreateKeyRequest(string? Name, string? Scope, DateTimeOffset? ExpiresAt, List<string>? AllowedIps, int? RateLimitPorMinuto);

public sealed record KeyResponse(
    string KeyId,
    string Name,
    string Scope,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    IReadOnlyList<string> AllowedIps,
    int? RateLimitPorMinuto,
    DateTimeOffset? RotatedAt,
    DateTimeOffset? RevokedAt)
{
    public static KeyResponse From(ApiKeyView v) => new(v.KeyId, v.Name, ScopeText(v.Scope), v.Status, v.CreatedAt, v.ExpiresAt,
        v.AllowedIps, v.RateLimitPerMinute, v.RotatedAt, v.RevokedAt);

    public static string ScopeText(KeyScope scope) => scope.ToString().ToLowerInvariant();
}

/// <summary>The answer to create and rotate: the only ones that carry the key.</summary>
public sealed record IssuedKeyResponse(string KeyId, string ApiKey, string Scope);

/// <summary>
/// An instance's API keys (seed 000 "API Keys" and "IP Whitelist"): several per instance, each with a
/// name, scope, optional expiry, optional IP/CIDR allowlist and optional own rate limit. Managed by the
/// operator or by an admin-scoped key of the same instance.
/// </summary>
public static class KeysApi
{
    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/instances/{name}/keys").WithTags("Instances").RequireAuthorization(Policies.InstanceAdmin);
        group.MapPost("/", CreateAsync).WithName("CreateKey");
        group.MapGet("/", ListAsync).WithName("ListKeys");
        group.MapPatch("/{keyId}", UpdateAsync).WithName("UpdateKey");
        group.MapPost("/{keyId}/rotate", RotateAsync).WithName("RotateKey");
        group.MapDelete("/{keyId}", RevokeAsync).WithName("RevokeKey");
        return app;
    }

    private static async Task<IResult> CreateAsync(string name, CreateKeyRequest body, IGrainFactory grains)
    {
        if (!InstanceNames.IsValid(name)) return Problems.NotFound("instance not found.");
        if (KeyRules.ValidateName(body.Name) is { } nameError) return Problems.Invalid(nameError.Field, nameError.Message);
        if (!TryScope(body.Scope ?? "read", out var scope)) return ScopeProblem();
        var spec = new KeySpec(body.Name!, scope, body.ExpiresAt, body.AllowedIps, body.RateLimitPorMinuto);
        var outcome = await grains.GetGrain<IInstanceGrain>(name).CreateKeyAsync(spec);
        if (!outcome.IsOk) return Problems.From(outcome);
        var issued = outcome.Value!;
        return TypedResults.Created($"/api/instances/{name}/keys/{issued.KeyId}",
            new IssuedKeyResponse(issued.KeyId, issued.ApiKey, KeyResponse.ScopeText(issued.Scope)));
    }

    private static async Task<IResult> ListAsync(string name, IGrainFactory grains)
    {
        var keys = InstanceNames.IsValid(name) ? await grains.GetGrain<IInstanceGrain>(name).ListKeysAsync() : null;
        return keys is null
            ? Problems.NotFound($"instance '{name}' not found.")
            : TypedResults.Ok(new { count = keys.Count, results = keys.Select(KeyResponse.From) });
    }

    private static async Task<IResult> UpdateAsync(string name, string keyId, JsonElement body, IGrainFactory grains)
    {
        if (!InstanceNames.IsValid(name) || !IsKeyId(keyId)) return Problems.NotFound("key not found.");
        if (!TryReadPatch(body, out var patch, out var error)) return Problems.Invalid(error.Field, error.Message);
        var outcome = await grains.GetGrain<IInstanceGrain>(name).UpdateKeyAsync(keyId, patch);
        return outcome.IsOk ? TypedResults.Ok(KeyResponse.From(outcome.Value!)) : Problems.From(outcome);
    }

    private static async Task<IResult> RotateAsync(string name, string keyId, IGrainFactory grains)
    {
        if (!InstanceNames.IsValid(name) || !IsKeyId(keyId)) return Problems.NotFound("key not found.");
        var outcome = await grains.GetGrain<IInstanceGrain>(name).RotateKeyAsync(keyId);
        if (!outcome.IsOk) return Problems.From(outcome);
        var issued = outcome.Value!;
        return TypedResults.Ok(new IssuedKeyResponse(issued.KeyId, issued.ApiKey, KeyResponse.ScopeText(issued.Scope)));
    }

    private static async Task<IResult> RevokeAsync(string name, string keyId, IGrainFactory grains)
    {
        if (!InstanceNames.IsValid(name) || !IsKeyId(keyId)) return Problems.NotFound("key not found.");
        var outcome = await grains.GetGrain<IInstanceGrain>(name).RevokeKeyAsync(keyId);
        return outcome.IsOk ? TypedResults.Ok(KeyResponse.From(outcome.Value!)) : Problems.From(outcome);
    }

    /// <summary>
    /// PATCH reads the raw object so that a field that is absent (unchanged) differs from one sent as
    /// null (cleared), and an unknown field is refused by name rather than ignored.
    /// </summary>
    public static bool TryReadPatch(JsonElement body, out KeyPatch patch, out (string Field, string Message) error)
    {
        patch = new KeyPatch();
        error = default;
        if (body.ValueKind != JsonValueKind.Object)
        {
            error = ("body", "the body must be a JSON object.");
            return false;
        }
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "name" when value.ValueKind == JsonValueKind.String:
                    patch = patch with { Name = value.GetString() };
                    break;
                case "scope" when value.ValueKind == JsonValueKind.String && TryScope(value.GetString(), out var scope):
                    patch = patch with { Scope = scope };
                    break;
                case "expires_at" when value.ValueKind == JsonValueKind.Null:
                    patch = patch with { SetsExpiresAt = true, ExpiresAt = null };
                    break;
                case "expires_at" when value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var at):
                    patch = patch with { SetsExpiresAt = true, ExpiresAt = at };
                    break;
                case "allowed_ips" when value.ValueKind == JsonValueKind.Null:
                    patch = patch with { AllowedIps = [] };
                    break;
                case "allowed_ips" when value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String):
                    patch = patch with { AllowedIps = [.. value.EnumerateArray().Select(e => e.GetString()!)] };
                    break;
                case "rate_limit_por_minuto" when value.ValueKind == JsonValueKind.Null:
                    patch = patch with { SetsRateLimit = true, RateLimitPerMinute = null };
                    break;
                case "rate_limit_por_minuto" when value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var limit):
                    patch = patch with { SetsRateLimit = true, RateLimitPerMinute = limit };
                    break;
                case "name" or "scope" or "expires_at" or "allowed_ips" or "rate_limit_por_minuto":
                    error = (property.Name, Expected(property.Name));
                    return false;
                default:
                    error = (TextBounds.Shorten(property.Name, 64), "unknown field: a key has name, scope, expires_at, allowed_ips and rate_limit_por_minuto.");
                    return false;
            }
        }
        return true;
    }

    private static string Expected(string field) => field switch
    {
        "name" => "name must be a string.",
        "scope" => "scope must be read, write or admin.",
        "expires_at" => "expires_at must be an ISO 8601 date-time or null.",
        "allowed_ips" => "allowed_ips must be a list of IP addresses or CIDR blocks, or null.",
        _ => "rate_limit_por_minuto must be an integer or null.",
    };

    private static bool TryScope(string? text, out KeyScope scope)
    {
        scope = text switch { "read" => KeyScope.Read, "write" => KeyScope.Write, "admin" => KeyScope.Admin, _ => (KeyScope)(-1) };
        return (int)scope >= 0;
    }

    private static IResult ScopeProblem() => Problems.Invalid("scope", "scope must be read, write or admin.");

    private static bool IsKeyId(string keyId) => keyId.Length == 16 && keyId.All(char.IsAsciiHexDigitLower);
}
