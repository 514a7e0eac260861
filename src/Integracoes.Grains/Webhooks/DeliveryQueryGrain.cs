using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Grains.Audit;
using Integracoes.Storage.Deliveries;
using Orleans.Concurrency;

namespace Integracoes.Grains.Webhooks;

[StatelessWorker]
public sealed class DeliveryQueryGrain(DeliveryQueries queries, Auditor audit) : Grain, IDeliveryQueryGrain
{
    private string Instance => this.GetPrimaryKeyString();

    public async Task<Page<QueueItemView>> QueueAsync(string? status, long? servicoId, int limit, int offset)
    {
        var (count, rows) = await queries.ListQueueAsync(Instance, status, servicoId, limit, offset);
        return new Page<QueueItemView>(count, [.. rows.Select(r => new QueueItemView(r.Id, r.ServicoId, r.Destino, r.EventoId, r.Evento, r.DadosJson,
            r.Prioridade, r.Tentativas, r.ProximaTentativa, r.Status, r.ResultadoJson, r.CreatedAt, r.UpdatedAt))], limit, offset);
    }

    public async Task<Outcome<Page<WebhookLogView>>> LogsAsync(long webhookId, bool? sucesso, string? evento, int limit, int offset)
    {
        if (await Subscription(webhookId).GetAsync(Instance) is null)
        {
            return Outcome<Page<WebhookLogView>>.NotFound($"webhook {webhookId} not found.");
        }
        var (count, rows) = await queries.LogsAsync(webhookId, sucesso, evento, limit, offset);
        return Outcome<Page<WebhookLogView>>.Ok(new Page<WebhookLogView>(count, [.. rows.Select(r => new WebhookLogView(
            r.Id, r.WebhookId, r.FilaId, r.EventoId, r.Evento, r.Tentativa, r.StatusCode, r.Sucesso, Math.Round(r.DuracaoMs, 1), r.Resposta, r.Erro, r.CreatedAt))],
            limit, offset));
    }

    public async Task<IReadOnlyList<DeliveryStats>> StatsAsync(DateTimeOffset desde)
    {
        var rows = await queries.StatsAsync(Instance, desde);
        var subscriptions = await GrainFactory.GetGrain<IWebhookRegistryGrain>(Instance).ListAsync(1_000, 0);
        var byId = subscriptions.Results.ToDictionary(w => w.Id);
        var stats = new List<DeliveryStats>();
        var total = rows.FirstOrDefault(r => r.WebhookId is null);
        stats.Add(new DeliveryStats(null, null, total?.Entregas ?? 0, total?.Sucessos ?? 0, total?.Falhas ?? 0, total?.P50, total?.P95, total?.P99,
            total?.MortasNaFila ?? 0, null));
        foreach (var webhook in subscriptions.Results)
        {
            var row = rows.FirstOrDefault(r => r.WebhookId == webhook.Id);
            stats.Add(new DeliveryStats(webhook.Id, webhook.Nome, row?.Entregas ?? 0, row?.Sucessos ?? 0, row?.Falhas ?? 0, row?.P50, row?.P95, row?.P99,
                row?.MortasNaFila ?? 0, webhook.CircuitState));
        }
        return stats;
    }

    public async Task<Outcome<RedriveResult>> RedriveAsync(long queueId)
    {
        var item = await queries.GetQueueItemAsync(Instance, queueId);
        if (item is null) return Outcome<RedriveResult>.NotFound($"queue item {queueId} not found.");
        if (item.Status == QueueStatus.Delivered) return Outcome<RedriveResult>.Conflict("id", "the item was already delivered.");
        var touched = await queries.RedriveAsync(Instance, queueId, null, null);
        await audit.RecordAsync(Instance, AuditActions.Redrive, AuditResources.QueueItem, queueId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            new { status = item.Status, tentativas = item.Tentativas, servico_id = item.ServicoId, evento_id = item.EventoId },
            new { status = QueueStatus.Pending, tentativas = 0, servico_id = item.ServicoId, evento_id = item.EventoId });
        await Wake(touched);
        return Outcome<RedriveResult>.Ok(new RedriveResult(touched.Count));
    }

    public async Task<Outcome<RedriveResult>> RecoverAsync(long webhookId, DateTimeOffset desde)
    {
        if (await Subscription(webhookId).GetAsync(Instance) is null)
        {
            return Outcome<RedriveResult>.NotFound($"webhook {webhookId} not found.");
        }
        var touched = await queries.RedriveAsync(Instance, null, webhookId, desde);
        await audit.RecordAsync(Instance, AuditActions.Recover, AuditResources.Webhook, webhookId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            null, new { desde, reenviadas = touched.Count, filas = touched.Select(t => t.QueueId) });
        await Wake(touched);
        return Outcome<RedriveResult>.Ok(new RedriveResult(touched.Count));
    }

    private async Task Wake(List<(long QueueId, long DestinationId)> touched)
    {
        foreach (var group in touched.GroupBy(t => t.DestinationId))
        {
            await Subscription(group.Key).WakeAsync([.. group.Select(t => t.QueueId)]);
        }
    }

    private IWebhookSubscriptionGrain Subscription(long id) => GrainFactory.GetGrain<IWebhookSubscriptionGrain>(id);
}
