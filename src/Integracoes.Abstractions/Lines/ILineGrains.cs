using Integracoes.Abstractions.Common;
using Orleans.Concurrency;

namespace Integracoes.Abstractions.Lines;

/// <summary>
/// One production line, keyed by <c>{instance}/{line id}</c> (<see cref="LineKeys"/>): its definition,
/// its current order, and its counters, which live in memory and are written to PostgreSQL every 5 s
/// (<c>ordens_producao_ativas</c>) together with the file positions that produced them.
/// </summary>
[Alias("Integracoes.ILineGrain")]
public interface ILineGrain : IGrainWithStringKey
{
    [Alias("Initialize")]
    Task<Outcome<LineView>> InitializeAsync(LineDefinition definition);

    [Alias("Update")]
    Task<Outcome<LineView>> UpdateAsync(LineDefinition definition);

    /// <summary>Ends any running order (its counters are written) and forgets the line.</summary>
    [Alias("Delete")]
    Task<bool> DeleteAsync();

    [Alias("Get"), ReadOnly]
    Task<LineView?> GetAsync();

    /// <summary>Applies sensor records in file order; records at or before the stored position of their file are skipped.</summary>
    [Alias("Ingest")]
    Task<IngestResult> IngestAsync(SensorBatch batch);

    /// <summary>The live counters, from memory. Null when the line does not exist.</summary>
    [Alias("Counters"), ReadOnly, AlwaysInterleave]
    Task<LineCounters?> GetCountersAsync();

    /// <summary>Starts counting for an order; Conflict when another order is running.</summary>
    [Alias("StartOrder")]
    Task<Outcome<LineCounters>> StartOrderAsync(ProductionOrder order);

    /// <summary>
    /// Ends the running order <paramref name="ordem"/>: its final counters are written (the row leaves
    /// <c>ordens_producao_ativas</c>'s active set) before the totals are returned.
    /// </summary>
    [Alias("EndOrder")]
    Task<Outcome<OrderTotals>> EndOrderAsync(string ordem);

    /// <summary>TOTVS master data changed the nominal speed of <paramref name="sku"/> on this line.</summary>
    [Alias("NominalSpeed")]
    Task SetNominalSpeedAsync(string sku, double unitsPerMinute);
}

/// <summary>The lines of one instance (keyed by instance): ids, the sensor-id index the file watcher routes by, and limits.</summary>
[Alias("Integracoes.ILineRegistryGrain")]
public interface ILineRegistryGrain : IGrainWithStringKey
{
    [Alias("Create")]
    Task<Outcome<LineView>> CreateAsync(string id, LineDefinition definition);

    [Alias("Update")]
    Task<Outcome<LineView>> UpdateAsync(string id, LineDefinition definition);

    [Alias("Delete")]
    Task<bool> DeleteAsync(string id);

    [Alias("List"), ReadOnly]
    Task<Page<LineView>> ListAsync(int limit, int offset);

    /// <summary>Every line id of the instance.</summary>
    [Alias("Ids"), ReadOnly]
    Task<IReadOnlyList<string>> IdsAsync();

    /// <summary>Every line's live counters (each from its grain's memory), in line-id order.</summary>
    [Alias("Counters"), ReadOnly]
    Task<IReadOnlyList<LineCounters>> CountersAsync();

    /// <summary>Sensor id (as written in the gateway's files) to line id, for lines fed by <paramref name="source"/>.</summary>
    [Alias("SensorMap"), ReadOnly]
    Task<IReadOnlyDictionary<string, string>> SensorMapAsync(string source);
}

/// <summary>Line ids and the grain keys built from them.</summary>
public static class LineKeys
{
    public const int MaxId = 64;

    public static string For(string instance, string lineId) => instance + "/" + lineId;

    /// <summary>
    /// The WebSocket channel of an instance's counter feed (<c>/ws/linhas</c>): the same channel grains and
    /// hubs as the event feed, under a name no instance can have.
    /// </summary>
    public static string FeedChannel(string instance) => instance + "/linhas";

    public static (string Instance, string LineId) Parse(string key)
    {
        var slash = key.IndexOf('/');
        return (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>Path segments under <c>/api/linhas/</c> that name routes, not lines.</summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "contadores", "arquivos" };

    /// <summary>Letters, digits, '-', '_' and '.', 1 to 64 characters (not only dots, not a reserved route): safe in a URL path and a file.</summary>
    public static bool IsValidId(string? id) =>
        id is { Length: > 0 and <= MaxId } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
        && id.Any(c => c != '.') && !Reserved.Contains(id);
}
