using System.Net;
using System.Text.Json;

namespace Integracoes.EndToEndTests;

internal static class Problem
{
    /// <summary>Asserts an RFC 9457 problem+json answer with the status and, when given, the field at fault.</summary>
    public static async Task AssertAsync(HttpResponseMessage response, HttpStatusCode status, string? field = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(body);
        Assert.Equal((int)status, doc.RootElement.GetProperty("status").GetInt32());
        if (field is not null)
        {
            Assert.True(doc.RootElement.TryGetProperty("errors", out var errors), body);
            Assert.True(errors.TryGetProperty(field, out _), $"no error for '{field}' in {body}");
        }
    }
}
