namespace Integracoes.Abstractions.Sinks;

/// <summary>One event for the WebSocket clients of an instance: the envelope exactly as they receive it.</summary>
[GenerateSerializer, Immutable]
public sealed record WebSocketEvent(
    [property: Id(0)] string Instance,
    [property: Id(1)] byte[] Envelope);

/// <summary>Where one event went: the silos (hubs) that took it and how many of their clients it was queued for.</summary>
[GenerateSerializer, Immutable]
public sealed record WebSocketFanOut(
    [property: Id(0)] int Silos,
    [property: Id(1)] int Clients,
    [property: Id(2)] int Unreachable);

/// <summary>
/// A silo's WebSocket hub as the channel grains see it: a grain observer. Observers are not durable, so
/// a hub renews its place in each channel it has clients for, and a channel forgets hubs it has not heard from.
/// </summary>
[Alias("Integracoes.IWebSocketFeed")]
public interface IWebSocketFeed : IGrainObserver
{
    /// <summary>Queues the event for this silo's clients of its instance without waiting for any of them; returns how many took it.</summary>
    [Alias("Push")]
    Task<int> PushAsync(WebSocketEvent e);

    /// <summary>This silo's clients of <paramref name="instance"/>, connected or being admitted.</summary>
    [Alias("Count")]
    Task<int> CountAsync(string instance);
}

/// <summary>
/// The live feed of one instance (keyed by instance), across silos: which hubs have clients of it, the
/// per-instance client bound, and the fan-out of each event to those hubs (GPSTracker's push notifier).
/// </summary>
[Alias("Integracoes.IWebSocketChannelGrain")]
public interface IWebSocketChannelGrain : IGrainWithStringKey
{
    /// <summary>Reserves a place for one more client of <paramref name="hub"/>; false when the instance already has <paramref name="maxClients"/>.</summary>
    [Alias("Admit")]
    Task<bool> AdmitAsync(IWebSocketFeed hub, int maxClients);

    /// <summary>One client of <paramref name="hub"/> is gone.</summary>
    [Alias("Leave")]
    Task LeaveAsync(IWebSocketFeed hub);

    /// <summary>The hub is alive and has <paramref name="clients"/> clients of this instance (0: forget it).</summary>
    [Alias("Renew")]
    Task RenewAsync(IWebSocketFeed hub, int clients);

    /// <summary>Pushes the event to every hub with clients; a hub that does not answer is forgotten until it renews.</summary>
    [Alias("Publish")]
    Task<WebSocketFanOut> PublishAsync(WebSocketEvent e);
}

/// <summary>How long a hub's place in a channel lasts: observers are not durable, so hubs renew and channels forget.</summary>
public static class WebSocketLease
{
    /// <summary>How often a hub renews its place in every channel it has clients of.</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(30);

    /// <summary>Four renewals missed: the hub's silo is gone, and the channel forgets it.</summary>
    public static readonly TimeSpan Expiry = TimeSpan.FromMinutes(2);
}
