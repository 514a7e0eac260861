using Integracoes.Abstractions.Lines;
using Integracoes.Storage.Lines;
using Microsoft.Extensions.Logging;

namespace Integracoes.Grains.Lines.Keyence;

/// <summary>
/// File ingestion settings of the silo. <see cref="Root"/> (INTEGRACOES_KEYENCE_ROOT) is the only tree an
/// instance's <c>clps.keyence.path</c> may name; null turns file ingestion off.
/// </summary>
public sealed record KeyenceSettings(string? Root, TimeSpan PollInterval)
{
    public static readonly KeyenceSettings Off = new(null, TimeSpan.FromMilliseconds(250));
}

public sealed class KeyenceWatcherState
{
    public int Version { get; set; } = 1;

    /// <summary>Service id to the directory it names. No file positions: those live with the lines' counters.</summary>
    public Dictionary<long, KeyenceSource> Sources { get; set; } = [];
}

/// <summary>
/// The KEYENCE file watcher of one instance (docs/production-lines.md): a grain timer polls the configured
/// directories and routes records by sensor id to the line grains. It keeps no positions of its own: on
/// activation each file starts at the lowest position the instance's lines made durable, and the lines skip
/// what they already counted. A one-minute reminder reactivates it after a crash or a restart.
/// </summary>
public sealed class KeyenceWatcherGrain(
    [PersistentState("keyencewatcher", GrainStorage.Name)] IPersistentState<KeyenceWatcherState> state,
    KeyenceSettings settings,
    LineCounterStore store,
    TimeProvider time,
    ILogger<KeyenceWatcherGrain> logger) : Grain, IKeyenceWatcherGrain, IRemindable, IKeyenceLineRouter
{
    private const string KeepAliveReminder = "keyence-watch";

    private string Instance => this.GetPrimaryKeyString();

    private List<KeyenceDirectoryReader>? _readers;
    private IGrainTimer? _timer;
    private string? _lastError;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Sources.Count > 0) StartTimer();
        return Task.CompletedTask;
    }

    public async Task ConfigureAsync(long serviceId, KeyenceSource? source)
    {
        var sources = state.State.Sources;
        var had = sources.TryGetValue(serviceId, out var previous);
        if (source is null ? !had : had && previous == source) return;

        if (source is null) sources.Remove(serviceId);
        else sources[serviceId] = source;
        await state.WriteStateAsync();
        logger.LogInformation("KEYENCE watcher of {Instance}: service {ServiceId} now reads {Path}", Instance, serviceId, source?.Path ?? "nothing");

        await GrainFactory.GetGrain<IKeyenceWatcherDirectoryGrain>(0).SetAsync(Instance, sources.Count > 0);

        // New readers start from the stored positions again, so nothing read by the old ones is lost.
        _readers = null;
        if (sources.Count > 0)
        {
            await this.RegisterOrUpdateReminder(KeepAliveReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            StartTimer();
        }
        else
        {
            await StopAsync();
        }
    }

    public Task<KeyenceWatchStatus> StatusAsync() => Task.FromResult(new KeyenceWatchStatus(
        settings.Root is not null && state.State.Sources.Count > 0,
        [.. state.State.Sources.OrderBy(s => s.Key).Select(s => s.Value.Path).Distinct()],
        [.. (_readers ?? []).SelectMany(r => r.Status())],
        _lastError ?? _readers?.Select(r => r.LastError).FirstOrDefault(e => e is not null)));

    public Task WakeAsync() => Task.CompletedTask;

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Activation started the timer; a watcher with nothing to watch stops being woken.
        if (state.State.Sources.Count == 0) await StopAsync();
    }

    private void StartTimer()
    {
        _timer ??= this.RegisterGrainTimer(PollAsync, new GrainTimerCreationOptions(TimeSpan.Zero, settings.PollInterval) { KeepAlive = true });
    }

    private async Task StopAsync()
    {
        _timer?.Dispose();
        _timer = null;
        _readers = null;
        if (await this.GetReminder(KeepAliveReminder) is { } reminder) await this.UnregisterReminder(reminder);
        DeactivateOnIdle();
    }

    private async Task PollAsync(CancellationToken ct)
    {
        if (settings.Root is null)
        {
            _lastError = "file ingestion is off on this server (INTEGRACOES_KEYENCE_ROOT is not set)";
            return;
        }
        if (_readers is null && !await StartReadersAsync(settings.Root, ct)) return;
        foreach (var reader in _readers!)
        {
            try
            {
                await reader.PollAsync();
            }
            catch (Exception e)
            {
                // The registry or a line is unreachable for a moment: the same bytes are read at the next poll.
                logger.LogWarning(e, "KEYENCE watcher of {Instance} could not read {Path}; trying again at the next poll", Instance, reader.Source.Path);
            }
        }
    }

    private async Task<bool> StartReadersAsync(string root, CancellationToken ct)
    {
        IReadOnlyDictionary<string, long> positions;
        try
        {
            positions = await store.FilePositionsAsync(Instance, ct);
        }
        catch (Exception e)
        {
            _lastError = "the stored file positions cannot be read yet: " + e.Message;
            logger.LogWarning(e, "KEYENCE watcher of {Instance} cannot read the stored file positions; not reading files until it can", Instance);
            return false;
        }
        _lastError = null;
        // Two services naming one directory would read each file twice: the first (lowest id) wins.
        _readers = [.. state.State.Sources.OrderBy(s => s.Key)
            .DistinctBy(s => KeyencePaths.Confine(root, s.Value.Path) ?? s.Value.Path)
            .Select(s => new KeyenceDirectoryReader(Instance, root, s.Value, positions, this, time, logger))];
        return true;
    }

    Task<IReadOnlyDictionary<string, string>> IKeyenceLineRouter.SensorMapAsync() =>
        GrainFactory.GetGrain<ILineRegistryGrain>(Instance).SensorMapAsync(SensorSources.Keyence);

    Task IKeyenceLineRouter.IngestAsync(string lineId, SensorBatch batch) =>
        GrainFactory.GetGrain<ILineGrain>(LineKeys.For(Instance, lineId)).IngestAsync(batch);
}
