using Integracoes.Abstractions.Sinks;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Integracoes.Grains.Sinks;

/// <summary>
/// The live feed of one instance across silos: the hubs (one per silo, grain observers) that have
/// clients of the instance, how many each has, and the fan-out of every event to them. No grain state:
/// observers do not survive a restart, so hubs renew every <see cref="WebSocketLease.RenewEvery"/> (and at once when
/// the cluster's membership changes) and an entry not renewed for <see cref="WebSocketLease.Expiry"/> is forgotten.
/// Reentrant: pushes run in parallel; the counts change only between awaits, on the grain's thread.
/// </summary>
[Reentrant]
public sealed class WebSocketChannelGrain(TimeProvider time, ILogger<WebSocketChannelGrain> logger) : Grain, IWebSocketChannelGrain
{
    /// <summary>A hub only queues (it never waits for a client), so an answer slower than this means its silo is gone or stuck.</summary>
    public static readonly TimeSpan PushTimeout = TimeSpan.FromSeconds(5);

    private readonly Dictionary<GrainId, Hub> _hubs = [];

    private string Instance => this.GetPrimaryKeyString();

    public async Task<bool> AdmitAsync(IWebSocketFeed hub, int maxClients)
    {
        Expire();
        if (Total() >= maxClients)
        {
            // The counts may be stale (a silo that died with clients): ask the hubs before refusing.
            await RecountAsync();
            if (Total() >= maxClients) return false;
        }
        var entry = Entry(hub);
        entry.Clients++;
        entry.RenewedAt = time.GetUtcNow();
        return true;
    }

    public Task LeaveAsync(IWebSocketFeed hub)
    {
        var id = hub.GetGrainId();
        if (_hubs.TryGetValue(id, out var entry) && --entry.Clients <= 0) _hubs.Remove(id);
        return Task.CompletedTask;
    }

    public Task RenewAsync(IWebSocketFeed hub, int clients)
    {
        if (clients <= 0)
        {
            _hubs.Remove(hub.GetGrainId());
            return Task.CompletedTask;
        }
        var entry = Entry(hub);
        entry.Clients = clients;
        entry.RenewedAt = time.GetUtcNow();
        return Task.CompletedTask;
    }

    public async Task<WebSocketFanOut> PublishAsync(WebSocketEvent e)
    {
        Expire();
        var hubs = _hubs.Values.Where(h => h.Clients > 0).ToList();
        if (hubs.Count == 0) return new WebSocketFanOut(0, 0, 0);
        var answers = await Task.WhenAll(hubs.Select(h => AskAsync(h, feed => feed.PushAsync(e))));
        return new WebSocketFanOut(answers.Count(a => a is not null), answers.Sum(a => a ?? 0), answers.Count(a => a is null));
    }

    /// <summary>Replaces every hub's count with what the hub itself says (forgetting hubs that do not answer).</summary>
    private async Task RecountAsync()
    {
        var hubs = _hubs.Values.ToList();
        var answers = await Task.WhenAll(hubs.Select(h => AskAsync(h, feed => feed.CountAsync(Instance))));
        for (var i = 0; i < hubs.Count; i++)
        {
            if (answers[i] is not { } clients || !_hubs.TryGetValue(hubs[i].Id, out var current) || current != hubs[i]) continue;
            if (clients <= 0) _hubs.Remove(current.Id);
            else current.Clients = clients;
        }
    }

    /// <summary>One call to a hub; null when it failed, and then the hub is forgotten until it renews.</summary>
    private async Task<int?> AskAsync(Hub hub, Func<IWebSocketFeed, Task<int>> call)
    {
        try
        {
            return await call(hub.Feed).WaitAsync(PushTimeout, time);
        }
        catch (Exception e)
        {
            if (_hubs.TryGetValue(hub.Id, out var current) && current == hub) _hubs.Remove(hub.Id);
            logger.LogWarning("WebSocket hub {Hub} of instance {Instance} did not answer and is forgotten until it renews: {Error}",
                hub.Id, Instance, e.Message);
            return null;
        }
    }

    private Hub Entry(IWebSocketFeed feed)
    {
        var id = feed.GetGrainId();
        if (!_hubs.TryGetValue(id, out var entry))
        {
            _hubs[id] = entry = new Hub(id, feed) { RenewedAt = time.GetUtcNow() };
        }
        return entry;
    }

    private int Total() => _hubs.Values.Sum(h => h.Clients);

    private void Expire()
    {
        var oldest = time.GetUtcNow() - WebSocketLease.Expiry;
        foreach (var stale in _hubs.Values.Where(h => h.RenewedAt < oldest).ToList())
        {
            _hubs.Remove(stale.Id);
            logger.LogInformation("WebSocket hub {Hub} of instance {Instance} stopped renewing and is forgotten", stale.Id, Instance);
        }
    }

    private sealed class Hub(GrainId id, IWebSocketFeed feed)
    {
        public GrainId Id { get; } = id;
        public IWebSocketFeed Feed { get; } = feed;
        public int Clients { get; set; }
        public DateTimeOffset RenewedAt { get; set; }
    }
}
