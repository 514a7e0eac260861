namespace Integracoes.Delivery.Webhooks;

/// <summary>A source of jitter in [0, 1), injected so tests are deterministic.</summary>
public interface IJitterSource
{
    double NextDouble();
}

public sealed class RandomJitterSource : IJitterSource
{
    public double NextDouble() => Random.Shared.NextDouble();
}

/// <summary>
/// When to try again. The schedule lists, per attempt, the wait before it in seconds (the first is
/// normally 0: immediately). Waits get ±20 % jitter so retries of many deliveries do not arrive in
/// lock step; a receiver's Retry-After is honoured, bounded to one hour.
/// </summary>
public sealed class RetryPlanner(IJitterSource jitter)
{
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    /// <summary>The time of the next attempt after <paramref name="attemptsMade"/> attempts, or null when the schedule is exhausted.</summary>
    public DateTimeOffset? NextAttempt(IReadOnlyList<int> schedule, int attemptsMade, DateTimeOffset now, TimeSpan? retryAfter)
    {
        if (attemptsMade >= schedule.Count)
        {
            return null;
        }
        var planned = TimeSpan.FromSeconds(schedule[attemptsMade] * (0.8 + 0.4 * jitter.NextDouble()));
        if (retryAfter is { } requested && requested > planned)
        {
            planned = requested > MaxRetryAfter ? MaxRetryAfter : requested;
        }
        return now + planned;
    }
}
