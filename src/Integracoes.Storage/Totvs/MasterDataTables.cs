using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Integracoes.Abstractions.Totvs;

namespace Integracoes.Storage.Totvs;

/// <summary>A column of a master data table; the JSON field TOTVS sends has the same name.</summary>
/// <param name="Type">text, double precision, numeric, boolean, date or timestamptz.</param>
/// <param name="Default">The value when TOTVS leaves the field out or sends null.</param>
public sealed record MasterColumn(string Name, string Type, bool Key = false, bool Required = false, int MaxLength = 0, JsonNode? Default = null);

/// <summary>
/// One master data entity and its table. Items from TOTVS are checked field by field against the
/// columns (an item that does not fit is counted as a failure, never half stored) and upserted through
/// <c>jsonb_to_recordset</c>, so one statement stores a whole page.
/// </summary>
public sealed record MasterTable(string Entity, string Table, IReadOnlyList<MasterColumn> Columns)
{
    public const string ChangedAt = "alterado_em";

    public static readonly MasterTable Produtos = new(TotvsEntities.Produtos, "totvs_produtos",
    [
        new("codigo", "text", Key: true, MaxLength: 64),
        new("descricao", "text", MaxLength: 500),
        new("unidade", "text", MaxLength: 16),
        new("ativo", "boolean", Default: JsonValue.Create(true)),
        new(ChangedAt, "timestamptz"),
    ]);

    public static readonly MasterTable Insumos = new(TotvsEntities.Insumos, "totvs_insumos",
    [
        new("codigo", "text", Key: true, MaxLength: 64),
        new("descricao", "text", MaxLength: 500),
        new("unidade", "text", MaxLength: 16),
        new(ChangedAt, "timestamptz"),
    ]);

    public static readonly MasterTable LotesInsumo = new(TotvsEntities.LotesInsumo, "totvs_lotes_insumo",
    [
        new("insumo", "text", Key: true, MaxLength: 64),
        new("lote", "text", Key: true, MaxLength: 64),
        new("validade", "date"),
        new("quantidade", "numeric"),
        new("unidade", "text", MaxLength: 16),
        new(ChangedAt, "timestamptz"),
    ]);

    public static readonly MasterTable Velocidades = new(TotvsEntities.Velocidades, "totvs_velocidades_nominais",
    [
        new("sku", "text", Key: true, MaxLength: 64),
        new("linha", "text", Key: true, MaxLength: 64),
        new("unidades_por_minuto", "double precision", Required: true),
        new(ChangedAt, "timestamptz"),
    ]);

    public static readonly IReadOnlyDictionary<string, MasterTable> ByEntity =
        new[] { Produtos, Insumos, LotesInsumo, Velocidades }.ToDictionary(t => t.Entity, StringComparer.Ordinal);

    public IEnumerable<MasterColumn> Keys => Columns.Where(c => c.Key);

    /// <summary>The item reduced to this table's columns, or why it does not fit.</summary>
    public (JsonObject? Row, string? Error) Normalize(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object) return (null, "item is not a JSON object");
        var row = new JsonObject();
        foreach (var column in Columns)
        {
            var present = item.TryGetProperty(column.Name, out var value) && value.ValueKind != JsonValueKind.Null;
            if (!present)
            {
                if (column.Key || column.Required) return (null, $"{column.Name} is required");
                row[column.Name] = column.Default?.DeepClone();
                continue;
            }
            var (node, error) = Convert(column, value);
            if (error is not null) return (null, $"{column.Name}: {error}");
            row[column.Name] = node;
        }
        return (row, null);
    }

    /// <summary>The row's key, for deduplicating a page (the last item with a key wins).</summary>
    public string KeyOf(JsonObject row) => string.Join('\u001f', Keys.Select(k => row[k.Name]!.GetValue<string>()));

    private static (JsonNode? Node, string? Error) Convert(MasterColumn column, JsonElement value)
    {
        switch (column.Type)
        {
            case "text":
                if (value.ValueKind != JsonValueKind.String) return (null, "must be a string");
                var text = value.GetString()!;
                if (text.Length > column.MaxLength) return (null, $"at most {column.MaxLength} characters");
                if (column.Key && (text.Length == 0 || text.Any(char.IsControl))) return (null, "must be a non-empty code without control characters");
                if (text.Contains('\0')) return (null, "must not contain NUL");
                return (JsonValue.Create(text), null);
            case "double precision" or "numeric":
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number)) return (null, "must be a number");
                if (column.Required && number < 0) return (null, "must not be negative");
                return (JsonValue.Create(number), null);
            case "boolean":
                return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? (JsonValue.Create(value.GetBoolean()), null) : (null, "must be true or false");
            case "date":
                return value.ValueKind == JsonValueKind.String && DateOnly.TryParseExact(value.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
                    ? (JsonValue.Create(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), null)
                    : (null, "must be a date (yyyy-MM-dd)");
            case "timestamptz":
                return value.ValueKind == JsonValueKind.String && TryTimestamp(value.GetString()!, out var at)
                    ? (JsonValue.Create(at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)), null)
                    : (null, "must be an ISO 8601 date-time");
            default:
                throw new InvalidOperationException($"unknown column type {column.Type}");
        }
    }

    public static bool TryTimestamp(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
}
