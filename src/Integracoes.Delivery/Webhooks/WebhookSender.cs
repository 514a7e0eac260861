using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Integracoes.Delivery.Http;

namespace Integracoes.Delivery.Webhooks;

/// <summary>How an attempt ended, which decides what happens to the delivery next.</summary>
public enum AttemptOutcome
{
    Delivered,
    Retry,
    Rejected,
    Gone,

    /// <summary>
    /// This message can never be delivered as it is (a sink's size limit, say) although the destination
    /// works: straight to the dead-letter queue, from where it can be redriven, without retries and
    /// without counting against the destination (no failure streak, no disabling, no circuit breaker).
    /// </summary>
    DeadLetter,
}

public sealed record WebhookMessage(
    string MessageId,
    string Evento,
    byte[] Body,
    Uri Url,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<string> Secrets,
    TimeSpan Timeout);

public sealed record AttemptResult(
    AttemptOutcome Outcome,
    int? StatusCode,
    double DurationMs,
    string? ResponseBody,
    string? Error,
    TimeSpan? RetryAfter);

/// <summary>
/// Sends one signed webhook POST and classifies the answer: 2xx delivered; 408, 425, 429, 5xx, timeouts
/// and network errors retry (honouring Retry-After); 410 means the endpoint is gone; any other 4xx is a
/// final rejection. Never throws for what the receiver does.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory httpClientFactory, TimeProvider time)
{
    public const int MaxResponseBytes = 4 * 1024;

    public async Task<AttemptResult> SendAsync(WebhookMessage message, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(message.Timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, message.Url);
            foreach (var (name, value) in message.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
            SetHeader(request, "webhook-id", message.MessageId);
            SetHeader(request, "webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
            SetHeader(request, "webhook-signature", WebhookSigner.SignatureHeader(message.Secrets, message.MessageId, timestamp, message.Body));
            SetHeader(request, "X-Webhook-Signature", WebhookSigner.BodySignature(message.Secrets[0], message.Body));
            SetHeader(request, "X-Webhook-Event", message.Evento);
            request.Content = new ByteArrayContent(message.Body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };

            var client = httpClientFactory.CreateClient(OutboundHttp.ClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var body = await ReadBoundedAsync(response, timeout.Token);
            var status = (int)response.StatusCode;
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            return new AttemptResult(Classify(status), status, elapsed, body, Classify(status) == AttemptOutcome.Delivered ? null : $"HTTP {status}",
                RetryAfter(response));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Failure(started, $"timeout after {message.Timeout.TotalSeconds:0.###} s");
        }
        catch (HttpRequestException e) when (e.InnerException is OutboundTargetBlockedException blocked)
        {
            return new AttemptResult(AttemptOutcome.Rejected, null, Stopwatch.GetElapsedTime(started).TotalMilliseconds, null, blocked.Message, null);
        }
        catch (HttpRequestException e)
        {
            return Failure(started, $"network error: {e.Message}");
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            // The receiver broke the connection mid-body or sent a body that does not decode.
            return Failure(started, $"network error: {e.Message}");
        }
    }

    public static AttemptOutcome Classify(int status) => status switch
    {
        >= 200 and < 300 => AttemptOutcome.Delivered,
        410 => AttemptOutcome.Gone,
        408 or 425 or 429 or >= 500 => AttemptOutcome.Retry,
        _ => AttemptOutcome.Rejected,
    };

    private static void SetHeader(HttpRequestMessage request, string name, string value)
    {
        request.Headers.Remove(name);
        request.Headers.TryAddWithoutValidation(name, value);
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response) => RetryAfter(response, time);

    /// <summary>The wait a <c>Retry-After</c> header asks for (seconds or an HTTP date), if any.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date) return date - time.GetUtcNow();
        return null;
    }

    internal static async Task<string?> ReadBoundedAsync(HttpResponseMessage response, CancellationToken ct, int maxBytes = MaxResponseBytes)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[maxBytes];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), ct)) > 0)
        {
            read += n;
        }
        // PostgreSQL text cannot hold NUL: a receiver must not be able to make the attempt log unwritable.
        return read == 0 ? null : Encoding.UTF8.GetString(buffer, 0, read).Replace('\0', '\uFFFD');
    }

    private static AttemptResult Failure(long started, string error) =>
        new(AttemptOutcome.Retry, null, Stopwatch.GetElapsedTime(started).TotalMilliseconds, null, error, null);
}
