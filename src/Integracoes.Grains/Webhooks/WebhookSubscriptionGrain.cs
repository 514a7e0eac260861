using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Events;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Delivery.Sinks;
using Integracoes.Delivery.Webhooks;
using Integracoes.Grains.Audit;
using Integracoes.Storage.Deliveries;
using Integracoes.Storage.Secrets;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Polly.CircuitBreaker;

namespace Integracoes.Grains.Webhooks;

public sealed class WebhookSubscriptionState
{
    public int Version { get; set; } = 1;
    public bool Exists { get; set; }
    public string Instance { get; set; } = "";
    public string Nome { get; set; } = "";
    public string Url { get; set; } = "";
    public List<string> Eventos { get; set; } = [];
    public bool Ativo { get; set; } = true;
    /// <summary>Custom headers as JSON, encrypted: they often carry the receiver's own tokens.</summary>
    public string? EncryptedHeaders { get; set; }

    /// <summary>The custom header names (never their values), so reads need no decryption.</summary>
    public List<string> HeaderNames { get; set; } = [];
    public int Timeout { get; set; } = WebhookDefaults.Timeout;
    public List<int> RetrySchedule { get; set; } = [.. WebhookDefaults.RetrySchedule];
    public double? RateLimit { get; set; }
    public int MaxConcurrency { get; set; } = WebhookDefaults.MaxConcurrency;
    public string EncryptedSecret { get; set; } = "";

    /// <summary>The secret before the last rotation; still signs for 24 hours so receivers can switch over.</summary>
    public string? EncryptedPreviousSecret { get; set; }
    public DateTimeOffset? PreviousSecretExpiresAt { get; set; }
    public string? MotivoDesativacao { get; set; }

    /// <summary>Start of the current run of failed attempts; null after any success.</summary>
    public DateTimeOffset? FailingSince { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Where deliveries go (<see cref="SinkKinds"/>); seed-001 subscriptions are webhooks.</summary>
    public string Tipo { get; set; } = SinkKinds.Webhook;

    /// <summary>A seed-002 sink (<c>/{tipo}/set/{instance}</c>) rather than a seed-001 subscription.</summary>
    public bool Sink { get; set; }

    /// <summary>webhook_by_events: the event name, in lower case, is appended to the URL.</summary>
    public bool PorEvento { get; set; }

    /// <summary>webhook_base64: media content is included.</summary>
    public bool Base64 { get; set; }
}

/// <summary>
/// One webhook subscription and the delivery loop for its endpoint, readable top to bottom:
/// <see cref="Pump"/> starts deliveries while the concurrency bound, the rate limit and the circuit
/// breaker allow, highest priority first; <see cref="DeliverAsync"/> sends one, records the attempt and
/// the queue item's new state in one group-committed transaction, and plans the retry. Retry waits are
/// grain timers; a reminder is the backstop that reactivates the grain after a crash, and on
/// activation every pending row is reloaded from PostgreSQL. Reentrant: many deliveries are in flight
/// at once, and state changes happen only between awaits, on the grain's single thread.
/// </summary>
[Reentrant]
public sealed class WebhookSubscriptionGrain(
    [PersistentState("webhook", GrainStorage.Name)] IPersistentState<WebhookSubscriptionState> state,
    SecretProtector protector,
    WebhookSender sender,
    WebhookTargetValidator targets,
    RetryPlanner planner,
    DeliveryLedger ledger,
    DeliveryQueries queries,
    DeliverySettings settings,
    TimeProvider time,
    Auditor audit,
    EventSinks sinks,
    ILogger<WebhookSubscriptionGrain> logger) : Grain, IWebhookSubscriptionGrain, IRemindable
{
    private const string BackstopReminder = "entregas-pendentes";

    // Deliveries known to this activation: due ones wait in _ready (priority order), later ones in _waiting.
    private readonly PriorityQueue<QueuedDelivery, (int, long)> _ready = new();
    private readonly PriorityQueue<QueuedDelivery, DateTimeOffset> _waiting = new();

    // Deliveries the open circuit turned away: they go out as soon as the endpoint answers again.
    private readonly List<QueuedDelivery> _parked = [];
    private readonly HashSet<long> _known = [];

    // When this activation finished each row: a reload whose query started before that moment may have
    // read the row while it was still pending, so its copy is ignored (see ReloadAsync).
    private readonly Dictionary<long, DateTimeOffset> _finished = [];
    private readonly SemaphoreSlim _stateWrites = new(1, 1);
    private int _inFlight;

    // Attempts answered but not yet committed: bounded so a slow or unreachable database slows sending.
    private int _unrecorded;
    private bool _overflow;
    private bool _backstopRegistered;
    private bool _backstopUpdating;
    private List<string> _secrets = [];
    private Dictionary<string, string> _headers = [];
    private Uri? _url;
    private IGrainTimer? _timer;
    private DateTimeOffset _timerDue = DateTimeOffset.MaxValue;
    private Polly.ResiliencePipeline<AttemptResult>? _breaker;
    private CircuitBreakerStateProvider? _circuit;
    private TokenBucketRateLimiter? _limiter;

    // Polly moves an open circuit to half-open only when something is executed, so the loop sends one
    // probe once the break it was told about (BrokenCircuitException.RetryAfter) is over.
    private DateTimeOffset _circuitRetryAt = DateTimeOffset.MinValue;

    private long Id => this.GetPrimaryKeyLong();

    public override async Task OnActivateAsync(CancellationToken ct)
    {
        if (state.State.Exists)
        {
            // A reminder may survive from an activation that crashed: know about it, so an idle
            // subscription removes it instead of being woken every minute forever.
            _backstopRegistered = await this.GetReminder(BackstopReminder) is not null;
            ConfigureResilience();
            await ReloadAsync();
            Pump();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Configuration

    public async Task<Outcome<WebhookWithSecret>> InitializeAsync(string instance, WebhookDefinition definition)
    {
        if (state.State.Exists)
        {
            return Outcome<WebhookWithSecret>.Conflict("id", "webhook id already in use.");
        }
        if (await ValidateAsync(definition) is { } error)
        {
            return Outcome<WebhookWithSecret>.Invalid(error.Field, error.Message);
        }
        var secret = definition.Secret ?? WebhookSigner.NewSecret();
        state.State.Instance = instance;
        state.State.CreatedAt = time.GetUtcNow();
        state.State.EncryptedSecret = protector.Protect(secret);
        Apply(definition);
        await SaveAsync();
        ConfigureResilience();
        return Outcome<WebhookWithSecret>.Ok(new WebhookWithSecret(ToView(), secret));
    }

    public async Task<Outcome<WebhookView>> UpdateAsync(string instance, WebhookDefinition definition)
    {
        if (!Owns(instance)) return Outcome<WebhookView>.NotFound($"webhook {Id} not found.");
        if (definition.Secret is not null)
            return Outcome<WebhookView>.Invalid("secret", "the secret cannot be set on update; use POST /api/webhooks/{id}/rotacionar-segredo/.");
        if (await ValidateAsync(definition) is { } error) return Outcome<WebhookView>.Invalid(error.Field, error.Message);

        var reactivated = definition.Ativo && !state.State.Ativo;
        var before = Copy(state.State);
        Apply(definition);
        if (reactivated)
        {
            state.State.MotivoDesativacao = null;
            state.State.FailingSince = null;
        }
        try
        {
            await SaveAsync();
        }
        catch
        {
            // Nothing unsaved may stay in effect: deliveries would go to a URL the database does not know.
            state.State = before;
            throw;
        }
        ConfigureResilience();
        if (reactivated) await ReloadAsync();
        Pump();
        return Outcome<WebhookView>.Ok(ToView());
    }

    public async Task<bool> DeleteAsync(string instance)
    {
        if (!Owns(instance)) return false;
        await _stateWrites.WaitAsync();
        try
        {
            await state.ClearStateAsync();
            state.State = new WebhookSubscriptionState();
        }
        finally
        {
            _stateWrites.Release();
        }
        _ready.Clear();
        _waiting.Clear();
        _parked.Clear();
        _known.Clear();
        // Its pending deliveries have nowhere to go: close them so the sweeper stops finding them.
        await queries.CancelPendingAsync(Id);
        await UnregisterBackstopAsync();
        DeactivateOnIdle();
        return true;
    }

    public Task<WebhookView?> GetAsync(string instance) => Task.FromResult(Owns(instance) ? ToView() : null);

    public async Task<Outcome<WebhookWithSecret>> RotateSecretAsync(string instance)
    {
        if (!Owns(instance)) return Outcome<WebhookWithSecret>.NotFound($"webhook {Id} not found.");
        var before = ToView();
        var secret = WebhookSigner.NewSecret();
        state.State.EncryptedPreviousSecret = state.State.EncryptedSecret;
        state.State.PreviousSecretExpiresAt = time.GetUtcNow().AddHours(24);
        state.State.EncryptedSecret = protector.Protect(secret);
        state.State.UpdatedAt = time.GetUtcNow();
        await SaveAsync();
        ConfigureResilience();
        await audit.RecordAsync(instance, AuditActions.RotateSecret, AuditResources.Webhook, Id.ToString(System.Globalization.CultureInfo.InvariantCulture), before, ToView());
        return Outcome<WebhookWithSecret>.Ok(new WebhookWithSecret(ToView(), secret));
    }

    public async Task<Outcome<WebhookTestResult>> TestAsync(string instance)
    {
        if (!Owns(instance)) return Outcome<WebhookTestResult>.NotFound($"webhook {Id} not found.");
        var now = time.GetUtcNow();
        var delivery = new QueuedDelivery(0, Guid.CreateVersion7(), EventCatalog.WebhookTest,
            """{"mensagem":"Evento de teste do Integracoes"}""", now, 0, 0, now);
        var result = await SendAsync(delivery, CancellationToken.None);
        await ledger.RecordAsync(new AttemptRecord(state.State.Instance, Id, null, delivery.EventId, delivery.Evento, 1,
            result.StatusCode, result.Outcome == AttemptOutcome.Delivered, result.DurationMs, result.ResponseBody, result.Error, now, null));
        return Outcome<WebhookTestResult>.Ok(new WebhookTestResult(
            result.Outcome == AttemptOutcome.Delivered, result.StatusCode, Math.Round(result.DurationMs, 1), result.ResponseBody, result.Error));
    }

    // ---------------------------------------------------------------------------------------------
    // Intake

    public Task EnqueueAsync(IReadOnlyList<QueuedDelivery> deliveries)
    {
        foreach (var delivery in deliveries)
        {
            Track(delivery);
        }
        Pump();
        return Task.CompletedTask;
    }

    public async Task WakeAsync(IReadOnlyList<long>? redriven = null)
    {
        foreach (var id in redriven ?? [])
        {
            _finished.Remove(id);
        }
        await ReloadAsync();
        Pump();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!state.State.Exists || !state.State.Ativo)
        {
            await UnregisterBackstopAsync();
            return;
        }
        await ReloadAsync();
        Pump();
        if (_known.Count == 0 && !_overflow && _inFlight == 0 && _unrecorded == 0)
        {
            await UnregisterBackstopAsync();
        }
    }

    /// <summary>Loads due pending rows from PostgreSQL that this activation does not hold yet.</summary>
    private async Task ReloadAsync()
    {
        if (!state.State.Exists || !state.State.Ativo) return;
        var room = settings.MaxInMemoryPerSubscription - _known.Count;
        if (room <= 0)
        {
            _overflow = true;
            return;
        }
        var started = time.GetUtcNow();
        // Only what is due soon: later retries stay in PostgreSQL until the sweeper or the backstop finds them due.
        var rows = await queries.LoadPendingAsync(Id, started.AddMinutes(1), room, [.. _known]);
        foreach (var row in rows)
        {
            if (_finished.TryGetValue(row.Id, out var finishedAt) && finishedAt >= started) continue;
            Track(new QueuedDelivery(row.Id, row.EventoId, row.Evento, row.DadosJson, row.CreatedAt, row.Prioridade, row.Tentativas, row.ProximaTentativa));
        }
        _overflow = rows.Count >= room;

        // Entries older than any reload still running are no longer needed.
        foreach (var old in _finished.Where(f => f.Value < started.AddMinutes(-2)).Select(f => f.Key).ToList())
        {
            _finished.Remove(old);
        }
    }

    private void Track(QueuedDelivery delivery)
    {
        if (!state.State.Exists || _known.Contains(delivery.QueueId)) return;
        if (_known.Count >= settings.MaxInMemoryPerSubscription)
        {
            // It is in PostgreSQL; it is loaded when memory frees up.
            _overflow = true;
            return;
        }
        _known.Add(delivery.QueueId);
        if (delivery.ProximaTentativa <= time.GetUtcNow()) Ready(delivery);
        else _waiting.Enqueue(delivery, delivery.ProximaTentativa);
    }

    private void Ready(QueuedDelivery delivery) => _ready.Enqueue(delivery, (Ordered ? 0 : -delivery.Prioridade, delivery.QueueId));

    /// <summary>
    /// Message-server sinks keep the instance's order: one delivery at a time, in acceptance order, and
    /// a delivery waiting for its retry holds back every later one (head-of-line), so a consumer never
    /// sees event 2 before event 1. Webhooks deliver concurrently, highest priority first.
    /// </summary>
    private bool Ordered => SinkKinds.IsOrdered(state.State.Tipo);

    private bool HeldBackInOrder()
    {
        if (_inFlight > 0 || _unrecorded > 0) return true;
        if (!_ready.TryPeek(out var head, out _)) return false;
        return _waiting.UnorderedItems.Any(w => w.Element.QueueId < head.QueueId) || _parked.Any(p => p.QueueId < head.QueueId);
    }

    // ---------------------------------------------------------------------------------------------
    // The delivery loop

    private void Pump()
    {
        if (!state.State.Exists || !state.State.Ativo) return;
        var now = time.GetUtcNow();
        while (_waiting.TryPeek(out var waiting, out var due) && due <= now)
        {
            _waiting.Dequeue();
            Ready(waiting);
        }
        if (_parked.Count > 0 && (_circuit!.CircuitState == CircuitState.Closed || now >= _circuitRetryAt))
        {
            _parked.ForEach(Ready);
            _parked.Clear();
        }

        DateTimeOffset? wakeAt = null;
        while (_inFlight < state.State.MaxConcurrency && _unrecorded < 4 * state.State.MaxConcurrency && _ready.Count > 0)
        {
            if (Ordered && HeldBackInOrder()) break;
            var circuit = _circuit!.CircuitState;
            if (circuit is CircuitState.Open or CircuitState.Isolated && now < _circuitRetryAt)
            {
                wakeAt = _circuitRetryAt;
                break;
            }
            if (circuit != CircuitState.Closed && _inFlight > 0)
            {
                // One probe at a time while the breaker is open or testing the endpoint.
                break;
            }
            if (_limiter is not null)
            {
                using var lease = _limiter.AttemptAcquire();
                if (!lease.IsAcquired)
                {
                    wakeAt = now + (lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMilliseconds(50));
                    break;
                }
            }
            var delivery = _ready.Dequeue();
            _inFlight++;
            _ = DeliverAsync(delivery);
        }

        if (_ready.Count == 0 && _waiting.Count == 0 && _parked.Count == 0 && _inFlight == 0 && _overflow)
        {
            _overflow = false;
            _ = WakeAsync(null);
        }
        DateTimeOffset? next = wakeAt;
        if (_waiting.TryPeek(out _, out var earliest) && (next is null || earliest < next)) next = earliest;
        if (_parked.Count > 0 && (next is null || _circuitRetryAt < next)) next = _circuitRetryAt;
        ScheduleTimer(next);
        _ = UpdateBackstopAsync();
    }

    /// <summary>
    /// One attempt. Never throws: every path gives the concurrency slot back exactly once and leaves the
    /// delivery either finished (its final state committed), waiting for a retry, or parked.
    /// </summary>
    private async Task DeliverAsync(QueuedDelivery delivery)
    {
        var attempt = delivery.Tentativas + 1;
        QueuedDelivery? keep = null;
        var slotHeld = true;
        var recording = false;
        try
        {
            AttemptResult result;
            try
            {
                result = await _breaker!.ExecuteAsync(static (args, ct) => new ValueTask<AttemptResult>(args.self.SendAsync(args.delivery, ct)),
                    (self: this, delivery));
            }
            catch (BrokenCircuitException open)
            {
                // Not attempted: the endpoint is failing. Park it without spending an attempt; it goes out
                // when the circuit closes, or at the latest when the break ends.
                _circuitRetryAt = time.GetUtcNow() + (open.RetryAfter ?? TimeSpan.FromSeconds(settings.CircuitBreakSeconds));
                _parked.Add(delivery);
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Attempt {Attempt} of queue item {QueueId} failed unexpectedly", attempt, delivery.QueueId);
                result = new AttemptResult(AttemptOutcome.Retry, null, 0, null, "internal error: " + e.GetType().Name, null);
            }
            if (!state.State.Exists) return;

            // The endpoint answered: its slot is free for the next delivery while this record commits.
            // The item stays known, so nothing sends it again meanwhile.
            slotHeld = false;
            _inFlight--;
            recording = true;
            _unrecorded++;
            Pump();

            var now = time.GetUtcNow();
            var (transition, next) = Plan(delivery, attempt, result, now);
            var record = new AttemptRecord(state.State.Instance, Id, delivery.QueueId, delivery.EventId, delivery.Evento, attempt,
                result.StatusCode, result.Outcome == AttemptOutcome.Delivered, result.DurationMs, result.ResponseBody, Clean(result.Error), now, transition);
            await RecordUntilCommittedAsync(record);

            if (next is not null)
            {
                keep = next;
            }
            else
            {
                _known.Remove(delivery.QueueId);
                _finished[delivery.QueueId] = time.GetUtcNow();
            }
            _ = AfterAttemptAsync(delivery, attempt, result, transition, now);
        }
        finally
        {
            if (slotHeld) _inFlight--;
            if (recording) _unrecorded--;
            if (keep is not null) _waiting.Enqueue(keep, keep.ProximaTentativa);
            Pump();
        }
    }

    /// <summary>
    /// The attempt happened, so its record must be kept: retry the commit (never the HTTP call) until
    /// PostgreSQL takes it. The slot stays taken meanwhile, which also slows sending while the database is down.
    /// </summary>
    private async Task RecordUntilCommittedAsync(AttemptRecord record)
    {
        var wait = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await ledger.RecordAsync(record);
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Could not record attempt {Attempt} of queue item {QueueId}; retrying in {Wait}", record.Tentativa, record.QueueId, wait);
                await Task.Delay(wait);
                wait = TimeSpan.FromSeconds(Math.Min(30, wait.TotalSeconds * 2));
            }
        }
    }

    private static string? Clean(string? text) => text?.Replace('\0', '\uFFFD');

    /// <summary>The queue item's state after an attempt, and the delivery to keep when it will be retried.</summary>
    private (QueueTransition Transition, QueuedDelivery? Next) Plan(QueuedDelivery delivery, int attempt, AttemptResult result, DateTimeOffset now)
    {
        var resultado = new JsonObject { ["status_code"] = result.StatusCode, ["erro"] = result.Error }.ToJsonString();
        switch (result.Outcome)
        {
            case AttemptOutcome.Delivered:
                return (new QueueTransition(delivery.QueueId, QueueStatus.Delivered, attempt, now, resultado), null);
            case AttemptOutcome.Retry when planner.NextAttempt(state.State.RetrySchedule, attempt, now, result.RetryAfter) is { } at:
                return (new QueueTransition(delivery.QueueId, QueueStatus.Pending, attempt, at, resultado),
                    delivery with { Tentativas = attempt, ProximaTentativa = at });
            case AttemptOutcome.Rejected:
                return (new QueueTransition(delivery.QueueId, QueueStatus.Rejected, attempt, now, resultado), null);
            case AttemptOutcome.DeadLetter:
                // Undeliverable as it is (e.g. over the sink's size limit): no retry could succeed.
                return (new QueueTransition(delivery.QueueId, QueueStatus.DeadLetter, attempt, now, resultado), null);
            default:
                // Retries exhausted, or 410 Gone: the dead-letter queue, from where it can be redriven.
                return (new QueueTransition(delivery.QueueId, QueueStatus.DeadLetter, attempt, now, resultado), null);
        }
    }

    private async Task AfterAttemptAsync(QueuedDelivery delivery, int attempt, AttemptResult result, QueueTransition transition, DateTimeOffset now)
    {
        try
        {
            await TrackOutcomeAsync(delivery, attempt, result, transition, now);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Could not update webhook {WebhookId} after attempt {Attempt} of queue item {QueueId}", Id, attempt, delivery.QueueId);
        }
    }

    /// <summary>Failure streaks, the 5-day and 410 disabling, and the operational events (a dead letter emits entrega.esgotada).</summary>
    private async Task TrackOutcomeAsync(QueuedDelivery delivery, int attempt, AttemptResult result, QueueTransition transition, DateTimeOffset now)
    {
        if (!state.State.Exists) return;
        if (result.Outcome == AttemptOutcome.Delivered)
        {
            if (state.State.FailingSince is not null)
            {
                state.State.FailingSince = null;
                await SaveAsync();
            }
            return;
        }

        if (transition.Status == QueueStatus.DeadLetter && !EventCatalog.IsOperational(delivery.Evento))
        {
            await EmitAsync(EventCatalog.DeliveryExhausted, new JsonObject
            {
                ["webhook_id"] = Id,
                ["fila_id"] = delivery.QueueId,
                ["evento_id"] = delivery.EventId.ToString(),
                ["evento"] = delivery.Evento,
                ["tentativas"] = attempt,
                ["ultimo_erro"] = result.Error,
            });
        }

        // The destination works; only this message cannot go there. It must not start a failure
        // streak that would end up disabling the destination.
        if (result.Outcome == AttemptOutcome.DeadLetter) return;

        if (result.Outcome == AttemptOutcome.Gone)
        {
            await DisableAsync("410 Gone");
        }
        else if (state.State.FailingSince is null)
        {
            state.State.FailingSince = now;
            await SaveAsync();
        }
        else if (now - state.State.FailingSince > TimeSpan.FromDays(settings.DisableAfterFailingDays))
        {
            await DisableAsync($"falhas contínuas desde {state.State.FailingSince:O}");
        }
    }

    private async Task DisableAsync(string reason)
    {
        if (!state.State.Ativo) return;
        var before = ToView();
        state.State.Ativo = false;
        state.State.MotivoDesativacao = reason;
        state.State.UpdatedAt = time.GetUtcNow();
        await SaveAsync();
        await GrainFactory.GetGrain<IWebhookRegistryGrain>(state.State.Instance).SetActiveAsync(Id, false);
        await audit.RecordAsync(state.State.Instance, AuditActions.Disable, AuditResources.Webhook, Id.ToString(System.Globalization.CultureInfo.InvariantCulture), before, ToView());
        logger.LogWarning("Webhook {WebhookId} of {Instance} disabled: {Reason}", Id, state.State.Instance, reason);
        await EmitAsync(EventCatalog.WebhookDisabled, new JsonObject { ["webhook_id"] = Id, ["nome"] = state.State.Nome, ["motivo"] = reason });
    }

    private async Task EmitAsync(string evento, JsonObject data)
    {
        try
        {
            await GrainFactory.GetGrain<IEventPublisherGrain>(state.State.Instance).PublishAsync(new PublishRequest(evento, data.ToJsonString(), null));
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not emit {Event} for webhook {WebhookId}", evento, Id);
        }
    }

    private void ScheduleTimer(DateTimeOffset? at)
    {
        if (at is null)
        {
            _timer?.Dispose();
            _timer = null;
            _timerDue = DateTimeOffset.MaxValue;
            return;
        }
        if (_timer is not null && _timerDue <= at.Value) return;
        _timer?.Dispose();
        _timerDue = at.Value;
        var due = at.Value - time.GetUtcNow();
        _timer = this.RegisterGrainTimer(() =>
        {
            _timerDue = DateTimeOffset.MaxValue;
            _timer?.Dispose();
            _timer = null;
            Pump();
            return Task.CompletedTask;
        }, new GrainTimerCreationOptions(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan) { KeepAlive = true, Interleave = true });
    }

    /// <summary>The reminder exists exactly while there is pending work, so a crash never strands it. One change at a time.</summary>
    private async Task UpdateBackstopAsync()
    {
        if (_backstopUpdating) return;
        _backstopUpdating = true;
        try
        {
            while (true)
            {
                // Registered as soon as there is pending work; removed only by a reminder tick that finds
                // none, so a busy subscription whose queue empties between events does not churn the table.
                var pending = state.State.Exists && state.State.Ativo && (_known.Count > 0 || _overflow);
                if (!pending || _backstopRegistered) return;
                await this.RegisterOrUpdateReminder(BackstopReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
                _backstopRegistered = true;
            }
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not update the backstop reminder of webhook {WebhookId}", Id);
        }
        finally
        {
            _backstopUpdating = false;
        }
    }

    private async Task UnregisterBackstopAsync()
    {
        _backstopRegistered = false;
        if (await this.GetReminder(BackstopReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    /// <summary>One attempt, by the destination's kind: a signed HTTP POST, or one of the <see cref="EventSinks"/>.</summary>
    private Task<AttemptResult> SendAsync(QueuedDelivery delivery, CancellationToken ct)
    {
        var s = state.State;
        if (s.Tipo == SinkKinds.Webhook)
        {
            var secrets = s.PreviousSecretExpiresAt > time.GetUtcNow() ? _secrets : _secrets.Take(1).ToList();
            var url = s.PorEvento ? new Uri(_url!.ToString().TrimEnd('/') + "/" + delivery.Evento.ToLowerInvariant()) : _url!;
            var body = DeliveryEnvelope.Write(new EnvelopeShape(s.Instance, s.Sink, url.ToString(), settings.ServerUrl, s.Base64), delivery);
            return sender.SendAsync(new WebhookMessage(delivery.EventId.ToString(), delivery.Evento, body, url, _headers, secrets,
                TimeSpan.FromSeconds(s.Timeout)), ct);
        }
        if (sinks.Find(s.Tipo) is not { } sink)
        {
            return Task.FromResult(new AttemptResult(AttemptOutcome.Retry, null, 0, null, $"no {s.Tipo} server is configured on this silo", null));
        }
        var envelope = DeliveryEnvelope.Write(new EnvelopeShape(s.Instance, s.Sink, null, settings.ServerUrl), delivery);
        var target = s.Url.Length > 0 ? s.Url : null;
        return SendBoundedAsync(sink, new SinkMessage(s.Instance, delivery.EventId, delivery.Evento, envelope, target), TimeSpan.FromSeconds(s.Timeout), ct);
    }

    /// <summary>
    /// A sink attempt bounded by the subscription's timeout, like an HTTP attempt: a broker that went away
    /// mid-publish (a confirm that never comes while the client recovers) must fail the attempt, or the
    /// ordered feed would wait on it forever instead of retrying.
    /// </summary>
    private static async Task<AttemptResult> SendBoundedAsync(IEventSink sink, SinkMessage message, TimeSpan timeout, CancellationToken ct)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(timeout);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            return await sink.SendAsync(message, bounded.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new AttemptResult(AttemptOutcome.Retry, null, AttemptTiming.Since(started), null,
                $"{sink.Kind}: no answer within {timeout.TotalSeconds:0} s", null);
        }
    }

    /// <summary>Serialises grain-state writes: deliveries run concurrently and two overlapping writes would conflict on the etag.</summary>
    private async Task SaveAsync()
    {
        await _stateWrites.WaitAsync();
        try
        {
            await state.WriteStateAsync();
        }
        finally
        {
            _stateWrites.Release();
        }
    }


    private async Task<(string Field, string Message)?> ValidateAsync(WebhookDefinition d)
    {
        if (string.IsNullOrWhiteSpace(d.Nome) || d.Nome.Length > 100) return ("nome", "nome is required (at most 100 characters).");
        if (d.Tipo == SinkKinds.Webhook)
        {
            if (await targets.ProblemWithAsync(d.Url) is { } urlProblem) return ("url", urlProblem);
        }
        else if (sinks.Find(d.Tipo) is not { } sink)
        {
            return (d.Tipo, $"no {d.Tipo} server is configured: set its INTEGRACOES_ settings (see README).");
        }
        else if (d.Ativo && await sink.ProblemAsync(CancellationToken.None) is { } sinkProblem)
        {
            return (d.Tipo, sinkProblem);
        }
        if (d.Eventos.Count == 0) return ("eventos", "eventos must list at least one event, or \"*\" for all.");
        if (d.Eventos.Count > WebhookDefaults.MaxEventsPerSubscription) return ("eventos", $"at most {WebhookDefaults.MaxEventsPerSubscription} events.");
        foreach (var evento in d.Eventos)
        {
            if (evento != "*" && !EventCatalog.IsValidName(evento)) return ("eventos", $"'{Truncate(evento)}' is not an event name.");
        }
        if (d.Timeout is < 1 or > WebhookDefaults.MaxTimeout) return ("timeout", $"timeout must be between 1 and {WebhookDefaults.MaxTimeout} seconds.");
        if (d.MaxConcurrency is < 1 or > WebhookDefaults.MaxConcurrencyLimit) return ("max_concorrencia", $"max_concorrencia must be between 1 and {WebhookDefaults.MaxConcurrencyLimit}.");
        if (d.RateLimit is { } rate && (rate <= 0 || rate > 10_000)) return ("rate_limit", "rate_limit must be between 0 and 10000 deliveries per second.");
        if (d.RetrySchedule.Count is 0 or > WebhookDefaults.MaxScheduleLength) return ("retry_config", $"the schedule must have 1 to {WebhookDefaults.MaxScheduleLength} attempts.");
        if (d.RetrySchedule.Any(s => s is < 0 or > WebhookDefaults.MaxScheduleDelaySeconds)) return ("retry_config.agenda_segundos", "each wait must be between 0 and 604800 seconds.");
        if (d.Headers.Count > 50) return ("headers", "at most 50 headers.");
        foreach (var (name, value) in d.Headers)
        {
            if (!Abstractions.Services.ServiceDefinitionRules.IsHeaderName(name) || ReservedHeaders.Contains(name)
                || name.StartsWith("webhook-", StringComparison.OrdinalIgnoreCase) || name.StartsWith("content-", StringComparison.OrdinalIgnoreCase))
                return ("headers", $"'{Truncate(name)}' is not a header name this hub may send.");
            if (value.Length > 4_096 || value.Any(c => c is '\r' or '\n' or '\0')) return ($"headers.{name}", "header values must be at most 4096 characters without line breaks.");
        }
        if (d.Secret is not null && !WebhookSigner.IsValidSecret(d.Secret)) return ("secret", "secret must be whsec_ followed by the base64 of 24 to 64 bytes.");
        return null;
    }

    private void Apply(WebhookDefinition d)
    {
        var s = state.State;
        s.Exists = true;
        s.Nome = d.Nome;
        s.Url = d.Url;
        s.Eventos = [.. d.Eventos.Distinct(StringComparer.Ordinal)];
        s.Ativo = d.Ativo;
        // A value sent back as the mask (from a read) keeps the stored value.
        var previous = ReadHeaders();
        var headers = d.Headers.ToDictionary(
            h => h.Key,
            h => h.Value == HeaderMask && previous.TryGetValue(h.Key, out var kept) ? kept : h.Value,
            StringComparer.OrdinalIgnoreCase);
        s.EncryptedHeaders = headers.Count == 0 ? null : protector.Protect(JsonSerializer.Serialize(headers));
        s.HeaderNames = [.. headers.Keys];
        s.Timeout = d.Timeout;
        s.RetrySchedule = [.. d.RetrySchedule];
        s.RateLimit = d.RateLimit;
        s.MaxConcurrency = d.MaxConcurrency;
        s.Tipo = d.Tipo;
        s.Sink = d.Sink;
        s.PorEvento = d.PorEvento;
        s.Base64 = d.Base64;
        s.UpdatedAt = time.GetUtcNow();
    }

    private void ConfigureResilience()
    {
        // Decrypted once per configuration change, not once per attempt.
        _secrets = [protector.Unprotect(state.State.EncryptedSecret)];
        if (state.State.EncryptedPreviousSecret is { } previous)
        {
            _secrets.Add(protector.Unprotect(previous));
        }
        _url = state.State.Tipo == SinkKinds.Webhook ? new Uri(state.State.Url) : null;
        _headers = ReadHeaders();
        _circuit = new CircuitBreakerStateProvider();
        var builder = new Polly.ResiliencePipelineBuilder<AttemptResult> { TimeProvider = time };
        _breaker = Polly.CircuitBreakerResiliencePipelineBuilderExtensions.AddCircuitBreaker(builder, new CircuitBreakerStrategyOptions<AttemptResult>
        {
            FailureRatio = settings.CircuitFailureRatio,
            MinimumThroughput = settings.CircuitMinimumThroughput,
            SamplingDuration = TimeSpan.FromSeconds(settings.CircuitSamplingSeconds),
            BreakDuration = TimeSpan.FromSeconds(settings.CircuitBreakSeconds),
            StateProvider = _circuit,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result?.Outcome == AttemptOutcome.Retry || args.Outcome.Exception is not null),
        })
            .Build();
        _limiter?.Dispose();
        _limiter = state.State.RateLimit is { } rate
            ? new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = Math.Max(1, (int)Math.Ceiling(rate)),
                TokensPerPeriod = Math.Max(1, (int)Math.Ceiling(rate / 10)),
                ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, (int)Math.Ceiling(rate / 10)) / rate),
                QueueLimit = 0,
                AutoReplenishment = true,
            })
            : null;
    }

    /// <summary>What reads show instead of a custom header's value.</summary>
    public const string HeaderMask = "***";

    private Dictionary<string, string> ReadHeaders() => state.State.EncryptedHeaders is { } encrypted
        ? JsonSerializer.Deserialize<Dictionary<string, string>>(protector.Unprotect(encrypted))!
        : [];

    /// <summary>Headers that would change routing, framing or the signature: never settable per subscription.</summary>
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Transfer-Encoding", "Keep-Alive", "Proxy-Connection", "Upgrade", "TE", "Trailer",
        "Expect", "X-Webhook-Signature", "X-Webhook-Event",
    };

    private static WebhookSubscriptionState Copy(WebhookSubscriptionState s) =>
        JsonSerializer.Deserialize<WebhookSubscriptionState>(JsonSerializer.SerializeToUtf8Bytes(s))!;

    private bool Owns(string instance) => state.State.Exists && state.State.Instance == instance;

    private string CircuitStateName() => _circuit?.CircuitState switch
    {
        CircuitState.Open or CircuitState.Isolated => "aberto",
        CircuitState.HalfOpen => "meio-aberto",
        _ => "fechado",
    };

    private WebhookView ToView()
    {
        var s = state.State;
        return new WebhookView(Id, s.Instance, s.Nome, s.Url, [.. s.Eventos], s.Ativo, s.HeaderNames.ToDictionary(name => name, _ => HeaderMask), s.Timeout,
            [.. s.RetrySchedule], s.RateLimit, s.MaxConcurrency, s.MotivoDesativacao, s.CreatedAt, s.UpdatedAt, CircuitStateName(),
            s.Tipo, s.PorEvento, s.Base64, s.Sink);
    }

    private static string Truncate(string s) => TextBounds.Shorten(s, 40, "...");
}
