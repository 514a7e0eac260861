using System.Net.WebSockets;
using Integracoes.Abstractions.Instances;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Integracoes.Api.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Apis;

/// <summary>
/// The live feed (seed 002's websocket): <c>ws://host/ws/{instance}</c>, authenticated like every route,
/// or with <c>?apikey=</c> because browsers cannot set headers on a WebSocket. Any key of the instance may
/// connect (read scope is enough). Each client receives <c>{"event","instance","data",...}</c> for the
/// events the instance's websocket sink (<c>/websocket/set/{instance}</c>) enables; see <see cref="WebSocketHub"/>.
/// </summary>
public static class WebSocketApi
{
    public const string Route = "/ws/{instance}";

    public static IEndpointRouteBuilder MapWebSocketApi(this IEndpointRouteBuilder app)
    {
        // Not in the OpenAPI document: it describes HTTP request/response operations, and this is an upgrade.
        app.Map(Route, ConnectAsync).RequireAuthorization(Policies.InstanceRead).ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> ConnectAsync(string instance, HttpContext http, WebSocketHub hub, WebSocketSettings settings)
    {
        if (instance != http.User.Instance()) return Problems.NotFound("instance not found.");
        if (!http.WebSockets.IsWebSocketRequest)
            return Problems.Field(StatusCodes.Status400BadRequest, "upgrade", "this is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket).");
        if (!await hub.AdmitAsync(instance))
            return Problems.Field(StatusCodes.Status429TooManyRequests, "websocket",
                $"the instance already has {settings.MaxClientsPerInstance} WebSocket clients connected (the most allowed); close one first.");

        WebSocket socket;
        try
        {
            socket = await http.WebSockets.AcceptWebSocketAsync();
        }
        catch
        {
            await hub.ReleaseAsync(instance);
            throw;
        }
        ApiKeyFormat.TryParse(ApiKeyAuthenticationHandler.ReadKey(http.Request), out var keyId, out var secret);
        await hub.ServeAsync(new WebSocketCaller(instance, keyId, secret, http.Connection.RemoteIpAddress?.ToString()), socket, http.RequestAborted);
        return Results.Empty;
    }
}
