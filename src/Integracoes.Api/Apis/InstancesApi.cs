using Integracoes.Abstractions.Instances;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

public sealed record CreateInstanceRequest(string? Name);

public sealed record InstanceCreatedResponse(string Name, string KeyId, string ApiKey, string Scope);

public sealed record InstanceResponse(string Name, DateTimeOffset CreatedAt, IReadOnlyList<string> KeyIds, int? RateLimitPorMinuto);

public sealed record UpdateInstanceRequest(int? RateLimitPorMinuto);

/// <summary>Instances (tenants), managed with the operator's admin key.</summary>
public static class InstancesApi
{
    public static IEndpointRouteBuilder MapInstancesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/instances").WithTags("Instances").RequireAuthorization(Policies.Admin);
        group.MapPost("/", CreateAsync).WithName("CreateInstance");
        group.MapGet("/", ListAsync).WithName("ListInstances");
        group.MapGet("/{name}", GetAsync).WithName("GetInstance");
        group.MapPatch("/{name}", UpdateAsync).WithName("UpdateInstance");
        return app;
    }

    private static async Task<IResult> CreateAsync(CreateInstanceRequest body, IGrainFactory grains)
    {
        if (!InstanceNames.IsValid(body.Name))
        {
            return Problems.Invalid("name", "name must be 2-63 characters: lower-case letters, digits, '-' or '_', starting with a letter or digit.");
        }
        var outcome = await grains.GetGrain<IInstanceGrain>(body.Name).CreateAsync();
        if (!outcome.IsOk) return Problems.From(outcome);
        var issued = outcome.Value!;
        // The only response that ever carries the key: it is stored hashed.
        return TypedResults.Created($"/api/instances/{issued.Instance}",
            new InstanceCreatedResponse(issued.Instance, issued.KeyId, issued.ApiKey, issued.Scope.ToString().ToLowerInvariant()));
    }

    private static async Task<IResult> ListAsync(IGrainFactory grains) =>
        TypedResults.Ok(new { results = await grains.GetGrain<IInstanceDirectoryGrain>(0).ListAsync() });

    private static async Task<IResult> GetAsync(string name, IGrainFactory grains)
    {
        if (!InstanceNames.IsValid(name)) return Problems.NotFound("instance not found.");
        var view = await grains.GetGrain<IInstanceGrain>(name).GetAsync();
        return view is null
            ? Problems.NotFound($"instance '{name}' not found.")
            : TypedResults.Ok(new InstanceResponse(view.Name, view.CreatedAt, view.KeyIds, view.RateLimitPerMinute));
    }

    private static async Task<IResult> UpdateAsync(string name, UpdateInstanceRequest body, IGrainFactory grains)
    {
        if (!InstanceNames.IsValid(name)) return Problems.NotFound("instance not found.");
        if (body.RateLimitPorMinuto is not { } limit || limit is < 0 or > 1_000_000)
        {
            return Problems.Invalid("rate_limit_por_minuto", "rate_limit_por_minuto is required: requests per minute per key, 0 for unlimited (at most 1000000).");
        }
        var view = await grains.GetGrain<IInstanceGrain>(name).SetRateLimitAsync(limit);
        return view is null
            ? Problems.NotFound($"instance '{name}' not found.")
            : TypedResults.Ok(new InstanceResponse(view.Name, view.CreatedAt, view.KeyIds, view.RateLimitPerMinute));
    }
}
