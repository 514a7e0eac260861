using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Services;
using Npgsql;
using NpgsqlTypes;

namespace Integracoes.Storage.Executions;

/// <summary>A finished execution to append to <c>integracoes_execucoes</c>.</summary>
public sealed record NewExecution(
    string Instance,
    long ServicoId,
    DateTimeOffset Inicio,
    DateTimeOffset? Fim,
    string Status,
    string? RequestDataJson,
    string? ResponseDataJson,
    string? ErrorLog,
    int Processados,
    int Sucesso,
    int Falha);

/// <summary>Append-only history of integration runs, read back per instance, newest first.</summary>
public sealed class ExecutionStore(NpgsqlDataSource dataSource)
{
    public async Task<ExecutionView> AppendAsync(NewExecution e, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO integracoes_execucoes
                (instance, servico_id, inicio, fim, status, request_data, response_data, error_log, processados, sucesso, falha)
            VALUES (@instance, @servico_id, @inicio, @fim, @status, @request_data, @response_data, @error_log, @processados, @sucesso, @falha)
            RETURNING id
            """);
        command.Parameters.AddWithValue("instance", e.Instance);
        command.Parameters.AddWithValue("servico_id", e.ServicoId);
        command.Parameters.AddWithValue("inicio", e.Inicio.UtcDateTime);
        command.Parameters.AddWithValue("fim", e.Fim.HasValue ? e.Fim.Value.UtcDateTime : DBNull.Value);
        command.Parameters.AddWithValue("status", e.Status);
        command.Parameters.Add(new NpgsqlParameter("request_data", NpgsqlDbType.Jsonb) { Value = (object?)e.RequestDataJson ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("response_data", NpgsqlDbType.Jsonb) { Value = (object?)e.ResponseDataJson ?? DBNull.Value });
        command.Parameters.AddWithValue("error_log", (object?)e.ErrorLog ?? DBNull.Value);
        command.Parameters.AddWithValue("processados", e.Processados);
        command.Parameters.AddWithValue("sucesso", e.Sucesso);
        command.Parameters.AddWithValue("falha", e.Falha);
        var id = (long)(await command.ExecuteScalarAsync(ct))!;
        return new ExecutionView(id, e.ServicoId, e.Inicio, e.Fim, e.Status, e.RequestDataJson, e.ResponseDataJson,
            e.ErrorLog, e.Processados, e.Sucesso, e.Falha);
    }

    public async Task<Page<ExecutionView>> ListAsync(
        string instance, long? servicoId, string? status, int limit, int offset, CancellationToken ct = default)
    {
        const string Where = """
            WHERE instance = @instance
              AND (@servico_id::bigint IS NULL OR servico_id = @servico_id)
              AND (@status::text IS NULL OR status = @status)
            """;
        var (count, results) = await PagedQuery.RunAsync(dataSource,
            $"SELECT count(*) FROM integracoes_execucoes {Where}",
            $"""
            SELECT id, servico_id, inicio, fim, status, request_data::text, response_data::text, error_log, processados, sucesso, falha
            FROM integracoes_execucoes {Where}
            ORDER BY inicio DESC, id DESC
            LIMIT @limit OFFSET @offset
            """,
            parameters =>
            {
                parameters.AddWithValue("instance", instance);
                parameters.Add(new NpgsqlParameter("servico_id", NpgsqlDbType.Bigint) { Value = (object?)servicoId ?? DBNull.Value });
                parameters.Add(new NpgsqlParameter("status", NpgsqlDbType.Text) { Value = (object?)status ?? DBNull.Value });
            },
            limit, offset,
            reader => new ExecutionView(
                reader.GetInt64(0),
                reader.GetInt64(1),
                new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero),
                reader.IsDBNull(3) ? null : new DateTimeOffset(reader.GetDateTime(3), TimeSpan.Zero),
                reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.GetInt32(8),
                reader.GetInt32(9),
                reader.GetInt32(10)),
            ct);
        return new Page<ExecutionView>(count, results, limit, offset);
    }
}

/// <summary>Hands out the seed's integer ids for services from a PostgreSQL sequence.</summary>
public sealed class ServiceIdSequence(NpgsqlDataSource dataSource)
{
    public async Task<long> NextAsync(CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand("SELECT nextval('integracoes_servicos_id_seq')");
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
