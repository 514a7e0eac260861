using Integracoes.Abstractions.Lines;

namespace Integracoes.Grains.Lines;

/// <summary>The sensor side of a line, persisted with its counters (the <c>sensor</c> column): enough to go on after a restart.</summary>
public sealed class SensorState
{
    /// <summary>The last cumulative counters read; null before the first record (which only sets the baseline).</summary>
    public long? RawProducao { get; set; }
    public long? RawRejeicao { get; set; }
    public DateTimeOffset? LastSample { get; set; }

    /// <summary>Sensor time of the last record that showed production.</summary>
    public DateTimeOffset? LastProduction { get; set; }

    /// <summary>When the current counts began (an order start), in sensor time.</summary>
    public DateTimeOffset? CountingSince { get; set; }

    /// <summary>Sensor time at which the current run began.</summary>
    public DateTimeOffset? RunningSince { get; set; }

    public DateTimeOffset? MinuteStart { get; set; }
    public long MinuteProducao { get; set; }
    public long MinuteRejeicao { get; set; }
}

/// <summary>What the running order (or the no-order stretch) has counted.</summary>
public sealed class OrderCounts
{
    public long Total { get; set; }
    public long Rejeitos { get; set; }
    public double TempoProduzindo { get; set; }
    public double TempoParado { get; set; }
    public int ReinicioContador { get; set; }
    public DateTimeOffset? UltimaAmostra { get; set; }
}

/// <summary>A minute of sensor time that has closed: what it adds to <c>contadores_minuto</c>.</summary>
public sealed record ClosedMinute(DateTimeOffset Minuto, long Producao, long Rejeicao);

/// <summary>What one record changed: the counted units, and whether the counters went back (a reset).</summary>
public readonly record struct CountedReading(long Producao, long Rejeicao, bool Reset, ClosedMinute? Closed);

/// <summary>
/// Turns cumulative sensor counters into counts, times and rates (docs/production-lines.md, "Counting
/// rules"). Plain code on purpose: the line grain owns one, and unit tests drive it record by record.
/// </summary>
public sealed class CounterEngine(SensorState sensor, OrderCounts counts, TimeSpan stopAfter)
{
    /// <summary>Time between two records beyond which the gap is not attributed to running or stopped (the sensor was silent).</summary>
    public static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(60);

    private const int SpeedSeconds = 60;

    // One slot more than the window: the second being counted is outside it.
    private const int SpeedSlots = SpeedSeconds + 1;

    // Units produced per second of sensor time over the last minute: a ring of 60 one-second buckets,
    // refilled by new records after a restart.
    private readonly long[] _speedSecond = new long[SpeedSlots];
    private readonly long[] _speedUnits = new long[SpeedSlots];

    public SensorState Sensor { get; } = sensor;

    public OrderCounts Counts { get; private set; } = counts;

    public TimeSpan StopAfter { get; } = stopAfter;

    public CountedReading Apply(SensorReading reading)
    {
        var s = Sensor;
        long producao = 0, rejeicao = 0;
        var reset = false;
        if (s.RawProducao is { } lastP && s.RawRejeicao is { } lastR)
        {
            // A counter lower than before went back to zero (sensor restart, counter cleared): what it
            // shows now was counted since then.
            reset = reading.Producao < lastP || reading.Rejeicao < lastR;
            producao = reading.Producao >= lastP ? reading.Producao - lastP : reading.Producao;
            rejeicao = reading.Rejeicao >= lastR ? reading.Rejeicao - lastR : reading.Rejeicao;
        }
        s.RawProducao = reading.Producao;
        s.RawRejeicao = reading.Rejeicao;

        var c = Counts;
        if (reset) c.ReinicioContador++;
        c.Total += producao;
        c.Rejeitos += rejeicao;

        if (s.LastSample is { } previous && reading.Timestamp > previous)
        {
            var interval = reading.Timestamp - previous;
            if (interval <= MaxInterval)
            {
                // The interval counts as running when it produced, or when production was recent enough
                // that a slow line between two units is not called stopped.
                var running = producao > 0 || (s.LastProduction is { } lp && reading.Timestamp - lp <= StopAfter);
                if (running) c.TempoProduzindo += interval.TotalSeconds;
                else c.TempoParado += interval.TotalSeconds;
            }
        }
        if (producao > 0 && (s.LastProduction is null || reading.Timestamp > s.LastProduction))
        {
            // Production after a stop (or the first ever) starts a run.
            if (s.LastProduction is not { } before || reading.Timestamp - before > StopAfter) s.RunningSince = reading.Timestamp;
            s.LastProduction = reading.Timestamp;
        }
        if (s.LastSample is null || reading.Timestamp > s.LastSample) s.LastSample = reading.Timestamp;
        if (c.UltimaAmostra is null || reading.Timestamp > c.UltimaAmostra) c.UltimaAmostra = reading.Timestamp;

        AddSpeed(reading.Timestamp, producao);
        return new CountedReading(producao, rejeicao, reset, AddToMinute(reading.Timestamp, producao, rejeicao));
    }

    /// <summary>Units per minute over the last 60 whole seconds of sensor time.</summary>
    public double CurrentSpeed()
    {
        if (Sensor.LastSample is not { } last) return 0;
        // The 60 whole seconds before the one still being counted.
        var current = last.ToUnixTimeSeconds();
        long units = 0;
        for (var i = 0; i < SpeedSlots; i++)
        {
            if (_speedSecond[i] >= current - SpeedSeconds && _speedSecond[i] < current) units += _speedUnits[i];
        }
        return units; // the window is one minute: units in it are units per minute
    }

    /// <summary>
    /// Running, stopped or without an order, and since when. Decided by the sensor alone (production within
    /// <see cref="StopAfter"/> of the last record), in sensor time, and never before the current counts began.
    /// </summary>
    public (string State, DateTimeOffset Since) State(bool hasOrder, DateTimeOffset countingSince)
    {
        var s = Sensor;
        var start = s.CountingSince ?? countingSince;
        if (!hasOrder) return (LineStates.NoOrder, start);
        if (s.LastProduction is { } lp && s.LastSample is { } ls && ls - lp <= StopAfter)
        {
            return (LineStates.Running, Later(s.RunningSince ?? lp, start));
        }
        return (LineStates.Stopped, Later(s.LastProduction ?? start, start));
    }

    /// <summary>Starts counting into new <paramref name="counts"/> from now (a new order, or the end of one); the sensor state goes on.</summary>
    public void Switch(OrderCounts counts, DateTimeOffset at)
    {
        Counts = counts;
        // In sensor time when the sensor has spoken, so "since" never compares two clocks.
        Sensor.CountingSince = Sensor.LastSample ?? at;
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>Closes the open minute when the order changes, so each minute row belongs to one order.</summary>
    public ClosedMinute? CloseMinute()
    {
        var s = Sensor;
        if (s.MinuteStart is not { } start || (s.MinuteProducao == 0 && s.MinuteRejeicao == 0))
        {
            s.MinuteStart = null;
            return null;
        }
        var closed = new ClosedMinute(start, s.MinuteProducao, s.MinuteRejeicao);
        s.MinuteStart = null;
        s.MinuteProducao = s.MinuteRejeicao = 0;
        return closed;
    }

    private ClosedMinute? AddToMinute(DateTimeOffset at, long producao, long rejeicao)
    {
        var s = Sensor;
        var minute = new DateTimeOffset(at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        ClosedMinute? closed = null;
        if (s.MinuteStart is { } open && minute > open) closed = CloseMinute();
        // A late record of an earlier minute joins the open one: history is per minute of arrival then.
        s.MinuteStart ??= minute;
        s.MinuteProducao += producao;
        s.MinuteRejeicao += rejeicao;
        return closed;
    }

    private void AddSpeed(DateTimeOffset at, long producao)
    {
        var second = at.ToUnixTimeSeconds();
        var slot = (int)(second % SpeedSlots);
        if (_speedSecond[slot] != second)
        {
            _speedSecond[slot] = second;
            _speedUnits[slot] = 0;
        }
        _speedUnits[slot] += producao;
    }
}
