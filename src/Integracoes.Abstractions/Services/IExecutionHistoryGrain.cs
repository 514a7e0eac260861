using Integracoes.Abstractions.Common;
using Orleans.Concurrency;

namespace Integracoes.Abstractions.Services;

/// <summary>Reads the execution history of one instance's services (keyed by instance name).</summary>
[Alias("Integracoes.IExecutionHistoryGrain")]
public interface IExecutionHistoryGrain : IGrainWithStringKey
{
    [Alias("List"), ReadOnly]
    Task<Page<ExecutionView>> ListAsync(long? servicoId, string? status, int limit, int offset);
}

/// <summary>Answers when the silo can activate grains; used by the readiness probe.</summary>
[Alias("Integracoes.IPingGrain")]
public interface IPingGrain : IGrainWithIntegerKey
{
    [Alias("Ping")]
    Task<bool> PingAsync();
}
