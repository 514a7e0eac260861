using System.Net;
using Integracoes.Api;
using Integracoes.Api.WebSockets;
using Integracoes.Grains.Hosting;
using Integracoes.Grains.Lines;
using Integracoes.Grains.Lines.Keyence;
using Integracoes.Grains.Webhooks;
using Integracoes.Storage.Lines;
using Microsoft.AspNetCore.HttpOverrides;
using Npgsql;
using OpenTelemetry.Metrics;
using Orleans.Configuration;
using Serilog;
using Serilog.Formatting.Compact;

namespace Integracoes.Silo.Extensions;

public static class HostingExtensions
{
    /// <summary>Serilog: readable lines on a terminal, one JSON object per line otherwise (containers, files).</summary>
    public static WebApplicationBuilder AddIntegracoesLogging(this WebApplicationBuilder builder)
    {
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                // Its "Request starting" lines carry the full URL, and a WebSocket's may hold ?apikey=: never below
                // Warning, whatever the configuration says (UseSerilogRequestLogging logs requests without the query).
                .MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", Serilog.Events.LogEventLevel.Warning)
                .Enrich.FromLogContext();
            if (Console.IsOutputRedirected)
            {
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
            }
            else
            {
                logger.WriteTo.Console();
            }
        });
        return builder;
    }

    public static WebApplicationBuilder AddIntegracoesSilo(this WebApplicationBuilder builder, IntegracoesSettings settings, NpgsqlDataSource dataSource)
    {
        builder.UseOrleans(silo =>
        {
            silo.ConfigureEndpoints(IPAddress.Parse(settings.AdvertisedIp), settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: false);
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(60));
            silo.AddIntegracoesGrains(new GrainHostSettings(
                dataSource,
                settings.EncryptionKey!,
                settings.AllowedTargets,
                new GrainLimits(settings.MaxServicesPerInstance),
                settings.ClusterId,
                settings.ServiceId,
                new DeliverySettings(
                    MaxSubscriptionsPerInstance: settings.MaxWebhooksPerInstance,
                    MaxEventBytes: settings.MaxEventBytes,
                    LogRetentionDays: settings.DeliveryLogRetentionDays,
                    DisableAfterFailingDays: settings.WebhookDisableAfterDays,
                    CircuitFailureRatio: settings.CircuitFailureRatio,
                    CircuitMinimumThroughput: settings.CircuitMinimumThroughput,
                    CircuitBreakSeconds: settings.CircuitBreakSeconds,
                    ServerUrl: settings.PublicUrl ?? $"http://{settings.HttpHost}:{settings.HttpPort}"),
                settings.SinkConnections(),
                new LineSettings(TimeSpan.FromSeconds(settings.LineStopSeconds), TimeSpan.FromSeconds(settings.LineStaleSeconds), settings.MaxLinesPerInstance),
                new LineCounterSettings(TimeSpan.FromSeconds(settings.LineFlushSeconds)),
                new KeyenceSettings(settings.KeyenceRoot, TimeSpan.FromMilliseconds(settings.KeyencePollMilliseconds))));
        });
        return builder;
    }

    public static WebApplicationBuilder AddIntegracoesHttp(this WebApplicationBuilder builder, IntegracoesSettings settings)
    {
        builder.Services.Configure<ForwardedHeadersOptions>(o =>
        {
            // Only the configured proxies are believed (the framework's default also trusts loopback).
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            settings.TryParseTrustedProxies(out var proxies);
            foreach (var proxy in proxies) o.KnownIPNetworks.Add(proxy);
            o.ForwardLimit = 1;
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = settings.MaxBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxRequestHeaderCount = 100;
            kestrel.Limits.MaxRequestLineSize = 8 * 1024;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(settings.RequestHeadersTimeoutSeconds);
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(120);
            kestrel.Limits.MinRequestBodyDataRate = new(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
            kestrel.AddServerHeader = false;
            switch (settings.HttpHost)
            {
                case "localhost":
                    kestrel.ListenLocalhost(settings.HttpPort);
                    break;
                case "*" or "0.0.0.0":
                    kestrel.ListenAnyIP(settings.HttpPort);
                    break;
                default:
                    kestrel.Listen(IPAddress.Parse(settings.HttpHost), settings.HttpPort);
                    break;
            }
        });
        builder.Services.AddIntegracoesApi(new ApiSettings(settings.AdminKey!, settings.MaxEventBytes, settings.RequestLogRetentionDays, settings.RateLimitPerMinute,
            new WebSocketSettings(settings.WebSocketMaxClientsPerInstance, settings.WebSocketSendQueue, settings.WebSocketPingSeconds, settings.WebSocketPongTimeoutSeconds)));
        return builder;
    }

    /// <summary>Prometheus metrics through OpenTelemetry: HTTP server and client, Orleans, Npgsql.</summary>
    public static WebApplicationBuilder AddIntegracoesTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddAspNetCoreInstrumentation()
            .AddHttpClientInstrumentation()
            .AddMeter("Microsoft.Orleans")
            .AddMeter("Npgsql")
            .AddMeter(KeyenceMetrics.MeterName)
            .AddPrometheusExporter());
        return builder;
    }

    /// <summary>Behind a reverse proxy (INTEGRACOES_TRUSTED_PROXIES), the client IP comes from its X-Forwarded-For.</summary>
    public static WebApplication UseIntegracoesProxyHeaders(this WebApplication app, IntegracoesSettings settings)
    {
        if (!string.IsNullOrWhiteSpace(settings.TrustedProxies))
        {
            app.UseForwardedHeaders();
        }
        return app;
    }
}
