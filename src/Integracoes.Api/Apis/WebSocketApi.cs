using System.Net.WebSockets;
using System.Text.Json;
using Integracoes.Abstractions.Instances;
using Integracoes.Abstractions.Lines;
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

    /// <summary>The live counters of every line of the caller's instance (a literal segment: it wins over <see cref="Route"/>).</summary>
    public const string LinesRoute = "/ws/linhas";

    public static IEndpointRouteBuilder MapWebSocketApi(this IEndpointRouteBuilder app)
    {
        // Not in the OpenAPI document: it describes HTTP request/response operations, and this is an upgrade.
        app.Map(Route, ConnectAsync).RequireAuthorization(Policies.InstanceRead).ExcludeFromDescription();
        app.Map(LinesRoute, ConnectLinesAsync).RequireAuthorization(Policies.InstanceRead).ExcludeFromDescription();
        return app;
    }

    private static Task<IResult> ConnectAsync(string instance, HttpContext http, WebSocketHub hub, WebSocketSettings settings) =>
        instance != http.User.Instance()
            ? Task.FromResult<IResult>(Problems.NotFound("instance not found."))
            : ServeAsync(instance, instance, http, hub, settings, greeting: null);

    /// <summary>
    /// <c>ws://host/ws/linhas</c>: first every line's counters, then <c>{"event":"linha.contadores","instance","data"}</c>
    /// whenever a line's counters change, at most once a second per line.
    /// </summary>
    private static Task<IResult> ConnectLinesAsync(HttpContext http, WebSocketHub hub, WebSocketSettings settings, IGrainFactory grains)
    {
        var instance = http.User.Instance();
        // Taken once the client is admitted (its hub is in the channel), so no change falls between the two.
        async Task<IReadOnlyList<byte[]>> GreetingAsync()
        {
            var counters = await grains.GetGrain<ILineRegistryGrain>(instance).CountersAsync();
            return [.. counters.Select(c => JsonSerializer.SerializeToUtf8Bytes(new { @event = "linha.contadores", instance, data = c }, Json))];
        }
        return ServeAsync(instance, LineKeys.FeedChannel(instance), http, hub, settings, GreetingAsync);
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static IResult NotAWebSocket() =>
        Problems.Field(StatusCodes.Status400BadRequest, "upgrade", "this is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket).");

    private static async Task<IResult> ServeAsync(string instance, string channel, HttpContext http, WebSocketHub hub, WebSocketSettings settings,
        Func<Task<IReadOnlyList<byte[]>>>? greeting)
    {
        if (!http.WebSockets.IsWebSocketRequest)
            return NotAWebSocket();
        if (!await hub.AdmitAsync(channel))
            return Problems.Field(StatusCodes.Status429TooManyRequests, "websocket",
                $"the instance already has {settings.MaxClientsPerInstance} WebSocket clients connected (the most allowed); close one first.");

        WebSocket socket;
        IReadOnlyList<byte[]>? first = null;
        try
        {
            if (greeting is not null) first = await greeting();
            socket = await http.WebSockets.AcceptWebSocketAsync();
        }
        catch
        {
            await hub.ReleaseAsync(channel);
            throw;
        }
        ApiKeyFormat.TryParse(ApiKeyAuthenticationHandler.ReadKey(http.Request), out var keyId, out var secret);
        await hub.ServeAsync(new WebSocketCaller(instance, keyId, secret, http.Connection.RemoteIpAddress?.ToString()) { Channel = channel }, socket, http.RequestAborted, first);
        return Results.Empty;
    }
}
