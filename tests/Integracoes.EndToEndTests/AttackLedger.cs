using System.Collections.Concurrent;
using System.Text.Json;

namespace Integracoes.EndToEndTests;

/// <summary>What came back from one attack request.</summary>
internal sealed record Answer(int Status, string? MediaType, string Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>One attack request: who sends what where, and what the answer must be (null = acceptable).</summary>
internal sealed record Attack(
    string Category,
    HttpClient Client,
    string Method,
    string Path,
    Func<HttpContent?>? Content,
    Func<Answer, string?> Check,
    Action<HttpRequestMessage>? Configure = null,
    string? Label = null);

/// <summary>
/// Sends attacks with modest parallelism, counts them per category and collects every wrong answer
/// instead of stopping at the first, so one run shows every problem. A 5xx, a timeout or a broken
/// connection is always wrong, whatever the attack expected.
/// </summary>
internal sealed class AttackLedger
{
    private const int Parallelism = 8;

    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private int _refusedByServer;

    public IReadOnlyDictionary<string, int> Counts => _counts;

    public IReadOnlyCollection<string> Failures => _failures;

    public int Total => _counts.Values.Sum();

    /// <summary>Answers Kestrel gave without running the application (malformed HTTP).</summary>
    public int RefusedByServer => _refusedByServer;

    public void Fail(string category, string what, string why) => _failures.Enqueue($"[{category}] {what}: {why}");

    /// <summary>Counts a check that is not an HTTP request of its own (a read-back compared with what was stored).</summary>
    public void Count(string category) => _counts.AddOrUpdate(category, 1, (_, n) => n + 1);

    public Task RunAsync(IEnumerable<Attack> attacks) =>
        Parallel.ForEachAsync(attacks, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (attack, ct) => await SendAsync(attack));

    public async Task<Answer?> SendAsync(Attack attack)
    {
        Count(attack.Category);
        var what = $"{attack.Method} {Shorten(attack.Path)}" + (attack.Label is null ? "" : $" [{attack.Label}]");
        try
        {
            using var request = new HttpRequestMessage(new HttpMethod(attack.Method), attack.Path) { Content = attack.Content?.Invoke() };
            attack.Configure?.Invoke(request);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            using var response = await attack.Client.SendAsync(request, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            var headers = response.Headers.Concat(response.Content.Headers)
                .GroupBy(h => h.Key, StringComparer.OrdinalIgnoreCase)
                .ToDictionary(g => g.Key, g => string.Join(",", g.SelectMany(h => h.Value)), StringComparer.OrdinalIgnoreCase);
            var answer = new Answer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body, headers);
            if (!headers.ContainsKey("X-Response-Time")) Interlocked.Increment(ref _refusedByServer);
            var why = answer.Status >= 500 ? "server error" : attack.Check(answer);
            if (why is not null)
            {
                Fail(attack.Category, what, $"{why} (got {answer.Status} {answer.MediaType}: {Shorten(body)})");
            }
            return answer;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            Fail(attack.Category, what, $"no answer: {e.GetType().Name} {e.Message}");
            return null;
        }
    }

    public static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + $"... ({text.Length} chars)";
}

/// <summary>The checks attacks combine.</summary>
internal static class Expect
{
    public static Func<Answer, string?> All(params Func<Answer, string?>[] checks) => a => checks.Select(c => c(a)).FirstOrDefault(r => r is not null);

    public static Func<Answer, string?> Status(params int[] statuses) => a => statuses.Contains(a.Status) ? null : $"expected {string.Join(" or ", statuses)}";

    public static readonly Func<Answer, string?> NotServerError = a => a.Status < 500 ? null : "server error";

    public static readonly Func<Answer, string?> ClientError = a => a.Status is >= 400 and < 500 ? null : "expected a 4xx";

    /// <summary>
    /// Every 4xx the application writes is RFC 9457 problem+json whose status matches. Kestrel refuses a
    /// request it cannot parse (a NUL in the decoded path, say) with a bare 400 before any middleware
    /// runs; such answers lack the X-Response-Time header the application puts on every response.
    /// </summary>
    public static readonly Func<Answer, string?> ProblemWhenRefused = a =>
    {
        if (a.Status is < 400 or >= 500) return null;
        if (!a.Headers.ContainsKey("X-Response-Time")) return a.Status == 400 && a.Body.Length == 0 ? null : "a refusal that did not come from the application";
        if (a.MediaType != "application/problem+json") return "a refusal without application/problem+json";
        try
        {
            using var doc = JsonDocument.Parse(a.Body);
            return doc.RootElement.TryGetProperty("status", out var s) && s.TryGetInt32(out var status) && status == a.Status
                ? null
                : "problem+json whose status does not match";
        }
        catch (JsonException)
        {
            return "problem+json that is not JSON";
        }
    };

    /// <summary>The answer mentions none of another instance's data.</summary>
    public static Func<Answer, string?> NoneOf(IReadOnlyCollection<string> secrets) => a =>
        secrets.FirstOrDefault(s => a.Body.Contains(s, StringComparison.Ordinal)) is { } leaked ? $"the answer contains another instance's data '{leaked}'" : null;

    public static readonly Func<Answer, string?> Challenge = a =>
        a.Headers.ContainsKey("WWW-Authenticate") ? null : "a 401 without WWW-Authenticate";
}
