using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Integracoes.Abstractions.Webhooks;

namespace Integracoes.Grains.Webhooks;

/// <summary>How a destination's envelope looks.</summary>
/// <param name="Seed002">A seed-002 sink: the "Webhook Payload" of seed 002 (destination, sender, server_url; never an API key).</param>
/// <param name="Destination">The URL the event is sent to (webhook sinks), for the payload's <c>destination</c>.</param>
/// <param name="KeepBase64">The sink's <c>webhook_base64</c>: media content (<c>base64</c> fields in <c>data</c>) is sent only when set.</param>
public sealed record EnvelopeShape(string Instance, bool Seed002 = false, string? Destination = null, string? ServerUrl = null, bool KeepBase64 = true);

/// <summary>
/// The body every destination receives: <c>{"id","event","instance","data","date_time"}</c>, with
/// <c>data</c> byte for byte as published; seed-002 sinks add <c>destination</c>, <c>sender</c> and
/// <c>server_url</c>.
/// </summary>
public static class DeliveryEnvelope
{
    public const string Sender = "Integracoes";

    public static byte[] Write(EnvelopeShape shape, QueuedDelivery delivery)
    {
        using var buffer = new MemoryStream(delivery.DadosJson.Length + 256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", delivery.EventId.ToString());
            writer.WriteString("event", delivery.Evento);
            writer.WriteString("instance", shape.Instance);
            writer.WritePropertyName("data");
            if (shape.Seed002 && !shape.KeepBase64 && delivery.DadosJson.Contains("\"base64\"", StringComparison.Ordinal))
            {
                if (WithoutBase64(JsonNode.Parse(delivery.DadosJson)) is { } data) data.WriteTo(writer);
                else writer.WriteNullValue();
            }
            else
            {
                writer.WriteRawValue(delivery.DadosJson, skipInputValidation: true);
            }
            if (shape.Seed002)
            {
                if (shape.Destination is not null) writer.WriteString("destination", shape.Destination);
                writer.WriteString("sender", Sender);
                if (shape.ServerUrl is not null) writer.WriteString("server_url", shape.ServerUrl);
            }
            writer.WriteString("date_time", delivery.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Media travels as <c>base64</c> fields (the WhatsApp gateways' convention); without webhook_base64 they are left out.</summary>
    private static JsonNode? WithoutBase64(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                obj.Remove("base64");
                foreach (var (_, child) in obj) WithoutBase64(child);
                break;
            case JsonArray array:
                foreach (var child in array) WithoutBase64(child);
                break;
        }
        return node;
    }
}
