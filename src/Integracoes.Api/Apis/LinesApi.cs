using System.Text.Json.Serialization;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Lines;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Integracoes.Storage.Lines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>Production lines of seed 003: <c>/api/linhas/</c> CRUD, live counters, orders and per-minute history.</summary>
public static class LinesApi
{
    /// <summary>At most a day of minutes per history request.</summary>
    public const int MaxHistoryMinutes = 1_440;

    public static IEndpointRouteBuilder MapLinesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/linhas").WithTags("Linhas").RequireAuthorization(Policies.InstanceRead);

        group.MapGet("/", ListAsync).WithName("ListLines");
        group.MapPost("/", CreateAsync).WithName("CreateLine").RequireAuthorization(Policies.InstanceWrite);
        group.MapGet("/contadores", AllCountersAsync).WithName("AllLineCounters");
        group.MapGet("/{id}/", GetAsync).WithName("GetLine");
        group.MapPut("/{id}/", UpdateAsync).WithName("UpdateLine").RequireAuthorization(Policies.InstanceWrite);
        group.MapDelete("/{id}/", DeleteAsync).WithName("DeleteLine").RequireAuthorization(Policies.InstanceWrite);
        group.MapGet("/{id}/contadores", CountersAsync).WithName("LineCounters");
        group.MapGet("/{id}/historico", HistoryAsync).WithName("LineHistory");
        group.MapPost("/{id}/ordem", StartOrderAsync).WithName("StartLineOrder").RequireAuthorization(Policies.InstanceWrite);
        group.MapPost("/{id}/ordem/encerrar", EndOrderAsync).WithName("EndLineOrder").RequireAuthorization(Policies.InstanceWrite);
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext http, IGrainFactory grains)
    {
        if (!Paging.TryRead(http.Request, out var limit, out var offset, out var error)) return Problems.Invalid(error.Field, error.Message);
        var page = await Registry(grains, http).ListAsync(limit, offset);
        return TypedResults.Ok(Paging.Envelope(http.Request, page, LineResponse.From));
    }

    private static async Task<IResult> CreateAsync(LineRequest body, HttpContext http, IGrainFactory grains)
    {
        if (body.Id is not { } id) return Problems.Invalid("id", "id is required.");
        if (!LineKeys.IsValidId(id)) return Problems.Invalid("id", $"id must be 1 to {LineKeys.MaxId} letters, digits, '-', '_' or '.' (not a route name such as 'contadores').");
        var (definition, error) = body.ToDefinition();
        if (error is { } e) return Problems.Invalid(e.Field, e.Message);
        var outcome = await Registry(grains, http).CreateAsync(id, definition!);
        return outcome.IsOk ? TypedResults.Created($"/api/linhas/{id}/", LineResponse.From(outcome.Value!)) : Problems.From(outcome);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext http, IGrainFactory grains)
    {
        if (!LineKeys.IsValidId(id)) return NotFound(id);
        var view = await Line(grains, http, id).GetAsync();
        return view is null ? NotFound(id) : TypedResults.Ok(LineResponse.From(view));
    }

    private static async Task<IResult> UpdateAsync(string id, LineRequest body, HttpContext http, IGrainFactory grains)
    {
        if (!LineKeys.IsValidId(id)) return NotFound(id);
        if (body.Id is { } other && other != id) return Problems.Invalid("id", "id cannot change; create a new line instead.");
        var (definition, error) = body.ToDefinition();
        if (error is { } e) return Problems.Invalid(e.Field, e.Message);
        var outcome = await Registry(grains, http).UpdateAsync(id, definition!);
        return outcome.IsOk ? TypedResults.Ok(LineResponse.From(outcome.Value!)) : Problems.From(outcome);
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext http, IGrainFactory grains) =>
        LineKeys.IsValidId(id) && await Registry(grains, http).DeleteAsync(id) ? TypedResults.NoContent() : NotFound(id);

    private static async Task<IResult> CountersAsync(string id, HttpContext http, IGrainFactory grains)
    {
        if (!LineKeys.IsValidId(id)) return NotFound(id);
        var counters = await Line(grains, http, id).GetCountersAsync();
        return counters is null ? NotFound(id) : TypedResults.Ok(counters);
    }

    /// <summary>Every line's counters at once, each from its grain's memory, in line-id order.</summary>
    private static async Task<IResult> AllCountersAsync(HttpContext http, IGrainFactory grains)
    {
        var lines = await Registry(grains, http).CountersAsync();
        return TypedResults.Ok(new { count = lines.Count, results = lines });
    }

    private static async Task<IResult> HistoryAsync(string id, HttpContext http, IGrainFactory grains, LineCounterStore store, TimeProvider time)
    {
        if (!LineKeys.IsValidId(id) || await Line(grains, http, id).GetAsync() is null) return NotFound(id);
        if (!Paging.TryDate(http.Request, "de", out var from, out var error) || !Paging.TryDate(http.Request, "ate", out var to, out error))
            return Problems.Invalid(error.Field, error.Message);
        var end = to ?? time.GetUtcNow();
        var start = from ?? end.AddHours(-1);
        if (start >= end) return Problems.Invalid("de", "de must be before ate.");
        if (end - start > TimeSpan.FromMinutes(MaxHistoryMinutes)) return Problems.Invalid("ate", $"at most {MaxHistoryMinutes} minutes per request.");
        var minutes = await store.MinutesAsync(http.User.Instance(), id, start, end, MaxHistoryMinutes * 4, http.RequestAborted);
        return TypedResults.Ok(new
        {
            linha = id,
            de = start,
            ate = end,
            results = minutes.Select(m => new { minuto = m.Minuto, ordem = m.Ordem.Length == 0 ? null : m.Ordem, producao = m.Producao, rejeicao = m.Rejeicao }),
        });
    }

    private static async Task<IResult> StartOrderAsync(string id, OrderRequest body, HttpContext http, IGrainFactory grains, TimeProvider time)
    {
        if (!LineKeys.IsValidId(id)) return NotFound(id);
        var order = new ProductionOrder(body.Ordem ?? "", body.Sku ?? "", body.Lote ?? "", null, body.QuantidadePlanejada ?? 0, body.VelocidadeNominal, time.GetUtcNow());
        var outcome = await Line(grains, http, id).StartOrderAsync(order);
        return outcome.IsOk ? TypedResults.Ok(outcome.Value) : Problems.From(outcome);
    }

    private static async Task<IResult> EndOrderAsync(string id, EndOrderRequest body, HttpContext http, IGrainFactory grains)
    {
        if (!LineKeys.IsValidId(id)) return NotFound(id);
        var outcome = await Line(grains, http, id).EndOrderAsync(body.Ordem ?? "");
        return outcome.IsOk ? TypedResults.Ok(OrderTotalsResponse.From(outcome.Value!)) : Problems.From(outcome);
    }

    private static IResult NotFound(string id) => Problems.NotFound($"line '{TextBounds.Shorten(id, LineKeys.MaxId, "...")}' not found.");

    private static ILineRegistryGrain Registry(IGrainFactory grains, HttpContext http) => grains.GetGrain<ILineRegistryGrain>(http.User.Instance());

    private static ILineGrain Line(IGrainFactory grains, HttpContext http, string id) => grains.GetGrain<ILineGrain>(LineKeys.For(http.User.Instance(), id));
}

/// <summary>The body of POST/PUT /api/linhas/. An unknown field is refused by name, not ignored.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record LineRequest(
    string? Id,
    string? Nome,
    string? FamiliaMaquina,
    string? FonteSensor,
    string? SensorId,
    double? VelocidadeNominal,
    bool? Ativa)
{
    public (LineDefinition? Definition, (string Field, string Message)? Error) ToDefinition()
    {
        var definition = new LineDefinition(Nome ?? "", FamiliaMaquina ?? "", FonteSensor ?? SensorSources.Keyence, SensorId, VelocidadeNominal ?? 0, Ativa ?? true);
        return LineRules.Validate(definition) is { } error ? (null, error) : (definition, null);
    }
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record OrderRequest(string? Ordem, string? Sku, string? Lote, long? QuantidadePlanejada, double? VelocidadeNominal);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record EndOrderRequest(string? Ordem);

public sealed record OrderResponse(string Ordem, string Sku, string Lote, long? LoteId, long QuantidadePlanejada, double? VelocidadeNominal, DateTimeOffset Inicio)
{
    public static OrderResponse? From(ProductionOrder? o) =>
        o is null ? null : new(o.Ordem, o.Sku, o.Lote, o.LoteId, o.QuantidadePlanejada, o.VelocidadeNominal, o.Inicio);
}

public sealed record LineResponse(
    string Id,
    string Nome,
    string FamiliaMaquina,
    string FonteSensor,
    string SensorId,
    double VelocidadeNominal,
    bool Ativa,
    OrderResponse? OrdemAtual,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static LineResponse From(LineView v) =>
        new(v.Id, v.Nome, v.FamiliaMaquina, v.FonteSensor, v.SensorId, v.VelocidadeNominal, v.Ativa, OrderResponse.From(v.OrdemAtual), v.CreatedAt, v.UpdatedAt);
}

public sealed record OrderTotalsResponse(
    string Linha,
    OrderResponse Ordem,
    long Total,
    long Bons,
    long Rejeitos,
    double TempoProduzindo,
    double TempoParado,
    double Oee,
    DateTimeOffset Fim)
{
    public static OrderTotalsResponse From(OrderTotals t) =>
        new(t.Linha, OrderResponse.From(t.Ordem)!, t.Total, t.Bons, t.Rejeitos, t.TempoProduzindo, t.TempoParado, t.Oee, t.Fim);
}
