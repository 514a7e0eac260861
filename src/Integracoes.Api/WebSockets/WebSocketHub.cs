using System.Collections.Immutable;
using System.Net.WebSockets;
using Integracoes.Abstractions.Instances;
using Integracoes.Abstractions.Sinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Integracoes.Api.WebSockets;

/// <summary>
/// This silo's WebSocket clients, per instance, and this silo's grain observer for the instances'
/// <see cref="IWebSocketChannelGrain"/>s (GPSTracker's hub pattern). A pushed event is only queued per
/// client: a client whose queue is full is dropped (1008, "too slow") and no other client waits. In the
/// background it renews this hub's place in every channel it has clients of, at once after a change of
/// the cluster's membership (a channel grain on a departed silo comes back empty), and re-checks every
/// client's key, so a revoked key stops receiving within <see cref="WebSocketLease.RenewEvery"/>.
/// </summary>
public sealed class WebSocketHub(
    IGrainFactory grains,
    WebSocketSettings settings,
    TimeProvider time,
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    ILogger<WebSocketHub> logger) : BackgroundService, IWebSocketFeed
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, InstanceClients> _instances = new(StringComparer.Ordinal);
    private IWebSocketFeed? _feed;

    /// <summary>The observer reference the channel grains call (created once the silo runs).</summary>
    private IWebSocketFeed Feed
    {
        get
        {
            lock (_lock)
            {
                return _feed ??= grains.CreateObjectReference<IWebSocketFeed>(this);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Clients

    /// <summary>
    /// Reserves a place for one more client of <paramref name="instance"/> (a channel: an instance's events, or
    /// another feed of it such as <c>{instance}/linhas</c>); false when the channel is at its limit.
    /// </summary>
    public async Task<bool> AdmitAsync(string instance)
    {
        lock (_lock)
        {
            Clients(instance).Admitting++;
        }
        var admitted = false;
        try
        {
            admitted = await Channel(instance).AdmitAsync(Feed, settings.MaxClientsPerInstance);
            return admitted;
        }
        finally
        {
            if (!admitted) Forget(instance, client: null);
        }
    }

    /// <summary>Gives back a place <see cref="AdmitAsync"/> reserved when the connection did not become a WebSocket.</summary>
    public Task ReleaseAsync(string instance)
    {
        Forget(instance, client: null);
        return LeaveAsync(instance);
    }

    /// <summary>Serves an admitted client until it or the server closes the connection.</summary>
    /// <param name="greeting">Messages the client gets first, before anything pushed (a snapshot of the current state).</param>
    public async Task ServeAsync(WebSocketCaller caller, WebSocket socket, CancellationToken aborted, IReadOnlyList<byte[]>? greeting = null)
    {
        using var client = new WebSocketClient(caller, socket, settings.SendQueueLength + (greeting?.Count ?? 0), time);
        foreach (var message in greeting ?? []) client.TryEnqueue(message);
        lock (_lock)
        {
            var clients = Clients(caller.Channel);
            clients.Admitting--;
            clients.Connected = clients.Connected.Add(client);
        }
        logger.LogDebug("WebSocket client of {Instance} connected from {RemoteIp} with key {KeyId}", caller.Instance, caller.RemoteIp, caller.KeyId);
        try
        {
            if (lifetime.ApplicationStopping.IsCancellationRequested) client.Close(WebSocketCloseStatus.EndpointUnavailable, "server shutting down");
            await client.RunAsync(aborted);
        }
        finally
        {
            Forget(caller.Channel, client);
            await LeaveAsync(caller.Channel);
            logger.LogDebug("WebSocket client of {Instance} from {RemoteIp} (key {KeyId}) disconnected", caller.Instance, caller.RemoteIp, caller.KeyId);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // IWebSocketFeed: called by the channel grains

    public Task<int> PushAsync(WebSocketEvent e)
    {
        ImmutableArray<WebSocketClient> clients;
        lock (_lock)
        {
            clients = _instances.TryGetValue(e.Instance, out var entry) ? entry.Connected : [];
        }
        var queued = 0;
        foreach (var client in clients)
        {
            if (client.TryEnqueue(e.Envelope))
            {
                queued++;
            }
            else if (client.Close(WebSocketCloseStatus.PolicyViolation, "too slow: messages were not read in time"))
            {
                logger.LogWarning("WebSocket client of {Instance} from {RemoteIp} (key {KeyId}) dropped: too slow, {Waiting} messages waiting", e.Instance, client.Caller.RemoteIp, client.Caller.KeyId, client.Waiting);
            }
        }
        return Task.FromResult(queued);
    }

    public Task<int> CountAsync(string instance)
    {
        lock (_lock)
        {
            return Task.FromResult(_instances.TryGetValue(instance, out var entry) ? entry.Count : 0);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Background: renewals, membership changes, key checks, shutdown

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var closeOnStop = lifetime.ApplicationStopping.Register(() => CloseAll(WebSocketCloseStatus.EndpointUnavailable, "server shutting down"));
        var membership = WatchMembershipAsync(stoppingToken);
        try
        {
            using var timer = new PeriodicTimer(WebSocketLease.RenewEvery, time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RenewAllAsync();
                await CheckKeysAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await membership;
        if (_feed is not null) grains.DeleteObjectReference<IWebSocketFeed>(_feed);
    }

    /// <summary>
    /// A silo that leaves takes its channel grains with it, and their next activations know no hubs: renew
    /// everywhere as soon as the membership changes instead of waiting for the next renewal.
    /// </summary>
    private async Task WatchMembershipAsync(CancellationToken ct)
    {
        if (services.GetService<IClusterMembershipService>() is not { } membership) return;
        try
        {
            var version = membership.CurrentSnapshot.Version;
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(ct))
            {
                if (snapshot.Version <= version) continue;
                version = snapshot.Version;
                await RenewAllAsync();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task RenewAllAsync()
    {
        List<(string Instance, int Count)> counts;
        lock (_lock)
        {
            counts = [.. _instances.Select(i => (i.Key, i.Value.Count))];
        }
        foreach (var (instance, count) in counts)
        {
            try
            {
                await Channel(instance).RenewAsync(Feed, count);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Could not renew the WebSocket channel of {Instance}", instance);
            }
        }
    }

    /// <summary>Keys are verified per request; a connection is one long request, so its key is verified again on every renewal.</summary>
    private async Task CheckKeysAsync()
    {
        List<WebSocketClient> clients;
        lock (_lock)
        {
            clients = [.. _instances.Values.SelectMany(i => i.Connected)];
        }
        foreach (var byKey in clients.GroupBy(c => (c.Caller.KeyId, c.Caller.Secret, c.Caller.RemoteIp)))
        {
            try
            {
                var identity = await grains.GetGrain<IApiKeyGrain>(byKey.Key.KeyId).VerifyAsync(byKey.Key.Secret, byKey.Key.RemoteIp);
                if (identity is not null && byKey.All(c => c.Caller.Instance == identity.Instance)) continue;
                foreach (var client in byKey)
                {
                    if (client.Close(WebSocketCloseStatus.PolicyViolation, "the API key was revoked, expired or is not allowed from this address"))
                    {
                        logger.LogWarning("WebSocket client of {Instance} from {RemoteIp} closed: key {KeyId} was revoked, expired or is not allowed from there", client.Caller.Instance, client.Caller.RemoteIp, client.Caller.KeyId);
                    }
                }
            }
            catch (Exception e)
            {
                // Unknown is not refused: the key is checked again at the next renewal.
                logger.LogWarning(e, "Could not re-check WebSocket key {KeyId}", byKey.Key.KeyId);
            }
        }
    }

    private void CloseAll(WebSocketCloseStatus status, string reason)
    {
        List<WebSocketClient> clients;
        lock (_lock)
        {
            clients = [.. _instances.Values.SelectMany(i => i.Connected)];
        }
        foreach (var client in clients)
        {
            client.Close(status, reason);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    private IWebSocketChannelGrain Channel(string instance) => grains.GetGrain<IWebSocketChannelGrain>(instance);

    private async Task LeaveAsync(string instance)
    {
        try
        {
            await Channel(instance).LeaveAsync(Feed).WaitAsync(TimeSpan.FromSeconds(5), time);
        }
        catch (Exception e)
        {
            // The renewal corrects the count.
            logger.LogDebug(e, "Could not tell the WebSocket channel of {Instance} that a client left", instance);
        }
    }

    private InstanceClients Clients(string instance)
    {
        if (!_instances.TryGetValue(instance, out var clients)) _instances[instance] = clients = new InstanceClients();
        return clients;
    }

    /// <summary>Removes a client (or, with null, a reservation), and the instance once it has neither.</summary>
    private void Forget(string instance, WebSocketClient? client)
    {
        lock (_lock)
        {
            if (!_instances.TryGetValue(instance, out var clients)) return;
            if (client is null) clients.Admitting--;
            else clients.Connected = clients.Connected.Remove(client);
            if (clients.Count <= 0) _instances.Remove(instance);
        }
    }

    private sealed class InstanceClients
    {
        public ImmutableArray<WebSocketClient> Connected { get; set; } = [];
        public int Admitting { get; set; }
        public int Count => Connected.Length + Admitting;
    }
}
