using System.Globalization;
using Integracoes.Abstractions.Common;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;

namespace Integracoes.Api.Http;

/// <summary>limit/offset paging with the <c>count, next, previous, results</c> envelope of the seed's REST API.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;
    public const int MaxOffset = 1_000_000;

    public static bool TryRead(HttpRequest request, out int limit, out int offset, out (string Field, string Message) error)
    {
        limit = DefaultLimit;
        offset = 0;
        error = default;
        if (!TryInt(request, "limit", 1, MaxLimit, ref limit, out error)) return false;
        return TryInt(request, "offset", 0, MaxOffset, ref offset, out error);
    }

    public static bool TryInt(HttpRequest request, string name, int min, int max, ref int value, out (string Field, string Message) error)
    {
        error = default;
        var raw = request.Query[name].ToString();
        if (raw.Length == 0) return true;
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < min || parsed > max)
        {
            error = (name, $"{name} must be an integer between {min} and {max}.");
            return false;
        }
        value = parsed;
        return true;
    }

    /// <summary>An optional non-negative integer query parameter (ids).</summary>
    public static bool TryLong(HttpRequest request, string name, out long? value, out (string Field, string Message) error)
    {
        value = null;
        error = default;
        var raw = request.Query[name].ToString();
        if (raw.Length == 0) return true;
        if (!long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            error = (name, $"{name} must be an integer.");
            return false;
        }
        value = parsed;
        return true;
    }

    /// <summary>An optional ISO 8601 date-time query parameter (UTC when no offset is given).</summary>
    public static bool TryDate(HttpRequest request, string name, out DateTimeOffset? value, out (string Field, string Message) error)
    {
        value = null;
        error = default;
        var raw = request.Query[name].ToString();
        if (raw.Length == 0) return true;
        if (!DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            error = (name, $"{name} must be an ISO 8601 date-time.");
            return false;
        }
        value = parsed;
        return true;
    }

    public static object Envelope<T, TOut>(HttpRequest request, Page<T> page, Func<T, TOut> map) => new
    {
        count = page.Count,
        next = page.Offset + page.Limit < page.Count ? Link(request, page.Limit, page.Offset + page.Limit) : null,
        previous = page.Offset > 0 ? Link(request, page.Limit, Math.Max(0, page.Offset - page.Limit)) : null,
        results = page.Results.Select(map).ToList(),
    };

    private static string Link(HttpRequest request, int limit, int offset)
    {
        var query = request.Query
            .Where(q => q.Key is not ("limit" or "offset"))
            .ToDictionary(q => q.Key, q => q.Value.ToString());
        query["limit"] = limit.ToString(CultureInfo.InvariantCulture);
        query["offset"] = offset.ToString(CultureInfo.InvariantCulture);
        return UriHelper.BuildRelative(request.PathBase, request.Path, QueryString.Create(query!));
    }
}
