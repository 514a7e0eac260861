namespace Integracoes.Abstractions.Common;

/// <summary>How a command on a grain ended; the HTTP front end maps each to a status code.</summary>
[GenerateSerializer]
public enum OutcomeStatus
{
    Ok = 0,
    NotFound = 1,
    Conflict = 2,
    Invalid = 3,
}

/// <summary>
/// The result of a grain command: a value, or the reason there is none and the field at fault.
/// Grains return outcomes instead of throwing so that client mistakes never surface as exceptions.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record Outcome<T>(
    [property: Id(0)] OutcomeStatus Status,
    [property: Id(1)] T? Value,
    [property: Id(2)] string? Field = null,
    [property: Id(3)] string? Detail = null)
{
    public bool IsOk => Status == OutcomeStatus.Ok;

    public static Outcome<T> Ok(T value) => new(OutcomeStatus.Ok, value);

    public static Outcome<T> NotFound(string detail) => new(OutcomeStatus.NotFound, default, null, detail);

    public static Outcome<T> Conflict(string field, string detail) => new(OutcomeStatus.Conflict, default, field, detail);

    public static Outcome<T> Invalid(string field, string detail) => new(OutcomeStatus.Invalid, default, field, detail);

    public Outcome<TOther> As<TOther>() => new(Status, default, Field, Detail);
}

/// <summary>One page of a listing, in the limit/offset shape the seed's REST clients expect.</summary>
[GenerateSerializer, Immutable]
public sealed record Page<T>(
    [property: Id(0)] long Count,
    [property: Id(1)] IReadOnlyList<T> Results,
    [property: Id(2)] int Limit,
    [property: Id(3)] int Offset);
