using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Integracoes.Delivery.Sinks;

/// <summary>
/// Where the message servers are: global operator configuration (README's table), never per instance.
/// A sink whose server is not configured is not registered, and <c>/{tipo}/set</c> says so.
/// </summary>
public sealed record SinkConnections(
    string? RabbitMqUri = null,
    string RabbitMqExchangePrefix = "integracoes.",
    string? NatsUrl = null,
    string? SqsServiceUrl = null,
    string SqsRegion = "us-east-1",
    string? SqsAccessKey = null,
    string? SqsSecretKey = null,
    string SqsQueuePrefix = "integracoes-",
    string? PusherUrl = null,
    string? PusherAppId = null,
    string? PusherKey = null,
    string? PusherSecret = null);

public static class SinkServiceExtensions
{
    public static IServiceCollection AddEventSinks(this IServiceCollection services, SinkConnections connections)
    {
        services.TryAddSingleton(connections);
        services.TryAddSingleton<EventSinks>();
        if (connections.NatsUrl is not null)
        {
            services.AddSingleton<NatsSink>();
            services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<NatsSink>());
        }
        if (connections.RabbitMqUri is not null)
        {
            services.AddSingleton<RabbitMqSink>();
            services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<RabbitMqSink>());
        }
        if (connections.SqsServiceUrl is not null)
        {
            services.AddSingleton<SqsSink>();
            services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<SqsSink>());
        }
        if (connections.PusherUrl is not null)
        {
            PusherSink.AddPusherHttp(services);
            services.TryAddSingleton(TimeProvider.System);
            services.AddSingleton<PusherSink>();
            services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<PusherSink>());
        }
        return services;
    }
}
