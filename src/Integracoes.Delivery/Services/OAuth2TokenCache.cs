using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Integracoes.Delivery.Http;

namespace Integracoes.Delivery.Services;

/// <summary>
/// OAuth 2.0 client-credentials tokens (RFC 6749 §4.4), fetched from the service's token_url and kept
/// in memory until shortly before they expire. One fetch at a time per client, so a burst of calls
/// does not stampede the token endpoint.
/// </summary>
public sealed class OAuth2TokenCache(IHttpClientFactory httpClientFactory, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, CachedToken> _tokens = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();

    public async Task<string> GetTokenAsync(Uri tokenUrl, string clientId, string clientSecret, string? scope, CancellationToken ct)
    {
        var key = CacheKey(tokenUrl, clientId, clientSecret, scope);
        if (_tokens.TryGetValue(key, out var cached) && cached.ExpiresAt > time.GetUtcNow())
        {
            return cached.AccessToken;
        }

        var gate = _locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            if (_tokens.TryGetValue(key, out cached) && cached.ExpiresAt > time.GetUtcNow())
            {
                return cached.AccessToken;
            }
            var fresh = await RequestAsync(tokenUrl, clientId, clientSecret, scope, ct);
            _tokens[key] = fresh;
            return fresh.AccessToken;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Forgets a token the service rejected (401), so the next call fetches a new one.</summary>
    public void Invalidate(Uri tokenUrl, string clientId, string clientSecret, string? scope) =>
        _tokens.TryRemove(CacheKey(tokenUrl, clientId, clientSecret, scope), out _);

    private async Task<CachedToken> RequestAsync(Uri tokenUrl, string clientId, string clientSecret, string? scope, CancellationToken ct)
    {
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        if (!string.IsNullOrEmpty(scope))
        {
            form.Add(new("scope", scope));
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, tokenUrl) { Content = new FormUrlEncodedContent(form) };
        // client_secret_basic: both parts form-urlencoded before base64, as RFC 6749 §2.3.1 says.
        var basic = $"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(clientSecret)}";
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        var client = httpClientFactory.CreateClient(OutboundHttp.ClientName);
        using var response = await client.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new OAuth2TokenException($"token endpoint answered {(int)response.StatusCode}");
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            var accessToken = root.GetProperty("access_token").GetString();
            if (string.IsNullOrEmpty(accessToken))
            {
                throw new OAuth2TokenException("token endpoint returned an empty access_token");
            }
            var lifetime = root.TryGetProperty("expires_in", out var expires) && expires.TryGetInt32(out var seconds)
                ? TimeSpan.FromSeconds(seconds)
                : TimeSpan.FromMinutes(5);
            // Renew a little early so a token never expires in flight.
            var margin = TimeSpan.FromSeconds(Math.Min(30, lifetime.TotalSeconds / 10));
            return new CachedToken(accessToken, time.GetUtcNow() + lifetime - margin);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new OAuth2TokenException("token endpoint returned no access_token");
        }
    }

    private static string CacheKey(Uri tokenUrl, string clientId, string clientSecret, string? scope) =>
        $"{tokenUrl}|{clientId}|{scope}|{Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(clientSecret)))}";

    private sealed record CachedToken(string AccessToken, DateTimeOffset ExpiresAt);
}

public sealed class OAuth2TokenException(string message) : Exception(message);
