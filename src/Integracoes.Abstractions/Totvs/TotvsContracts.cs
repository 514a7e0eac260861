using Integracoes.Abstractions.Services;

namespace Integracoes.Abstractions.Totvs;

/// <summary>What a TOTVS service needs from its registration: settings, the token request's user, its encrypted credentials.</summary>
[GenerateSerializer, Immutable]
public sealed record TotvsConnection(
    [property: Id(0)] string Instance,
    [property: Id(1)] TotvsSettings Settings,
    [property: Id(2)] string Username,
    [property: Id(3)] string? EncryptedCredentials,
    [property: Id(4)] int TimeoutSeconds,
    [property: Id(5)] bool Ativo);

/// <summary>The answer of TOTVS to one push of a closed lot, already classified for the delivery loop.</summary>
/// <param name="Outcome">delivered, retry, rejected (see the sink).</param>
[GenerateSerializer, Immutable]
public sealed record TotvsPushResult(
    [property: Id(0)] string Outcome,
    [property: Id(1)] int? StatusCode,
    [property: Id(2)] string? Body,
    [property: Id(3)] string? Error,
    [property: Id(4)] TimeSpan? RetryAfter);

/// <summary>How a push ended.</summary>
public static class TotvsPushOutcomes
{
    public const string Delivered = "entregue";
    public const string Retry = "tentar_novamente";
    public const string Rejected = "rejeitada";
}

/// <summary>The master data entities synced from TOTVS, as they appear in routes and in the watermark table.</summary>
public static class TotvsEntities
{
    public const string Produtos = "produtos";
    public const string Lotes = "lotes";
    public const string Velocidades = "velocidades";
    public const string Insumos = "insumos";
    public const string LotesInsumo = "lotes-insumo";

    /// <summary>Entity name to the endpoint name in <c>config_padrao.totvs.endpoints</c>, in sync order (products before what refers to them).</summary>
    public static readonly IReadOnlyList<(string Entity, string Endpoint)> InSyncOrder =
    [
        (Produtos, TotvsEndpoints.Produtos),
        (Insumos, TotvsEndpoints.Insumos),
        (LotesInsumo, TotvsEndpoints.LotesInsumo),
        (Velocidades, TotvsEndpoints.Velocidades),
        (Lotes, TotvsEndpoints.Lotes),
    ];
}

/// <summary>
/// The TOTVS connection of one integration service (keyed by service id): configured by the service
/// grain whenever the service is saved, it syncs master data on a reminder and on demand, and pushes
/// closed lots for the <c>totvs</c> delivery sink.
/// </summary>
[Alias("Integracoes.ITotvsSyncGrain")]
public interface ITotvsSyncGrain : IGrainWithIntegerKey
{
    /// <summary>Stores the connection, (re)registers the sync reminder and the instance's <c>totvs</c> destination.</summary>
    [Alias("Configure")]
    Task ConfigureAsync(TotvsConnection connection);

    /// <summary>The service was deleted or no longer is a TOTVS connection: stop syncing and pushing.</summary>
    [Alias("Remove")]
    Task RemoveAsync(string instance);

    /// <summary>Runs one sync now (waits for a run in progress) and returns its execution.</summary>
    [Alias("Sync")]
    Task<Common.Outcome<ExecutionView>> SyncAsync(string instance);

    /// <summary>POSTs a closed lot's totals to the <c>ordens</c> endpoint with the bearer token. Interleaves with a running sync.</summary>
    [Alias("Push"), Orleans.Concurrency.AlwaysInterleave]
    Task<TotvsPushResult> PushAsync(string instance, Guid eventId, string totalsJson);
}

/// <summary>Read-only master data of one instance (keyed by instance), from PostgreSQL.</summary>
[Alias("Integracoes.ITotvsDataGrain")]
public interface ITotvsDataGrain : IGrainWithStringKey
{
    /// <summary>One page of an entity's rows as JSON objects, ordered by key; <paramref name="busca"/> filters the key by prefix.</summary>
    [Alias("List"), Orleans.Concurrency.ReadOnly]
    Task<Common.Page<string>> ListAsync(string entity, string? busca, int limit, int offset);
}
