namespace Integracoes.Abstractions.Lines;

/// <summary>Validation of lines and orders, shared by the HTTP front end and the grains; returns the field at fault.</summary>
public static class LineRules
{
    public const int MaxNome = 200;
    public const int MaxFamilia = 100;
    public const int MaxCode = 64;
    public const double MaxNominalSpeed = 1_000_000;
    public const long MaxQuantity = 1_000_000_000_000;

    public static (string Field, string Message)? Validate(LineDefinition d)
    {
        if (string.IsNullOrWhiteSpace(d.Nome) || d.Nome.Length > MaxNome) return ("nome", $"nome is required (at most {MaxNome} characters).");
        if (d.FamiliaMaquina is null || d.FamiliaMaquina.Length > MaxFamilia) return ("familia_maquina", $"familia_maquina must be at most {MaxFamilia} characters.");
        if (!SensorSources.All.Contains(d.FonteSensor))
            return ("fonte_sensor", $"fonte_sensor must be one of: {string.Join(", ", SensorSources.All.Order())}.");
        if (d.SensorId is not null && !IsCode(d.SensorId)) return ("sensor_id", $"sensor_id must be 1 to {MaxCode} printable characters without spaces or delimiters (, ; | tab).");
        if (double.IsNaN(d.VelocidadeNominal) || d.VelocidadeNominal is < 0 or > MaxNominalSpeed)
            return ("velocidade_nominal", $"velocidade_nominal must be between 0 and {MaxNominalSpeed} units per minute.");
        return null;
    }

    public static (string Field, string Message)? Validate(ProductionOrder o)
    {
        if (!IsCode(o.Ordem)) return ("ordem", $"ordem is required: 1 to {MaxCode} printable characters without spaces.");
        if (!IsCode(o.Sku)) return ("sku", $"sku is required: 1 to {MaxCode} printable characters without spaces.");
        if (!IsCode(o.Lote)) return ("lote", $"lote is required: 1 to {MaxCode} printable characters without spaces.");
        if (o.QuantidadePlanejada is < 0 or > MaxQuantity) return ("quantidade_planejada", $"quantidade_planejada must be between 0 and {MaxQuantity}.");
        if (o.VelocidadeNominal is { } v && (double.IsNaN(v) || v is <= 0 or > MaxNominalSpeed))
            return ("velocidade_nominal", $"velocidade_nominal must be above 0 and at most {MaxNominalSpeed} units per minute.");
        return null;
    }

    /// <summary>An identifier from another system (order, SKU, lot, sensor): printable, no spaces and none of the file delimiters.</summary>
    public static bool IsCode(string? value) =>
        value is { Length: > 0 and <= MaxCode } && value.All(c => !char.IsControl(c) && !char.IsWhiteSpace(c) && c is not (',' or ';' or '|' or '/'));
}
