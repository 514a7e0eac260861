using Integracoes.Abstractions.Lines;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Delivery.Http;
using Integracoes.Delivery.Services;
using Integracoes.Delivery.Sinks;
using Integracoes.Delivery.Totvs;
using Integracoes.Delivery.Webhooks;
using Integracoes.Grains.Audit;
using Integracoes.Grains.Lines;
using Integracoes.Grains.Lines.Keyence;
using Integracoes.Grains.Sinks;
using Integracoes.Grains.Totvs;
using Integracoes.Grains.Webhooks;
using Integracoes.Storage.Audit;
using Integracoes.Storage.Deliveries;
using Integracoes.Storage.Executions;
using Integracoes.Storage.Lines;
using Integracoes.Storage.Secrets;
using Integracoes.Storage.Totvs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Orleans.Configuration;

namespace Integracoes.Grains.Hosting;

/// <summary>Limits the grains enforce, configurable by the operator.</summary>
public sealed record GrainLimits(int MaxServicesPerInstance = 1_000);

/// <summary>What the grains need from the host: the database, the encryption key and the outbound policy.</summary>
public sealed record GrainHostSettings(
    NpgsqlDataSource DataSource,
    string EncryptionKeyBase64,
    string? AllowedTargets,
    GrainLimits Limits,
    string ClusterId,
    string ServiceId,
    DeliverySettings? Delivery = null,
    SinkConnections? Sinks = null,
    LineSettings? Lines = null,
    LineCounterSettings? LineCounters = null,
    KeyenceSettings? Keyence = null);

public static class GrainHostingExtensions
{
    public const string AdoNetInvariant = "Npgsql";

    /// <summary>
    /// Everything a silo of this cluster runs with: ADO.NET clustering, grain storage and reminders on
    /// PostgreSQL, and the services grains use. Shared by the silo host and the integration tests so
    /// that both run the same configuration.
    /// </summary>
    public static ISiloBuilder AddIntegracoesGrains(this ISiloBuilder silo, GrainHostSettings settings)
    {
        var dataSource = settings.DataSource;
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = settings.ClusterId;
            o.ServiceId = settings.ServiceId;
        });
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = AdoNetInvariant;
            o.DataSource = dataSource;
        });
        silo.AddAdoNetGrainStorage(GrainStorage.Name, o =>
        {
            o.Invariant = AdoNetInvariant;
            o.DataSource = dataSource;
            o.GrainStorageSerializer = new SystemTextJsonGrainStorageSerializer();
        });
        silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = AdoNetInvariant;
            o.DataSource = dataSource;
        });
        silo.Services.AddIntegracoesGrainServices(settings);
        // After a restart, deliveries accepted before the crash are woken at once, not at the next reminder tick.
        silo.AddStartupTask((services, _) => services.GetRequiredService<IGrainFactory>().GetGrain<IDeliverySweeperGrain>(0).StartAsync());
        // Likewise the gateway-file watchers: reading resumes at once, not at their next reminder tick.
        silo.AddStartupTask((services, _) => services.GetRequiredService<IGrainFactory>().GetGrain<IKeyenceWatcherDirectoryGrain>(0).WakeAllAsync());
        return silo;
    }

    public static IServiceCollection AddIntegracoesGrainServices(this IServiceCollection services, GrainHostSettings settings)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(settings.DataSource);
        services.AddSingleton(settings.Limits);
        services.AddSingleton(SecretProtector.FromBase64(settings.EncryptionKeyBase64));
        services.AddSingleton<ExecutionStore>();
        services.AddSingleton<ServiceIdSequence>();
        services.TryAddSingleton<AuditTrail>();
        services.AddSingleton<Auditor>();
        services.AddOutboundHttp(settings.AllowedTargets);
        services.AddSingleton<OAuth2TokenCache>();
        services.AddSingleton<ServiceInvoker>();

        services.AddSingleton(settings.Delivery ?? new DeliverySettings());
        services.AddSingleton<DeliveryLedger>();
        services.AddSingleton<DeliveryQueries>();
        services.AddSingleton<QueueIdAllocator>();
        services.AddSingleton<WebhookSender>();
        services.AddEventSinks(settings.Sinks ?? new SinkConnections());
        // WebSocket clients connect to the silos themselves: no server to configure, always available.
        services.AddSingleton<IEventSink, WebSocketSink>();
        // TOTVS: closed lots go to the instance's TOTVS service; its connection is the service's, nothing to configure here.
        services.AddSingleton<IEventSink, TotvsSink>();
        services.AddSingleton<TotvsClient>();
        services.AddSingleton<MasterDataStore>();
        services.AddSingleton<LotStore>();
        services.AddSingleton<TotvsMasterDataSync>();
        services.AddSingleton<WebhookTargetValidator>();
        services.TryAddSingleton<IJitterSource, RandomJitterSource>();
        services.AddSingleton<RetryPlanner>();

        services.AddSingleton(settings.Lines ?? LineSettings.Default);
        services.AddSingleton(settings.LineCounters ?? LineCounterSettings.Default);
        services.AddSingleton<LineCounterStore>();
        services.AddHostedService(sp => sp.GetRequiredService<LineCounterStore>());
        services.AddSingleton(settings.Keyence ?? KeyenceSettings.Off);
        return services;
    }
}
