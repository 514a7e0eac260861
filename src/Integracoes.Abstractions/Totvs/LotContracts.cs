using Integracoes.Abstractions.Common;

namespace Integracoes.Abstractions.Totvs;

/// <summary>A production order TOTVS opened (<c>POST /api/totvs/ordens-producao</c>, or the <c>lotes</c> sync): a lot to produce.</summary>
[GenerateSerializer, Immutable]
public sealed record LotOrder(
    [property: Id(0)] string NumeroOp,
    [property: Id(1)] string Sku,
    [property: Id(2)] string Lote,
    [property: Id(3)] string Linha,
    [property: Id(4)] long QuantidadePlanejada,
    [property: Id(5)] DateOnly? Validade,
    [property: Id(6)] string DadosJson);

/// <summary>The supervisor's signature that closes a lot (the signed Diário de Bordo), as sent: the grain validates it once it knows the lot is the caller's.</summary>
[GenerateSerializer, Immutable]
public sealed record LotSignature(
    [property: Id(0)] string? AssinadoPor,
    [property: Id(1)] DateTimeOffset? AssinadoEm);

/// <summary>
/// A row of <c>lotes_producao</c>. <see cref="EnvioTotvs"/> is the state of the push of its totals to TOTVS, read from
/// the <c>lote.fechado</c> queue item of the <c>totvs</c> destination (<c>pendente</c>, <c>entregue</c>,
/// <c>rejeitada</c> = TOTVS refused it, <c>falha</c> = retries exhausted, <c>cancelada</c>; null until published),
/// and <see cref="EnvioTotvsErro"/> the last attempt's error (TOTVS's status and answer).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record LotView(
    [property: Id(0)] long Id,
    [property: Id(1)] string NumeroOp,
    [property: Id(2)] string Sku,
    [property: Id(3)] string Lote,
    [property: Id(4)] string Linha,
    [property: Id(5)] long QuantidadePlanejada,
    [property: Id(6)] DateOnly? Validade,
    [property: Id(7)] string Status,
    [property: Id(8)] string Origem,
    [property: Id(9)] DateTimeOffset CriadoEm,
    [property: Id(10)] DateTimeOffset AtualizadoEm,
    [property: Id(11)] DateTimeOffset? IniciadoEm,
    [property: Id(12)] string? AssinadoPor,
    [property: Id(13)] DateTimeOffset? AssinadoEm,
    [property: Id(14)] DateTimeOffset? FechadoEm,
    [property: Id(15)] long? ProducaoTotal,
    [property: Id(16)] long? ProducaoBoa,
    [property: Id(17)] long? PerdasQualidade,
    [property: Id(18)] double? TempoProduzindo,
    [property: Id(19)] double? TempoParado,
    [property: Id(20)] double? Oee,
    [property: Id(21)] Guid? EventoId,
    [property: Id(22)] string? EnvioTotvs = null,
    [property: Id(23)] string? EnvioTotvsErro = null);

/// <summary>A new lot, or the one already stored under the same order number (idempotent).</summary>
[GenerateSerializer, Immutable]
public sealed record LotCreated(
    [property: Id(0)] LotView Lot,
    [property: Id(1)] bool Repetido);

public static class LotStatus
{
    public const string Available = "disponivel";
    public const string InProduction = "em_producao";
    public const string Closed = "fechado";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Available, InProduction, Closed };
}

/// <summary>
/// The lot workflow of one instance (keyed by instance): TOTVS opens lots, the floor starts them on
/// their line, the supervisor's signature closes them and the totals go back to TOTVS through the
/// delivery engine (event <c>lote.fechado</c>).
/// </summary>
[Alias("Integracoes.ILotWorkflowGrain")]
public interface ILotWorkflowGrain : IGrainWithStringKey
{
    [Alias("Open")]
    Task<Outcome<LotCreated>> OpenAsync(LotOrder order);

    [Alias("Get"), Orleans.Concurrency.ReadOnly]
    Task<LotView?> GetAsync(long id);

    [Alias("List"), Orleans.Concurrency.ReadOnly]
    Task<Page<LotView>> ListAsync(string? linha, string? status, int limit, int offset);

    /// <summary>Starts the lot's order on its line (<c>ILineGrain.StartOrderAsync</c>).</summary>
    [Alias("Start")]
    Task<Outcome<LotView>> StartAsync(long id);

    /// <summary>Ends the order on the line, stores the totals and the signature, and publishes <c>lote.fechado</c>.</summary>
    [Alias("Close")]
    Task<Outcome<LotView>> CloseAsync(long id, LotSignature signature);
}

/// <summary>Field rules of a lot order, shared by the API and the grains.</summary>
public static class LotRules
{
    public const int MaxCode = 64;
    public const int MaxSigner = 200;

    /// <summary>A signature time may be ahead of the server's clock by this much (clocks on the floor drift), no more.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    public static (string Field, string Message)? Validate(LotSignature s, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(s.AssinadoPor) || s.AssinadoPor.Length > MaxSigner || s.AssinadoPor.Any(char.IsControl))
            return ("assinado_por", $"assinado_por is required: who signed the lot (at most {MaxSigner} characters).");
        if (s.AssinadoEm is not { } at) return ("assinado_em", "assinado_em is required: when the lot was signed (ISO 8601).");
        if (at > now + MaxClockSkew) return ("assinado_em", "assinado_em is in the future.");
        return null;
    }

    /// <summary>Letters, digits and <c>- _ . /</c>, 1 to 64 characters.</summary>
    public static bool IsCode(string? value) =>
        value is { Length: > 0 and <= MaxCode } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/');

    public static (string Field, string Message)? Validate(LotOrder o)
    {
        if (!IsCode(o.NumeroOp)) return ("numero_op", "numero_op is required: 1 to 64 letters, digits, '-', '_', '.', '/'.");
        if (!IsCode(o.Sku)) return ("sku", "sku is required: 1 to 64 letters, digits, '-', '_', '.', '/'.");
        if (!IsCode(o.Lote)) return ("lote", "lote is required: 1 to 64 letters, digits, '-', '_', '.', '/'.");
        if (!Lines.LineKeys.IsValidId(o.Linha)) return ("linha", "linha is required: a line id (1 to 64 letters, digits, '-', '_', '.').");
        if (o.QuantidadePlanejada is < 1 or > 1_000_000_000_000) return ("quantidade_planejada", "quantidade_planejada must be a positive integer.");
        return null;
    }
}
