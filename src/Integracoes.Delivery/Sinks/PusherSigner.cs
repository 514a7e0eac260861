using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Integracoes.Delivery.Sinks;

/// <summary>
/// Request signing of the Pusher Channels HTTP API (auth_version 1.0): the query carries <c>auth_key</c>,
/// <c>auth_timestamp</c>, <c>auth_version</c>, <c>body_md5</c> when there is a body, and
/// <c>auth_signature</c> = hex HMAC-SHA256, keyed with the app secret, of
/// <c>METHOD + "\n" + path + "\n" + the other parameters sorted by name, joined as name=value with '&amp;'</c>
/// (lower-case names, values not URL-escaped).
/// </summary>
public static class PusherSigner
{
    /// <summary>The query string, auth_signature last, with its values URL-escaped for the request line.</summary>
    public static string SignedQuery(string method, string path, string key, string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var parameters = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["auth_key"] = key,
            ["auth_timestamp"] = timestamp.ToString(CultureInfo.InvariantCulture),
            ["auth_version"] = "1.0",
        };
        if (!body.IsEmpty) parameters["body_md5"] = BodyMd5(body);
        var signature = Signature(method, path, parameters, secret);
        return string.Join('&', parameters.Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value)}")) + "&auth_signature=" + signature;
    }

    /// <summary>The hex HMAC-SHA256 of the string to sign.</summary>
    public static string Signature(string method, string path, IEnumerable<KeyValuePair<string, string>> parameters, string secret)
    {
        var sorted = parameters.Select(p => (Name: p.Key.ToLowerInvariant(), p.Value)).OrderBy(p => p.Name, StringComparer.Ordinal);
        var toSign = method.ToUpperInvariant() + "\n" + path + "\n" + string.Join('&', sorted.Select(p => p.Name + "=" + p.Value));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(toSign)));
    }

    // The protocol fixes MD5 here: a checksum of the body under the signature, not a security measure of its own.
#pragma warning disable CA5351
    public static string BodyMd5(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(MD5.HashData(body));
#pragma warning restore CA5351
}
