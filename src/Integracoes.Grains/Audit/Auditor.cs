using System.Text.Json;
using System.Text.Json.Nodes;
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
        trail.RecordAsync(new AuditEntry(instance, TextBounds.Shorten(AuditContext.Actor, 64).Replace('\0', '\uFFFD'), AuditContext.Ip, action, resource, resourceId,
            Serialize(before), Serialize(after), time.GetUtcNow()));

    /// <summary>
    /// PostgreSQL's jsonb cannot hold U+0000, which a resource may (names and JSON fields are kept as
    /// sent): the trail records it as U+FFFD rather than fail, after the fact, the change it records.
    /// </summary>
    private static string? Serialize(object? value)
    {
        if (value is null) return null;
        var json = JsonSerializer.Serialize(value, value.GetType(), Json);
        return json.Contains("\\u0000", StringComparison.Ordinal) ? WithoutNul(JsonNode.Parse(json))!.ToJsonString() : json;
    }

    private static JsonNode? WithoutNul(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (name, child) in o) copy[name.Replace('\0', '\uFFFD')] = WithoutNul(child);
                return copy;
            case JsonArray a:
                return new JsonArray([.. a.Select(WithoutNul)]);
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return JsonValue.Create(v.GetValue<string>().Replace('\0', '\uFFFD'));
            default:
                return node?.DeepClone();
        }
    }

}
