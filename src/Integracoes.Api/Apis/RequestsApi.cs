using System.Globalization;
using Integracoes.Abstractions.Common;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Integracoes.Storage.Requests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>The API request log (seed 001 APIRequestLog), for operators.</summary>
public static class RequestsApi
{
    public static IEndpointRouteBuilder MapRequestsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/integracoes/requisicoes/", ListAsync).WithTags("Operacao").WithName("ListRequests").RequireAuthorization(Policies.Admin);
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext http, RequestLogQueries queries)
    {
        if (!Paging.TryRead(http.Request, out var limit, out var offset, out var error)) return Problems.Invalid(error.Field, error.Message);
        if (!Paging.TryDate(http.Request, "desde", out var desde, out error)) return Problems.Invalid(error.Field, error.Message);
        int? status = null;
        if (http.Request.Query["status"].ToString() is { Length: > 0 } rawStatus)
        {
            if (!int.TryParse(rawStatus, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed is < 100 or > 599)
                return Problems.Invalid("status", "status must be an HTTP status code (100-599).");
            status = parsed;
        }
        var (count, rows) = await queries.ListAsync(desde, status, limit, offset, http.RequestAborted);
        return TypedResults.Ok(Paging.Envelope(http.Request, new Page<RequestLogRow>(count, rows, limit, offset), r => new
        {
            id = r.Id,
            metodo = r.Metodo,
            rota = r.Rota,
            status = r.Status,
            duracao_ms = r.DuracaoMs,
            ip = r.Ip,
            user_agent = r.UserAgent,
            instance = r.Instance,
            key_id = r.KeyId,
            created_at = r.CreatedAt,
        }));
    }
}
