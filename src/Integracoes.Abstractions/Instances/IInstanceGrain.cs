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
}
