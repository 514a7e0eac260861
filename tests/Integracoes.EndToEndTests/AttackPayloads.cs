using System.Text;

namespace Integracoes.EndToEndTests;

/// <summary>The hostile values the attack suite sends, by where they go.</summary>
internal static class AttackPayloads
{
    /// <summary>Stored verbatim, returned escaped.</summary>
    public static readonly string[] Injections =
    [
        "'; DROP TABLE instances; --",
        "<script>alert(1)</script>",
        "{{7*7}}",
        "${jndi:ldap://x}",
    ];

    /// <summary>JSON string literals as sent on the wire (escapes kept), put into every string field.</summary>
    public static readonly string[] HostileStringLiterals =
    [
        "\"\\u0000\"",
        "\"nul\\u0000inside\"",
        "\"\\ud800\"",
        "\"\\udfff\\ud800\"",
        "\"a\\r\\nX-Injected: 1\"",
        "\"../../../../etc/passwd\"",
        "\"\\u202egnp.exe\"",
        "\"' OR '1'='1' --\"",
        "\"<img src=x onerror=alert(1)>\"",
        "\"\"",
        "\"   \"",
    ];

    /// <summary>Quoted bytes that are not UTF-8: invalid lead byte, broken pair, overlong '/', encoded surrogate, beyond U+10FFFF, truncated.</summary>
    public static readonly byte[][] InvalidUtf8 =
    [
        [0x22, 0xFF, 0xFE, 0x22],
        [0x22, 0xC3, 0x28, 0x22],
        [0x22, 0xC0, 0xAF, 0x22],
        [0x22, 0xED, 0xA0, 0x80, 0x22],
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
        [0x22, 0x61, 0xE2, 0x82, 0x22],
    ];

    public static readonly string[] BrokenJson =
    [
        "{\"nome\": \"x\",", "{nome: x}", "not json at all", "{\"a\":1}}", "{\"a\":1} trailing", "{\"a\":\"unterminated}", "{\"a\":01}",
        "{\"a\":NaN}", "{\"a\":1,}", "\u001f{}",
    ];

    public static readonly string[] WrongRoots = ["[]", "[1,2,3]", "42", "\"text\"", "true"];

    public static readonly string[] WrongMediaTypes =
    [
        "text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "application/json; charset=nonsense", "application/json; charset=utf-32",
    ];

    public static readonly string DeepArrays = new string('[', 10_000) + new string(']', 10_000);

    public static readonly string DeepObjects = string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000);

    /// <summary>Values of another JSON type than the field's.</summary>
    public static IEnumerable<string> WrongTypes(string kind) => kind switch
    {
        "string" => ["12345", "true", "{}", "[]"],
        "integer" => ["\"abc\"", "1.5", "1e400", "2147483648", "true", "[]"],
        "number" => ["\"abc\"", "true", "{}"],
        "boolean" => ["\"yes\"", "1", "[]"],
        "object" => ["[]", "\"x\"", "1"],
        "map" => ["[]", "\"x\"", "{\"X-A\": 1}"],
        "array" => ["{}", "\"x\"", "[\"x\"]"],
        _ => [],
    };

    public static readonly string[] HostilePathValues =
    [
        "0", "-1", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e3", "0x10", "abc",
        "' OR '1'='1", "<script>alert(1)</script>", "\0", "%00", "../../etc/passwd", new string('9', 2000),
        new string('a', 2000), "ação", "😀", "A-UPPER", " ",
    ];

    /// <summary>
    /// Every query parameter the API reads (the endpoints read them from the query string, so the
    /// document does not list them): each is sent to every GET route.
    /// </summary>
    public static readonly string[] QueryNames =
    [
        "limit", "offset", "status", "tipo", "ativo", "servico_id", "desde", "ate", "evento", "instancia", "recurso", "recurso_id", "acao", "ator",
        "de", "linha", "busca",
    ];

    /// <summary>Query values; those starting with '%' are sent as they are (already percent-encoded, not UTF-8), the others escaped.</summary>
    public static readonly string[] HostileQueryValues =
    [
        "-1", "abc", "99999999999999999999", "\0", "' OR 1=1 --", "<script>alert(1)</script>", new string('z', 4000),
        "%FF%FE", "%C0%AF", "2024-13-45T99:99:99", "\u202e",
    ];

    public static readonly (string Name, string Value)[] HostileHeaders =
    [
        ("User-Agent", new string('u', 8 * 1024)),
        ("Idempotency-Key", new string('k', 300)),
        ("Idempotency-Key", "' OR 1=1 --"),
        ("Accept", "application/xml;q=1, */*;q=0"),
        ("X-Forwarded-For", "' OR 1=1 --, <script>, 999.999.999.999"),
    ];

    /// <summary>No key, malformed keys, and well-formed keys with the wrong secret (A's key id, or A's secret under another id).</summary>
    public static IEnumerable<(string Category, Action<HttpRequestMessage> Configure)> KeyAttacks(string key)
    {
        var keyId = key["intg_".Length..key.IndexOf('.')];
        var secret = key.Split('.')[1];
        var wrong = new string(secret.Reverse().ToArray());
        Action<HttpRequestMessage> Header(string name, string value) => r => r.Headers.TryAddWithoutValidation(name, value);
        yield return ("no key", _ => { });
        yield return ("no key", Header("Authorization", "Bearer"));
        yield return ("malformed key", Header("Authorization", "Bearer not-a-key"));
        yield return ("malformed key", Header("X-Api-Key", "intg_" + keyId));
        yield return ("malformed key", Header("Authorization", "Token " + new string('k', 4096)));
        yield return ("malformed key", Header("Authorization", "Bearer intg_ZZZZ.' OR '1'='1"));
        yield return ("malformed key", Header("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(key))));
        yield return ("wrong secret", Header("Authorization", $"Bearer intg_{keyId}.{wrong}"));
        yield return ("wrong secret", Header("X-Api-Key", $"intg_{keyId}.{wrong}"));
        yield return ("wrong secret", Header("Authorization", $"Token intg_0123456789abcdef.{secret}"));
        yield return ("wrong secret", Header("Authorization", "Bearer " + key[..^1] + (key[^1] == 'A' ? 'B' : 'A')));
    }
}
