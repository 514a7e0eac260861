using System.Text.RegularExpressions;

namespace Integracoes.Abstractions.Instances;

/// <summary>What an API key may do.</summary>
[GenerateSerializer]
public enum KeyScope
{
    Read = 0,
    Write = 1,
    Admin = 2,
}

/// <summary>An instance (tenant) as shown to operators; never carries key material.</summary>
[GenerateSerializer, Immutable]
public sealed record InstanceView(
    [property: Id(0)] string Name,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] IReadOnlyList<string> KeyIds,
    [property: Id(3)] int? RateLimitPerMinute = null);

/// <summary>Returned once, when an instance or key is created: the only time the plaintext key exists.</summary>
[GenerateSerializer, Immutable]
public sealed record IssuedKey(
    [property: Id(0)] string Instance,
    [property: Id(1)] string KeyId,
    [property: Id(2)] string ApiKey,
    [property: Id(3)] KeyScope Scope);

/// <summary>Who a verified key belongs to.</summary>
[GenerateSerializer, Immutable]
public sealed record KeyIdentity(
    [property: Id(0)] string Instance,
    [property: Id(1)] string KeyId,
    [property: Id(2)] KeyScope Scope,
    [property: Id(3)] int? RateLimitPerMinute = null);

/// <summary>One request's share of a per-minute budget.</summary>
[GenerateSerializer, Immutable]
public sealed record RateLimitDecision(
    [property: Id(0)] bool Allowed,
    [property: Id(1)] int Limit,
    [property: Id(2)] int Remaining,
    [property: Id(3)] DateTimeOffset ResetAt);

public static partial class InstanceNames
{
    /// <summary>Lower-case letters, digits, '-' and '_', 2 to 63 characters, starting with a letter or digit.</summary>
    /// <remarks>"linhas" is taken by the production-line feed (<c>/ws/linhas</c>), which shares the <c>/ws/{instance}</c> space.</remarks>
    public static bool IsValid([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? name) => name is not null && Pattern().IsMatch(name) && name != "linhas";

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{1,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>
/// API key format: <c>intg_&lt;key id&gt;.&lt;secret&gt;</c>. The key id names the grain that holds the
/// hash, so verification is one grain call and never a scan.
/// </summary>
public static class ApiKeyFormat
{
    public const string Prefix = "intg_";

    public static string Compose(string keyId, string secret) => $"{Prefix}{keyId}.{secret}";

    public static bool TryParse(string? apiKey, out string keyId, out string secret)
    {
        keyId = secret = string.Empty;
        if (apiKey is null || apiKey.Length > 200 || !apiKey.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        var dot = apiKey.IndexOf('.', Prefix.Length);
        if (dot <= Prefix.Length || dot == apiKey.Length - 1)
        {
            return false;
        }
        keyId = apiKey[Prefix.Length..dot];
        secret = apiKey[(dot + 1)..];
        return keyId.All(char.IsAsciiHexDigitLower);
    }
}
