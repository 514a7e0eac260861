using System.Globalization;
using System.Text.Json.Nodes;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Events;
using Integracoes.Abstractions.Lines;
using Integracoes.Abstractions.Totvs;
using Integracoes.Storage.Totvs;
using Microsoft.Extensions.Logging;

namespace Integracoes.Grains.Totvs;

/// <summary>
/// The lots of one instance (keyed by instance), in the seed's two workflows. Opening: TOTVS's order
/// becomes an available row of <c>lotes_producao</c> (idempotent on the order number). Closing, and why
/// a crash cannot lose the push to TOTVS:
/// <list type="number">
/// <item>the outbox reminder is registered first, so from here on something comes back for the lot;</item>
/// <item>the line ends the order (<c>EndOrderAsync</c>, its final counters written); if a previous close
/// crashed after this step, the line no longer runs the order and its ended row in
/// <c>ordens_producao_ativas</c> gives the same totals;</item>
/// <item>one UPDATE stores the totals and the signature and makes the lot <c>fechado</c> with
/// <c>evento_id</c> NULL: the row is now the outbox entry;</item>
/// <item><c>lote.fechado</c> is published with the idempotency key <c>lote.fechado:{id}</c>: the event and
/// its queue item for the <c>totvs</c> destination commit together (retries, circuit breaker, dead letters
/// from there on are the delivery engine's);</item>
/// <item><c>evento_id</c> is set. A crash between 3 and 5 leaves a closed lot without it: the reminder
/// publishes it again, and the idempotency key makes a second publish return the first event.</item>
/// </list>
/// </summary>
public sealed class LotWorkflowGrain(
    LotStore lots,
    MasterDataStore masterData,
    TimeProvider time,
    ILogger<LotWorkflowGrain> logger) : Grain, ILotWorkflowGrain, IRemindable
{
    public const string OutboxReminder = "lotes-fechados-pendentes";

    private string Instance => this.GetPrimaryKeyString();

    public async Task<Outcome<LotCreated>> OpenAsync(LotOrder order)
    {
        if (LotRules.Validate(order) is { } error) return Outcome<LotCreated>.Invalid(error.Field, error.Message);
        var (lot, created) = await lots.OpenAsync(Instance, order, LotStore.FromWebhook, time.GetUtcNow());
        if (created) logger.LogInformation("Lot {LotId} ({Order}) of {Instance} opened for line {Line}", lot.Id, lot.NumeroOp, Instance, lot.Linha);
        return Outcome<LotCreated>.Ok(new LotCreated(lot, !created));
    }

    public Task<LotView?> GetAsync(long id) => lots.GetAsync(Instance, id);

    public Task<Page<LotView>> ListAsync(string? linha, string? status, int limit, int offset) =>
        lots.ListAsync(Instance, linha, status, limit, offset);

    public async Task<Outcome<LotView>> StartAsync(long id)
    {
        if (await lots.GetAsync(Instance, id) is not { } lot) return Outcome<LotView>.NotFound($"lot {id} not found.");
        if (lot.Status == LotStatus.InProduction) return Outcome<LotView>.Ok(lot);
        if (lot.Status != LotStatus.Available) return Outcome<LotView>.Conflict("status", $"the lot is {lot.Status}; only an available lot can be started.");

        var line = GrainFactory.GetGrain<ILineGrain>(LineKeys.For(Instance, lot.Linha));
        if (await line.GetAsync() is not { } view) return Outcome<LotView>.Conflict("linha", $"line '{lot.Linha}' does not exist: create it under /api/linhas/.");
        // A start that crashed after the line took the order finds it running there: only the row is left to update.
        if (view.OrdemAtual?.Ordem != lot.NumeroOp)
        {
            var speed = await masterData.NominalSpeedAsync(Instance, lot.Sku, lot.Linha);
            var started = await line.StartOrderAsync(new ProductionOrder(lot.NumeroOp, lot.Sku, lot.Lote, lot.Id, lot.QuantidadePlanejada, speed, time.GetUtcNow()));
            if (!started.IsOk) return Outcome<LotView>.Conflict("linha", started.Detail ?? $"line '{lot.Linha}' cannot start the order.");
        }
        return await lots.MarkStartedAsync(Instance, id, time.GetUtcNow()) is { } marked
            ? Outcome<LotView>.Ok(marked)
            : Outcome<LotView>.Conflict("status", "the lot changed while it was being started.");
    }

    public async Task<Outcome<LotView>> CloseAsync(long id, LotSignature signature)
    {
        if (await lots.GetAsync(Instance, id) is not { } lot) return Outcome<LotView>.NotFound($"lot {id} not found.");
        if (LotRules.Validate(signature, time.GetUtcNow()) is { } error) return Outcome<LotView>.Invalid(error.Field, error.Message);
        if (lot.Status == LotStatus.Closed) return Outcome<LotView>.Conflict("status", "the lot is already closed.");
        if (lot.Status != LotStatus.InProduction) return Outcome<LotView>.Conflict("status", "the lot was not started: start it with POST /api/lotes/{id}/iniciar.");

        await this.RegisterOrUpdateReminder(OutboxReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        var ended = await GrainFactory.GetGrain<ILineGrain>(LineKeys.For(Instance, lot.Linha)).EndOrderAsync(lot.NumeroOp);
        var totals = ended.IsOk ? LotTotals.From(ended.Value!) : await lots.EndedOrderAsync(Instance, lot.Linha, lot.NumeroOp);
        if (totals is null) return Outcome<LotView>.Conflict("linha", ended.Detail ?? $"line '{lot.Linha}' is not running order {lot.NumeroOp}.");

        if (await lots.MarkClosedAsync(Instance, id, signature, totals, time.GetUtcNow()) is not { } closed)
            return Outcome<LotView>.Conflict("status", "the lot changed while it was being closed.");
        logger.LogInformation("Lot {LotId} ({Order}) of {Instance} closed by {Signer}: {Total} produced, {Rejected} lost",
            id, closed.NumeroOp, Instance, signature.AssinadoPor, totals.Total, totals.Rejeitos);
        try
        {
            return Outcome<LotView>.Ok(await PublishAsync(closed));
        }
        catch (Exception e)
        {
            // Closed and committed: the outbox reminder publishes it.
            logger.LogWarning(e, "lote.fechado of lot {LotId} not published yet; the outbox reminder retries", id);
            return Outcome<LotView>.Ok(closed);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        var pending = await lots.UnpublishedAsync(Instance, 100);
        foreach (var lot in pending)
        {
            await PublishAsync(lot);
        }
        if (pending.Count < 100 && await this.GetReminder(OutboxReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private async Task<LotView> PublishAsync(LotView lot)
    {
        var published = await GrainFactory.GetGrain<IEventPublisherGrain>(Instance)
            .PublishAsync(new PublishRequest(EventCatalog.LotClosed, Payload(lot), "lote.fechado:" + lot.Id.ToString(CultureInfo.InvariantCulture)));
        if (!published.IsOk) throw new InvalidOperationException($"lote.fechado refused: {published.Field}: {published.Detail}");
        await lots.SetEventAsync(Instance, lot.Id, published.Value!.Id);
        return lot with { EventoId = published.Value.Id };
    }

    /// <summary>What TOTVS receives: the order, the lot, the totals and the signature.</summary>
    public static string Payload(LotView lot) => new JsonObject
    {
        ["lote_id"] = lot.Id,
        ["numero_op"] = lot.NumeroOp,
        ["sku"] = lot.Sku,
        ["lote"] = lot.Lote,
        ["linha"] = lot.Linha,
        ["quantidade_planejada"] = lot.QuantidadePlanejada,
        ["producao_total"] = lot.ProducaoTotal,
        ["producao_boa"] = lot.ProducaoBoa,
        ["perdas_qualidade"] = lot.PerdasQualidade,
        ["tempo_produzindo"] = lot.TempoProduzindo,
        ["tempo_parado"] = lot.TempoParado,
        ["oee"] = lot.Oee,
        ["inicio"] = Iso(lot.IniciadoEm),
        ["fim"] = Iso(lot.FechadoEm),
        ["assinado_por"] = lot.AssinadoPor,
        ["assinado_em"] = Iso(lot.AssinadoEm),
    }.ToJsonString();

    private static string? Iso(DateTimeOffset? at) => at?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
