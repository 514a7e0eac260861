namespace Integracoes.Abstractions.Services;

/// <summary>How the hub authenticates to an external service. Only non-secret settings live here.</summary>
[GenerateSerializer, Immutable]
public sealed record ServiceAuth(
    [property: Id(0)] string Type,
    [property: Id(1)] string? HeaderName = null,
    [property: Id(2)] string? TokenUrl = null,
    [property: Id(3)] string? ClientId = null,
    [property: Id(4)] string? Scope = null,
    [property: Id(5)] string? Username = null)
{
    public static readonly ServiceAuth None = new(AuthTypes.None);
}

/// <summary>Write-only credentials. Encrypted at rest and never returned by any read.</summary>
[GenerateSerializer, Immutable]
public sealed record ServiceCredentials(
    [property: Id(0)] string? ApiKey = null,
    [property: Id(1)] string? Token = null,
    [property: Id(2)] string? Password = null,
    [property: Id(3)] string? ClientSecret = null)
{
    /// <summary>Fields set here replace those of <paramref name="previous"/>; the others are kept.</summary>
    public ServiceCredentials MergeOver(ServiceCredentials? previous) => new(
        ApiKey ?? previous?.ApiKey,
        Token ?? previous?.Token,
        Password ?? previous?.Password,
        ClientSecret ?? previous?.ClientSecret);

    public IReadOnlyList<string> ConfiguredNames()
    {
        var names = new List<string>(4);
        if (ApiKey is not null) names.Add("api_key");
        if (Token is not null) names.Add("token");
        if (Password is not null) names.Add("password");
        if (ClientSecret is not null) names.Add("client_secret");
        return names;
    }
}

/// <summary>An operation the service exposes. <see cref="Url"/> is absolute, or a path joined to the service's base_url.</summary>
[GenerateSerializer, Immutable]
public sealed record ServiceEndpoint(
    [property: Id(0)] string Nome,
    [property: Id(1)] string Metodo,
    [property: Id(2)] string Url);

[GenerateSerializer, Immutable]
public sealed record RetryConfig(
    [property: Id(0)] int MaxTentativas = 3,
    [property: Id(1)] int BackoffSegundos = 2)
{
    public static readonly RetryConfig Default = new();
}

/// <summary>The writable fields of a registered integration service (seed table <c>integracoes_servicos</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record ServiceDefinition(
    [property: Id(0)] string Nome,
    [property: Id(1)] string Tipo,
    [property: Id(2)] string? Descricao,
    [property: Id(3)] string ConfigPadraoJson,
    [property: Id(4)] ServiceAuth Auth,
    [property: Id(5)] ServiceCredentials? Credentials,
    [property: Id(6)] IReadOnlyList<ServiceEndpoint> Endpoints,
    [property: Id(7)] IReadOnlyDictionary<string, string> HeadersPadrao,
    [property: Id(8)] RetryConfig RetryConfig,
    [property: Id(9)] int Timeout,
    [property: Id(10)] bool Ativo);

/// <summary>A registered service as read back: everything but the credentials, which are only named.</summary>
[GenerateSerializer, Immutable]
public sealed record ServiceView(
    [property: Id(0)] long Id,
    [property: Id(1)] string Instance,
    [property: Id(2)] string Nome,
    [property: Id(3)] string Tipo,
    [property: Id(4)] string? Descricao,
    [property: Id(5)] string ConfigPadraoJson,
    [property: Id(6)] ServiceAuth Auth,
    [property: Id(7)] IReadOnlyList<string> CredenciaisConfiguradas,
    [property: Id(8)] IReadOnlyList<ServiceEndpoint> Endpoints,
    [property: Id(9)] IReadOnlyDictionary<string, string> HeadersPadrao,
    [property: Id(10)] RetryConfig RetryConfig,
    [property: Id(11)] int Timeout,
    [property: Id(12)] bool Ativo,
    [property: Id(13)] DateTimeOffset CreatedAt,
    [property: Id(14)] DateTimeOffset UpdatedAt);

[GenerateSerializer, Immutable]
public sealed record ServiceFilter(
    [property: Id(0)] string? Tipo,
    [property: Id(1)] bool? Ativo,
    [property: Id(2)] int Limit,
    [property: Id(3)] int Offset);

/// <summary>A call to one of a service's endpoints: by endpoint name, or by a path/URL.</summary>
[GenerateSerializer, Immutable]
public sealed record ServiceTestRequest(
    [property: Id(0)] string? Endpoint,
    [property: Id(1)] string? Url,
    [property: Id(2)] string? Metodo,
    [property: Id(3)] string? BodyJson,
    [property: Id(4)] IReadOnlyDictionary<string, string>? Headers);

/// <summary>One run of an integration (seed table <c>integracoes_execucoes</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record ExecutionView(
    [property: Id(0)] long Id,
    [property: Id(1)] long ServicoId,
    [property: Id(2)] DateTimeOffset Inicio,
    [property: Id(3)] DateTimeOffset? Fim,
    [property: Id(4)] string Status,
    [property: Id(5)] string? RequestDataJson,
    [property: Id(6)] string? ResponseDataJson,
    [property: Id(7)] string? ErrorLog,
    [property: Id(8)] int Processados,
    [property: Id(9)] int Sucesso,
    [property: Id(10)] int Falha);

public static class ExecutionStatus
{
    public const string Running = "executando";
    public const string Success = "sucesso";
    public const string Failure = "falha";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Running, Success, Failure };
}

public static class AuthTypes
{
    public const string None = "none";
    public const string ApiKey = "api_key";
    public const string Bearer = "bearer";
    public const string Basic = "basic";
    public const string OAuth2ClientCredentials = "oauth2_client_credentials";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        None, ApiKey, Bearer, Basic, OAuth2ClientCredentials,
    };
}

public static class ServiceTypes
{
    /// <summary>The kinds of service the seed names (API, Banco, Arquivo, ...) plus the protocols it lists.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        "api", "rest", "soap", "graphql", "grpc", "websocket", "banco", "arquivo", "email", "fila", "erp", "crm", "outro",
    };
}
