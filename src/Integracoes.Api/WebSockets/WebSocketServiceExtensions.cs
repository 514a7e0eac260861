using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Integracoes.Api.WebSockets;

public static class WebSocketServiceExtensions
{
    /// <summary>The silo's hub of WebSocket clients and the heartbeat of every connection.</summary>
    public static IServiceCollection AddIntegracoesWebSockets(this IServiceCollection services, WebSocketSettings settings)
    {
        services.AddSingleton(settings);
        services.Configure<WebSocketOptions>(o =>
        {
            // A ping every PingSeconds; a client that has not answered one with a pong within PongTimeoutSeconds
            // is aborted, so a dead client (or a half-open TCP connection) is gone within the sum of the two.
            o.KeepAliveInterval = TimeSpan.FromSeconds(settings.PingSeconds);
            o.KeepAliveTimeout = TimeSpan.FromSeconds(settings.PongTimeoutSeconds);
        });
        services.AddSingleton<WebSocketHub>();
        services.AddHostedService(sp => sp.GetRequiredService<WebSocketHub>());
        return services;
    }
}
