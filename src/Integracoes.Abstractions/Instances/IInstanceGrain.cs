using Integracoes.Abstractions.Common;
using Orleans.Concurrency;

namespace Integracoes.Abstractions.Instances;

/// <summary>An instance (tenant), keyed by its name. Owns the list of its API keys.</summary>
[Alias("Integracoes.IInstanceGrain")]
public interface IInstanceGrain : IGrainWithStringKey
{
    /// <summary>Creates the instance and its first key (scope admin). Conflict when it already exists.</summary>
    [Alias("Create")]
    Task<Outcome<IssuedKey>> CreateAsync();

    [Alias("Get")]
    Task<InstanceView?> GetAsync();

    /// <summary>Requests per minute for each of the instance's keys; null = the operator's default, 0 = unlimited.</summary>
    [Alias("SetRateLimit")]
    Task<InstanceView?> SetRateLimitAsync(int? perMinute);
}

/// <summary>
/// A fixed one-minute request budget for one partition (an API key, or a client IP), keyed by the
/// partition. One activation in the cluster, so the count holds across silos.
/// </summary>
[Alias("Integracoes.IRateLimitGrain")]
public interface IRateLimitGrain : IGrainWithStringKey
{
    [Alias("Acquire")]
    Task<RateLimitDecision> AcquireAsync(int limitPerMinute);
}

/// <summary>The list of every instance, for operators. A single activation keyed 0.</summary>
[Alias("Integracoes.IInstanceDirectoryGrain")]
public interface IInstanceDirectoryGrain : IGrainWithIntegerKey
{
    [Alias("Add")]
    Task AddAsync(string name);

    [Alias("List")]
    Task<IReadOnlyList<string>> ListAsync();
}

/// <summary>One API key, keyed by its key id. Holds only the SHA-256 of the secret.</summary>
[Alias("Integracoes.IApiKeyGrain")]
public interface IApiKeyGrain : IGrainWithStringKey
{
    [Alias("Issue")]
    Task IssueAsync(string instance, byte[] secretHash, KeyScope scope, string name);

    /// <summary>The key's identity when the secret matches and the key is active; otherwise null.</summary>
    [Alias("Verify"), ReadOnly]
    Task<KeyIdentity?> VerifyAsync(string secret);

    [Alias("SetRateLimit")]
    Task SetRateLimitAsync(int? perMinute);
}
