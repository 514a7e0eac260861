using System.Security.Cryptography;
using System.Text;
using Integracoes.Abstractions.Instances;

namespace Integracoes.Grains.Instances;

public sealed class ApiKeyState
{
    public int Version { get; set; } = 1;
    public string? Instance { get; set; }
    public byte[]? SecretHash { get; set; }
    public KeyScope Scope { get; set; }
    public string? Name { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public int? RateLimitPerMinute { get; set; }
}

public sealed class ApiKeyGrain(
    [PersistentState("apikey", GrainStorage.Name)] IPersistentState<ApiKeyState> state,
    TimeProvider time) : Grain, IApiKeyGrain
{
    public async Task IssueAsync(string instance, byte[] secretHash, KeyScope scope, string name)
    {
        if (state.State.SecretHash is not null)
        {
            // Key ids are 64 random bits; a collision means a bug, never a reason to overwrite a key.
            throw new InvalidOperationException("API key id already in use.");
        }
        state.State.Instance = instance;
        state.State.SecretHash = secretHash;
        state.State.Scope = scope;
        state.State.Name = name;
        state.State.CreatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
    }

    public Task<KeyIdentity?> VerifyAsync(string secret)
    {
        var s = state.State;
        if (s.SecretHash is null || s.Instance is null || s.RevokedAt is not null)
        {
            return Task.FromResult<KeyIdentity?>(null);
        }
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        return Task.FromResult(CryptographicOperations.FixedTimeEquals(presented, s.SecretHash)
            ? new KeyIdentity(s.Instance, this.GetPrimaryKeyString(), s.Scope, s.RateLimitPerMinute)
            : null);
    }

    public async Task SetRateLimitAsync(int? perMinute)
    {
        state.State.RateLimitPerMinute = perMinute;
        await state.WriteStateAsync();
    }
}
