using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Events;
using Integracoes.Abstractions.Lines;
using Integracoes.Abstractions.Services;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Configuration;

namespace Integracoes.Client;

/// <summary>Where the cluster is: the same PostgreSQL and cluster/service ids the silos use.</summary>
public sealed class IntegracoesClientOptions
{
    /// <summary>PostgreSQL connection string of the cluster's database (ADO.NET clustering lists the gateways there).</summary>
    public string ConnectionString { get; set; } = "";

    public string ClusterId { get; set; } = "integracoes";

    public string ServiceId { get; set; } = "integracoes";

    /// <summary>How this app appears as <c>ator</c> in the audit trail (prefixed <c>cliente:</c>).</summary>
    public string AppName { get; set; } = "grain-client";
}

/// <summary>
/// The hub seen from another .NET app, through Orleans grain calls instead of HTTP. Grain clients run
/// inside the trusted network: they name the instance they act for, and every rule the HTTP API
/// applies (validation, unique names, encryption of credentials) is enforced by the grains themselves.
/// </summary>
public sealed class IntegracoesClient(IClusterClient cluster) : IAsyncDisposable
{
    private string _actor = "cliente:grain-client";
    private IHost? _ownedHost;
    private NpgsqlDataSource? _ownedDataSource;

    /// <summary>Starts a client of its own and connects to the cluster. Dispose it to disconnect.</summary>
    public static async Task<IntegracoesClient> ConnectAsync(IntegracoesClientOptions options, CancellationToken ct = default)
    {
        var builder = Host.CreateApplicationBuilder();
        var dataSource = builder.AddIntegracoesClient(options);
        var host = builder.Build();
        await host.StartAsync(ct);
        var client = host.Services.GetRequiredService<IntegracoesClient>();
        client._ownedHost = host;
        client._ownedDataSource = dataSource;
        client._actor = "cliente:" + options.AppName;
        return client;
    }

    /// <summary>The integration services registry of one instance.</summary>
    public ServiceRegistryClient Services(string instance) => new(cluster, instance, _actor);

    /// <summary>Publishing events of one instance to its subscribers.</summary>
    public EventsClient Events(string instance) => new(cluster, instance);

    /// <summary>Production lines of an instance, with their live counters read from the line grains' memory.</summary>
    public LinesClient Lines(string instance) => new(cluster, instance, _actor);

    public async ValueTask DisposeAsync()
    {
        if (_ownedHost is not null)
        {
            await _ownedHost.StopAsync();
            _ownedHost.Dispose();
        }
        if (_ownedDataSource is not null)
        {
            await _ownedDataSource.DisposeAsync();
        }
    }
}

/// <summary>Registry operations for one instance; the same outcomes the HTTP API maps to status codes.</summary>
public sealed class ServiceRegistryClient(IGrainFactory grains, string instance, string actor)
{
    private IServiceRegistryGrain Registry => grains.GetGrain<IServiceRegistryGrain>(instance);

    /// <summary>Changes carry this app's name to the audit trail (Orleans request context).</summary>
    private IServiceRegistryGrain Audited()
    {
        AuditContext.Set(actor, null);
        return Registry;
    }

    public Task<Outcome<ServiceView>> CreateAsync(ServiceDefinition definition) => Audited().CreateAsync(definition);

    public Task<Outcome<ServiceView>> UpdateAsync(long id, ServiceDefinition definition) => Audited().UpdateAsync(id, definition);

    public Task<bool> DeleteAsync(long id) => Audited().DeleteAsync(id);

    public Task<Page<ServiceView>> ListAsync(string? tipo = null, bool? ativo = null, int limit = 50, int offset = 0) =>
        Registry.ListAsync(new ServiceFilter(tipo, ativo, Math.Clamp(limit, 1, 200), Math.Max(0, offset)));

    public Task<ServiceView?> GetAsync(long id) => grains.GetGrain<IIntegrationServiceGrain>(id).GetAsync(instance);

    public Task<Outcome<ExecutionView>> TestAsync(long id, ServiceTestRequest request) =>
        grains.GetGrain<IIntegrationServiceGrain>(id).TestAsync(instance, request);

    public Task<Page<ExecutionView>> ExecutionsAsync(long? servicoId = null, string? status = null, int limit = 50, int offset = 0) =>
        grains.GetGrain<IExecutionHistoryGrain>(instance).ListAsync(servicoId, status, Math.Clamp(limit, 1, 200), Math.Max(0, offset));
}

/// <summary>
/// Publishes events with the guarantees of <c>POST /api/integracoes/disparar/</c>: the call returns only
/// after the event and every delivery are committed to PostgreSQL, and an idempotency key makes a
/// retried publish return the first answer instead of delivering again.
/// </summary>
public sealed class EventsClient(IGrainFactory grains, string instance)
{
    public Task<Outcome<PublishResult>> PublishAsync(string evento, string dadosJson, string? idempotencyKey = null, int prioridade = 0) =>
        grains.GetGrain<IEventPublisherGrain>(instance).PublishAsync(new PublishRequest(evento, dadosJson, idempotencyKey, prioridade));

    public Task<IReadOnlyList<CatalogEvent>> CatalogAsync() => grains.GetGrain<IEventCatalogGrain>(instance).ListAsync();
}

/// <summary>
/// Production lines (seed 003). Counters come from each line grain's memory, as fast as a grain call: a
/// plant dashboard or MES can poll them every second without touching PostgreSQL.
/// </summary>
public sealed class LinesClient(IGrainFactory grains, string instance, string actor)
{
    private ILineRegistryGrain Registry => grains.GetGrain<ILineRegistryGrain>(instance);

    private ILineGrain Line(string id) => grains.GetGrain<ILineGrain>(LineKeys.For(instance, id));

    public Task<Outcome<LineView>> CreateAsync(string id, LineDefinition definition)
    {
        AuditContext.Set(actor, null);
        return Registry.CreateAsync(id, definition);
    }

    public Task<Page<LineView>> ListAsync(int limit = 50, int offset = 0) => Registry.ListAsync(Math.Clamp(limit, 1, 200), Math.Max(0, offset));

    /// <summary>The live counters of one line; null when it does not exist.</summary>
    public Task<LineCounters?> CountersAsync(string id) =>
        LineKeys.IsValidId(id) ? Line(id).GetCountersAsync() : Task.FromResult<LineCounters?>(null);

    /// <summary>Every line's live counters, in line-id order.</summary>
    public Task<IReadOnlyList<LineCounters>> AllCountersAsync() => Registry.CountersAsync();

    public Task<Outcome<LineCounters>> StartOrderAsync(string id, ProductionOrder order)
    {
        AuditContext.Set(actor, null);
        return Line(id).StartOrderAsync(order);
    }

    public Task<Outcome<OrderTotals>> EndOrderAsync(string id, string ordem)
    {
        AuditContext.Set(actor, null);
        return Line(id).EndOrderAsync(ordem);
    }
}

public static class IntegracoesClientHosting
{
    /// <summary>Adds an Orleans client of the cluster and <see cref="IntegracoesClient"/> to an app's host.</summary>
    public static NpgsqlDataSource AddIntegracoesClient(this IHostApplicationBuilder builder, IntegracoesClientOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new ArgumentException("ConnectionString is required.", nameof(options));
        }
        var dataSource = NpgsqlDataSource.Create(options.ConnectionString);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ServiceId;
            });
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.DataSource = dataSource;
            });
        });
        builder.Services.AddSingleton(sp => new IntegracoesClient(sp.GetRequiredService<IClusterClient>()));
        return dataSource;
    }
}
