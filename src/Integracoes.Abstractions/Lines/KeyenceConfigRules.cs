using System.Globalization;
using System.Text.Json;

namespace Integracoes.Abstractions.Lines;

/// <summary>
/// Reads and validates <c>config_padrao.clps.keyence</c> (seed 003) for the HTTP front end and the grains
/// alike, naming the field at fault. The path is a tenant's input that makes the server read files, so
/// it must lie inside the operator's root (INTEGRACOES_KEYENCE_ROOT) once <c>..</c> and symlinks are resolved.
/// </summary>
public static class KeyenceConfigRules
{
    public const int MaxPath = 1_024;
    public const int MaxColumn = 63;
    public const string PathField = "config_padrao.clps.keyence.path";
    private const string Prefix = "config_padrao.clps.keyence";

    /// <summary>
    /// The source a configuration names, null when it names none; or the field at fault. With no
    /// <paramref name="root"/> (file ingestion off) a configuration naming a path is refused.
    /// </summary>
    public static (KeyenceSource? Source, (string Field, string Message)? Error) Read(string configPadraoJson, string? root)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(configPadraoJson);
        }
        catch (JsonException)
        {
            return (null, null);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("clps", out var clps) || clps.ValueKind != JsonValueKind.Object
                || !clps.TryGetProperty("keyence", out var keyence))
            {
                return (null, null);
            }
            if (keyence.ValueKind != JsonValueKind.Object) return Fail(Prefix, "clps.keyence must be an object.");
            return ReadKeyence(keyence, root);
        }
    }

    private static (KeyenceSource?, (string, string)?) ReadKeyence(JsonElement keyence, string? root)
    {
        string? gateway = null;
        if (keyence.TryGetProperty("gateway", out var g) && g.ValueKind != JsonValueKind.Null)
        {
            if (g.ValueKind != JsonValueKind.String || g.GetString()!.Length > 255) return Fail(Prefix + ".gateway", "gateway must be a host name or address (at most 255 characters).");
            gateway = g.GetString();
        }
        if (keyence.TryGetProperty("protocol", out var protocol) && protocol.ValueKind != JsonValueKind.Null
            && !(protocol.ValueKind == JsonValueKind.String && protocol.GetString() == "file"))
        {
            return Fail(Prefix + ".protocol", "protocol must be \"file\": the gateway's TXT files are the only KEYENCE source read.");
        }
        if (!keyence.TryGetProperty("path", out var p) || p.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(p.GetString()))
        {
            return Fail(PathField, "path is required: the directory where the gateway writes its TXT files.");
        }
        var path = p.GetString()!;
        if (path.Length > MaxPath || path.Contains('\0')) return Fail(PathField, $"path must be at most {MaxPath} characters.");
        if (root is null)
        {
            return Fail(PathField, "file ingestion is off on this server (INTEGRACOES_KEYENCE_ROOT is not set), so no path can be read.");
        }
        if (KeyencePaths.Confine(root, path) is not { } directory)
        {
            return Fail(PathField, "path must lie inside the directory tree this server reads gateway files from (after resolving '..' and symbolic links).");
        }

        var format = KeyenceFormat.Default;
        if (keyence.TryGetProperty("formato", out var f) && f.ValueKind != JsonValueKind.Null)
        {
            var (parsed, error) = ReadFormat(f);
            if (error is not null) return (null, error);
            format = parsed!;
        }
        return (new KeyenceSource(path, directory, format, gateway), null);
    }

    private static (KeyenceFormat?, (string, string)?) ReadFormat(JsonElement f)
    {
        const string at = Prefix + ".formato";
        if (f.ValueKind != JsonValueKind.Object) return FailFormat(at, "formato must be an object.");
        var format = KeyenceFormat.Default;

        if (f.TryGetProperty("delimitador", out var d))
        {
            var text = d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
            text = text is "tab" or "\\t" ? "\t" : text;
            if (text.Length != 1 || text[0] is '\r' or '\n' or '\0' || char.IsAsciiLetterOrDigit(text[0]))
                return FailFormat(at + ".delimitador", "delimitador must be one character that is not a letter, a digit or a line break (\"tab\" for a tab).");
            format = format with { Delimitador = text[0] };
        }

        if (f.TryGetProperty("colunas", out var c))
        {
            if (c.ValueKind != JsonValueKind.Object) return FailFormat(at + ".colunas", "colunas must be an object of 0-based column indices.");
            var columns = new Dictionary<string, int>
            {
                ["timestamp"] = format.ColunaTimestamp,
                ["sensor"] = format.ColunaSensor,
                ["producao"] = format.ColunaProducao,
                ["rejeicao"] = format.ColunaRejeicao,
            };
            foreach (var column in c.EnumerateObject())
            {
                if (!columns.ContainsKey(column.Name))
                    return FailFormat($"{at}.colunas.{Shorten(column.Name)}", "the columns are timestamp, sensor, producao and rejeicao.");
                if (column.Value.ValueKind != JsonValueKind.Number || !column.Value.TryGetInt32(out var index) || index is < 0 or > MaxColumn)
                    return FailFormat($"{at}.colunas.{column.Name}", $"a column is an index between 0 and {MaxColumn}.");
                columns[column.Name] = index;
            }
            if (columns.Values.Distinct().Count() != columns.Count)
                return FailFormat(at + ".colunas", "timestamp, sensor, producao and rejeicao must be different columns.");
            format = format with
            {
                ColunaTimestamp = columns["timestamp"],
                ColunaSensor = columns["sensor"],
                ColunaProducao = columns["producao"],
                ColunaRejeicao = columns["rejeicao"],
            };
        }

        if (f.TryGetProperty("formato_timestamp", out var t))
        {
            var text = t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
            if (!IsTimestampFormat(text))
                return FailFormat(at + ".formato_timestamp", "formato_timestamp must be iso8601, unix_s, unix_ms or a date format such as dd/MM/yyyy HH:mm:ss.fff.");
            format = format with { FormatoTimestamp = text };
        }

        if (f.TryGetProperty("fuso_horario", out var z))
        {
            var text = z.ValueKind == JsonValueKind.String ? z.GetString()! : "";
            if (text.Length is 0 or > 64 || !TimeZoneInfo.TryFindSystemTimeZoneById(text, out _))
                return FailFormat(at + ".fuso_horario", "fuso_horario must be an IANA time zone such as UTC or America/Sao_Paulo.");
            format = format with { FusoHorario = text };
        }

        if (f.TryGetProperty("cabecalho", out var h))
        {
            if (h.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return FailFormat(at + ".cabecalho", "cabecalho must be true or false.");
            format = format with { Cabecalho = h.GetBoolean() };
        }

        if (f.TryGetProperty("padrao", out var pattern))
        {
            var text = pattern.ValueKind == JsonValueKind.String ? pattern.GetString()! : "";
            if (text.Length is 0 or > 100 || text.Any(ch => ch is '/' or '\\' or '\0') || text is "." or "..")
                return FailFormat(at + ".padrao", "padrao must be a file name pattern (such as *.txt) without '/'.");
            format = format with { Padrao = text };
        }
        return (format, null);
    }

    /// <summary>A custom format must write a moment and read it back to the same moment.</summary>
    private static bool IsTimestampFormat(string text)
    {
        if (text is KeyenceFormat.Iso8601 or KeyenceFormat.UnixSeconds or KeyenceFormat.UnixMilliseconds) return true;
        if (text.Length is 0 or > 64) return false;
        try
        {
            var sample = new DateTime(2025, 10, 25, 14, 3, 7, 250, DateTimeKind.Unspecified);
            var written = sample.ToString(text, CultureInfo.InvariantCulture);
            return DateTime.TryParseExact(written, text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var read)
                && read.Date == sample.Date && read.Hour == sample.Hour && read.Minute == sample.Minute && read.Second == sample.Second;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static (KeyenceSource?, (string, string)?) Fail(string field, string message) => (null, (field, message));

    private static (KeyenceFormat?, (string, string)?) FailFormat(string field, string message) => (null, (field, message));

    private static string Shorten(string s) => Common.TextBounds.Shorten(s, 40, "...");
}

/// <summary>Confinement of gateway paths to the operator's root, resolving '..' and symbolic links as the kernel would.</summary>
public static class KeyencePaths
{
    private const int MaxLinkHops = 40;

    /// <summary>
    /// The physical absolute path <paramref name="path"/> names (relative paths start at <paramref name="root"/>),
    /// or null when it lies outside the physical <paramref name="root"/> or has a symlink loop.
    /// </summary>
    public static string? Confine(string root, string path)
    {
        var realRoot = Resolve(System.IO.Path.GetFullPath(root));
        if (realRoot is null) return null;
        var absolute = path.StartsWith('/') ? path : root.TrimEnd('/') + "/" + path;
        var real = Resolve(absolute);
        return real is not null && IsInside(realRoot, real) ? real : null;
    }

    public static bool IsInside(string realRoot, string realPath) =>
        realRoot == "/" || realPath == realRoot || realPath.StartsWith(realRoot + "/", StringComparison.Ordinal);

    /// <summary>
    /// realpath(3) without requiring the tail to exist: components are followed left to right, a
    /// symbolic link is replaced by its target before the next component, and '..' climbs from where
    /// the links led (so <c>link/..</c> is the target's parent, not the link's directory). A lexical
    /// normalisation first would let <c>inside-link-to-outside/../x</c> look inside while reading outside.
    /// </summary>
    public static string? Resolve(string absolute)
    {
        var pending = new LinkedList<string>(absolute.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var current = "/";
        var hops = 0;
        while (pending.First is { } node)
        {
            pending.RemoveFirst();
            var part = node.Value;
            if (part == ".") continue;
            if (part == "..")
            {
                current = System.IO.Path.GetDirectoryName(current) ?? "/";
                continue;
            }
            var next = current == "/" ? "/" + part : current + "/" + part;
            string? target;
            try
            {
                target = new FileInfo(next).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                target = null;
            }
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++hops > MaxLinkHops) return null;
            var parts = target.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (var i = parts.Length - 1; i >= 0; i--) pending.AddFirst(parts[i]);
            if (target.StartsWith('/')) current = "/";
        }
        return current;
    }
}
