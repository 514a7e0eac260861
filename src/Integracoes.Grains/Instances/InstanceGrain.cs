using System.Security.Cryptography;
using System.Text;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Instances;
using Integracoes.Grains.Audit;

namespace Integracoes.Grains.Instances;

public sealed class InstanceState
{
    public int Version { get; set; } = 1;
    public bool Exists { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public List<string> KeyIds { get; set; } = [];
    public int? RateLimitPerMinute { get; set; }
}

/// <summary>An instance and the lifecycle of its API keys; every change is recorded in the audit trail.</summary>
public sealed class InstanceGrain(
    [PersistentState("instance", GrainStorage.Name)] IPersistentState<InstanceState> state,
    Auditor audit,
    TimeProvider time) : Grain, IInstanceGrain
{
    private string Name => this.GetPrimaryKeyString();

    public async Task<Outcome<IssuedKey>> CreateAsync()
    {
        if (!InstanceNames.IsValid(Name))
        {
            return Outcome<IssuedKey>.Invalid("name", "name must be 2-63 characters: lower-case letters, digits, '-' or '_'.");
        }
        if (state.State.Exists)
        {
            return Outcome<IssuedKey>.Conflict("name", $"instance '{Name}' already exists.");
        }

        var issued = await ApiKeys.IssueAsync(GrainFactory, Name, new KeySpec("default", KeyScope.Admin), null);
        state.State.Exists = true;
        state.State.CreatedAt = time.GetUtcNow();
        state.State.KeyIds.Add(issued.KeyId);
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IInstanceDirectoryGrain>(0).AddAsync(Name);
        await audit.RecordAsync(Name, AuditActions.Create, AuditResources.Instance, Name, null, View());
        return Outcome<IssuedKey>.Ok(issued);
    }

    public Task<InstanceView?> GetAsync() => Task.FromResult(state.State.Exists ? View() : null);

    public async Task<InstanceView?> SetRateLimitAsync(int? perMinute)
    {
        if (!state.State.Exists) return null;
        var before = View();
        state.State.RateLimitPerMinute = perMinute;
        await state.WriteStateAsync();
        // Each key carries its instance's limit, so checking a request costs no extra grain call.
        await Task.WhenAll(state.State.KeyIds.Select(id => Key(id).SetInstanceRateLimitAsync(perMinute)));
        await audit.RecordAsync(Name, AuditActions.Update, AuditResources.Instance, Name, before, View());
        return View();
    }

    public async Task<Outcome<IssuedKey>> CreateKeyAsync(KeySpec spec)
    {
        if (!state.State.Exists) return Outcome<IssuedKey>.NotFound($"instance '{Name}' not found.");
        if (Validate(spec.Name, spec.ExpiresAt, spec.RateLimitPerMinute) is { } error) return Outcome<IssuedKey>.Invalid(error.Field, error.Message);
        if (!KeyRules.TryNormalizeAllowedIps(spec.AllowedIps, out var allowed, out var ipError)) return Outcome<IssuedKey>.Invalid(ipError.Field, ipError.Message);
        if (state.State.KeyIds.Count >= KeyRules.MaxKeysPerInstance)
        {
            return Outcome<IssuedKey>.Conflict("name", $"an instance holds at most {KeyRules.MaxKeysPerInstance} keys (revoked ones included).");
        }

        var issued = await ApiKeys.IssueAsync(GrainFactory, Name, spec with { AllowedIps = allowed }, state.State.RateLimitPerMinute);
        state.State.KeyIds.Add(issued.KeyId);
        await state.WriteStateAsync();
        await audit.RecordAsync(Name, AuditActions.Create, AuditResources.Key, issued.KeyId, null, await Key(issued.KeyId).GetAsync());
        return Outcome<IssuedKey>.Ok(issued);
    }

    public async Task<IReadOnlyList<ApiKeyView>?> ListKeysAsync()
    {
        if (!state.State.Exists) return null;
        var views = await Task.WhenAll(state.State.KeyIds.Select(id => Key(id).GetAsync()));
        return [.. views.OfType<ApiKeyView>()];
    }

    public async Task<Outcome<ApiKeyView>> UpdateKeyAsync(string keyId, KeyPatch patch)
    {
        if (!Owns(keyId)) return Outcome<ApiKeyView>.NotFound($"key '{keyId}' not found.");
        var before = (await Key(keyId).GetAsync())!;
        var error = Validate(patch.Name ?? before.Name, patch.SetsExpiresAt ? patch.ExpiresAt : null, patch.SetsRateLimit ? patch.RateLimitPerMinute : null);
        if (error is { } e) return Outcome<ApiKeyView>.Invalid(e.Field, e.Message);
        if (!KeyRules.TryNormalizeAllowedIps(patch.AllowedIps, out var allowed, out var ipError)) return Outcome<ApiKeyView>.Invalid(ipError.Field, ipError.Message);

        var after = (await Key(keyId).UpdateAsync(patch with { AllowedIps = patch.AllowedIps is null ? null : allowed }))!;
        await audit.RecordAsync(Name, AuditActions.Update, AuditResources.Key, keyId, before, after);
        return Outcome<ApiKeyView>.Ok(after);
    }

    public async Task<Outcome<IssuedKey>> RotateKeyAsync(string keyId)
    {
        if (!Owns(keyId)) return Outcome<IssuedKey>.NotFound($"key '{keyId}' not found.");
        var before = (await Key(keyId).GetAsync())!;
        var secret = ApiKeys.NewSecret();
        var after = await Key(keyId).RotateAsync(ApiKeys.Hash(secret));
        if (after is null) return Outcome<IssuedKey>.Conflict("key_id", "a revoked key cannot be rotated.");
        await audit.RecordAsync(Name, AuditActions.RotateSecret, AuditResources.Key, keyId, before, after);
        return Outcome<IssuedKey>.Ok(new IssuedKey(Name, keyId, ApiKeyFormat.Compose(keyId, secret), after.Scope));
    }

    public async Task<Outcome<ApiKeyView>> RevokeKeyAsync(string keyId)
    {
        if (!Owns(keyId)) return Outcome<ApiKeyView>.NotFound($"key '{keyId}' not found.");
        var before = (await Key(keyId).GetAsync())!;
        var after = (await Key(keyId).RevokeAsync())!;
        if (before.RevokedAt is null)
        {
            await audit.RecordAsync(Name, AuditActions.Revoke, AuditResources.Key, keyId, before, after);
        }
        return Outcome<ApiKeyView>.Ok(after);
    }

    private (string Field, string Message)? Validate(string name, DateTimeOffset? expiresAt, int? rateLimit) =>
        KeyRules.ValidateName(name) ?? KeyRules.ValidateExpiry(expiresAt, time.GetUtcNow()) ?? KeyRules.ValidateRateLimit(rateLimit);

    private bool Owns(string keyId) => state.State.Exists && state.State.KeyIds.Contains(keyId);

    private IApiKeyGrain Key(string keyId) => GrainFactory.GetGrain<IApiKeyGrain>(keyId);

    private InstanceView View() => new(Name, state.State.CreatedAt, [.. state.State.KeyIds], state.State.RateLimitPerMinute);
}

/// <summary>Creates key material: a random id naming the key's grain and a 256-bit secret stored only as its hash.</summary>
public static class ApiKeys
{
    public static async Task<IssuedKey> IssueAsync(IGrainFactory grains, string instance, KeySpec spec, int? instanceRateLimit)
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = NewSecret();
        await grains.GetGrain<IApiKeyGrain>(keyId).IssueAsync(instance, Hash(secret), spec, instanceRateLimit);
        return new IssuedKey(instance, keyId, ApiKeyFormat.Compose(keyId, secret), spec.Scope);
    }

    public static string NewSecret() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}
