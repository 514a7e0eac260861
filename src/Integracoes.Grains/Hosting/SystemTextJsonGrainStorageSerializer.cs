using System.Text.Json;
using System.Text.Json.Serialization;
using Orleans.Storage;

namespace Integracoes.Grains.Hosting;

/// <summary>
/// Grain state as plain System.Text.Json, without .NET type names, so renaming a class never makes old
/// state unreadable. Each state class carries a Version for explicit upgrades.
/// </summary>
public sealed class SystemTextJsonGrainStorageSerializer : IGrainStorageSerializer
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, Options));

    public T Deserialize<T>(BinaryData input) => JsonSerializer.Deserialize<T>(input.ToMemory().Span, Options)!;
}
