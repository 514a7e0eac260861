using System.Text.Json;
using Integracoes.Abstractions.Services;

namespace Integracoes.Api.Apis;

/// <summary>The body of POST/PUT /api/integracoes/servicos/, field names as in seed table integracoes_servicos.</summary>
public sealed record ServiceRequest(
    string? Nome,
    string? Tipo,
    string? Descricao,
    JsonElement? ConfigPadrao,
    string? AuthType,
    AuthRequest? Auth,
    JsonElement? Endpoints,
    Dictionary<string, string>? HeadersPadrao,
    RetryConfigRequest? RetryConfig,
    int? Timeout,
    bool? Ativo);

/// <summary>Non-secret settings plus write-only credentials (api_key, token, password, client_secret).</summary>
public sealed record AuthRequest(
    string? HeaderName,
    string? TokenUrl,
    string? ClientId,
    string? Scope,
    string? Username,
    string? ApiKey,
    string? Token,
    string? Password,
    string? ClientSecret);

public sealed record RetryConfigRequest(int? MaxTentativas, int? BackoffSegundos);

public sealed record TestServiceRequest(
    long? ServicoId,
    string? Endpoint,
    string? Url,
    string? Metodo,
    JsonElement? Payload,
    Dictionary<string, string>? Headers);

public sealed record AuthResponse(
    string? HeaderName,
    string? TokenUrl,
    string? ClientId,
    string? Scope,
    string? Username,
    IReadOnlyList<string> CredenciaisConfiguradas);

public sealed record EndpointResponse(string Nome, string Metodo, string Url);

public sealed record RetryConfigResponse(int MaxTentativas, int BackoffSegundos);

public sealed record ServiceResponse(
    long Id,
    string Instance,
    string Nome,
    string Tipo,
    string? Descricao,
    JsonElement ConfigPadrao,
    string AuthType,
    AuthResponse Auth,
    IReadOnlyList<EndpointResponse> Endpoints,
    IReadOnlyDictionary<string, string> HeadersPadrao,
    RetryConfigResponse RetryConfig,
    int Timeout,
    bool Ativo,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static ServiceResponse From(ServiceView v) => new(
        v.Id, v.Instance, v.Nome, v.Tipo, v.Descricao, Json(v.ConfigPadraoJson)!.Value, v.Auth.Type,
        new AuthResponse(v.Auth.HeaderName, v.Auth.TokenUrl, v.Auth.ClientId, v.Auth.Scope, v.Auth.Username, v.CredenciaisConfiguradas),
        [.. v.Endpoints.Select(e => new EndpointResponse(e.Nome, e.Metodo, e.Url))],
        v.HeadersPadrao,
        new RetryConfigResponse(v.RetryConfig.MaxTentativas, v.RetryConfig.BackoffSegundos),
        v.Timeout, v.Ativo, v.CreatedAt, v.UpdatedAt);

    public static JsonElement? Json(string? text)
    {
        if (text is null) return null;
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }
}

public sealed record ExecutionResponse(
    long Id,
    long ServicoId,
    DateTimeOffset Inicio,
    DateTimeOffset? Fim,
    string Status,
    JsonElement? RequestData,
    JsonElement? ResponseData,
    string? ErrorLog,
    int Processados,
    int Sucesso,
    int Falha)
{
    public static ExecutionResponse From(ExecutionView e) => new(
        e.Id, e.ServicoId, e.Inicio, e.Fim, e.Status,
        ServiceResponse.Json(e.RequestDataJson), ServiceResponse.Json(e.ResponseDataJson),
        e.ErrorLog, e.Processados, e.Sucesso, e.Falha);
}

/// <summary>Maps the JSON request to the grain contract, reporting shape errors (not business rules) by field.</summary>
public static class ServiceRequestMapper
{
    public static (ServiceDefinition? Definition, (string Field, string Message)? Error) ToDefinition(ServiceRequest r)
    {
        if (r.Nome is null) return (null, ("nome", "nome is required."));
        if (r.Tipo is null) return (null, ("tipo", "tipo is required."));

        var config = "{}";
        if (r.ConfigPadrao is { } c && c.ValueKind != JsonValueKind.Null)
        {
            if (c.ValueKind != JsonValueKind.Object) return (null, ("config_padrao", "config_padrao must be a JSON object."));
            config = c.GetRawText();
        }

        var endpoints = new List<ServiceEndpoint>();
        if (r.Endpoints is { } e && e.ValueKind != JsonValueKind.Null)
        {
            var error = ReadEndpoints(e, endpoints);
            if (error is not null) return (null, error);
        }

        var a = r.Auth;
        var auth = new ServiceAuth(r.AuthType ?? AuthTypes.None, a?.HeaderName, a?.TokenUrl, a?.ClientId, a?.Scope, a?.Username);
        ServiceCredentials? credentials = a is null || (a.ApiKey ?? a.Token ?? a.Password ?? a.ClientSecret) is null
            ? null
            : new ServiceCredentials(a.ApiKey, a.Token, a.Password, a.ClientSecret);
        var retry = new RetryConfig(
            r.RetryConfig?.MaxTentativas ?? RetryConfig.Default.MaxTentativas,
            r.RetryConfig?.BackoffSegundos ?? RetryConfig.Default.BackoffSegundos);

        return (new ServiceDefinition(
            r.Nome, r.Tipo, r.Descricao, config, auth, credentials, endpoints,
            r.HeadersPadrao ?? [], retry, r.Timeout ?? 30, r.Ativo ?? true), null);
    }

    /// <summary>
    /// Accepts a list of <c>{"nome","metodo","url"}</c> objects, or the map form of seed 003's TOTVS
    /// configuration (<c>{"ordens": "/ordens-producao"}</c>, method GET).
    /// </summary>
    private static (string, string)? ReadEndpoints(JsonElement e, List<ServiceEndpoint> endpoints)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in e.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.String) return ($"endpoints.{property.Name}", "each endpoint of the map form is a URL or path string.");
                endpoints.Add(new ServiceEndpoint(property.Name, "GET", property.Value.GetString()!));
            }
            return null;
        }
        if (e.ValueKind != JsonValueKind.Array) return ("endpoints", "endpoints must be a list of {nome, metodo, url} or a map of name to URL.");
        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) return ($"endpoints[{i}]", "each endpoint is an object {nome, metodo, url}.");
            var nome = StringProperty(item, "nome");
            var url = StringProperty(item, "url") ?? StringProperty(item, "caminho");
            var metodo = StringProperty(item, "metodo") ?? "GET";
            if (nome is null) return ($"endpoints[{i}].nome", "nome is required and must be a string.");
            if (url is null) return ($"endpoints[{i}].url", "url is required and must be a string.");
            endpoints.Add(new ServiceEndpoint(nome, metodo.ToUpperInvariant(), url));
            i++;
        }
        return null;
    }

    private static string? StringProperty(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
