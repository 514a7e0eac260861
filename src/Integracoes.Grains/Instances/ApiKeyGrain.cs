using System.Net;
using System.Security.Cryptography;
using System.Text;
using Integracoes.Abstractions.Instances;

namespace Integracoes.Grains.Instances;

public sealed class ApiKeyState
{
    public int Version { get; set; } = 2;
    public string? Instance { get; set; }
    public byte[]? SecretHash { get; set; }
    public KeyScope Scope { get; set; }
    public string? Name { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public List<string> AllowedIps { get; set; } = [];
    public DateTimeOffset? RotatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>The instance's limit (copied here by the instance grain).</summary>
    public int? RateLimitPerMinute { get; set; }

    /// <summary>This key's own limit, which wins over the instance's.</summary>
    public int? OwnRateLimitPerMinute { get; set; }
}

public sealed class ApiKeyGrain(
    [PersistentState("apikey", GrainStorage.Name)] IPersistentState<ApiKeyState> state,
    TimeProvider time) : Grain, IApiKeyGrain
{
    private IReadOnlyList<IPNetwork> _allowlist = [];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        ParseAllowlist();
        return Task.CompletedTask;
    }

    public async Task IssueAsync(string instance, byte[] secretHash, KeySpec spec, int? instanceRateLimit)
    {
        if (state.State.SecretHash is not null)
        {
            // Key ids are 64 random bits; a collision means a bug, never a reason to overwrite a key.
            throw new InvalidOperationException("API key id already in use.");
        }
        var s = state.State;
        s.Instance = instance;
        s.SecretHash = secretHash;
        s.Scope = spec.Scope;
        s.Name = spec.Name;
        s.CreatedAt = time.GetUtcNow();
        s.ExpiresAt = spec.ExpiresAt;
        s.AllowedIps = [.. spec.AllowedIps ?? []];
        s.RateLimitPerMinute = instanceRateLimit;
        s.OwnRateLimitPerMinute = spec.RateLimitPerMinute;
        await state.WriteStateAsync();
        ParseAllowlist();
    }

    public Task<KeyIdentity?> VerifyAsync(string secret, string? clientIp)
    {
        var s = state.State;
        if (s.SecretHash is null || s.Instance is null || s.RevokedAt is not null || s.ExpiresAt <= time.GetUtcNow())
        {
            return Task.FromResult<KeyIdentity?>(null);
        }
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        // Constant time over equal-length hashes; the allowlist is checked only after the secret matched.
        if (!CryptographicOperations.FixedTimeEquals(presented, s.SecretHash) || !KeyRules.IsAllowed(_allowlist, clientIp))
        {
            return Task.FromResult<KeyIdentity?>(null);
        }
        return Task.FromResult<KeyIdentity?>(new KeyIdentity(s.Instance, this.GetPrimaryKeyString(), s.Scope, s.OwnRateLimitPerMinute ?? s.RateLimitPerMinute));
    }

    public Task<ApiKeyView?> GetAsync() => Task.FromResult(ToView());

    public async Task<ApiKeyView?> UpdateAsync(KeyPatch patch)
    {
        var s = state.State;
        if (s.SecretHash is null) return null;
        if (patch.Name is not null) s.Name = patch.Name;
        if (patch.Scope is { } scope) s.Scope = scope;
        if (patch.SetsExpiresAt) s.ExpiresAt = patch.ExpiresAt;
        if (patch.AllowedIps is not null) s.AllowedIps = [.. patch.AllowedIps];
        if (patch.SetsRateLimit) s.OwnRateLimitPerMinute = patch.RateLimitPerMinute;
        await state.WriteStateAsync();
        ParseAllowlist();
        return ToView();
    }

    public async Task<ApiKeyView?> RotateAsync(byte[] secretHash)
    {
        if (state.State.SecretHash is null || state.State.RevokedAt is not null) return null;
        state.State.SecretHash = secretHash;
        state.State.RotatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return ToView();
    }

    public async Task<ApiKeyView?> RevokeAsync()
    {
        if (state.State.SecretHash is null) return null;
        state.State.RevokedAt ??= time.GetUtcNow();
        await state.WriteStateAsync();
        return ToView();
    }

    public async Task SetInstanceRateLimitAsync(int? perMinute)
    {
        state.State.RateLimitPerMinute = perMinute;
        await state.WriteStateAsync();
    }

    private ApiKeyView? ToView()
    {
        var s = state.State;
        if (s.SecretHash is null || s.Instance is null) return null;
        var status = s.RevokedAt is not null ? "revogada" : s.ExpiresAt <= time.GetUtcNow() ? "expirada" : "ativa";
        return new ApiKeyView(this.GetPrimaryKeyString(), s.Instance, s.Name ?? "", s.Scope, s.CreatedAt, s.ExpiresAt,
            [.. s.AllowedIps], s.OwnRateLimitPerMinute, s.RotatedAt, s.RevokedAt, status);
    }

    private void ParseAllowlist()
    {
        var parsed = new List<IPNetwork>();
        foreach (var text in state.State.AllowedIps)
        {
            if (KeyRules.TryParseNetwork(text, out var network)) parsed.Add(network);
        }
        // Entries are validated before they are stored; should one still not parse, fail closed rather
        // than let a shorter (or empty, allow-all) list through.
        _allowlist = parsed.Count == state.State.AllowedIps.Count ? parsed : [new IPNetwork(IPAddress.IPv6None, 128)];
    }
}
