using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Integracoes.Storage.Deliveries;

/// <summary>
/// The write side of delivery, with group commit: every accepted event, queue item, attempt and
/// state change waits in one channel; a single writer drains whatever has arrived into one
/// transaction of multi-row statements, then completes every waiter at once. Many concurrent
/// requests share one round trip and one fsync. A batch that fails is retried item by item, so one
/// bad item never fails its neighbours.
/// </summary>
public sealed class DeliveryLedger : IAsyncDisposable
{
    private const int MaxBatch = 2_000;
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<DeliveryLedger> _logger;
    private readonly Channel<Work> _channel = Channel.CreateBounded<Work>(new BoundedChannelOptions(20_000)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly Task _writer;

    public DeliveryLedger(NpgsqlDataSource dataSource, ILogger<DeliveryLedger> logger)
    {
        _dataSource = dataSource;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    public Task AcceptAsync(AcceptedEvent accepted) => EnqueueAsync(new Work(accepted, null, null));

    public Task RecordAsync(AttemptRecord attempt) => EnqueueAsync(new Work(null, attempt, null));

    public Task TransitionAsync(QueueTransition transition) => EnqueueAsync(new Work(null, null, transition));

    private async Task EnqueueAsync(Work work)
    {
        await _channel.Writer.WriteAsync(work);
        await work.Done.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Work>(MaxBatch);
        while (await _channel.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _channel.Reader.TryRead(out var work))
            {
                batch.Add(work);
            }
            try
            {
                await CommitAsync(batch);
                foreach (var work in batch) work.Done.TrySetResult();
            }
            catch (PostgresException e) when (batch.Count > 1 && IsDataError(e))
            {
                _logger.LogWarning(e, "Group commit of {Count} items failed; retrying them one by one", batch.Count);
                foreach (var work in batch)
                {
                    try
                    {
                        await CommitAsync([work]);
                        work.Done.TrySetResult();
                    }
                    catch (Exception single)
                    {
                        work.Done.TrySetException(single);
                    }
                }
            }
            catch (Exception e)
            {
                foreach (var work in batch) work.Done.TrySetException(e);
            }
        }
    }

    /// <summary>
    /// Data errors (class 22, 23) belong to one item and are worth isolating; anything else (connection,
    /// timeout, server down) would fail every item alike, so the batch fails at once and callers retry.
    /// </summary>
    private static bool IsDataError(PostgresException e) => e.SqlState.StartsWith("22", StringComparison.Ordinal) || e.SqlState.StartsWith("23", StringComparison.Ordinal);

    private async Task CommitAsync(IReadOnlyList<Work> batch)
    {
        var events = batch.Where(w => w.Accepted is not null).Select(w => w.Accepted!).ToList();
        var attempts = batch.Where(w => w.Attempt is not null).Select(w => w.Attempt!).ToList();
        // The last transition of a queue item in the batch wins (items are in arrival order).
        var transitions = batch
            .Select(w => w.Transition ?? w.Attempt?.Transition)
            .OfType<QueueTransition>()
            .GroupBy(t => t.QueueId)
            .Select(g => g.Last())
            .ToList();

        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlBatch(connection, tx);
        if (events.Count > 0) AddEvents(command, events);
        if (attempts.Count > 0) AddAttempts(command, attempts);
        if (transitions.Count > 0) AddTransitions(command, transitions);
        if (command.BatchCommands.Count > 0)
        {
            await command.ExecuteNonQueryAsync();
        }
        await tx.CommitAsync();
    }

    private static void AddEvents(NpgsqlBatch batch, List<AcceptedEvent> events)
    {
        var insertEvents = new NpgsqlBatchCommand("""
            INSERT INTO integracoes_eventos (id, instance, evento, dados, created_at)
            SELECT id, instance, evento, dados::json, created_at
            FROM unnest(@id, @instance, @evento, @dados, @created_at) AS t(id, instance, evento, dados, created_at)
            """);
        insertEvents.Parameters.Add(NpgsqlArrays.Parameter("id", events.Select(e => e.EventId), NpgsqlDbType.Uuid));
        insertEvents.Parameters.Add(NpgsqlArrays.Parameter("instance", events.Select(e => e.Instance), NpgsqlDbType.Text));
        insertEvents.Parameters.Add(NpgsqlArrays.Parameter("evento", events.Select(e => e.Evento), NpgsqlDbType.Text));
        insertEvents.Parameters.Add(NpgsqlArrays.Parameter("dados", events.Select(e => e.DadosJson), NpgsqlDbType.Text));
        insertEvents.Parameters.Add(NpgsqlArrays.Parameter("created_at", events.Select(e => e.CreatedAt.UtcDateTime), NpgsqlDbType.TimestampTz));
        batch.BatchCommands.Add(insertEvents);

        var keyed = events.Where(e => e.IdempotencyKey is not null).ToList();
        if (keyed.Count > 0)
        {
            // A key older than 24 hours is free again: the new event takes it over.
            var idempotency = new NpgsqlBatchCommand("""
                INSERT INTO integracoes_idempotencia (instance, chave, evento_id, entregas, created_at)
                SELECT * FROM unnest(@instance, @chave, @evento_id, @entregas, @created_at)
                ON CONFLICT (instance, chave) DO UPDATE
                    SET evento_id = excluded.evento_id, entregas = excluded.entregas, created_at = excluded.created_at
                    WHERE integracoes_idempotencia.created_at < excluded.created_at - interval '24 hours'
                """);
            idempotency.Parameters.Add(NpgsqlArrays.Parameter("instance", keyed.Select(e => e.Instance), NpgsqlDbType.Text));
            idempotency.Parameters.Add(NpgsqlArrays.Parameter("chave", keyed.Select(e => e.IdempotencyKey!), NpgsqlDbType.Text));
            idempotency.Parameters.Add(NpgsqlArrays.Parameter("evento_id", keyed.Select(e => e.EventId), NpgsqlDbType.Uuid));
            idempotency.Parameters.Add(NpgsqlArrays.Parameter("entregas", keyed.Select(e => e.Deliveries.Count), NpgsqlDbType.Integer));
            idempotency.Parameters.Add(NpgsqlArrays.Parameter("created_at", keyed.Select(e => e.CreatedAt.UtcDateTime), NpgsqlDbType.TimestampTz));
            batch.BatchCommands.Add(idempotency);
        }

        var items = events.SelectMany(e => e.Deliveries.Select(d => (Event: e, Item: d))).ToList();
        if (items.Count > 0)
        {
            var insertQueue = new NpgsqlBatchCommand("""
                INSERT INTO integracoes_filas (id, instance, servico_id, destino, evento_id, prioridade, tentativas, proxima_tentativa, status, created_at, updated_at)
                SELECT id, instance, servico_id, destino, evento_id, prioridade, 0, created_at, 'pendente', created_at, created_at
                FROM unnest(@id, @instance, @servico_id, @destino, @evento_id, @prioridade, @created_at)
                    AS t(id, instance, servico_id, destino, evento_id, prioridade, created_at)
                """);
            insertQueue.Parameters.Add(NpgsqlArrays.Parameter("id", items.Select(i => i.Item.QueueId), NpgsqlDbType.Bigint));
            insertQueue.Parameters.Add(NpgsqlArrays.Parameter("instance", items.Select(i => i.Event.Instance), NpgsqlDbType.Text));
            insertQueue.Parameters.Add(NpgsqlArrays.Parameter("servico_id", items.Select(i => i.Item.DestinationId), NpgsqlDbType.Bigint));
            insertQueue.Parameters.Add(NpgsqlArrays.Parameter("destino", items.Select(i => i.Item.Destino), NpgsqlDbType.Text));
            insertQueue.Parameters.Add(NpgsqlArrays.Parameter("evento_id", items.Select(i => i.Event.EventId), NpgsqlDbType.Uuid));
            insertQueue.Parameters.Add(NpgsqlArrays.Parameter("prioridade", items.Select(i => i.Item.Prioridade), NpgsqlDbType.Integer));
            insertQueue.Parameters.Add(NpgsqlArrays.Parameter("created_at", items.Select(i => i.Event.CreatedAt.UtcDateTime), NpgsqlDbType.TimestampTz));
            batch.BatchCommands.Add(insertQueue);
        }
    }

    private static void AddAttempts(NpgsqlBatch batch, List<AttemptRecord> attempts)
    {
        var insert = new NpgsqlBatchCommand("""
            INSERT INTO webhook_logs (instance, webhook_id, fila_id, evento_id, evento, tentativa, status_code, sucesso, duracao_ms, resposta, erro, created_at)
            SELECT * FROM unnest(@instance, @webhook_id, @fila_id, @evento_id, @evento, @tentativa, @status_code, @sucesso, @duracao_ms, @resposta, @erro, @created_at)
            """);
        insert.Parameters.Add(NpgsqlArrays.Parameter("instance", attempts.Select(a => a.Instance), NpgsqlDbType.Text));
        insert.Parameters.Add(NpgsqlArrays.Parameter("webhook_id", attempts.Select(a => a.WebhookId), NpgsqlDbType.Bigint));
        insert.Parameters.Add(NpgsqlArrays.Parameter("fila_id", attempts.Select(a => a.QueueId), NpgsqlDbType.Bigint));
        insert.Parameters.Add(NpgsqlArrays.Parameter("evento_id", attempts.Select(a => a.EventId), NpgsqlDbType.Uuid));
        insert.Parameters.Add(NpgsqlArrays.Parameter("evento", attempts.Select(a => a.Evento), NpgsqlDbType.Text));
        insert.Parameters.Add(NpgsqlArrays.Parameter("tentativa", attempts.Select(a => a.Tentativa), NpgsqlDbType.Integer));
        insert.Parameters.Add(NpgsqlArrays.Parameter("status_code", attempts.Select(a => a.StatusCode), NpgsqlDbType.Integer));
        insert.Parameters.Add(NpgsqlArrays.Parameter("sucesso", attempts.Select(a => a.Sucesso), NpgsqlDbType.Boolean));
        insert.Parameters.Add(NpgsqlArrays.Parameter("duracao_ms", attempts.Select(a => (float)a.DuracaoMs), NpgsqlDbType.Real));
        insert.Parameters.Add(NpgsqlArrays.Parameter("resposta", attempts.Select(a => a.Resposta), NpgsqlDbType.Text));
        insert.Parameters.Add(NpgsqlArrays.Parameter("erro", attempts.Select(a => a.Erro), NpgsqlDbType.Text));
        insert.Parameters.Add(NpgsqlArrays.Parameter("created_at", attempts.Select(a => a.At.UtcDateTime), NpgsqlDbType.TimestampTz));
        batch.BatchCommands.Add(insert);
    }

    private static void AddTransitions(NpgsqlBatch batch, List<QueueTransition> transitions)
    {
        var update = new NpgsqlBatchCommand("""
            UPDATE integracoes_filas f
            SET status = t.status, tentativas = t.tentativas, proxima_tentativa = t.proxima, resultado = t.resultado::jsonb, updated_at = now()
            FROM unnest(@id, @status, @tentativas, @proxima, @resultado) AS t(id, status, tentativas, proxima, resultado)
            WHERE f.id = t.id
            """);
        update.Parameters.Add(NpgsqlArrays.Parameter("id", transitions.Select(t => t.QueueId), NpgsqlDbType.Bigint));
        update.Parameters.Add(NpgsqlArrays.Parameter("status", transitions.Select(t => t.Status), NpgsqlDbType.Text));
        update.Parameters.Add(NpgsqlArrays.Parameter("tentativas", transitions.Select(t => t.Tentativas), NpgsqlDbType.Integer));
        update.Parameters.Add(NpgsqlArrays.Parameter("proxima", transitions.Select(t => t.ProximaTentativa.UtcDateTime), NpgsqlDbType.TimestampTz));
        update.Parameters.Add(NpgsqlArrays.Parameter("resultado", transitions.Select(t => t.ResultadoJson), NpgsqlDbType.Text));
        batch.BatchCommands.Add(update);
    }


    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _writer;
    }

    private sealed record Work(AcceptedEvent? Accepted, AttemptRecord? Attempt, QueueTransition? Transition)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Queue item ids, reserved from PostgreSQL in blocks of 1000 (the sequence's increment).</summary>
public sealed class QueueIdAllocator(NpgsqlDataSource dataSource)
{
    private const int BlockSize = 1_000;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _next;
    private long _end;

    public async Task<long[]> NextAsync(int count)
    {
        var ids = new long[count];
        await _gate.WaitAsync();
        try
        {
            for (var i = 0; i < count; i++)
            {
                if (_next >= _end)
                {
                    await using var command = dataSource.CreateCommand("SELECT nextval('integracoes_filas_id_seq')");
                    _next = (long)(await command.ExecuteScalarAsync())!;
                    _end = _next + BlockSize;
                }
                ids[i] = _next++;
            }
        }
        finally
        {
            _gate.Release();
        }
        return ids;
    }
}
