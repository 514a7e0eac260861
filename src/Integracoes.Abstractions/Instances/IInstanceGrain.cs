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

    /// <summary>Issues a new key; the answer is the only place its secret ever appears.</summary>
    [Alias("CreateKey")]
    Task<Outcome<IssuedKey>> CreateKeyAsync(KeySpec spec);

    /// <summary>Every key of the instance, revoked ones included; null when the instance does not exist.</summary>
    [Alias("ListKeys"), ReadOnly]
    Task<IReadOnlyList<ApiKeyView>?> ListKeysAsync();

    [Alias("UpdateKey")]
    Task<Outcome<ApiKeyView>> UpdateKeyAsync(string keyId, KeyPatch patch);

    /// <summary>Replaces a key's secret: the old one stops working at once, the id and settings stay.</summary>
    [Alias("RotateKey")]
    Task<Outcome<IssuedKey>> RotateKeyAsync(string keyId);

    [Alias("RevokeKey")]
    Task<Outcome<ApiKeyView>> RevokeKeyAsync(string keyId);
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

/// <summary>
/// One API key, keyed by its key id. Holds only the SHA-256 of the secret. Every request is verified
/// by this one activation, so a revocation or rotation holds on every silo from the next request on.
/// Managed through its instance's <see cref="IInstanceGrain"/>.
/// </summary>
[Alias("Integracoes.IApiKeyGrain")]
public interface IApiKeyGrain : IGrainWithStringKey
{
    [Alias("Issue")]
    Task IssueAsync(string instance, byte[] secretHash, KeySpec spec, int? instanceRateLimit);

    /// <summary>
    /// The key's identity when the secret matches, the key is neither revoked nor expired, and the
    /// client address is in its allowlist; otherwise null.
    /// </summary>
    [Alias("Verify"), ReadOnly]
    Task<KeyIdentity?> VerifyAsync(string secret, string? clientIp);

    [Alias("Get"), ReadOnly]
    Task<ApiKeyView?> GetAsync();

    [Alias("Update")]
    Task<ApiKeyView?> UpdateAsync(KeyPatch patch);

    [Alias("Rotate")]
    Task<ApiKeyView?> RotateAsync(byte[] secretHash);

    [Alias("Revoke")]
    Task<ApiKeyView?> RevokeAsync();

    /// <summary>The instance's limit, copied onto each key so checking a request costs one grain call.</summary>
    [Alias("SetRateLimit")]
    Task SetInstanceRateLimitAsync(int? perMinute);
}
