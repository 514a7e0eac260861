using Integracoes.Abstractions.Lines;
using Integracoes.Grains.Lines.Keyence;
using Integracoes.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Integracoes.UnitTests.Keyence;

public sealed class KeyenceDirectoryReaderTests : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("integracoes-keyence-reader-").FullName;
    private readonly ManualTime _time = new();
    private readonly CountingLines _lines = new();

    private string Gateway => Path.Combine(_root, "gateway");

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return ValueTask.CompletedTask;
    }

    private KeyenceDirectoryReader Reader(IReadOnlyDictionary<string, long>? stored = null, KeyenceFormat? format = null)
    {
        Directory.CreateDirectory(Gateway);
        var source = new KeyenceSource("gateway", Gateway, format ?? KeyenceFormat.Default, null);
        return new KeyenceDirectoryReader("fabrica", _root, source, stored ?? new Dictionary<string, long>(), _lines, _time, NullLogger.Instance);
    }

    private KeyenceGatewaySimulator Simulator(params string[] sensors) =>
        new(Gateway, sensors, new KeyenceGatewaySimulator.Options(SplitEvery: 0));

    private void Append(string file, string text) => File.AppendAllText(Path.Combine(Gateway, file), text);

    [Fact]
    public async Task A_last_line_without_its_line_break_waits_for_it()
    {
        var reader = Reader();
        _lines.Map("S1", "linha-1");
        Append("a.txt", "2025-10-25 14:00:00;S1;10;1\n2025-10-25 14:00:01;S1;1");

        Assert.Equal(1, await reader.PollAsync());
        Append("a.txt", "5;2\n");
        Assert.Equal(1, await reader.PollAsync());

        var readings = _lines.Received("linha-1");
        Assert.Equal([10L, 15L], readings.Select(r => r.Producao));
        Assert.Equal(new FileInfo(Path.Combine(Gateway, "a.txt")).Length, readings[^1].EndOffset);
        Assert.Equal("2025-10-25 14:00:00;S1;10;1\n".Length, readings[0].EndOffset);
    }

    [Fact]
    public async Task Records_reach_the_line_of_their_sensor_in_file_order_and_count_what_the_gateway_wrote()
    {
        var reader = Reader();
        await using var gateway = Simulator("S1", "S2", "S3");
        foreach (var sensor in gateway.SensorIds) _lines.Map(sensor, "linha-" + sensor);

        for (var round = 0; round < 40; round++)
        {
            gateway.WriteRound();
            if (round == 20) gateway.ResetCounter("S2");
            if (round % 3 == 0) await reader.PollAsync();
        }
        await reader.PollAsync();

        foreach (var sensor in gateway.SensorIds)
        {
            var expected = gateway.Expected(sensor);
            Assert.Equal((expected.Total, expected.Rejeitos), _lines.Totals("linha-" + sensor));
            Assert.Equal(expected.Records, _lines.Received("linha-" + sensor).Count);
        }
        Assert.Equal(1, gateway.Expected("S2").Resets);
    }

    [Fact]
    public async Task Sensors_sharing_one_file_are_split_by_sensor_id()
    {
        var reader = Reader();
        await using var gateway = new KeyenceGatewaySimulator(Gateway, ["A", "B"], new KeyenceGatewaySimulator.Options(SharedFile: "todas.txt"));
        _lines.Map("A", "la");
        _lines.Map("B", "lb");

        for (var round = 0; round < 15; round++) gateway.WriteRound();
        await reader.PollAsync();

        Assert.Equal((gateway.Expected("A").Total, gateway.Expected("A").Rejeitos), _lines.Totals("la"));
        Assert.Equal((gateway.Expected("B").Total, gateway.Expected("B").Rejeitos), _lines.Totals("lb"));
        Assert.Single(reader.Status());
    }

    [Fact]
    public async Task Malformed_lines_are_counted_with_their_line_number_and_ingestion_goes_on()
    {
        var reader = Reader();
        await using var gateway = Simulator("S1");
        _lines.Map("S1", "l1");
        gateway.WriteRound();
        gateway.WriteRound();
        gateway.WriteMalformed("S1");
        gateway.WriteRound();

        await reader.PollAsync();

        var status = Assert.Single(reader.Status());
        Assert.Equal(1, status.Malformados);
        Assert.Equal(3, status.Registros);
        Assert.StartsWith("line 3:", status.UltimoErro);
        Assert.Equal(gateway.Expected("S1").Total, _lines.Totals("l1").Total);
    }

    [Fact]
    public async Task A_line_too_long_to_be_a_record_is_skipped_up_to_its_line_break()
    {
        var reader = Reader();
        _lines.Map("S1", "l1");
        Append("a.txt", new string('x', KeyenceDirectoryReader.MaxLineBytes + 10));

        await reader.PollAsync();
        Append("a.txt", "yyyy\n2025-10-25 14:00:00;S1;7;0\n");
        await reader.PollAsync();

        var status = Assert.Single(reader.Status());
        Assert.Equal((1L, 1L), (status.Malformados, status.Registros));
        Assert.Equal(7, _lines.Totals("l1").Total);
    }

    [Fact]
    public async Task Records_of_unknown_sensors_are_counted_and_skipped_until_a_line_takes_the_sensor()
    {
        var reader = Reader();
        Append("a.txt", "2025-10-25 14:00:00;NOVO;3;0\n");
        await reader.PollAsync();
        Assert.Equal(1, Assert.Single(reader.Status()).SensoresDesconhecidos);

        _lines.Map("NOVO", "l-novo");
        Append("a.txt", "2025-10-25 14:00:01;NOVO;5;0\n");
        _time.Advance(TimeSpan.FromSeconds(1));
        await reader.PollAsync();

        Assert.Equal([5L], _lines.Received("l-novo").Select(r => r.Producao));
    }

    [Fact]
    public async Task A_restarted_reader_resumes_at_the_lowest_stored_position_and_lines_skip_what_they_counted()
    {
        var first = Reader();
        await using var gateway = Simulator("S1", "S2");
        _lines.Map("S1", "l1");
        _lines.Map("S2", "l2");
        for (var round = 0; round < 10; round++) gateway.WriteRound();
        await first.PollAsync();
        var stored = _lines.StoredPositions();
        for (var round = 0; round < 10; round++) gateway.WriteRound();

        var second = Reader(stored);
        await second.PollAsync();

        Assert.Equal(gateway.Expected("S1").Total, _lines.Totals("l1").Total);
        Assert.Equal(gateway.Expected("S2").Total, _lines.Totals("l2").Total);
        Assert.All(second.Status(), s => Assert.Equal(10, s.Registros));
    }

    [Fact]
    public async Task A_file_that_shrinks_is_a_new_generation_read_from_its_start()
    {
        var reader = Reader();
        _lines.Map("S1", "l1");
        Append("a.txt", "2025-10-25 14:00:00;S1;100;0\n2025-10-25 14:00:01;S1;120;0\n");
        await reader.PollAsync();
        var before = Assert.Single(reader.Status()).Chave;

        File.WriteAllText(Path.Combine(Gateway, "a.txt"), "2025-10-25 15:00:00;S1;5;0\n");
        await reader.PollAsync();

        var after = Assert.Single(reader.Status()).Chave;
        Assert.Equal(before + "~1", after);
        Assert.Equal(120 + 5, _lines.Totals("l1").Total);
    }

    [Fact]
    public async Task A_replaced_file_gets_a_new_key_even_when_it_is_longer()
    {
        var reader = Reader();
        _lines.Map("S1", "l1");
        Append("a.txt", "2025-10-25 14:00:00;S1;100;0\n");
        await reader.PollAsync();
        var before = Assert.Single(reader.Status()).Chave;

        var replacement = Path.Combine(Gateway, "a.tmp");
        File.WriteAllText(replacement, "2025-10-25 15:00:00;S1;1;0\n2025-10-25 15:00:01;S1;2;0\n2025-10-25 15:00:02;S1;3;0\n");
        File.Move(replacement, Path.Combine(Gateway, "a.txt"), overwrite: true);
        await reader.PollAsync();

        Assert.NotEqual(before, Assert.Single(reader.Status()).Chave);
        Assert.StartsWith("gateway/a.txt#", before);
        Assert.Equal([100L, 1, 2, 3], _lines.Received("l1").Select(r => r.Producao));
    }

    [Fact]
    public async Task A_file_shorter_than_its_stored_position_after_a_restart_is_a_new_generation()
    {
        var reader = Reader();
        _lines.Map("S1", "l1");
        Append("a.txt", "2025-10-25 14:00:00;S1;100;0\n2025-10-25 14:00:01;S1;120;0\n");
        await reader.PollAsync();
        var stored = _lines.StoredPositions();
        await using (var truncate = new FileStream(Path.Combine(Gateway, "a.txt"), FileMode.Truncate)) { }
        Append("a.txt", "2025-10-25 15:00:00;S1;4;0\n");

        var restarted = Reader(stored);
        await restarted.PollAsync();

        Assert.EndsWith("~1", Assert.Single(restarted.Status()).Chave);
        Assert.Equal(124, _lines.Totals("l1").Total);
    }

    [Fact]
    public async Task Records_a_line_refused_are_read_again_and_counted_once()
    {
        var reader = Reader();
        await using var gateway = Simulator("S1", "S2");
        _lines.Map("S1", "l1");
        _lines.Map("S2", "l2");
        gateway.WriteRound();
        gateway.WriteRound();
        _lines.Failing = "l2";

        await reader.PollAsync();
        Assert.Contains("did not accept", reader.Status().Single(s => s.Arquivo == "S2.txt").UltimoErro);
        _lines.Failing = null;
        gateway.WriteRound();
        await reader.PollAsync();

        Assert.Equal(gateway.Expected("S2").Total, _lines.Totals("l2").Total);
        Assert.Equal(3, _lines.Received("l2").Count);
        Assert.Null(reader.Status().Single(s => s.Arquivo == "S2.txt").UltimoErro);
    }

    [Fact]
    public async Task A_header_line_and_other_layouts_are_read_as_configured()
    {
        var reader = Reader(format: new KeyenceFormat(',', 1, 0, 2, 3, "dd/MM/yyyy HH:mm:ss", "America/Sao_Paulo", Cabecalho: true));
        _lines.Map("S1", "l1");
        Append("a.txt", "\uFEFFsensor,hora,producao,rejeicao\r\nS1,25/10/2025 14:00:00,9,1\r\n");

        await reader.PollAsync();

        var reading = Assert.Single(_lines.Received("l1"));
        Assert.Equal(new DateTimeOffset(2025, 10, 25, 17, 0, 0, TimeSpan.Zero), reading.Timestamp.ToUniversalTime());
        Assert.Equal(0, reader.Status()[0].Malformados);
    }

    [Fact]
    public async Task A_file_that_is_a_symbolic_link_leading_outside_the_root_is_not_read()
    {
        var outside = Directory.CreateTempSubdirectory("integracoes-keyence-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "secret.txt"), "2025-10-25 14:00:00;S1;1000;0\n");
            var reader = Reader();
            _lines.Map("S1", "l1");
            File.CreateSymbolicLink(Path.Combine(Gateway, "secret.txt"), Path.Combine(outside, "secret.txt"));

            await reader.PollAsync();

            Assert.Empty(_lines.Received("l1"));
            Assert.Contains("outside", Assert.Single(reader.Status()).UltimoErro);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    /// <summary>Lines as the line grains count: cumulative deltas with resets, skipping records at or before their position in each file.</summary>
    private sealed class CountingLines : IKeyenceLineRouter
    {
        private readonly Dictionary<string, string> _map = [];
        private readonly Dictionary<string, Line> _lines = [];

        public string? Failing { get; set; }

        public void Map(string sensor, string line) => _map[sensor] = line;

        public Task<IReadOnlyDictionary<string, string>> SensorMapAsync() =>
            Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>(_map));

        public Task IngestAsync(string lineId, SensorBatch batch)
        {
            if (lineId == Failing) throw new InvalidOperationException("line unavailable");
            var line = LineOf(lineId);
            foreach (var reading in batch.Readings)
            {
                if (line.Positions.TryGetValue(batch.FileKey, out var position) && reading.EndOffset <= position) continue;
                line.Positions[batch.FileKey] = reading.EndOffset;
                line.Total += reading.Producao >= line.LastProducao ? reading.Producao - line.LastProducao : reading.Producao;
                line.Rejects += reading.Rejeicao >= line.LastRejeicao ? reading.Rejeicao - line.LastRejeicao : reading.Rejeicao;
                (line.LastProducao, line.LastRejeicao) = (reading.Producao, reading.Rejeicao);
                line.Received.Add(reading);
            }
            return Task.CompletedTask;
        }

        public (long Total, long Rejects) Totals(string lineId) => (LineOf(lineId).Total, LineOf(lineId).Rejects);

        public List<SensorReading> Received(string lineId) => LineOf(lineId).Received;

        /// <summary>What FilePositionsAsync gives after a crash here: per file, the lowest position over the lines.</summary>
        public IReadOnlyDictionary<string, long> StoredPositions() =>
            _lines.Values.SelectMany(l => l.Positions).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Min(p => p.Value));

        private Line LineOf(string id) => _lines.TryGetValue(id, out var line) ? line : _lines[id] = new Line();

        private sealed class Line
        {
            public Dictionary<string, long> Positions { get; } = [];
            public long Total { get; set; }
            public long Rejects { get; set; }
            public long LastProducao { get; set; }
            public long LastRejeicao { get; set; }
            public List<SensorReading> Received { get; } = [];
        }
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2025, 10, 25, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
