using System.Text.Json;
using Integracoes.Abstractions.Common;

namespace Integracoes.Abstractions.Services;

/// <summary>
/// The validation rules of a service definition, shared by the HTTP front end and the grains so a
/// .NET app using the grain client gets exactly the same answers. Returns the field at fault.
/// </summary>
public static class ServiceDefinitionRules
{
    public const int MaxNome = 100;
    public const int MaxTipo = 50;
    public const int MaxDescricao = 4_000;
    public const int MaxConfigBytes = 64 * 1024;
    public const int MaxEndpoints = 100;
    public const int MaxHeaders = 50;
    public const int MaxHeaderValue = 4_096;
    public const int MaxTimeoutSeconds = 300;
    public const int MaxSecretLength = 4_096;
    public const int MaxUrlLength = 2_048;

    private static readonly HashSet<string> HttpMethods = new(StringComparer.Ordinal)
    {
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
    };

    /// <summary>Null when valid; otherwise the JSON field name at fault and a message.</summary>
    public static (string Field, string Message)? Validate(ServiceDefinition d, ServiceCredentials credentials)
    {
        if (string.IsNullOrWhiteSpace(d.Nome)) return ("nome", "nome is required.");
        if (d.Nome.Length > MaxNome) return ("nome", $"nome must be at most {MaxNome} characters.");
        if (!ServiceTypes.All.Contains(d.Tipo))
            return ("tipo", $"tipo must be one of: {string.Join(", ", ServiceTypes.All.Order())}.");
        if (d.Descricao is { Length: > MaxDescricao }) return ("descricao", $"descricao must be at most {MaxDescricao} characters.");
        if (d.ConfigPadraoJson.Length > MaxConfigBytes) return ("config_padrao", $"config_padrao must be at most {MaxConfigBytes} bytes.");
        if (d.Timeout is < 1 or > MaxTimeoutSeconds) return ("timeout", $"timeout must be between 1 and {MaxTimeoutSeconds} seconds.");
        if (d.RetryConfig.MaxTentativas is < 0 or > 20) return ("retry_config.max_tentativas", "max_tentativas must be between 0 and 20.");
        if (d.RetryConfig.BackoffSegundos is < 0 or > 3_600) return ("retry_config.backoff_segundos", "backoff_segundos must be between 0 and 3600.");

        if (d.HeadersPadrao.Count > MaxHeaders) return ("headers_padrao", $"at most {MaxHeaders} headers.");
        foreach (var (name, value) in d.HeadersPadrao)
        {
            if (!IsHeaderName(name)) return ("headers_padrao", $"'{Truncate(name)}' is not a valid header name.");
            if (value.Length > MaxHeaderValue || value.Any(c => c is '\r' or '\n' or '\0'))
                return ($"headers_padrao.{name}", "header values must be at most 4096 characters without line breaks.");
        }

        var baseUrl = BaseUrl(d.ConfigPadraoJson);
        if (baseUrl is not null && !IsHttpUrl(baseUrl)) return ("config_padrao.base_url", "base_url must be an absolute http or https URL.");
        if (d.Endpoints.Count > MaxEndpoints) return ("endpoints", $"at most {MaxEndpoints} endpoints.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < d.Endpoints.Count; i++)
        {
            var e = d.Endpoints[i];
            if (string.IsNullOrWhiteSpace(e.Nome) || e.Nome.Length > MaxNome) return ($"endpoints[{i}].nome", "nome is required (at most 100 characters).");
            if (!names.Add(e.Nome)) return ($"endpoints[{i}].nome", $"endpoint '{Truncate(e.Nome)}' is listed twice.");
            if (!HttpMethods.Contains(e.Metodo)) return ($"endpoints[{i}].metodo", "metodo must be an HTTP method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS).");
            if (e.Url.StartsWith('/'))
            {
                if (baseUrl is null) return ($"endpoints[{i}].url", "a relative url needs config_padrao.base_url.");
                if (e.Url.Length > MaxUrlLength) return ($"endpoints[{i}].url", "url is too long.");
            }
            else if (!IsHttpUrl(e.Url))
            {
                return ($"endpoints[{i}].url", "url must be an absolute http(s) URL or a path starting with '/'.");
            }
        }

        if (Totvs.TotvsSettings.IsTotvs(d.ConfigPadraoJson))
        {
            // A TOTVS connection (seed 003): its token requests use the service's username and password.
            if (d.Tipo != "erp") return ("tipo", "a service with config_padrao.totvs must have tipo erp.");
            if (Totvs.TotvsSettings.Read(d.ConfigPadraoJson).Error is { } totvsError) return totvsError;
            if (d.Auth.Type != AuthTypes.Basic)
                return ("auth_type", "a TOTVS service uses auth_type basic: auth.username and auth.password are what its tokenUrl is asked for a token with.");
        }

        return ValidateAuth(d.Auth, credentials);
    }

    private static (string Field, string Message)? ValidateAuth(ServiceAuth auth, ServiceCredentials c)
    {
        if (!AuthTypes.All.Contains(auth.Type))
            return ("auth_type", $"auth_type must be one of: {string.Join(", ", AuthTypes.All.Order())}.");
        foreach (var (field, value) in new[] { ("auth.api_key", c.ApiKey), ("auth.token", c.Token), ("auth.password", c.Password), ("auth.client_secret", c.ClientSecret) })
        {
            if (value is { Length: > MaxSecretLength }) return (field, $"at most {MaxSecretLength} characters.");
            if (value is not null && value.Any(ch => ch is '\r' or '\n' or '\0')) return (field, "must not contain line breaks.");
        }
        switch (auth.Type)
        {
            case AuthTypes.ApiKey:
                if (auth.HeaderName is not null && !IsHeaderName(auth.HeaderName)) return ("auth.header_name", "not a valid header name.");
                if (string.IsNullOrEmpty(c.ApiKey)) return ("auth.api_key", "api_key is required for auth_type api_key.");
                break;
            case AuthTypes.Bearer:
                if (string.IsNullOrEmpty(c.Token)) return ("auth.token", "token is required for auth_type bearer.");
                break;
            case AuthTypes.Basic:
                if (string.IsNullOrEmpty(auth.Username) || auth.Username.Contains(':')) return ("auth.username", "username is required for auth_type basic and must not contain ':'.");
                if (c.Password is null) return ("auth.password", "password is required for auth_type basic.");
                break;
            case AuthTypes.OAuth2ClientCredentials:
                if (auth.TokenUrl is null || !IsHttpUrl(auth.TokenUrl)) return ("auth.token_url", "token_url must be an absolute http(s) URL.");
                if (string.IsNullOrEmpty(auth.ClientId) || auth.ClientId.Length > 512) return ("auth.client_id", "client_id is required (at most 512 characters).");
                if (string.IsNullOrEmpty(c.ClientSecret)) return ("auth.client_secret", "client_secret is required for auth_type oauth2_client_credentials.");
                if (auth.Scope is { Length: > 1_024 }) return ("auth.scope", "scope is too long.");
                break;
        }
        return null;
    }

    /// <summary>The base URL relative endpoints are joined to: <c>config_padrao.base_url</c> (or TOTVS-style <c>baseUrl</c>).</summary>
    public static string? BaseUrl(string configPadraoJson)
    {
        try
        {
            using var doc = JsonDocument.Parse(configPadraoJson);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return null;
            foreach (var name in new[] { "base_url", "baseUrl" })
            {
                if (doc.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    return value.GetString();
                }
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static Uri ResolveUrl(string? baseUrl, string url) =>
        url.StartsWith('/') && baseUrl is not null ? new Uri(baseUrl.TrimEnd('/') + url) : new Uri(url);

    public static bool IsHttpUrl(string value) =>
        value.Length <= MaxUrlLength
        && Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(uri.Host)
        && string.IsNullOrEmpty(uri.UserInfo);

    public static bool IsHeaderName(string name) =>
        name.Length is > 0 and <= 100 && name.All(c => c < 128 && (char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c)));

    private static string Truncate(string s) => TextBounds.Shorten(s, 40, "...");
}
