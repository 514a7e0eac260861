using System.Text.Json;
using Integracoes.Abstractions.Common;

namespace Integracoes.Abstractions.Totvs;

/// <summary>
/// The <c>totvs</c> block of an <c>erp</c> service's <c>config_padrao</c> (seed 003's endpoint
/// configuration JSON), read and validated. Endpoint paths are joined to <see cref="BaseUrl"/>; the
/// token URL may be a path (joined to the base URL) or absolute.
/// </summary>
/// <param name="Endpoints">By name: <c>ordens</c>, <c>produtos</c>, <c>lotes</c> (required), <c>velocidades</c>, <c>insumos</c>, <c>lotesInsumo</c> (optional: that entity is not synced).</param>
/// <param name="SyncMinutes">The master data sync period (<c>sincronizacao.intervaloMinutos</c>), at least 1 (reminders cannot be shorter).</param>
[GenerateSerializer, Immutable]
public sealed record TotvsSettings(
    [property: Id(0)] string BaseUrl,
    [property: Id(1)] IReadOnlyDictionary<string, string> Endpoints,
    [property: Id(2)] string TokenUrl,
    [property: Id(3)] int SyncMinutes,
    [property: Id(4)] int PageSize)
{
    public const int DefaultSyncMinutes = 15;
    public const int MaxSyncMinutes = 7 * 24 * 60;
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1_000;

    public Uri Resolve(string pathOrUrl) =>
        pathOrUrl.StartsWith('/') ? new Uri(BaseUrl.TrimEnd('/') + pathOrUrl) : new Uri(pathOrUrl);

    public Uri EndpointUrl(string name) => Resolve(Endpoints[name]);

    public Uri TokenUri => Resolve(TokenUrl);

    /// <summary>True when <paramref name="configPadraoJson"/> has a <c>totvs</c> object: the service is a TOTVS connection.</summary>
    public static bool IsTotvs(string configPadraoJson)
    {
        try
        {
            using var doc = JsonDocument.Parse(configPadraoJson);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("totvs", out var totvs) && totvs.ValueKind != JsonValueKind.Null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The settings, or the field at fault (<c>config_padrao.totvs....</c>) and why.</summary>
    public static (TotvsSettings? Settings, (string Field, string Message)? Error) Read(string configPadraoJson)
    {
        using var doc = JsonDocument.Parse(configPadraoJson);
        if (!doc.RootElement.TryGetProperty("totvs", out var totvs) || totvs.ValueKind != JsonValueKind.Object)
            return Fail("config_padrao.totvs", "totvs must be an object.");

        if (!TryString(totvs, "baseUrl", out var baseUrl) || !IsHttpUrl(baseUrl))
            return Fail("config_padrao.totvs.baseUrl", "baseUrl must be an absolute http or https URL without credentials.");

        if (!totvs.TryGetProperty("endpoints", out var endpoints) || endpoints.ValueKind != JsonValueKind.Object)
            return Fail("config_padrao.totvs.endpoints", "endpoints must be an object naming at least ordens, produtos and lotes.");
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in endpoints.EnumerateObject())
        {
            if (!TotvsEndpoints.All.Contains(property.Name))
                return Fail($"config_padrao.totvs.endpoints.{Short(property.Name)}", $"unknown endpoint; the known ones are {string.Join(", ", TotvsEndpoints.All)}.");
            if (property.Value.ValueKind != JsonValueKind.String || !IsPath(property.Value.GetString()!))
                return Fail($"config_padrao.totvs.endpoints.{property.Name}", "an endpoint is a path starting with '/' (joined to baseUrl), without '..', at most 512 characters.");
            paths[property.Name] = property.Value.GetString()!;
        }
        foreach (var required in TotvsEndpoints.Required)
        {
            if (!paths.ContainsKey(required)) return Fail($"config_padrao.totvs.endpoints.{required}", $"endpoints.{required} is required.");
        }

        if (!totvs.TryGetProperty("auth", out var auth) || auth.ValueKind != JsonValueKind.Object)
            return Fail("config_padrao.totvs.auth", "auth must be an object: {\"type\":\"bearer\",\"tokenUrl\":\"/auth/token\"}.");
        if (!TryString(auth, "type", out var type) || type != "bearer")
            return Fail("config_padrao.totvs.auth.type", "auth.type must be \"bearer\" (a token from tokenUrl).");
        if (!TryString(auth, "tokenUrl", out var tokenUrl) || !(IsPath(tokenUrl) || IsHttpUrl(tokenUrl)))
            return Fail("config_padrao.totvs.auth.tokenUrl", "tokenUrl must be a path joined to baseUrl or an absolute http(s) URL.");

        var minutes = DefaultSyncMinutes;
        var pageSize = DefaultPageSize;
        if (totvs.TryGetProperty("sincronizacao", out var sync) && sync.ValueKind != JsonValueKind.Null)
        {
            if (sync.ValueKind != JsonValueKind.Object) return Fail("config_padrao.totvs.sincronizacao", "sincronizacao must be an object.");
            if (sync.TryGetProperty("intervaloMinutos", out var m)
                && (!m.TryGetInt32(out minutes) || minutes < 1 || minutes > MaxSyncMinutes))
                return Fail("config_padrao.totvs.sincronizacao.intervaloMinutos", $"intervaloMinutos must be an integer between 1 and {MaxSyncMinutes}.");
            if (sync.TryGetProperty("tamanhoPagina", out var p)
                && (!p.TryGetInt32(out pageSize) || pageSize < 1 || pageSize > MaxPageSize))
                return Fail("config_padrao.totvs.sincronizacao.tamanhoPagina", $"tamanhoPagina must be an integer between 1 and {MaxPageSize}.");
        }
        return (new TotvsSettings(baseUrl, paths, tokenUrl, minutes, pageSize), null);
    }

    private static (TotvsSettings?, (string, string)?) Fail(string field, string message) => (null, (field, message));

    private static bool TryString(JsonElement parent, string name, out string value)
    {
        value = "";
        if (!parent.TryGetProperty(name, out var e) || e.ValueKind != JsonValueKind.String) return false;
        value = e.GetString()!;
        return true;
    }

    private static bool IsPath(string value) =>
        value.Length is > 1 and <= 512 && value.StartsWith('/') && !value.StartsWith("//", StringComparison.Ordinal)
        && !value.Contains("..", StringComparison.Ordinal) && !value.Any(c => char.IsControl(c) || c is '\\' or ' ' or '#' or '?');

    private static bool IsHttpUrl(string value) =>
        value.Length <= 2_048
        && Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(uri.Host)
        && string.IsNullOrEmpty(uri.UserInfo)
        && string.IsNullOrEmpty(uri.Query)
        && string.IsNullOrEmpty(uri.Fragment);

    private static string Short(string s) => TextBounds.Shorten(s, 40, "...");
}

/// <summary>The endpoint names of <c>config_padrao.totvs.endpoints</c>.</summary>
public static class TotvsEndpoints
{
    /// <summary>Where closed lots' totals are POSTed (SicFar → TOTVS).</summary>
    public const string Ordens = "ordens";
    public const string Produtos = "produtos";
    public const string Lotes = "lotes";
    public const string Velocidades = "velocidades";
    public const string Insumos = "insumos";
    public const string LotesInsumo = "lotesInsumo";

    public static readonly IReadOnlyList<string> Required = [Ordens, Produtos, Lotes];

    public static readonly IReadOnlyList<string> All = [Ordens, Produtos, Lotes, Velocidades, Insumos, LotesInsumo];
}
