using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Integracoes.Abstractions.Instances;
using Integracoes.Api.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace Integracoes.Api.Security;

/// <summary>
/// ASP.NET Core rate limiting with the counters in grains (<see cref="IRateLimitGrain"/>), so a limit
/// holds across silos. Partitions: the API key (its instance's limit, or the operator's default), and the
/// client IP for requests without a key. Every limited /api/ answer gets X-RateLimit-Limit, -Remaining
/// and -Reset. The operator's admin key is not limited.
/// </summary>
public sealed class GrainRateLimiter(IGrainFactory grains, int defaultPerMinute, TimeProvider time) : PartitionedRateLimiter<HttpContext>
{
    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    // Never decided synchronously: the middleware then asks AcquireAsyncCore, which can call the grain.
    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) => Lease.Undecided;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext context, int permitCount, CancellationToken ct)
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
        {
            return Lease.Granted;
        }
        var user = context.User;
        if (user.IsInRole(Roles.Admin))
        {
            // The operator's own key is not a partner's: it is not throttled.
            return Lease.Granted;
        }
        var limit = int.TryParse(user.FindFirstValue(Claims.RateLimit), NumberStyles.None, CultureInfo.InvariantCulture, out var own) ? own : defaultPerMinute;
        if (limit == 0)
        {
            return Lease.Granted;
        }
        var partition = user.FindFirstValue(Claims.KeyId) is { } keyId ? "key:" + keyId : "ip:" + context.Connection.RemoteIpAddress;
        var decision = await grains.GetGrain<IRateLimitGrain>(partition).AcquireAsync(limit);
        context.Response.OnStarting(() =>
        {
            context.Response.Headers["X-RateLimit-Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
            context.Response.Headers["X-RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
            context.Response.Headers["X-RateLimit-Reset"] = decision.ResetAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        });
        return decision.Allowed ? Lease.Granted : new Lease(false, decision.ResetAt - time.GetUtcNow());
    }

    /// <summary>429 as problem+json, with Retry-After in whole seconds.</summary>
    public static async ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken ct)
    {
        var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 60;
        var response = rejected.HttpContext.Response;
        response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        response.StatusCode = StatusCodes.Status429TooManyRequests;
        await Problems.Field(StatusCodes.Status429TooManyRequests, "rate_limit",
            $"Too many requests: the limit is per minute; try again in {seconds} s.").ExecuteAsync(rejected.HttpContext);
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter = null) : RateLimitLease
    {
        public static readonly Lease Granted = new(true);
        public static readonly Lease Undecided = new(false);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
