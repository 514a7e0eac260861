using System.Security.Cryptography;
using System.Text.Json;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Events;
using Integracoes.Abstractions.Lines;
using Integracoes.Abstractions.Services;
using Integracoes.Abstractions.Totvs;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Delivery.Totvs;
using Integracoes.Storage.Executions;
using Integracoes.Storage.Secrets;
using Microsoft.Extensions.Logging;

namespace Integracoes.Grains.Totvs;

public sealed class TotvsSyncState
{
    public int Version { get; set; } = 1;
    public TotvsConnection? Connection { get; set; }
}

/// <summary>
/// The TOTVS connection of one integration service (keyed by its id). The service grain hands it the
/// connection whenever the service is saved; it then keeps a reminder at the configured period that runs
/// the master data sync (<see cref="TotvsMasterDataSync"/>), records every run as an execution, tells
/// the lines about changed nominal speeds, and owns the instance's <c>totvs</c> destination, through
/// which closed lots reach <see cref="PushAsync"/>. Not reentrant: one sync at a time; pushes interleave.
/// </summary>
public sealed class TotvsSyncGrain(
    [PersistentState("totvssync", GrainStorage.Name)] IPersistentState<TotvsSyncState> state,
    TotvsMasterDataSync sync,
    TotvsClient client,
    SecretProtector protector,
    ExecutionStore executions,
    TimeProvider time,
    ILogger<TotvsSyncGrain> logger) : Grain, ITotvsSyncGrain, IRemindable
{
    public const string SyncReminder = "totvs-sincronizacao";

    private long ServiceId => this.GetPrimaryKeyLong();

    /// <summary>The destination url of the instance's totvs sink: which service pushes go through.</summary>
    public static string TargetOf(long serviceId) => "servico:" + serviceId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public async Task ConfigureAsync(TotvsConnection connection)
    {
        state.State.Connection = connection;
        await state.WriteStateAsync();
        if (connection.Ativo)
        {
            var period = TimeSpan.FromMinutes(Math.Max(1, connection.Settings.SyncMinutes));
            await this.RegisterOrUpdateReminder(SyncReminder, period, period);
        }
        else if (await this.GetReminder(SyncReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
        var outcome = await GrainFactory.GetGrain<IWebhookRegistryGrain>(connection.Instance).SetSinkAsync(
            new SinkSettings(SinkKinds.Totvs, Enabled: true, Events: [EventCatalog.LotClosed], Url: TargetOf(ServiceId)));
        if (!outcome.IsOk)
        {
            logger.LogError("The totvs destination of {Instance} could not be set for service {ServiceId}: {Detail}", connection.Instance, ServiceId, outcome.Detail);
        }
    }

    public async Task RemoveAsync(string instance)
    {
        if (state.State.Connection?.Instance != instance) return;
        if (await this.GetReminder(SyncReminder) is { } reminder) await this.UnregisterReminder(reminder);
        var registry = GrainFactory.GetGrain<IWebhookRegistryGrain>(instance);
        if (await registry.FindSinkAsync(SinkKinds.Totvs) is { Url: var url } && url == TargetOf(ServiceId))
        {
            // Lots closed from now on have nowhere to go; what is queued stays in the queue (redrivable once a service is back).
            await registry.SetSinkAsync(new SinkSettings(SinkKinds.Totvs, Enabled: false, Events: [EventCatalog.LotClosed], Url: TargetOf(ServiceId)));
        }
        await state.ClearStateAsync();
        state.State = new TotvsSyncState();
        DeactivateOnIdle();
    }

    public async Task<Outcome<ExecutionView>> SyncAsync(string instance)
    {
        if (state.State.Connection is not { } c || c.Instance != instance)
            return Outcome<ExecutionView>.NotFound($"service {ServiceId} is not a TOTVS service (config_padrao.totvs).");
        if (!c.Ativo) return Outcome<ExecutionView>.Conflict("servico_id", "the service is inactive (ativo=false).");
        return Outcome<ExecutionView>.Ok(await RunAsync(c));
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Connection is not { Ativo: true } c)
        {
            if (await this.GetReminder(reminderName) is { } reminder) await this.UnregisterReminder(reminder);
            return;
        }
        await RunAsync(c);
    }

    public async Task<TotvsPushResult> PushAsync(string instance, Guid eventId, string totalsJson)
    {
        if (state.State.Connection is not { } c || c.Instance != instance)
            return new TotvsPushResult(TotvsPushOutcomes.Retry, null, null, $"service {ServiceId} is no longer a TOTVS service of this instance", null);
        if (!c.Ativo)
            return new TotvsPushResult(TotvsPushOutcomes.Retry, null, null, $"service {ServiceId} is inactive (ativo=false); lots wait until it is active again", null);
        if (Access(c) is not { } access)
            return new TotvsPushResult(TotvsPushOutcomes.Retry, null, null, "the stored credentials cannot be decrypted with the configured encryption key; set them again", null);
        // Bounded below the delivery attempt's own timeout: a push that outlives its attempt would run on
        // while the retry sends the lot again.
        var response = await client.SendAsync(access with { Timeout = access.Timeout < PushTimeout ? access.Timeout : PushTimeout }, HttpMethod.Post,
            c.Settings.EndpointUrl(TotvsEndpoints.Ordens), totalsJson, new Dictionary<string, string> { ["Idempotency-Key"] = eventId.ToString() }, CancellationToken.None);
        var outcome = TotvsClient.Classify(response);
        // TOTVS's answer goes into the error: on a refusal it says why (what a supervisor reads on the lot and the queue item).
        var error = outcome == TotvsPushOutcomes.Delivered ? null : response.Error ?? $"TOTVS: HTTP {response.StatusCode}{Excerpt(response.Body)}";
        return new TotvsPushResult(outcome, response.StatusCode, response.Body, error, response.RetryAfter);
    }

    private static string Excerpt(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return "";
        var clean = new string([.. body.Trim().Select(c => char.IsControl(c) ? ' ' : c)]);
        return ": " + TextBounds.Shorten(clean, MaxErrorBody, "...");
    }

    private const int MaxErrorBody = 300;

    /// <summary>Below the 30 s default attempt timeout of the totvs destination and Orleans' call timeout.</summary>
    private static readonly TimeSpan PushTimeout = TimeSpan.FromSeconds(25);

    private async Task<ExecutionView> RunAsync(TotvsConnection c)
    {
        var inicio = time.GetUtcNow();
        if (Access(c) is not { } access)
        {
            logger.LogError("Credentials of TOTVS service {ServiceId} cannot be decrypted: INTEGRACOES_ENCRYPTION_KEY differs from the key they were saved with", ServiceId);
            return await executions.AppendAsync(new NewExecution(c.Instance, ServiceId, inicio, time.GetUtcNow(), ExecutionStatus.Failure, null, null,
                "the stored credentials cannot be decrypted with the configured encryption key; set them again", 0, 0, 1));
        }
        SyncReport report;
        try
        {
            report = await sync.RunAsync(c.Instance, ServiceId, access, speeds => UpdateLinesAsync(c.Instance, speeds), CancellationToken.None);
        }
        catch (Exception e)
        {
            // The database went away mid-run: the watermarks did not move, so the next run redoes it.
            logger.LogError(e, "TOTVS sync of service {ServiceId} failed", ServiceId);
            return await executions.AppendAsync(new NewExecution(c.Instance, ServiceId, inicio, time.GetUtcNow(), ExecutionStatus.Failure, null, null,
                "internal error: " + e.GetType().Name, 0, 0, 1));
        }
        logger.LogInformation("TOTVS sync of service {ServiceId} ({Instance}): {Processed} item(s), {Stored} stored, {Failed} failed",
            ServiceId, c.Instance, report.Processados, report.Sucesso, report.Falha);
        return await executions.AppendAsync(new NewExecution(c.Instance, ServiceId, inicio, time.GetUtcNow(),
            report.Failed ? ExecutionStatus.Failure : ExecutionStatus.Success,
            report.Describe(), null, report.Errors.Count == 0 ? null : string.Join('\n', report.Errors),
            report.Processados, report.Sucesso, report.Falha));
    }

    /// <summary>Changed nominal speeds go to the lines that exist; a speed for an unknown line is only stored.</summary>
    private async Task UpdateLinesAsync(string instance, IReadOnlyList<NominalSpeed> speeds)
    {
        var lines = (await GrainFactory.GetGrain<ILineRegistryGrain>(instance).IdsAsync()).ToHashSet(StringComparer.Ordinal);
        foreach (var speed in speeds.Where(s => lines.Contains(s.Linha)))
        {
            await GrainFactory.GetGrain<ILineGrain>(LineKeys.For(instance, speed.Linha)).SetNominalSpeedAsync(speed.Sku, speed.UnidadesPorMinuto);
        }
    }

    private TotvsAccess? Access(TotvsConnection c)
    {
        try
        {
            var password = c.EncryptedCredentials is { } encrypted
                ? JsonSerializer.Deserialize<ServiceCredentials>(protector.Unprotect(encrypted))?.Password
                : null;
            return new TotvsAccess(c.Settings, c.Username, password ?? "", TimeSpan.FromSeconds(c.TimeoutSeconds));
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
