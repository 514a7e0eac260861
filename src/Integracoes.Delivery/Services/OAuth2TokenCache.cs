using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Integracoes.Delivery.Http;

namespace Integracoes.Delivery.Services;

/// <summary>
/// OAuth 2.0 access tokens, fetched from a token endpoint and kept in memory until shortly before they
/// expire: client credentials (RFC 6749 §4.4) for services with auth_type oauth2_client_credentials, and
/// the resource owner password grant (§4.3) that TOTVS Protheus REST uses. One fetch at a time per
/// client, so a burst of calls does not stampede the token endpoint.
/// </summary>
public sealed class OAuth2TokenCache(IHttpClientFactory httpClientFactory, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, CachedToken> _tokens = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();

    public Task<string> GetTokenAsync(Uri tokenUrl, string clientId, string clientSecret, string? scope, CancellationToken ct) =>
        GetAsync(ClientCredentials(tokenUrl, clientId, clientSecret, scope), ct);

    /// <summary>Forgets a token the service rejected (401), so the next call fetches a new one.</summary>
    public void Invalidate(Uri tokenUrl, string clientId, string clientSecret, string? scope) =>
        _tokens.TryRemove(ClientCredentials(tokenUrl, clientId, clientSecret, scope).CacheKey, out _);

    /// <summary>A token for a user: <c>POST tokenUrl</c> with the form <c>grant_type=password&amp;username=&amp;password=</c>.</summary>
    public Task<string> GetPasswordTokenAsync(Uri tokenUrl, string username, string password, CancellationToken ct) =>
        GetAsync(PasswordGrant(tokenUrl, username, password), ct);

    public void InvalidatePassword(Uri tokenUrl, string username, string password) =>
        _tokens.TryRemove(PasswordGrant(tokenUrl, username, password).CacheKey, out _);

    private async Task<string> GetAsync(TokenGrant grant, CancellationToken ct)
    {
        var key = grant.CacheKey;
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
            var fresh = await RequestAsync(grant, ct);
            _tokens[key] = fresh;
            return fresh.AccessToken;
        }
        finally
        {
            gate.Release();
        }
    }

    private static TokenGrant ClientCredentials(Uri tokenUrl, string clientId, string clientSecret, string? scope)
    {
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        if (!string.IsNullOrEmpty(scope))
        {
            form.Add(new("scope", scope));
        }
        // client_secret_basic: both parts form-urlencoded before base64, as RFC 6749 §2.3.1 says.
        var basic = $"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(clientSecret)}";
        return new TokenGrant(tokenUrl, form, Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)),
            $"cc|{tokenUrl}|{clientId}|{scope}|{Hash(clientSecret)}");
    }

    private static TokenGrant PasswordGrant(Uri tokenUrl, string username, string password) => new(tokenUrl,
        [new("grant_type", "password"), new("username", username), new("password", password)], null,
        $"pw|{tokenUrl}|{username}|{Hash(password)}");

    private async Task<CachedToken> RequestAsync(TokenGrant grant, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, grant.TokenUrl) { Content = new FormUrlEncodedContent(grant.Form) };
        if (grant.BasicAuth is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", grant.BasicAuth);
        }
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

    private static string Hash(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>One way of asking for a token; the cache key holds a hash of the secret, never the secret.</summary>
    private sealed record TokenGrant(Uri TokenUrl, List<KeyValuePair<string, string>> Form, string? BasicAuth, string CacheKey);

    private sealed record CachedToken(string AccessToken, DateTimeOffset ExpiresAt);
}

public sealed class OAuth2TokenException(string message) : Exception(message);
