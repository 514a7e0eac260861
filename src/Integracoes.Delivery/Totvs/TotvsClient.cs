using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Integracoes.Abstractions.Totvs;
using Integracoes.Delivery.Http;
using Integracoes.Delivery.Services;
using Integracoes.Delivery.Webhooks;

namespace Integracoes.Delivery.Totvs;

/// <summary>A TOTVS connection with its decrypted credentials: lives only for the calls it is made for.</summary>
public sealed record TotvsAccess(TotvsSettings Settings, string Username, string Password, TimeSpan Timeout);

/// <summary>What TOTVS answered. <see cref="StatusCode"/> is null when no answer came (network, timeout, token endpoint).</summary>
public sealed record TotvsResponse(int? StatusCode, string? Body, string? Error, TimeSpan? RetryAfter)
{
    public bool IsSuccess => StatusCode is >= 200 and < 300;
}

/// <summary>One page of a master data listing: the TOTVS API guide's <c>{"items": [...], "hasNext": bool}</c>.</summary>
public sealed record TotvsPage(IReadOnlyList<JsonElement> Items, bool HasNext);

public sealed class TotvsException(string message) : Exception(message);

/// <summary>
/// Calls the TOTVS REST API with a bearer token from its <c>tokenUrl</c> (password grant, cached until
/// shortly before <c>expires_in</c>; a 401 drops the token and the call is made once more with a fresh
/// one). Every call goes through the outbound client, so the SSRF policy of partner URLs applies.
/// </summary>
public sealed class TotvsClient(IHttpClientFactory httpClientFactory, OAuth2TokenCache tokens, TimeProvider time)
{
    /// <summary>The largest answer read: a page of master data. A bigger one fails the page (ask for smaller pages: <c>tamanhoPagina</c>).</summary>
    public const int MaxPageBytes = 4 * 1024 * 1024;

    /// <summary>The query of a page: <c>page</c> (from 1), <c>pageSize</c>, and <c>alteradoDesde</c> for an incremental run.</summary>
    public static Uri PageUrl(Uri endpoint, int page, int pageSize, DateTimeOffset? since)
    {
        var query = $"page={page}&pageSize={pageSize}";
        if (since is { } s) query += "&alteradoDesde=" + Uri.EscapeDataString(s.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        return new UriBuilder(endpoint) { Query = query }.Uri;
    }

    public async Task<TotvsPage> GetPageAsync(TotvsAccess access, Uri endpoint, int page, DateTimeOffset? since, CancellationToken ct)
    {
        var response = await SendAsync(access, HttpMethod.Get, PageUrl(endpoint, page, access.Settings.PageSize, since), null, null, ct);
        if (!response.IsSuccess)
            throw new TotvsException(response.Error ?? $"GET {endpoint.AbsolutePath} answered HTTP {response.StatusCode}");
        try
        {
            using var doc = JsonDocument.Parse(response.Body ?? "");
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
                throw new TotvsException($"GET {endpoint.AbsolutePath} did not answer {{\"items\": [...]}}");
            var hasNext = root.TryGetProperty("hasNext", out var next) && next.ValueKind == JsonValueKind.True;
            return new TotvsPage([.. items.EnumerateArray().Select(i => i.Clone())], hasNext);
        }
        catch (JsonException)
        {
            throw new TotvsException($"GET {endpoint.AbsolutePath} answered something that is not JSON");
        }
    }

    /// <summary>One call with the bearer token; never throws for what the network or TOTVS does.</summary>
    public async Task<TotvsResponse> SendAsync(TotvsAccess access, HttpMethod method, Uri url, string? jsonBody, IReadOnlyDictionary<string, string>? headers, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(access.Timeout);
        try
        {
            var tokenUrl = access.Settings.TokenUri;
            var response = await SendOnceAsync(access, method, url, jsonBody, headers, timeout.Token);
            if (response.StatusCode == (int)HttpStatusCode.Unauthorized)
            {
                // Expired or revoked before its expires_in: a new token, and the call once more.
                tokens.InvalidatePassword(tokenUrl, access.Username, access.Password);
                response = await SendOnceAsync(access, method, url, jsonBody, headers, timeout.Token);
            }
            return response;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new TotvsResponse(null, null, $"timeout after {access.Timeout.TotalSeconds:0} s", null);
        }
        catch (HttpRequestException e) when (e.InnerException is OutboundTargetBlockedException blocked)
        {
            return new TotvsResponse(null, null, blocked.Message, null);
        }
        catch (HttpRequestException e)
        {
            return new TotvsResponse(null, null, $"network error: {e.Message}", null);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            // A connection cut while the body was read, like the webhook sender treats it.
            return new TotvsResponse(null, null, $"network error: {e.Message}", null);
        }
        catch (OAuth2TokenException e)
        {
            return new TotvsResponse(null, null, $"token: {e.Message}", null);
        }
    }

    private async Task<TotvsResponse> SendOnceAsync(TotvsAccess access, HttpMethod method, Uri url, string? jsonBody, IReadOnlyDictionary<string, string>? headers, CancellationToken ct)
    {
        var token = await tokens.GetPasswordTokenAsync(access.Settings.TokenUri, access.Username, access.Password, ct);
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (jsonBody is not null) request.Content = new StringContent(jsonBody, Encoding.UTF8, "application/json");
        var client = httpClientFactory.CreateClient(OutboundHttp.ClientName);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        var body = await WebhookSender.ReadBoundedAsync(response, ct, method == HttpMethod.Get ? MaxPageBytes : WebhookSender.MaxResponseBytes);
        return new TotvsResponse((int)response.StatusCode, body, null, WebhookSender.RetryAfter(response, time));
    }


    /// <summary>
    /// How the delivery loop treats an answer to a lot push: 2xx delivered; no answer, 401 (still, after a
    /// fresh token), 408, 425, 429 and 5xx retried; any other 4xx rejected (final: TOTVS refuses the content).
    /// </summary>
    public static string Classify(TotvsResponse r) => r.StatusCode switch
    {
        null => TotvsPushOutcomes.Retry,
        >= 200 and < 300 => TotvsPushOutcomes.Delivered,
        401 or 408 or 425 or 429 or >= 500 => TotvsPushOutcomes.Retry,
        >= 400 => TotvsPushOutcomes.Rejected,
        _ => TotvsPushOutcomes.Retry,
    };
}
