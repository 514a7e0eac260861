using Integracoes.Abstractions.Lines;
using Microsoft.Extensions.Logging;

namespace Integracoes.Grains.Lines.Keyence;

public sealed class KeyenceWatcherDirectoryState
{
    public int Version { get; set; } = 1;
    public SortedSet<string> Instances { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Which instances have a KEYENCE watcher. A silo start wakes them all (a startup task), so after a crash
/// ingestion resumes within the poll interval; the watchers' own reminders stay as the backstop.
/// </summary>
public sealed class KeyenceWatcherDirectoryGrain(
    [PersistentState("keyencewatchers", GrainStorage.Name)] IPersistentState<KeyenceWatcherDirectoryState> state,
    ILogger<KeyenceWatcherDirectoryGrain> logger) : Grain, IKeyenceWatcherDirectoryGrain
{
    public async Task SetAsync(string instance, bool watching)
    {
        var changed = watching ? state.State.Instances.Add(instance) : state.State.Instances.Remove(instance);
        if (changed) await state.WriteStateAsync();
    }

    public async Task WakeAllAsync()
    {
        var woken = await Task.WhenAll(state.State.Instances.Select(async instance =>
        {
            try
            {
                await GrainFactory.GetGrain<IKeyenceWatcherGrain>(instance).WakeAsync();
                return true;
            }
            catch (Exception e)
            {
                // Its reminder wakes it within a minute.
                logger.LogWarning(e, "Could not wake the KEYENCE watcher of {Instance}", instance);
                return false;
            }
        }));
        if (woken.Length > 0) logger.LogInformation("Woke {Count} KEYENCE watcher(s)", woken.Count(w => w));
    }
}
