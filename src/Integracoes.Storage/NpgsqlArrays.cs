using Npgsql;
using NpgsqlTypes;

namespace Integracoes.Storage;

/// <summary>Array parameters for the multi-row <c>unnest(...)</c> inserts that batch writes use.</summary>
public static class NpgsqlArrays
{
    public static NpgsqlParameter Parameter<T>(string name, IEnumerable<T> values, NpgsqlDbType elementType) =>
        new(name, NpgsqlDbType.Array | elementType) { Value = values.ToArray() };
}
