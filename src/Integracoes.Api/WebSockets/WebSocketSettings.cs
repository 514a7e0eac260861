namespace Integracoes.Api.WebSockets;

/// <summary>The live feed's limits and heartbeat (README's configuration table, <c>INTEGRACOES_WEBSOCKET_*</c>).</summary>
/// <param name="MaxClientsPerInstance">Clients one instance may have connected at once, on all silos together.</param>
/// <param name="SendQueueLength">Messages waiting for one client; a client that lets more pile up is too slow and is dropped.</param>
/// <param name="PingSeconds">How often the server pings each client (ASP.NET Core's <c>KeepAliveInterval</c>).</param>
/// <param name="PongTimeoutSeconds">A client that has not answered a ping with a pong within this time is closed (<c>KeepAliveTimeout</c>).</param>
public sealed record WebSocketSettings(
    int MaxClientsPerInstance = 100,
    int SendQueueLength = 256,
    int PingSeconds = 30,
    int PongTimeoutSeconds = 30);
