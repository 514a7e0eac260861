using Integracoes.Abstractions.Instances;

namespace Integracoes.Grains.Instances;

/// <summary>
/// A fixed one-minute window, in memory: a restart forgives at most one minute of budget, which is not
/// worth a database write per request. One activation per partition holds the count for every silo.
/// </summary>
public sealed class RateLimitGrain(TimeProvider time) : Grain, IRateLimitGrain
{
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private int _used;

    public Task<RateLimitDecision> AcquireAsync(int limitPerMinute)
    {
        var now = time.GetUtcNow();
        if (now - _windowStart >= TimeSpan.FromMinutes(1))
        {
            _windowStart = now;
            _used = 0;
        }
        var allowed = _used < limitPerMinute;
        if (allowed) _used++;
        return Task.FromResult(new RateLimitDecision(allowed, limitPerMinute, Math.Max(0, limitPerMinute - _used), _windowStart.AddMinutes(1)));
    }
}
