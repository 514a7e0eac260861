using Integracoes.Abstractions.Webhooks;
using Integracoes.Storage.Deliveries;
using Microsoft.Extensions.Logging;

namespace Integracoes.Grains.Webhooks;

/// <summary>
/// The durable backstop of delivery. Every minute (a reminder) and whenever a silo starts, it wakes each
/// subscription that has due work in PostgreSQL, so deliveries accepted just before a crash, or whose
/// in-memory timer died with a silo, are sent. Also runs the retention of delivery logs.
/// </summary>
public sealed class DeliverySweeperGrain(
    DeliveryQueries queries,
    DeliverySettings settings,
    TimeProvider time,
    ILogger<DeliverySweeperGrain> logger) : Grain, IDeliverySweeperGrain, IRemindable
{
    private const string SweepReminder = "varredura";
    private DateTimeOffset _lastPurge = DateTimeOffset.MinValue;

    public async Task StartAsync()
    {
        await this.RegisterOrUpdateReminder(SweepReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        await SweepAsync();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        await SweepAsync();
        var now = time.GetUtcNow();
        if (now - _lastPurge > TimeSpan.FromHours(1))
        {
            _lastPurge = now;
            var purged = await queries.PurgeLogsAsync(now.AddDays(-settings.LogRetentionDays));
            if (purged > 0)
            {
                logger.LogInformation("Purged {Count} delivery logs older than {Days} days", purged, settings.LogRetentionDays);
            }
        }
    }

    public async Task<int> SweepAsync()
    {
        var due = await queries.DueDestinationsAsync(time.GetUtcNow(), 10_000);
        foreach (var destination in due)
        {
            await GrainFactory.GetGrain<IWebhookSubscriptionGrain>(destination).WakeAsync(null);
        }
        return due.Count;
    }
}
