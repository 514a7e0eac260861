namespace Integracoes.Abstractions.Lines;

/// <summary>The writable fields of a production line (seed 003): what it is and where its counts come from.</summary>
/// <param name="Nome">Display name.</param>
/// <param name="FamiliaMaquina">Machine family: Bottelpack, Pró Maquia, Bausch Strobbel, ... (free text).</param>
/// <param name="FonteSensor">Where the counts come from: <see cref="SensorSources"/>.</param>
/// <param name="SensorId">The line's id as the gateway writes it in its files; defaults to the line id.</param>
/// <param name="VelocidadeNominal">Nominal speed in units per minute; an order's own nominal speed (from TOTVS) wins.</param>
[GenerateSerializer, Immutable]
public sealed record LineDefinition(
    [property: Id(0)] string Nome,
    [property: Id(1)] string FamiliaMaquina,
    [property: Id(2)] string FonteSensor,
    [property: Id(3)] string? SensorId,
    [property: Id(4)] double VelocidadeNominal,
    [property: Id(5)] bool Ativa = true);

/// <summary>A production order running on a line: the lot it produces and what is planned.</summary>
/// <param name="LoteId">The row in <c>lotes_producao</c>, when the order came through the lot workflow.</param>
/// <param name="VelocidadeNominal">Units per minute for this SKU on this line (TOTVS), overriding the line's.</param>
[GenerateSerializer, Immutable]
public sealed record ProductionOrder(
    [property: Id(0)] string Ordem,
    [property: Id(1)] string Sku,
    [property: Id(2)] string Lote,
    [property: Id(3)] long? LoteId,
    [property: Id(4)] long QuantidadePlanejada,
    [property: Id(5)] double? VelocidadeNominal,
    [property: Id(6)] DateTimeOffset Inicio);

/// <summary>A line as read back.</summary>
[GenerateSerializer, Immutable]
public sealed record LineView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Instance,
    [property: Id(2)] string Nome,
    [property: Id(3)] string FamiliaMaquina,
    [property: Id(4)] string FonteSensor,
    [property: Id(5)] string SensorId,
    [property: Id(6)] double VelocidadeNominal,
    [property: Id(7)] bool Ativa,
    [property: Id(8)] ProductionOrder? OrdemAtual,
    [property: Id(9)] DateTimeOffset CreatedAt,
    [property: Id(10)] DateTimeOffset UpdatedAt);

/// <summary>
/// One record of a sensor file: the cumulative counters at a moment. <see cref="EndOffset"/> is the byte
/// offset just past the record in its file, the position a line stores so a replay never counts twice.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SensorReading(
    [property: Id(0)] long EndOffset,
    [property: Id(1)] DateTimeOffset Timestamp,
    [property: Id(2)] long Producao,
    [property: Id(3)] long Rejeicao);

/// <summary>Records of one line read from one file, in file order. <see cref="FileKey"/> names the file and its generation.</summary>
[GenerateSerializer, Immutable]
public sealed record SensorBatch(
    [property: Id(0)] string FileKey,
    [property: Id(1)] IReadOnlyList<SensorReading> Readings);

/// <summary>What a line did with a batch: applied records, and those skipped because an earlier run already counted them.</summary>
[GenerateSerializer, Immutable]
public sealed record IngestResult(
    [property: Id(0)] int Applied,
    [property: Id(1)] int Skipped);

/// <summary>
/// The live counters of a line, served from the line grain's memory (<c>GET /api/linhas/{id}/contadores</c>).
/// Times are in seconds; ratios are 0..1; speeds in units per minute.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record LineCounters(
    [property: Id(0)] string Linha,
    [property: Id(1)] string Nome,
    [property: Id(2)] string? Ordem,
    [property: Id(3)] string? Sku,
    [property: Id(4)] string? Lote,
    [property: Id(5)] string Estado,
    [property: Id(6)] DateTimeOffset EstadoDesde,
    [property: Id(7)] long Total,
    [property: Id(8)] long Bons,
    [property: Id(9)] long Rejeitos,
    [property: Id(10)] long QuantidadePlanejada,
    [property: Id(11)] double Progresso,
    [property: Id(12)] double VelocidadeNominal,
    [property: Id(13)] double VelocidadeAtual,
    [property: Id(14)] double TempoProduzindo,
    [property: Id(15)] double TempoParado,
    [property: Id(16)] double Disponibilidade,
    [property: Id(17)] double Performance,
    [property: Id(18)] double Qualidade,
    [property: Id(19)] double Oee,
    [property: Id(20)] DateTimeOffset? UltimaAmostra,
    [property: Id(21)] bool SensorInativo,
    [property: Id(22)] int ReinicioContador);

/// <summary>The totals of an order when it ends: what the lot close sends to TOTVS.</summary>
[GenerateSerializer, Immutable]
public sealed record OrderTotals(
    [property: Id(0)] string Linha,
    [property: Id(1)] ProductionOrder Ordem,
    [property: Id(2)] long Total,
    [property: Id(3)] long Bons,
    [property: Id(4)] long Rejeitos,
    [property: Id(5)] double TempoProduzindo,
    [property: Id(6)] double TempoParado,
    [property: Id(7)] double Oee,
    [property: Id(8)] DateTimeOffset Fim);

/// <summary>Where a line's counts come from.</summary>
public static class SensorSources
{
    /// <summary>KEYENCE sensors through the SICFAR gateway's TXT files.</summary>
    public const string Keyence = "keyence";

    /// <summary>No sensor: the line exists for orders and lots, and its counters stay at zero.</summary>
    public const string None = "nenhum";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Keyence, None };
}

/// <summary>The states a line is in, as the live counters name them.</summary>
public static class LineStates
{
    public const string Running = "produzindo";
    public const string Stopped = "parada";
    public const string NoOrder = "sem_ordem";
}
