using Integracoes.Abstractions.Instances;

namespace Integracoes.Grains.Instances;

public sealed class InstanceDirectoryState
{
    public int Version { get; set; } = 1;
    public SortedSet<string> Names { get; set; } = new(StringComparer.Ordinal);
}

public sealed class InstanceDirectoryGrain(
    [PersistentState("instancedirectory", GrainStorage.Name)] IPersistentState<InstanceDirectoryState> state)
    : Grain, IInstanceDirectoryGrain
{
    public async Task AddAsync(string name)
    {
        if (state.State.Names.Add(name))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Names]);
}
