using Integracoes.Abstractions.Common;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Integracoes.Api.Http;

/// <summary>RFC 9457 problem responses, always naming the field at fault in <c>errors</c> when there is one.</summary>
public static class Problems
{
    public static ProblemHttpResult Field(int status, string field, string detail, string? title = null) =>
        TypedResults.Problem(
            statusCode: status,
            title: title ?? TitleFor(status),
            detail: detail,
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [detail] } });

    public static ProblemHttpResult Invalid(string field, string detail) => Field(StatusCodes.Status400BadRequest, field, detail);

    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: TitleFor(404), detail: detail);

    public static ProblemHttpResult From<T>(Outcome<T> outcome) => outcome.Status switch
    {
        OutcomeStatus.NotFound => NotFound(outcome.Detail ?? "not found"),
        OutcomeStatus.Conflict => Field(StatusCodes.Status409Conflict, outcome.Field ?? "body", outcome.Detail ?? "conflict"),
        OutcomeStatus.Invalid => Invalid(outcome.Field ?? "body", outcome.Detail ?? "invalid"),
        _ => throw new InvalidOperationException("an Ok outcome is not a problem"),
    };

    public static string TitleFor(int status) => status switch
    {
        400 => "Invalid request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        405 => "Method not allowed",
        409 => "Conflict",
        413 => "Payload too large",
        415 => "Unsupported media type",
        429 => "Too many requests",
        _ => "Error",
    };
}
