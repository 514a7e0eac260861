using Integracoes.Abstractions.Lines;
using Integracoes.Grains.Lines.Keyence;

namespace Integracoes.UnitTests.Keyence;

public sealed class KeyenceRecordParserTests
{
    private static KeyenceRecord Parse(string line, KeyenceFormat? format = null)
    {
        Assert.True(new KeyenceRecordParser(format ?? KeyenceFormat.Default).TryParse(line, out var record, out var error), error);
        return record;
    }

    private static string Refused(string line, KeyenceFormat? format = null)
    {
        Assert.False(new KeyenceRecordParser(format ?? KeyenceFormat.Default).TryParse(line, out _, out var error));
        return error!;
    }

    [Fact]
    public void The_default_layout_is_timestamp_sensor_production_rejection_separated_by_semicolons()
    {
        var record = Parse("2025-10-25 14:03:07.250;LINHA-01;15234;12");

        Assert.Equal(new KeyenceRecord("LINHA-01", new DateTimeOffset(2025, 10, 25, 14, 3, 7, 250, TimeSpan.Zero), 15234, 12), record);
    }

    [Theory]
    [InlineData("2025-10-25T14:03:07Z", 14)]
    [InlineData("2025-10-25T11:03:07-03:00", 14)]
    [InlineData("2025-10-25 17:03:07+03:00", 14)]
    public void Iso_timestamps_with_an_offset_keep_it(string timestamp, int utcHour)
    {
        var record = Parse($"{timestamp};S1;1;0");

        Assert.Equal(new DateTimeOffset(2025, 10, 25, utcHour, 3, 7, TimeSpan.Zero), record.Timestamp.ToUniversalTime());
    }

    [Fact]
    public void Timestamps_without_an_offset_are_read_in_the_configured_time_zone()
    {
        var record = Parse("2025-10-25 14:03:07;S1;1;0", KeyenceFormat.Default with { FusoHorario = "America/Sao_Paulo" });

        Assert.Equal(TimeSpan.FromHours(-3), record.Timestamp.Offset);
        Assert.Equal(new DateTimeOffset(2025, 10, 25, 17, 3, 7, TimeSpan.Zero), record.Timestamp.ToUniversalTime());
    }

    [Fact]
    public void Columns_delimiter_and_a_custom_timestamp_format_are_configurable()
    {
        var format = new KeyenceFormat(Delimitador: '\t', ColunaTimestamp: 3, ColunaSensor: 0, ColunaProducao: 2, ColunaRejeicao: 1,
            FormatoTimestamp: "dd/MM/yyyy HH:mm:ss", FusoHorario: "UTC");

        var record = Parse("L7\t5\t900\t25/10/2025 08:00:01\textra", format);

        Assert.Equal(new KeyenceRecord("L7", new DateTimeOffset(2025, 10, 25, 8, 0, 1, TimeSpan.Zero), 900, 5), record);
    }

    [Theory]
    [InlineData(KeyenceFormat.UnixSeconds, "1761400987", 0)]
    [InlineData(KeyenceFormat.UnixMilliseconds, "1761400987250", 250)]
    public void Unix_timestamps_are_read_in_seconds_or_milliseconds(string kind, string value, int milliseconds)
    {
        var record = Parse($"{value},S,10,1", KeyenceFormat.Default with { Delimitador = ',', FormatoTimestamp = kind });

        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1761400987).AddMilliseconds(milliseconds), record.Timestamp);
    }

    [Fact]
    public void Spaces_around_fields_are_ignored() =>
        Assert.Equal(42, Parse(" 2025-10-25 14:03:07 ; S1 ; 42 ; 0 ").Producao);

    [Theory]
    [InlineData("2025-10-25 14:03:07;S1;15", "fields")]
    [InlineData("2025-10-25 14:03:07;;15;1", "sensor")]
    [InlineData("25/10/2025 14:03:07;S1;15;1", "timestamp")]
    [InlineData("2025-10-25 14:03:07;S1;-15;1", "production")]
    [InlineData("2025-10-25 14:03:07;S1;1.5;1", "production")]
    [InlineData("2025-10-25 14:03:07;S1;15;x", "rejection")]
    [InlineData("2025-10-25 14:03:07;S1;99999999999999999999;0", "production")]
    [InlineData("garbage", "fields")]
    public void Bad_lines_are_refused_with_the_reason(string line, string reason) =>
        Assert.Contains(reason, Refused(line));

    [Fact]
    public void A_sensor_id_longer_than_64_characters_is_refused() =>
        Assert.Contains("sensor", Refused($"2025-10-25 14:03:07;{new string('s', 65)};1;0"));

    [Fact]
    public void A_local_time_skipped_by_daylight_saving_is_refused() =>
        // New York skipped 02:00-03:00 on 2025-03-09.
        Assert.Contains("timestamp", Refused("2025-03-09 02:30:00;S1;1;0", KeyenceFormat.Default with { FusoHorario = "America/New_York" }));
}
