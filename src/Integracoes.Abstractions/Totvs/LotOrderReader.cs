using System.Globalization;
using System.Text.Json;

namespace Integracoes.Abstractions.Totvs;

/// <summary>
/// A production order as TOTVS sends it, to the <c>ordens-producao</c> webhook or from the <c>lotes</c>
/// endpoint: <c>numero_op</c> (or <c>ordem</c>), <c>sku</c>, <c>lote</c>, <c>linha</c>,
/// <c>quantidade_planejada</c>, optional <c>validade</c> (yyyy-MM-dd). Other fields are kept as sent.
/// </summary>
public static class LotOrderReader
{
    public const int MaxBytes = 16 * 1024;

    public static (LotOrder? Order, (string Field, string Message)? Error) Read(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object) return (null, ("body", "the body must be a JSON object."));
        var raw = body.GetRawText();
        if (raw.Length > MaxBytes) return (null, ("body", $"the order must be at most {MaxBytes} bytes."));
        // PostgreSQL jsonb cannot hold the NUL escape.
        if (raw.Contains("\\u0000", StringComparison.Ordinal)) return (null, ("body", "the order must not contain \\u0000."));
        var numero = Text(body, "numero_op") ?? Text(body, "ordem");
        var quantidade = body.TryGetProperty("quantidade_planejada", out var q) && q.ValueKind == JsonValueKind.Number && q.TryGetInt64(out var n) ? n : 0;
        DateOnly? validade = null;
        if (body.TryGetProperty("validade", out var v) && v.ValueKind != JsonValueKind.Null)
        {
            if (v.ValueKind != JsonValueKind.String || !DateOnly.TryParseExact(v.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                return (null, ("validade", "validade must be a date (yyyy-MM-dd)."));
            validade = date;
        }
        var order = new LotOrder(numero ?? "", Text(body, "sku") ?? "", Text(body, "lote") ?? "", Text(body, "linha") ?? "", quantidade, validade, raw);
        return LotRules.Validate(order) is { } error ? (null, error) : (order, null);
    }

    private static string? Text(JsonElement body, string name) =>
        body.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
}
