using System.Text.Json;
using System.Text.Json.Serialization;
using Integracoes.Abstractions.Common;
using Integracoes.Storage.Audit;

namespace Integracoes.Grains.Audit;

/// <summary>
/// Records a change in the audit trail with the caller from <see cref="AuditContext"/>. Grains call it
/// right after their state is written, with views of the resource that never carry secrets.
/// </summary>
public sealed class Auditor(AuditTrail trail, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public Task RecordAsync(string? instance, string action, string resource, string? resourceId, object? before, object? after) =>
        trail.RecordAsync(new AuditEntry(instance, Truncate(AuditContext.Actor, 64), AuditContext.Ip, action, resource, resourceId,
            Serialize(before), Serialize(after), time.GetUtcNow()));

    private static string? Serialize(object? value) => value is null ? null : JsonSerializer.Serialize(value, value.GetType(), Json);

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
