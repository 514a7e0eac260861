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

    /// <summary>Sensor id (as written in the gateway's files) to line id, for lines fed by <paramref name="source"/>.</summary>
    [Alias("SensorMap"), ReadOnly]
    Task<IReadOnlyDictionary<string, string>> SensorMapAsync(string source);
}

/// <summary>Observer of line counter changes, for <c>/ws/linhas</c>: at most one snapshot per line per second.</summary>
[Alias("Integracoes.ILineCountersFeed")]
public interface ILineCountersFeed : IGrainObserver
{
    [Alias("Changed"), OneWay]
    Task ChangedAsync(string instance, LineCounters counters);
}

/// <summary>The live counter feed of one instance (keyed by instance) across silos: hubs subscribe, lines publish.</summary>
[Alias("Integracoes.ILineFeedGrain")]
public interface ILineFeedGrain : IGrainWithStringKey
{
    [Alias("Subscribe")]
    Task SubscribeAsync(ILineCountersFeed feed);

    [Alias("Unsubscribe")]
    Task UnsubscribeAsync(ILineCountersFeed feed);

    [Alias("Publish"), OneWay]
    Task PublishAsync(LineCounters counters);
}

/// <summary>Line ids and the grain keys built from them.</summary>
public static class LineKeys
{
    public const int MaxId = 64;

    public static string For(string instance, string lineId) => instance + "/" + lineId;

    public static (string Instance, string LineId) Parse(string key)
    {
        var slash = key.IndexOf('/');
        return (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>Letters, digits, '-', '_' and '.', 1 to 64 characters: safe in a URL path and a file.</summary>
    public static bool IsValidId(string? id) =>
        id is { Length: > 0 and <= MaxId } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
