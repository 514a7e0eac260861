using System.Text;
using System.Text.Json;
using Integracoes.Abstractions.Common;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Integracoes.Api.Http;

/// <summary>
/// Turns the framework's request-binding failures (broken JSON, wrong types, oversized bodies, wrong
/// content type) into problem+json naming the field, instead of a bare 400 or a 500.
/// </summary>
public sealed class BadRequestExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad)
        {
            // A JSON body in a charset .NET does not know makes the framework throw InvalidOperationException.
            if (exception is InvalidOperationException && HasUnknownCharset(context.Request))
            {
                context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
                await Problems.Field(StatusCodes.Status415UnsupportedMediaType, "body", "Send the body as UTF-8 application/json.").ExecuteAsync(context);
                return true;
            }
            return false;
        }
        var json = FindJsonException(bad);
        var status = json is not null ? StatusCodes.Status400BadRequest : bad.StatusCode;
        var unknown = json is not null ? UnknownMember(json) : null;
        var field = unknown ?? (json is not null ? FieldFromPath(json.Path) : "body");
        var detail = status switch
        {
            _ when unknown is not null => $"unknown field '{unknown}'.",
            StatusCodes.Status413PayloadTooLarge => "The request body is larger than the server accepts.",
            StatusCodes.Status415UnsupportedMediaType => "Send the body as application/json.",
            _ when json is not null => field == "body"
                ? "The body is not valid JSON."
                : $"'{field}' has the wrong type or format.",
            _ => bad.Message,
        };
        var result = Problems.Field(status, field, detail);
        context.Response.StatusCode = status;
        await result.ExecuteAsync(context);
        return true;
    }

    private static bool HasUnknownCharset(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || type.Charset.Length == 0) return false;
        try
        {
            Encoding.GetEncoding(HeaderUtilities.RemoveQuotes(type.Charset).ToString());
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    /// <summary>
    /// The property a body with <see cref="System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow"/>
    /// refused, from the serializer's message (it names it nowhere else), bounded for the answer.
    /// </summary>
    private static string? UnknownMember(JsonException json)
    {
        const string marker = "The JSON property '";
        var message = json.Message;
        var start = message.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0 || !message.Contains("could not be mapped", StringComparison.Ordinal)) return null;
        start += marker.Length;
        var end = message.IndexOf("' could not be mapped", start, StringComparison.Ordinal);
        return end <= start ? null : TextBounds.Shorten(message[start..end], 64, "...");
    }

    private static JsonException? FindJsonException(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is JsonException json) return json;
        }
        return null;
    }

    /// <summary>"$.retry_config.max_tentativas" becomes "retry_config.max_tentativas"; "$" (or none) becomes "body".</summary>
    public static string FieldFromPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$") return "body";
        var field = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        return field.Length == 0 ? "body" : field;
    }
}
