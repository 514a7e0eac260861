using System.Security.Cryptography;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Instances;

namespace Integracoes.Grains.Instances;

public sealed class InstanceState
{
    public int Version { get; set; } = 1;
    public bool Exists { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public List<string> KeyIds { get; set; } = [];
    public int? RateLimitPerMinute { get; set; }
}

public sealed class InstanceGrain(
    [PersistentState("instance", GrainStorage.Name)] IPersistentState<InstanceState> state,
    TimeProvider time) : Grain, IInstanceGrain
{
    public async Task<Outcome<IssuedKey>> CreateAsync()
    {
        var name = this.GetPrimaryKeyString();
        if (!InstanceNames.IsValid(name))
        {
            return Outcome<IssuedKey>.Invalid("name", "name must be 2-63 characters: lower-case letters, digits, '-' or '_'.");
        }
        if (state.State.Exists)
        {
            return Outcome<IssuedKey>.Conflict("name", $"instance '{name}' already exists.");
        }

        var issued = await ApiKeys.IssueAsync(GrainFactory, name, KeyScope.Admin, "default");
        state.State.Exists = true;
        state.State.CreatedAt = time.GetUtcNow();
        state.State.KeyIds.Add(issued.KeyId);
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IInstanceDirectoryGrain>(0).AddAsync(name);
        return Outcome<IssuedKey>.Ok(issued);
    }

    public Task<InstanceView?> GetAsync() => Task.FromResult(state.State.Exists
        ? new InstanceView(this.GetPrimaryKeyString(), state.State.CreatedAt, [.. state.State.KeyIds], state.State.RateLimitPerMinute)
        : null);

    public async Task<InstanceView?> SetRateLimitAsync(int? perMinute)
    {
        if (!state.State.Exists) return null;
        state.State.RateLimitPerMinute = perMinute;
        await state.WriteStateAsync();
        // Each key carries its instance's limit, so checking a request costs no extra grain call.
        await Task.WhenAll(state.State.KeyIds.Select(id => GrainFactory.GetGrain<IApiKeyGrain>(id).SetRateLimitAsync(perMinute)));
        return await GetAsync();
    }
}

/// <summary>Creates key material: a random id naming the key's grain and a 256-bit secret stored only as its hash.</summary>
public static class ApiKeys
{
    public static async Task<IssuedKey> IssueAsync(IGrainFactory grains, string instance, KeyScope scope, string name)
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        await grains.GetGrain<IApiKeyGrain>(keyId).IssueAsync(instance, SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)), scope, name);
        return new IssuedKey(instance, keyId, ApiKeyFormat.Compose(keyId, secret), scope);
    }

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
