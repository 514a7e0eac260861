using Integracoes.Abstractions.Lines;
using Integracoes.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>
/// <c>GET /api/linhas/arquivos</c>: how the instance's KEYENCE gateway files are being read (per file: bytes read,
/// records, malformed lines, records of unknown sensors, the last error), from the watcher grain's memory.
/// </summary>
public static class KeyenceFilesApi
{
    public static IEndpointRouteBuilder MapKeyenceFilesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/linhas/arquivos", StatusAsync).WithTags("Linhas").WithName("KeyenceFiles").RequireAuthorization(Policies.InstanceRead);
        return app;
    }

    private static async Task<IResult> StatusAsync(HttpContext http, IGrainFactory grains) =>
        TypedResults.Ok(await grains.GetGrain<IKeyenceWatcherGrain>(http.User.Instance()).StatusAsync());
}
