using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Integracoes.Abstractions.Services;
using Integracoes.Delivery.Http;

namespace Integracoes.Delivery.Services;

/// <summary>One HTTP call to an external service, with everything needed to authenticate it.</summary>
public sealed record ServiceCall(
    string Method,
    Uri Url,
    IReadOnlyDictionary<string, string> Headers,
    ServiceAuth Auth,
    ServiceCredentials Credentials,
    TimeSpan Timeout,
    string? BodyJson);

/// <summary>What came back. <see cref="StatusCode"/> is null when no response arrived (network error, timeout, blocked target).</summary>
public sealed record InvocationResult(
    int? StatusCode,
    string? Body,
    bool BodyTruncated,
    TimeSpan Duration,
    string? Error)
{
    public bool IsSuccess => StatusCode is >= 200 and < 300;
}

/// <summary>
/// Calls external services the way their registration says: auth (none, api_key, bearer, basic,
/// OAuth 2.0 client credentials), default headers and timeout. Never throws for a failed call.
/// </summary>
public sealed class ServiceInvoker(IHttpClientFactory httpClientFactory, OAuth2TokenCache tokens, TimeProvider time)
{
    public const int MaxStoredBodyChars = 64 * 1024;
    public const string Redacted = "***";

    public async Task<InvocationResult> InvokeAsync(ServiceCall call, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(call.Timeout);
        try
        {
            using var response = await SendAsync(call, timeout.Token);
            if (response.StatusCode == HttpStatusCode.Unauthorized && call.Auth.Type == AuthTypes.OAuth2ClientCredentials)
            {
                // The cached token may have been revoked early: fetch a new one and try once more.
                tokens.Invalidate(new Uri(call.Auth.TokenUrl!), call.Auth.ClientId!, call.Credentials.ClientSecret!, call.Auth.Scope);
                using var retried = await SendAsync(call, timeout.Token);
                return await ReadAsync(retried, started, timeout.Token);
            }
            return await ReadAsync(response, started, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Failure(started, $"timeout after {call.Timeout.TotalSeconds:0.###} s");
        }
        catch (HttpRequestException e) when (e.InnerException is OutboundTargetBlockedException blocked)
        {
            return Failure(started, blocked.Message);
        }
        catch (HttpRequestException e)
        {
            return Failure(started, $"network error: {e.Message}");
        }
        catch (OAuth2TokenException e)
        {
            return Failure(started, $"oauth2: {e.Message}");
        }
    }

    /// <summary>The request as recorded in an execution: headers with credentials replaced by <see cref="Redacted"/>.</summary>
    public static string DescribeRequest(ServiceCall call)
    {
        var headers = new JsonObject();
        foreach (var (name, value) in call.Headers)
        {
            headers[name] = IsSensitiveHeader(name, call.Auth) ? Redacted : value;
        }
        var authHeader = AuthHeaderName(call.Auth);
        if (authHeader is not null)
        {
            headers[authHeader] = Redacted;
        }
        var description = new JsonObject
        {
            ["metodo"] = call.Method,
            ["url"] = call.Url.ToString(),
            ["headers"] = headers,
            ["body"] = call.BodyJson is null ? null : JsonNode.Parse(call.BodyJson),
        };
        return description.ToJsonString();
    }

    private async Task<HttpResponseMessage> SendAsync(ServiceCall call, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(new HttpMethod(call.Method), call.Url);
        foreach (var (name, value) in call.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (call.BodyJson is not null)
        {
            request.Content = new StringContent(call.BodyJson, Encoding.UTF8, "application/json");
        }
        await AuthenticateAsync(request, call, ct);
        var client = httpClientFactory.CreateClient(OutboundHttp.ClientName);
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    private async Task AuthenticateAsync(HttpRequestMessage request, ServiceCall call, CancellationToken ct)
    {
        var c = call.Credentials;
        switch (call.Auth.Type)
        {
            case AuthTypes.ApiKey:
                request.Headers.Remove(call.Auth.HeaderName ?? "X-Api-Key");
                request.Headers.TryAddWithoutValidation(call.Auth.HeaderName ?? "X-Api-Key", c.ApiKey);
                break;
            case AuthTypes.Bearer:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", c.Token);
                break;
            case AuthTypes.Basic:
                var pair = Encoding.UTF8.GetBytes($"{call.Auth.Username}:{c.Password}");
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(pair));
                break;
            case AuthTypes.OAuth2ClientCredentials:
                var token = await tokens.GetTokenAsync(new Uri(call.Auth.TokenUrl!), call.Auth.ClientId!, c.ClientSecret!, call.Auth.Scope, ct);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                break;
        }
    }

    private async Task<InvocationResult> ReadAsync(HttpResponseMessage response, long started, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var buffer = new char[MaxStoredBodyChars + 1];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await reader.ReadAsync(buffer.AsMemory(read), ct)) > 0)
        {
            read += n;
        }
        var truncated = read > MaxStoredBodyChars;
        var body = new string(buffer, 0, Math.Min(read, MaxStoredBodyChars));
        return new InvocationResult((int)response.StatusCode, body, truncated, time.GetElapsedTime(started), null);
    }

    private InvocationResult Failure(long started, string error) =>
        new(null, null, false, time.GetElapsedTime(started), error);

    private static string? AuthHeaderName(ServiceAuth auth) => auth.Type switch
    {
        AuthTypes.ApiKey => auth.HeaderName ?? "X-Api-Key",
        AuthTypes.Bearer or AuthTypes.Basic or AuthTypes.OAuth2ClientCredentials => "Authorization",
        _ => null,
    };

    private static bool IsSensitiveHeader(string name, ServiceAuth auth) =>
        string.Equals(name, "Authorization", StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "Cookie", StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, AuthHeaderName(auth), StringComparison.OrdinalIgnoreCase)
        || name.Contains("key", StringComparison.OrdinalIgnoreCase)
        || name.Contains("token", StringComparison.OrdinalIgnoreCase)
        || name.Contains("secret", StringComparison.OrdinalIgnoreCase);

    /// <summary>The response as recorded in an execution: JSON bodies kept as JSON, others as text.</summary>
    public static string DescribeResponse(InvocationResult result)
    {
        JsonNode? body = null;
        if (result.Body is { Length: > 0 } && !result.BodyTruncated)
        {
            try
            {
                body = JsonNode.Parse(result.Body);
            }
            catch (JsonException)
            {
                body = JsonValue.Create(result.Body);
            }
        }
        else if (result.Body is not null)
        {
            body = JsonValue.Create(result.Body);
        }
        return new JsonObject
        {
            ["status_code"] = result.StatusCode,
            ["duracao_ms"] = Math.Round(result.Duration.TotalMilliseconds, 1),
            ["body"] = body,
            ["body_truncado"] = result.BodyTruncated,
        }.ToJsonString();
    }
}
