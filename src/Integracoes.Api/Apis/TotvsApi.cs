using System.Text.Json;
using Integracoes.Abstractions.Totvs;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>
/// TOTVS (seed 003): the ERP's production-order webhook, the on-demand master data sync of a TOTVS
/// service, and the synced master data, read-only.
/// </summary>
public static class TotvsApi
{
    public static IEndpointRouteBuilder MapTotvsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/totvs").WithTags("TOTVS").RequireAuthorization(Policies.InstanceRead);
        group.MapPost("/ordens-producao", OpenOrderAsync).WithName("TotvsOpenProductionOrder").RequireAuthorization(Policies.InstanceWrite);
        foreach (var (entity, name) in new[]
        {
            (TotvsEntities.Produtos, "TotvsListProducts"),
            (TotvsEntities.Velocidades, "TotvsListNominalSpeeds"),
            (TotvsEntities.Insumos, "TotvsListMaterials"),
            (TotvsEntities.LotesInsumo, "TotvsListMaterialLots"),
        })
        {
            group.MapGet("/" + entity, (HttpContext http, IGrainFactory grains) => ListAsync(entity, http, grains)).WithName(name);
        }
        app.MapPost("/api/integracoes/servicos/{id:long}/sincronizar/", SyncAsync)
            .WithTags("TOTVS").WithName("TotvsSync").RequireAuthorization(Policies.InstanceWrite);
        return app;
    }

    /// <summary>TOTVS opened a production order: an available lot for its line. The same numero_op again answers 200 with the stored lot.</summary>
    private static async Task<IResult> OpenOrderAsync(JsonElement body, HttpContext http, IGrainFactory grains)
    {
        var (order, error) = LotOrderReader.Read(body);
        if (error is { } e) return Problems.Invalid(e.Field, e.Message);
        var outcome = await grains.GetGrain<ILotWorkflowGrain>(http.User.Instance()).OpenAsync(order!);
        if (!outcome.IsOk) return Problems.From(outcome);
        var lot = outcome.Value!.Lot;
        return outcome.Value.Repetido ? TypedResults.Ok(lot) : TypedResults.Created($"/api/lotes/{lot.Id}", lot);
    }

    private static async Task<IResult> SyncAsync(long id, HttpContext http, IGrainFactory grains)
    {
        var outcome = await grains.GetGrain<ITotvsSyncGrain>(id).SyncAsync(http.User.Instance());
        return outcome.IsOk ? TypedResults.Ok(ExecutionResponse.From(outcome.Value!)) : Problems.From(outcome);
    }

    private static async Task<IResult> ListAsync(string entity, HttpContext http, IGrainFactory grains)
    {
        if (!Paging.TryRead(http.Request, out var limit, out var offset, out var error)) return Problems.Invalid(error.Field, error.Message);
        var busca = http.Request.Query["busca"].ToString() is { Length: > 0 } b ? b : null;
        if (busca is not null && (busca.Length > LotRules.MaxCode || busca.Any(char.IsControl)))
            return Problems.Invalid("busca", $"busca must be at most {LotRules.MaxCode} characters without control characters.");
        var page = await grains.GetGrain<ITotvsDataGrain>(http.User.Instance()).ListAsync(entity, busca, limit, offset);
        return TypedResults.Ok(Paging.Envelope(http.Request, page, row => ServiceResponse.Json(row)!.Value));
    }
}
