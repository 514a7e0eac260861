using System.Diagnostics;
using System.Globalization;
using Integracoes.Api.Security;
using Integracoes.Storage.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Integracoes.Api.Http;

/// <summary>
/// Adds <c>X-Response-Time</c> to every response and records every <c>/api/</c> request and WebSocket connection (method, route
/// template, status, duration, client IP, user agent, instance, key id) without bodies or secrets.
/// Recording only enqueues; <see cref="RequestLogWriter"/> writes in batches.
/// </summary>
public sealed class RequestLogMiddleware(RequestDelegate next, RequestLogWriter writer, TimeProvider time)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        context.Response.OnStarting(() =>
        {
            context.Response.Headers["X-Response-Time"] =
                Stopwatch.GetElapsedTime(started).TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + "ms";
            return Task.CompletedTask;
        });
        try
        {
            await next(context);
        }
        finally
        {
            // A WebSocket connection is recorded when it ends (status 101, its duration), under its route template: never its ?apikey=.
            if (context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
                || context.Request.Path.StartsWithSegments("/ws", StringComparison.OrdinalIgnoreCase))
            {
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(sem rota)";
                writer.Record(new RequestLogEntry(
                    Truncate(context.Request.Method, 10)!,
                    Truncate(route, 200)!,
                    context.Response.StatusCode,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                    context.Connection.RemoteIpAddress?.ToString(),
                    Truncate(context.Request.Headers.UserAgent.ToString(), 256),
                    context.User.FindFirst(Claims.Instance)?.Value,
                    context.User.FindFirst(Claims.KeyId)?.Value,
                    time.GetUtcNow()));
            }
        }
    }

    private static string? Truncate(string? value, int max) =>
        string.IsNullOrEmpty(value) ? null : value.Length <= max ? value : value[..max];
}
