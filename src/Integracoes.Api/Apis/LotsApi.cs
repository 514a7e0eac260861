using Integracoes.Abstractions.Lines;
using Integracoes.Abstractions.Totvs;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>The close of a lot: who signed the Diário de Bordo, and when.</summary>
public sealed record CloseLotRequest(string? AssinadoPor, DateTimeOffset? AssinadoEm);

/// <summary>Production lots (seed 003 <c>lotes_producao</c>): listing by line and status, start on the line, close with the signature.</summary>
public static class LotsApi
{
    public static IEndpointRouteBuilder MapLotsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/lotes").WithTags("Lotes").RequireAuthorization(Policies.InstanceRead);
        group.MapGet("/", ListAsync).WithName("ListLots");
        group.MapGet("/{id:long}", GetAsync).WithName("GetLot");
        group.MapPost("/{id:long}/iniciar", StartAsync).WithName("StartLot").RequireAuthorization(Policies.InstanceWrite);
        group.MapPost("/{id:long}/fechar", CloseAsync).WithName("CloseLot").RequireAuthorization(Policies.InstanceWrite);
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext http, IGrainFactory grains)
    {
        if (!Paging.TryRead(http.Request, out var limit, out var offset, out var error)) return Problems.Invalid(error.Field, error.Message);
        var linha = http.Request.Query["linha"].ToString() is { Length: > 0 } l ? l : null;
        if (linha is not null && !LineKeys.IsValidId(linha)) return Problems.Invalid("linha", "linha must be a line id.");
        var status = http.Request.Query["status"].ToString() is { Length: > 0 } s ? s : null;
        if (status is not null && !LotStatus.All.Contains(status))
            return Problems.Invalid("status", $"status must be one of: {string.Join(", ", LotStatus.All)}.");
        var page = await Lots(grains, http).ListAsync(linha, status, limit, offset);
        return TypedResults.Ok(Paging.Envelope(http.Request, page, lot => lot));
    }

    private static async Task<IResult> GetAsync(long id, HttpContext http, IGrainFactory grains) =>
        await Lots(grains, http).GetAsync(id) is { } lot ? TypedResults.Ok(lot) : Problems.NotFound($"lot {id} not found.");

    private static async Task<IResult> StartAsync(long id, HttpContext http, IGrainFactory grains)
    {
        var outcome = await Lots(grains, http).StartAsync(id);
        return outcome.IsOk ? TypedResults.Ok(outcome.Value) : Problems.From(outcome);
    }

    /// <summary>The signature is validated by the grain after it found the lot, so another instance's lot is a 404 whatever the body.</summary>
    private static async Task<IResult> CloseAsync(long id, CloseLotRequest? body, HttpContext http, IGrainFactory grains)
    {
        var outcome = await Lots(grains, http).CloseAsync(id, new LotSignature(body?.AssinadoPor, body?.AssinadoEm));
        return outcome.IsOk ? TypedResults.Ok(outcome.Value) : Problems.From(outcome);
    }

    private static ILotWorkflowGrain Lots(IGrainFactory grains, HttpContext http) => grains.GetGrain<ILotWorkflowGrain>(http.User.Instance());
}
