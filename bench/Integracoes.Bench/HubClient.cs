using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Integracoes.Bench;

/// <summary>The answer to one publish: 202 with the event id and the number of deliveries queued, or a failure.</summary>
public readonly record struct PublishAnswer(bool Accepted, Guid EventId, int Deliveries);

/// <summary>The hub's public HTTP API, as a partner system uses it.</summary>
public sealed class HubClient : IDisposable
{
    private static readonly Uri PublishPath = new("api/integracoes/disparar/", UriKind.Relative);

    // One small event, serialized once: the benchmark measures the hub, not the client's JSON writer.
    private static readonly byte[] EventBody = Encoding.UTF8.GetBytes(
        """{"evento":"nfe_importada","dados":{"chave":"35240112345678000199550010000012341000012345","numero":1234,"valor_total":1500.75}}""");

    private readonly HttpClient _http;
    private readonly string _adminKey;

    public HubClient(Uri baseUri, string adminKey)
    {
        _adminKey = adminKey;
        // Open-loop publishing may have hundreds of requests in flight: connections must not be the queue.
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1_024,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        })
        {
            BaseAddress = baseUri,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    /// <summary>POST /api/instances with the admin key; returns the new instance's API key.</summary>
    public async Task<string> CreateInstanceAsync(string name, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/instances") { Content = JsonContent.Create(new { name }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _adminKey);
        var created = await SendForJsonAsync(request, HttpStatusCode.Created, ct);

        // The benchmark's own instance is exempt from the per-key request limit (0 = unlimited).
        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"api/instances/{name}") { Content = JsonContent.Create(new { rate_limit_por_minuto = 0 }) };
        patch.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _adminKey);
        await SendForJsonAsync(patch, HttpStatusCode.OK, ct);
        return created.GetProperty("api_key").GetString()!;
    }

    /// <summary>POST /api/webhooks/: a subscription to every event.</summary>
    public async Task CreateWebhookAsync(string apiKey, string name, string url, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/webhooks/")
        {
            Content = JsonContent.Create(new Dictionary<string, object>
            {
                ["nome"] = name,
                ["url"] = url,
                ["eventos"] = "*",
                ["max_concorrencia"] = BenchOptions.MaxConcurrency,
            }),
        };
        request.Headers.Add("X-Api-Key", apiKey);
        await SendForJsonAsync(request, HttpStatusCode.Created, ct);
    }

    /// <summary>POST /api/integracoes/disparar/ with one small nfe_importada event.</summary>
    public async Task<PublishAnswer> PublishAsync(string apiKey, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, PublishPath) { Content = new ByteArrayContent(EventBody) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Headers.TryAddWithoutValidation("X-Api-Key", apiKey);
        using var response = await _http.SendAsync(request, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        if (response.StatusCode != HttpStatusCode.Accepted) return default;
        return ParseAccepted(body);
    }

    public void Dispose() => _http.Dispose();

    private static PublishAnswer ParseAccepted(byte[] body)
    {
        // {"id":"<uuid>","entregas":<n>}
        var reader = new Utf8JsonReader(body);
        Guid id = default;
        var deliveries = 0;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName) continue;
            if (reader.ValueTextEquals("id"u8) && reader.Read()) id = reader.GetGuid();
            else if (reader.ValueTextEquals("entregas"u8) && reader.Read()) deliveries = reader.GetInt32();
        }
        return new PublishAnswer(true, id, deliveries);
    }

    private async Task<JsonElement> SendForJsonAsync(HttpRequestMessage request, HttpStatusCode expected, CancellationToken ct)
    {
        using var response = await _http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{request.Method} {request.RequestUri} answered {(int)response.StatusCode}: {text}");
        }
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
