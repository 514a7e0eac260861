using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Services;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>The integration services registry of seed 000: /api/integracoes/servicos/, testar/, execucoes/.</summary>
public static class ServicesApi
{
    public static IEndpointRouteBuilder MapServicesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/integracoes").WithTags("Servicos").RequireAuthorization(Policies.InstanceRead);

        group.MapGet("/servicos/", ListAsync).WithName("ListServices");
        group.MapPost("/servicos/", CreateAsync).WithName("CreateService").RequireAuthorization(Policies.InstanceWrite);
        group.MapGet("/servicos/{id:long}/", GetAsync).WithName("GetService");
        group.MapPut("/servicos/{id:long}/", UpdateAsync).WithName("UpdateService").RequireAuthorization(Policies.InstanceWrite);
        group.MapDelete("/servicos/{id:long}/", DeleteAsync).WithName("DeleteService").RequireAuthorization(Policies.InstanceWrite);
        group.MapPost("/testar/", TestAsync).WithName("TestService").RequireAuthorization(Policies.InstanceWrite);
        group.MapGet("/execucoes/", ListExecutionsAsync).WithName("ListExecutions");
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext http, IGrainFactory grains)
    {
        if (!Paging.TryRead(http.Request, out var limit, out var offset, out var error)) return Problems.Invalid(error.Field, error.Message);
        var tipo = http.Request.Query["tipo"].ToString() is { Length: > 0 } t ? t : null;
        if (tipo is not null && !ServiceTypes.All.Contains(tipo)) return Problems.Invalid("tipo", $"unknown tipo '{Truncate(tipo)}'.");
        bool? ativo = null;
        if (http.Request.Query["ativo"].ToString() is { Length: > 0 } a)
        {
            if (!bool.TryParse(a, out var parsed)) return Problems.Invalid("ativo", "ativo must be true or false.");
            ativo = parsed;
        }
        var page = await Registry(grains, http).ListAsync(new ServiceFilter(tipo, ativo, limit, offset));
        return TypedResults.Ok(Paging.Envelope(http.Request, page, ServiceResponse.From));
    }

    private static async Task<IResult> CreateAsync(ServiceRequest body, HttpContext http, IGrainFactory grains)
    {
        var (definition, error) = ServiceRequestMapper.ToDefinition(body);
        if (error is { } e) return Problems.Invalid(e.Field, e.Message);
        var outcome = await Registry(grains, http).CreateAsync(definition!);
        return outcome.IsOk
            ? TypedResults.Created($"/api/integracoes/servicos/{outcome.Value!.Id}/", ServiceResponse.From(outcome.Value))
            : Problems.From(outcome);
    }

    private static async Task<IResult> GetAsync(long id, HttpContext http, IGrainFactory grains)
    {
        var view = await grains.GetGrain<IIntegrationServiceGrain>(id).GetAsync(http.User.Instance());
        return view is null ? Problems.NotFound($"service {id} not found.") : TypedResults.Ok(ServiceResponse.From(view));
    }

    private static async Task<IResult> UpdateAsync(long id, ServiceRequest body, HttpContext http, IGrainFactory grains)
    {
        var (definition, error) = ServiceRequestMapper.ToDefinition(body);
        if (error is { } e) return Problems.Invalid(e.Field, e.Message);
        var outcome = await Registry(grains, http).UpdateAsync(id, definition!);
        return outcome.IsOk ? TypedResults.Ok(ServiceResponse.From(outcome.Value!)) : Problems.From(outcome);
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext http, IGrainFactory grains) =>
        await Registry(grains, http).DeleteAsync(id) ? TypedResults.NoContent() : Problems.NotFound($"service {id} not found.");

    private static async Task<IResult> TestAsync(TestServiceRequest body, HttpContext http, IGrainFactory grains)
    {
        if (body.ServicoId is not { } id) return Problems.Invalid("servico_id", "servico_id is required.");
        var request = new ServiceTestRequest(
            body.Endpoint, body.Url, body.Metodo,
            body.Payload is { ValueKind: not System.Text.Json.JsonValueKind.Null } p ? p.GetRawText() : null,
            body.Headers);
        var outcome = await grains.GetGrain<IIntegrationServiceGrain>(id).TestAsync(http.User.Instance(), request);
        return outcome.IsOk ? TypedResults.Ok(ExecutionResponse.From(outcome.Value!)) : Problems.From(outcome);
    }

    private static async Task<IResult> ListExecutionsAsync(HttpContext http, IGrainFactory grains)
    {
        if (!Paging.TryRead(http.Request, out var limit, out var offset, out var error)) return Problems.Invalid(error.Field, error.Message);
        if (!Paging.TryLong(http.Request, "servico_id", out var servicoId, out error)) return Problems.Invalid(error.Field, error.Message);
        var status = http.Request.Query["status"].ToString() is { Length: > 0 } s ? s : null;
        if (status is not null && !ExecutionStatus.All.Contains(status))
            return Problems.Invalid("status", $"status must be one of: {string.Join(", ", ExecutionStatus.All)}.");
        var page = await grains.GetGrain<IExecutionHistoryGrain>(http.User.Instance()).ListAsync(servicoId, status, limit, offset);
        return TypedResults.Ok(Paging.Envelope(http.Request, page, ExecutionResponse.From));
    }

    private static IServiceRegistryGrain Registry(IGrainFactory grains, HttpContext http) =>
        grains.GetGrain<IServiceRegistryGrain>(http.User.Instance());

    private static string Truncate(string s) => TextBounds.Shorten(s, 40, "...");
}
