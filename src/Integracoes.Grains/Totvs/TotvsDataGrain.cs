using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Totvs;
using Integracoes.Storage.Totvs;
using Orleans.Concurrency;

namespace Integracoes.Grains.Totvs;

/// <summary>Reads of one instance's synced master data. Stateless: PostgreSQL answers.</summary>
[StatelessWorker]
public sealed class TotvsDataGrain(MasterDataStore masterData) : Grain, ITotvsDataGrain
{
    public Task<Page<string>> ListAsync(string entity, string? busca, int limit, int offset) =>
        masterData.ListAsync(MasterTable.ByEntity[entity], this.GetPrimaryKeyString(), busca, limit, offset);
}
