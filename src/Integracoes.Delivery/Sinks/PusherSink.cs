using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Delivery.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace Integracoes.Delivery.Sinks;

/// <summary>
/// Pusher Channels, or any server speaking its HTTP API (soketi): each event is triggered on channel =
/// instance under its own name, with the envelope JSON as the event's data, by a signed
/// <c>POST /apps/{app_id}/events</c> (<see cref="PusherSigner"/>). Pusher refuses data over 10 KB, so
/// such an event goes straight to the dead-letter queue with the reason instead of being retried.
/// </summary>
public sealed class PusherSink(IHttpClientFactory httpClientFactory, SinkConnections connections, TimeProvider time) : IEventSink
{
    /// <summary>Its own client: the Pusher host is the operator's, not a partner URL, so the SSRF policy of outbound calls does not apply.</summary>
    public const string ClientName = "integracoes-pusher";

    /// <summary>Pusher's limit on an event's data: 10 KB.</summary>
    public const int MaxDataBytes = 10 * 1024;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public string Kind => SinkKinds.Pusher;

    private string AppPath => "/apps/" + connections.PusherAppId;

    public async Task<string?> ProblemAsync(CancellationToken ct)
    {
        // A signed read of the app's channels: proves the server answers and takes the app id, key and secret.
        var (status, body, error) = await CallAsync(HttpMethod.Get, AppPath + "/channels", [], ct);
        if (error is not null) return $"the Pusher server is not reachable: {error}";
        var (outcome, code, message) = Classify(status, body);
        return outcome == AttemptOutcome.Delivered
            ? null
            : $"the Pusher server refused a signed request (code {code}{(message is null ? "" : ": " + message)}): check INTEGRACOES_PUSHER_URL, _APP_ID, _KEY and _SECRET.";
    }

    public async Task<AttemptResult> SendAsync(SinkMessage message, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        if (message.Body.Length > MaxDataBytes)
        {
            // Retrying cannot make it smaller, and dropping it would lose it: dead letter, with the reason.
            return new AttemptResult(AttemptOutcome.DeadLetter, null, AttemptTiming.Since(started), null,
                $"payload of {message.Body.Length} bytes exceeds Pusher's 10 KB limit ({MaxDataBytes} bytes)", null);
        }
        var body = TriggerBody(message);
        var (status, response, error) = await CallAsync(HttpMethod.Post, AppPath + "/events", body, ct);
        if (error is not null) return new AttemptResult(AttemptOutcome.Retry, null, AttemptTiming.Since(started), null, "Pusher: " + error, null);
        var (outcome, code, reason) = Classify(status, response);
        return new AttemptResult(outcome, status, AttemptTiming.Since(started), response,
            outcome == AttemptOutcome.Delivered ? null : Describe(status, code, reason), null);
    }

    /// <summary><c>{"name": event, "channels": [instance], "data": "&lt;envelope&gt;"}</c>: Pusher's data is a string.</summary>
    public static byte[] TriggerBody(SinkMessage message)
    {
        using var buffer = new MemoryStream(message.Body.Length + 128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("name", message.Evento);
            writer.WriteStartArray("channels");
            writer.WriteStringValue(message.Instance);
            writer.WriteEndArray();
            writer.WriteString("data", Encoding.UTF8.GetString(message.Body));
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// What an answer means. soketi refuses with HTTP 200 and <c>{"error": ..., "code": 401}</c> in the body,
    /// so a 2xx counts as delivered only without an error in it; otherwise the body's code decides.
    /// 413 (data too large): dead letter. 401, 403 (credentials, app disabled or over quota), 404 (unknown
    /// app), 3xx, 408, 425, 429, 5xx: the operator's or the server's problem, retried. Other 4xx: rejected.
    /// </summary>
    public static (AttemptOutcome Outcome, int Code, string? Message) Classify(int status, string? body)
    {
        var (bodyCode, message) = ReadError(body);
        var code = status;
        if (status is >= 200 and < 300)
        {
            if (message is null && bodyCode is null) return (AttemptOutcome.Delivered, status, null);
            // An error in a 2xx answer without a code of its own: not delivered, and nothing says it is final.
            code = bodyCode ?? 500;
        }
        var outcome = code switch
        {
            413 => AttemptOutcome.DeadLetter,
            401 or 403 or 404 or 408 or 425 or 429 or >= 500 or (>= 300 and < 400) => AttemptOutcome.Retry,
            >= 400 => AttemptOutcome.Rejected,
            _ => AttemptOutcome.Retry,
        };
        return (outcome, code, message);
    }

    private static (int? Code, string? Message) ReadError(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return (null, null);
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("error", out var error)) return (null, null);
            int? code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var n) ? n : null;
            return (code, error.ValueKind == JsonValueKind.String ? error.GetString() : error.GetRawText());
        }
        catch (JsonException)
        {
            // Pusher answers 4xx with plain text: the status code says enough.
            return (null, null);
        }
    }

    private static string Describe(int status, int code, string? reason) =>
        $"Pusher: HTTP {status}{(code != status ? $" (code {code} in the body)" : "")}{(reason is null ? "" : ": " + reason)}";

    /// <summary>One signed request; network errors and timeouts come back as <c>Error</c>, never thrown.</summary>
    private async Task<(int Status, string? Body, string? Error)> CallAsync(HttpMethod method, string path, byte[] body, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        try
        {
            var query = PusherSigner.SignedQuery(method.Method, path, connections.PusherKey!, connections.PusherSecret!,
                time.GetUtcNow().ToUnixTimeSeconds(), body);
            using var request = new HttpRequestMessage(method, new Uri(connections.PusherUrl!.TrimEnd('/') + path + "?" + query));
            if (body.Length > 0)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            }
            var client = httpClientFactory.CreateClient(ClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return ((int)response.StatusCode, await WebhookSender.ReadBoundedAsync(response, timeout.Token), null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (0, null, $"timeout after {Timeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException)
        {
            return (0, null, $"network error: {e.Message}");
        }
    }

    /// <summary>The named client: no redirects, no proxy, pooled connections renewed every 5 minutes.</summary>
    public static IServiceCollection AddPusherHttp(IServiceCollection services)
    {
        services.AddHttpClient(ClientName, client =>
            {
                client.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("Integracoes/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                UseProxy = false,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.All,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
            })
            .RemoveAllLoggers();
        return services;
    }
}
