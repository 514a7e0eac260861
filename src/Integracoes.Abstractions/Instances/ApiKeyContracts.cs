using System.Net;
using System.Net.Sockets;
using Integracoes.Abstractions.Common;

namespace Integracoes.Abstractions.Instances;

/// <summary>What a new key may do, and from where, chosen when it is created.</summary>
[GenerateSerializer, Immutable]
public sealed record KeySpec(
    [property: Id(0)] string Name,
    [property: Id(1)] KeyScope Scope,
    [property: Id(2)] DateTimeOffset? ExpiresAt = null,
    [property: Id(3)] IReadOnlyList<string>? AllowedIps = null,
    [property: Id(4)] int? RateLimitPerMinute = null);

/// <summary>A partial update of a key: only the fields marked as present change; a present null clears.</summary>
[GenerateSerializer, Immutable]
public sealed record KeyPatch(
    [property: Id(0)] string? Name = null,
    [property: Id(1)] KeyScope? Scope = null,
    [property: Id(2)] bool SetsExpiresAt = false,
    [property: Id(3)] DateTimeOffset? ExpiresAt = null,
    [property: Id(4)] IReadOnlyList<string>? AllowedIps = null,
    [property: Id(5)] bool SetsRateLimit = false,
    [property: Id(6)] int? RateLimitPerMinute = null);

/// <summary>A key as listed: everything but the secret, which exists only in the answer that created it.</summary>
[GenerateSerializer, Immutable]
public sealed record ApiKeyView(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string Instance,
    [property: Id(2)] string Name,
    [property: Id(3)] KeyScope Scope,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset? ExpiresAt,
    [property: Id(6)] IReadOnlyList<string> AllowedIps,
    [property: Id(7)] int? RateLimitPerMinute,
    [property: Id(8)] DateTimeOffset? RotatedAt,
    [property: Id(9)] DateTimeOffset? RevokedAt,
    [property: Id(10)] string Status);

/// <summary>The rules every key's settings must follow, shared by the API (early 400s) and the grains.</summary>
public static class KeyRules
{
    public const int MaxNameLength = 100;
    public const int MaxAllowedIps = 50;
    public const int MaxKeysPerInstance = 50;
    public const int MaxRateLimitPerMinute = 1_000_000;
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(3_660);

    public static (string Field, string Message)? ValidateName(string? name) =>
        string.IsNullOrWhiteSpace(name) || name.Length > MaxNameLength || name.Any(char.IsControl)
            ? ("name", $"name is required: 1-{MaxNameLength} characters, no control characters.")
            : null;

    public static (string Field, string Message)? ValidateExpiry(DateTimeOffset? expiresAt, DateTimeOffset now) =>
        expiresAt is { } at && (at <= now || at - now > MaxLifetime)
            ? ("expires_at", "expires_at must be in the future and at most 10 years away.")
            : null;

    public static (string Field, string Message)? ValidateRateLimit(int? perMinute) =>
        perMinute is < 0 or > MaxRateLimitPerMinute
            ? ("rate_limit_por_minuto", $"rate_limit_por_minuto must be 0 (unlimited) to {MaxRateLimitPerMinute}.")
            : null;

    /// <summary>
    /// Parses an allowlist of addresses and CIDR blocks into canonical CIDR text ("203.0.113.7" becomes
    /// "203.0.113.7/32"). A block with host bits set is refused rather than silently widened.
    /// </summary>
    public static bool TryNormalizeAllowedIps(IReadOnlyList<string>? entries, out List<string> normalized, out (string Field, string Message) error)
    {
        normalized = [];
        error = default;
        if (entries is null) return true;
        if (entries.Count > MaxAllowedIps)
        {
            error = ("allowed_ips", $"allowed_ips holds at most {MaxAllowedIps} entries.");
            return false;
        }
        foreach (var entry in entries)
        {
            if (!TryParseNetwork(entry, out var network))
            {
                error = ("allowed_ips", $"'{Truncate(entry)}' is not an IP address or a CIDR block such as 203.0.113.0/24 (host bits must be zero).");
                return false;
            }
            var text = network.ToString();
            if (!normalized.Contains(text)) normalized.Add(text);
        }
        return true;
    }

    public static bool TryParseNetwork(string? text, out IPNetwork network)
    {
        network = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 64) return false;
        text = text.Trim();
        var addressText = text.Contains('/') ? text[..text.IndexOf('/')] : text;
        // IPAddress.TryParse also takes legacy forms ("1.2.3" is 1.2.0.3); only dotted quads and IPv6 are accepted.
        if (!addressText.Contains(':') && (addressText.Split('.') is not { Length: 4 } parts || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit))))
        {
            return false;
        }
        if (!text.Contains('/'))
        {
            if (!IPAddress.TryParse(text, out var address)) return false;
            network = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }
        // Refuse "10.0.0.1/8": the operator meant either one host or 10.0.0.0/8, and guessing widens access.
        return IPNetwork.TryParse(text, out network)
            && IPAddress.TryParse(addressText, out var written)
            && written.Equals(network.BaseAddress);
    }

    /// <summary>Whether a client address falls in an allowlist; an empty list allows every address.</summary>
    public static bool IsAllowed(IReadOnlyList<IPNetwork> allowlist, string? clientIp)
    {
        if (allowlist.Count == 0) return true;
        if (clientIp is null || !IPAddress.TryParse(clientIp, out var address)) return false;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var network in allowlist)
        {
            if (network.Contains(address)) return true;
        }
        return false;
    }

    private static string Truncate(string? text) => text is null ? "null" : TextBounds.Shorten(text, 64, "...");
}
