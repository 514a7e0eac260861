using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Integracoes.Abstractions.Totvs;
using Integracoes.Delivery.Totvs;
using Integracoes.Storage.Totvs;

namespace Integracoes.Grains.Totvs;

/// <summary>A nominal speed TOTVS changed: what the line grain is told.</summary>
public sealed record NominalSpeed(string Sku, string Linha, double UnidadesPorMinuto);

/// <summary>What one entity's pass did.</summary>
public sealed record EntityReport(string Entity, DateTimeOffset? Desde, int Paginas, int Itens, int Gravados, int Falhas, string? Erro);

/// <summary>What one sync run did: the counters of its execution record, and the entities' details.</summary>
public sealed record SyncReport(IReadOnlyList<EntityReport> Entities, IReadOnlyList<string> Errors)
{
    public int Processados => Entities.Sum(e => e.Itens);
    public int Sucesso => Entities.Sum(e => e.Gravados);
    public int Falha => Entities.Sum(e => e.Falhas + (e.Erro is null ? 0 : 1));
    public bool Failed => Entities.Any(e => e.Erro is not null);

    public string Describe()
    {
        var entities = new JsonObject();
        foreach (var e in Entities)
        {
            entities[e.Entity] = new JsonObject
            {
                ["desde"] = e.Desde?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                ["paginas"] = e.Paginas,
                ["itens"] = e.Itens,
                ["gravados"] = e.Gravados,
                ["falhas"] = e.Falhas,
                ["erro"] = e.Erro,
            };
        }
        return new JsonObject { ["entidades"] = entities }.ToJsonString();
    }
}

/// <summary>
/// One master data sync of a TOTVS service, entity by entity in <see cref="TotvsEntities.InSyncOrder"/>:
/// pages of <c>?page=&amp;pageSize=&amp;alteradoDesde=&lt;watermark&gt;</c> until <c>hasNext</c> is false,
/// each page upserted as it arrives, and the entity's watermark (largest <c>alterado_em</c> stored)
/// moved forward only after its last page, so a run cut short is simply done again from the old
/// watermark (upserts are idempotent). The filter is inclusive, so items changed in the same instant
/// as the watermark are not missed. An item that does not fit its table is counted as a failure and
/// skipped; a page that cannot be read fails that entity's pass and the next entity still runs.
/// </summary>
public sealed class TotvsMasterDataSync(TotvsClient client, MasterDataStore masterData, LotStore lots, TimeProvider time)
{
    /// <summary>A bound on pages per entity and run, so a server that always says hasNext cannot loop forever.</summary>
    public const int MaxPages = 10_000;
    private const int MaxErrors = 20;

    public async Task<SyncReport> RunAsync(string instance, long servicoId, TotvsAccess access, Func<IReadOnlyList<NominalSpeed>, Task> speedsChanged, CancellationToken ct)
    {
        var reports = new List<EntityReport>();
        var errors = new List<string>();
        foreach (var (entity, endpoint) in TotvsEntities.InSyncOrder)
        {
            if (!access.Settings.Endpoints.ContainsKey(endpoint)) continue;
            reports.Add(await SyncEntityAsync(instance, servicoId, access, entity, access.Settings.EndpointUrl(endpoint), errors, speedsChanged, ct));
        }
        return new SyncReport(reports, errors);
    }

    private async Task<EntityReport> SyncEntityAsync(
        string instance, long servicoId, TotvsAccess access, string entity, Uri url, List<string> errors,
        Func<IReadOnlyList<NominalSpeed>, Task> speedsChanged, CancellationToken ct)
    {
        var since = await masterData.WatermarkAsync(servicoId, entity, ct);
        var newest = since;
        int pages = 0, items = 0, stored = 0, failed = 0;
        try
        {
            for (var page = 1; page <= MaxPages; page++)
            {
                var result = await client.GetPageAsync(access, url, page, since, ct);
                pages++;
                items += result.Items.Count;
                var (rows, rejected) = Normalize(entity, result.Items, errors);
                failed += rejected;
                var now = time.GetUtcNow();
                if (entity == TotvsEntities.Lotes)
                {
                    foreach (var (order, _) in rows.Select(r => (ToOrder(r), r)))
                    {
                        await lots.UpsertFromSyncAsync(instance, order, now, ct);
                    }
                }
                else
                {
                    await masterData.UpsertAsync(MasterTable.ByEntity[entity], instance, rows, now, ct);
                    if (entity == TotvsEntities.Velocidades && rows.Count > 0)
                    {
                        await speedsChanged([.. rows.Select(r => new NominalSpeed(
                            r["sku"]!.GetValue<string>(), r["linha"]!.GetValue<string>(), r["unidades_por_minuto"]!.GetValue<double>()))]);
                    }
                }
                stored += rows.Count;
                foreach (var row in rows)
                {
                    if (row[MasterTable.ChangedAt] is JsonValue v && MasterTable.TryTimestamp(v.GetValue<string>(), out var at) && (newest is null || at > newest))
                        newest = at;
                }
                if (!result.HasNext) break;
            }
            if (newest is { } watermark && watermark != since)
            {
                await masterData.SaveWatermarkAsync(servicoId, entity, watermark, time.GetUtcNow(), ct);
            }
            return new EntityReport(entity, since, pages, items, stored, failed, null);
        }
        catch (TotvsException e)
        {
            AddError(errors, $"{entity}: {e.Message}");
            return new EntityReport(entity, since, pages, items, stored, failed, e.Message);
        }
    }

    /// <summary>The page's items that fit, deduplicated by key (the last wins), and how many did not fit.</summary>
    private static (List<JsonObject> Rows, int Rejected) Normalize(string entity, IReadOnlyList<JsonElement> items, List<string> errors)
    {
        var byKey = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        var rejected = 0;
        for (var i = 0; i < items.Count; i++)
        {
            var (row, error) = entity == TotvsEntities.Lotes ? NormalizeLot(items[i]) : MasterTable.ByEntity[entity].Normalize(items[i]);
            if (row is null)
            {
                rejected++;
                AddError(errors, $"{entity}: item {i + 1} ignored: {error}");
                continue;
            }
            byKey[entity == TotvsEntities.Lotes ? row["numero_op"]!.GetValue<string>() : MasterTable.ByEntity[entity].KeyOf(row)] = row;
        }
        return ([.. byKey.Values], rejected);
    }

    /// <summary>A production lot from the <c>lotes</c> endpoint, with the same rules as the ordens-producao webhook.</summary>
    private static (JsonObject? Row, string? Error) NormalizeLot(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object) return (null, "item is not a JSON object");
        var (order, error) = LotOrderReader.Read(item);
        if (order is null) return (null, $"{error!.Value.Field}: {error.Value.Message}");
        var row = JsonNode.Parse(order.DadosJson)!.AsObject();
        row["numero_op"] = order.NumeroOp;
        if (item.TryGetProperty(MasterTable.ChangedAt, out var changed) && changed.ValueKind == JsonValueKind.String && MasterTable.TryTimestamp(changed.GetString()!, out var at))
            row[MasterTable.ChangedAt] = at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
        return (row, null);
    }

    private static LotOrder ToOrder(JsonObject row)
    {
        using var doc = JsonDocument.Parse(row.ToJsonString());
        return LotOrderReader.Read(doc.RootElement).Order!;
    }

    private static void AddError(List<string> errors, string error)
    {
        if (errors.Count < MaxErrors) errors.Add(error);
    }
}
