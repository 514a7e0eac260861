using Integracoes.Abstractions.Common;
using Orleans.Concurrency;

namespace Integracoes.Abstractions.Events;

/// <summary>An event to publish to an instance's subscribers.</summary>
[GenerateSerializer, Immutable]
public sealed record PublishRequest(
    [property: Id(0)] string Evento,
    [property: Id(1)] string DadosJson,
    [property: Id(2)] string? IdempotencyKey,
    [property: Id(3)] int Prioridade = 0);

/// <summary>The answer to a publish: the event id and how many deliveries were queued.</summary>
[GenerateSerializer, Immutable]
public sealed record PublishResult(
    [property: Id(0)] Guid Id,
    [property: Id(1)] int Entregas,
    [property: Id(2)] bool Repetido);

[GenerateSerializer, Immutable]
public sealed record CatalogEvent(
    [property: Id(0)] string Nome,
    [property: Id(1)] string Descricao,
    [property: Id(2)] string ExemploJson,
    [property: Id(3)] string Origem);

/// <summary>
/// Accepts events of one instance (keyed by instance). Answers only after the event and every
/// delivery are committed to PostgreSQL. Stateless: many activations share the load.
/// </summary>
[Alias("Integracoes.IEventPublisherGrain")]
public interface IEventPublisherGrain : IGrainWithStringKey
{
    [Alias("Publish")]
    Task<Outcome<PublishResult>> PublishAsync(PublishRequest request);
}

/// <summary>The events an instance may publish: the built-in catalogue plus its own. Keyed by instance.</summary>
[Alias("Integracoes.IEventCatalogGrain")]
public interface IEventCatalogGrain : IGrainWithStringKey
{
    [Alias("List"), ReadOnly]
    Task<IReadOnlyList<CatalogEvent>> ListAsync();

    [Alias("IsKnown"), ReadOnly]
    Task<bool> IsKnownAsync(string evento);

    [Alias("Register")]
    Task<Outcome<CatalogEvent>> RegisterAsync(string nome, string descricao, string exemploJson);
}
