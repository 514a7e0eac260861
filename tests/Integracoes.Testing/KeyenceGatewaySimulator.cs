using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Integracoes.Testing;

/// <summary>
/// Plays the SICFAR gateway: appends KEYENCE records (<c>timestamp;sensor;production;rejection</c>, the
/// default layout) to TXT files at a fixed rate per sensor, with cumulative counters, as the real gateway
/// does. It knows exactly what it wrote, and what a line applying the counting rules (a counter lower than
/// before is a reset and counts from zero) must end with.
/// </summary>
public sealed class KeyenceGatewaySimulator : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, SensorState> _sensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileStream> _files = new(StringComparer.Ordinal);
    private readonly Random _random;
    private readonly Options _options;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <param name="directory">Where the files are written (created if missing).</param>
    /// <param name="sensorIds">The sensors the gateway reports; each writes <see cref="Options.RecordsPerSecond"/> records per second.</param>
    public KeyenceGatewaySimulator(string directory, IEnumerable<string> sensorIds, Options? options = null)
    {
        Directory = directory;
        _options = options ?? new Options();
        _random = new Random(_options.Seed);
        System.IO.Directory.CreateDirectory(directory);
        foreach (var id in sensorIds)
        {
            _sensors[id] = new SensorState(_options.SharedFile ?? id + ".txt");
        }
    }

    /// <summary>How the simulated gateway writes.</summary>
    /// <param name="RecordsPerSecond">Per sensor (the seed's gateway writes 4).</param>
    /// <param name="RejectRatio">Share of produced units rejected.</param>
    /// <param name="MaxUnitsPerRecord">Units produced between two records: 0 to this, at random.</param>
    /// <param name="SharedFile">One file for every sensor (records interleaved); null: one file per sensor, named after it.</param>
    /// <param name="SplitEvery">Every Nth record is written in two writes, so readers see half a line for a moment (0: never).</param>
    /// <param name="KeepHistory">Remember when each record was written and the totals it made, for lag measurements.</param>
    public sealed record Options(
        double RecordsPerSecond = 4,
        double RejectRatio = 0.02,
        int MaxUnitsPerRecord = 4,
        string? SharedFile = null,
        int SplitEvery = 7,
        bool KeepHistory = false,
        int Seed = 3);

    /// <summary>What a line fed by one sensor must show once every record written so far is counted.</summary>
    public readonly record struct Expectation(long Records, long Total, long Rejeitos, int Resets)
    {
        public long Bons => Total - Rejeitos;
    }

    /// <summary>One record as written: when, and the line totals it brings the count to.</summary>
    public readonly record struct Written(long Timestamp, long Total);

    public string Directory { get; }

    public IReadOnlyCollection<string> SensorIds => _sensors.Keys;

    public string FileOf(string sensorId) => Path.Combine(Directory, _sensors[sensorId].File);

    /// <summary>Records written so far, across sensors.</summary>
    public long RecordsWritten
    {
        get
        {
            lock (_gate) return _sensors.Values.Sum(s => s.Expected.Records);
        }
    }

    public Expectation Expected(string sensorId)
    {
        lock (_gate) return _sensors[sensorId].Expected;
    }

    /// <summary>The records of <paramref name="sensorId"/> in order (only with <see cref="Options.KeepHistory"/>); timestamps from <see cref="Stopwatch"/>.</summary>
    public IReadOnlyList<Written> History(string sensorId)
    {
        lock (_gate) return [.. _sensors[sensorId].History];
    }

    /// <summary>Starts writing in the background until <see cref="StopAsync"/>.</summary>
    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Stops writing; once it returns, every expectation is final.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null) await _loop;
        lock (_gate)
        {
            foreach (var file in _files.Values) file.Dispose();
            _files.Clear();
        }
    }

    /// <summary>One record for every sensor now (what each tick of the background loop does).</summary>
    public void WriteRound()
    {
        lock (_gate)
        {
            foreach (var (id, sensor) in _sensors) WriteRecord(id, sensor);
        }
    }

    /// <summary>The sensor's counters restart from zero at its next record (a sensor restart or a cleared counter).</summary>
    public void ResetCounter(string sensorId)
    {
        lock (_gate) _sensors[sensorId].ResetPending = true;
    }

    /// <summary>Appends a line that is not a record to the sensor's file; it must be counted as malformed and change nothing.</summary>
    public void WriteMalformed(string sensorId, string text = "2025-13-45 99:99:99;???;abc")
    {
        lock (_gate) Append(_sensors[sensorId].File, text + "\n", split: false);
    }

    /// <summary>Appends a record of a sensor no line has: it must be ignored (and counted as unknown).</summary>
    public void WriteUnknownSensor(string sensorId, string unknownSensorId)
    {
        lock (_gate) Append(_sensors[sensorId].File, Line(DateTime.UtcNow, unknownSensorId, 5, 0), split: false);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / _options.RecordsPerSecond));
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                WriteRound();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private void WriteRecord(string id, SensorState sensor)
    {
        long producao, rejeicao;
        if (sensor.Written == 0)
        {
            // A first record at zero counts the same whether a line takes its first reading as a baseline or as a delta from zero.
            producao = 0;
            rejeicao = 0;
        }
        else if (sensor.ResetPending)
        {
            // From zero: at least one unit, so the lower counter is seen as a reset even after a quiet spell.
            sensor.ResetPending = false;
            producao = 1 + _random.Next(_options.MaxUnitsPerRecord);
            rejeicao = 0;
        }
        else
        {
            var units = _random.Next(_options.MaxUnitsPerRecord + 1);
            var rejected = 0;
            for (var i = 0; i < units; i++)
            {
                if (_random.NextDouble() < _options.RejectRatio) rejected++;
            }
            producao = sensor.Producao + units;
            rejeicao = sensor.Rejeicao + rejected;
        }

        var e = sensor.Expected;
        var reset = producao < sensor.Producao;
        var total = e.Total + (reset ? producao : producao - sensor.Producao);
        var rejeitos = e.Rejeitos + (rejeicao < sensor.Rejeicao ? rejeicao : rejeicao - sensor.Rejeicao);
        sensor.Producao = producao;
        sensor.Rejeicao = rejeicao;

        sensor.Written++;
        Append(sensor.File, Line(DateTime.UtcNow, id, producao, rejeicao), split: _options.SplitEvery > 0 && sensor.Written % _options.SplitEvery == 0);
        sensor.Expected = new Expectation(e.Records + 1, total, rejeitos, e.Resets + (reset ? 1 : 0));
        if (_options.KeepHistory) sensor.History.Add(new Written(Stopwatch.GetTimestamp(), total));
    }

    private static string Line(DateTime at, string sensorId, long producao, long rejeicao) =>
        string.Create(CultureInfo.InvariantCulture, $"{at:yyyy-MM-dd HH:mm:ss.fff};{sensorId};{producao};{rejeicao}\n");

    private void Append(string file, string text, bool split)
    {
        if (!_files.TryGetValue(file, out var stream))
        {
            // No buffering: every Write is one write(2) at the end of the file, as an appending gateway does.
            _files[file] = stream = new FileStream(Path.Combine(Directory, file), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        if (split)
        {
            var half = bytes.Length / 2;
            stream.Write(bytes, 0, half);
            stream.Write(bytes, half, bytes.Length - half);
        }
        else
        {
            stream.Write(bytes);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private sealed class SensorState(string file)
    {
        public string File { get; } = file;
        public long Producao { get; set; }
        public long Rejeicao { get; set; }
        public long Written { get; set; }
        public bool ResetPending { get; set; }
        public Expectation Expected { get; set; }
        public List<Written> History { get; } = [];
    }
}
