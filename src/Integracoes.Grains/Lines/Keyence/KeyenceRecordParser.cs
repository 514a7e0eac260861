using System.Globalization;
using Integracoes.Abstractions.Lines;

namespace Integracoes.Grains.Lines.Keyence;

/// <summary>One record line of a gateway file: the sensor's cumulative counters at a moment.</summary>
public readonly record struct KeyenceRecord(string SensorId, DateTimeOffset Timestamp, long Producao, long Rejeicao);

/// <summary>Parses record lines in the layout of <see cref="KeyenceFormat"/>; a bad line gives the reason, never an exception.</summary>
public sealed class KeyenceRecordParser
{
    private static readonly string[] IsoLocalFormats =
    [
        "yyyy-MM-dd HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm",
        "yyyy-MM-dd'T'HH:mm",
    ];

    private readonly KeyenceFormat _format;
    private readonly TimeZoneInfo _zone;
    private readonly bool _customHasOffset;

    public KeyenceRecordParser(KeyenceFormat format)
    {
        _format = format;
        _zone = TimeZoneInfo.FindSystemTimeZoneById(format.FusoHorario);
        _customHasOffset = format.FormatoTimestamp.Contains('z') || format.FormatoTimestamp.Contains('K');
    }

    public const int MaxSensorId = 64;

    /// <summary>Parses one line (without its line break); on failure <paramref name="error"/> says why.</summary>
    public bool TryParse(ReadOnlySpan<char> line, out KeyenceRecord record, out string? error)
    {
        record = default;
        Span<Range> ranges = stackalloc Range[KeyenceConfigRules.MaxColumn + 2];
        var count = line.Split(ranges, _format.Delimitador);
        if (count < _format.FieldCount)
        {
            error = $"expected at least {_format.FieldCount} fields separated by '{Describe(_format.Delimitador)}', found {count}";
            return false;
        }

        var sensor = line[ranges[_format.ColunaSensor]].Trim();
        if (sensor.IsEmpty || sensor.Length > MaxSensorId)
        {
            error = $"sensor id must be 1 to {MaxSensorId} characters";
            return false;
        }
        if (!TryTimestamp(line[ranges[_format.ColunaTimestamp]].Trim(), out var timestamp))
        {
            error = $"timestamp is not in the format {_format.FormatoTimestamp}";
            return false;
        }
        if (!TryCounter(line[ranges[_format.ColunaProducao]], out var producao))
        {
            error = "production counter must be a non-negative integer";
            return false;
        }
        if (!TryCounter(line[ranges[_format.ColunaRejeicao]], out var rejeicao))
        {
            error = "rejection counter must be a non-negative integer";
            return false;
        }
        record = new KeyenceRecord(sensor.ToString(), timestamp, producao, rejeicao);
        error = null;
        return true;
    }

    private static bool TryCounter(ReadOnlySpan<char> field, out long value) =>
        long.TryParse(field.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private bool TryTimestamp(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        value = default;
        switch (_format.FormatoTimestamp)
        {
            case KeyenceFormat.UnixSeconds:
                return TryUnix(text, 1_000, out value);
            case KeyenceFormat.UnixMilliseconds:
                return TryUnix(text, 1, out value);
            case KeyenceFormat.Iso8601:
                if (HasOffset(text))
                {
                    return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
                }
                return DateTime.TryParseExact(text, IsoLocalFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
                    && TryInZone(local, out value);
            default:
                if (_customHasOffset)
                {
                    return DateTimeOffset.TryParseExact(text, _format.FormatoTimestamp, CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
                }
                return DateTime.TryParseExact(text, _format.FormatoTimestamp, CultureInfo.InvariantCulture, DateTimeStyles.None, out var custom)
                    && TryInZone(custom, out value);
        }
    }

    private static bool TryUnix(ReadOnlySpan<char> text, long millisecondsPerUnit, out DateTimeOffset value)
    {
        value = default;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var units)) return false;
        // Year 9999 in seconds fits easily; anything larger would overflow the conversion.
        if (units > 253_402_300_799_999 / millisecondsPerUnit) return false;
        value = DateTimeOffset.FromUnixTimeMilliseconds(units * millisecondsPerUnit);
        return true;
    }

    /// <summary>A wall-clock time in the configured zone; a time skipped by a DST change is not a real moment.</summary>
    private bool TryInZone(DateTime local, out DateTimeOffset value)
    {
        value = default;
        if (_zone.IsInvalidTime(local)) return false;
        value = new DateTimeOffset(local, _zone.GetUtcOffset(local));
        return true;
    }

    /// <summary>'Z' or a ±hh:mm after the time of day.</summary>
    private static bool HasOffset(ReadOnlySpan<char> text)
    {
        if (text.EndsWith("Z") || text.EndsWith("z")) return true;
        var timeStart = text.IndexOfAny('T', ' ');
        if (timeStart < 0) return false;
        return text[timeStart..].IndexOfAny('+', '-') > 0;
    }

    private static string Describe(char delimiter) => delimiter == '\t' ? "\\t" : delimiter.ToString();
}
