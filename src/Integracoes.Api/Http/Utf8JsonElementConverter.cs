using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;

namespace Integracoes.Api.Http;

/// <summary>
/// Binds JSON kept as sent (config_padrao, endpoints, dados, exemplo, payload, eventos, a PATCH body) and
/// refuses it when it is not UTF-8. The serializer checks UTF-8 only where it makes strings, so such a
/// value would bind and then fail when an endpoint reads it: a 500 instead of a 400 naming the field.
/// </summary>
public sealed class Utf8JsonElementConverter : JsonConverter<JsonElement>
{
    public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var element = JsonElement.ParseValue(ref reader);
        return Utf8.IsValid(JsonMarshal.GetRawUtf8Value(element)) ? element : throw new JsonException("The value is not valid UTF-8.");
    }

    public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options) => value.WriteTo(writer);
}
