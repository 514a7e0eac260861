using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Instances;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Integracoes.Storage.Audit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>
/// The audit trail (seed 000 "Auditoria"). The operator sees every instance (filter with
/// <c>instancia</c>); an admin-scoped instance key sees only its own instance.
/// </summary>
public static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/auditoria/", ListAsync).WithTags("Operacao").WithName("ListAudit").RequireAuthorization(Policies.AuditRead);
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext http, AuditTrail trail)
    {
        var request = http.Request;
        if (!Paging.TryRead(request, out var limit, out var offset, out var error)) return Problems.Invalid(error.Field, error.Message);
        if (!Paging.TryDate(request, "desde", out var desde, out error)) return Problems.Invalid(error.Field, error.Message);
        if (!Paging.TryDate(request, "ate", out var ate, out error)) return Problems.Invalid(error.Field, error.Message);
        var instancia = Query(request, "instancia");
        if (instancia is not null && !InstanceNames.IsValid(instancia)) return Problems.Invalid("instancia", "instancia must be an instance name.");
        if (!http.User.IsOperator())
        {
            var own = http.User.Instance();
            if (instancia is not null && instancia != own) return Problems.Invalid("instancia", "an instance key reads only its own instance's audit trail.");
            instancia = own;
        }
        var recurso = Query(request, "recurso");
        if (recurso is not null && !AuditResources.All.Contains(recurso))
            return Problems.Invalid("recurso", "recurso must be one of: " + string.Join(", ", AuditResources.All) + ".");
        var acao = Query(request, "acao");
        if (acao is not null && !AuditActions.All.Contains(acao))
            return Problems.Invalid("acao", "acao must be one of: " + string.Join(", ", AuditActions.All) + ".");
        var recursoId = Query(request, "recurso_id");
        var ator = Query(request, "ator");
        // Ids and key ids are short and printable; a NUL must not reach PostgreSQL.
        if (!Printable(recursoId) || !Printable(ator)) return Problems.Invalid(Printable(recursoId) ? "ator" : "recurso_id", "at most 64 printable characters.");

        var (count, rows) = await trail.ListAsync(new AuditFilter(instancia, recurso, recursoId, acao, ator, desde, ate), limit, offset, http.RequestAborted);
        return TypedResults.Ok(Paging.Envelope(request, new Page<AuditRow>(count, rows, limit, offset), r => new
        {
            id = r.Id,
            instancia = r.Entry.Instancia,
            ator = r.Entry.Ator,
            ip = r.Entry.Ip,
            acao = r.Entry.Acao,
            recurso = r.Entry.Recurso,
            recurso_id = r.Entry.RecursoId,
            antes = ServiceResponse.Json(r.Entry.AntesJson),
            depois = ServiceResponse.Json(r.Entry.DepoisJson),
            created_at = r.Entry.CreatedAt,
        }));
    }

    private static bool Printable(string? value) => value is null || (value.Length <= 64 && !value.Any(char.IsControl));

    private static string? Query(HttpRequest request, string name) => request.Query[name].ToString() is { Length: > 0 } value ? value : null;
}
