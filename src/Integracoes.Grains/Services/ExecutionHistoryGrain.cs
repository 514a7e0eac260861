using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Services;
using Integracoes.Storage.Executions;
using Orleans.Concurrency;

namespace Integracoes.Grains.Services;

/// <summary>Stateless: many activations may serve reads of the append-only execution table in parallel.</summary>
[StatelessWorker]
public sealed class ExecutionHistoryGrain(ExecutionStore executions) : Grain, IExecutionHistoryGrain
{
    public Task<Page<ExecutionView>> ListAsync(long? servicoId, string? status, int limit, int offset) =>
        executions.ListAsync(this.GetPrimaryKeyString(), servicoId, status, limit, offset);
}

[StatelessWorker]
public sealed class PingGrain : Grain, IPingGrain
{
    public Task<bool> PingAsync() => Task.FromResult(true);
}
