using Integracoes.Abstractions.Lines;
using Integracoes.Grains.Lines;

namespace Integracoes.UnitTests;

/// <summary>The counting rules of docs/production-lines.md, record by record.</summary>
public sealed class CounterEngineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 8, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan StopAfter = TimeSpan.FromSeconds(30);

    private static CounterEngine Engine() => new(new SensorState(), new OrderCounts(), StopAfter);

    private static SensorReading At(double seconds, long producao, long rejeicao, long offset = 0) =>
        new(offset, T0.AddSeconds(seconds), producao, rejeicao);

    [Fact]
    public void The_first_record_is_the_baseline_and_later_records_count_their_difference()
    {
        var engine = Engine();
        engine.Apply(At(0, 15_000, 40));
        engine.Apply(At(0.25, 15_003, 40));
        engine.Apply(At(0.5, 15_010, 42));

        Assert.Equal(10, engine.Counts.Total);
        Assert.Equal(2, engine.Counts.Rejeitos);
        Assert.Equal(0, engine.Counts.ReinicioContador);
    }

    [Fact]
    public void A_counter_that_goes_back_is_a_reset_counted_from_zero()
    {
        var engine = Engine();
        engine.Apply(At(0, 500, 10));
        engine.Apply(At(1, 520, 11));
        var reset = engine.Apply(At(2, 3, 0));
        engine.Apply(At(3, 9, 1));

        Assert.True(reset.Reset);
        Assert.Equal(3, reset.Producao);
        Assert.Equal(20 + 3 + 6, engine.Counts.Total);
        Assert.Equal(1 + 0 + 1, engine.Counts.Rejeitos);
        Assert.Equal(1, engine.Counts.ReinicioContador);
    }

    [Fact]
    public void Time_goes_to_running_while_producing_and_to_stopped_after_the_threshold()
    {
        var engine = Engine();
        long count = 0;
        // 60 s producing one unit a second, then 100 s without production.
        for (var s = 0; s <= 60; s++) engine.Apply(At(s, count++, 0));
        for (var s = 61; s <= 160; s++) engine.Apply(At(s, count - 1, 0));

        // The first 30 s of silence still count as running (a slow line between two units), the rest as stopped.
        Assert.Equal(60 + 30, engine.Counts.TempoProduzindo, 3);
        Assert.Equal(70, engine.Counts.TempoParado, 3);
        var (state, since) = engine.State(hasOrder: true, countingSince: T0);
        Assert.Equal(LineStates.Stopped, state);
        Assert.Equal(T0.AddSeconds(60), since);
    }

    [Fact]
    public void Gaps_longer_than_a_minute_are_neither_running_nor_stopped()
    {
        var engine = Engine();
        engine.Apply(At(0, 0, 0));
        engine.Apply(At(1, 5, 0));
        engine.Apply(At(600, 10, 0));

        Assert.Equal(1, engine.Counts.TempoProduzindo, 3);
        Assert.Equal(0, engine.Counts.TempoParado, 3);
        Assert.Equal(10, engine.Counts.Total);
    }

    [Fact]
    public void Current_speed_is_the_units_of_the_last_sixty_seconds_of_sensor_time()
    {
        var engine = Engine();
        long count = 0;
        // 4 records a second, 2 units each: 480 units a minute.
        for (var i = 0; i <= 4 * 120; i++)
        {
            engine.Apply(At(i * 0.25, count, 0));
            count += 2;
        }
        Assert.Equal(480, engine.CurrentSpeed(), 0);
        var (state, since) = engine.State(hasOrder: true, countingSince: T0);
        Assert.Equal(LineStates.Running, state);
        Assert.Equal(T0.AddSeconds(0.25), since);
    }

    [Fact]
    public void Without_an_order_the_state_is_no_order()
    {
        var engine = Engine();
        engine.Apply(At(0, 0, 0));
        engine.Apply(At(1, 10, 0));
        Assert.Equal(LineStates.NoOrder, engine.State(hasOrder: false, countingSince: T0).State);
    }

    [Fact]
    public void Minutes_close_when_a_record_of_a_later_minute_arrives()
    {
        var engine = Engine();
        engine.Apply(At(0, 0, 0));
        engine.Apply(At(30, 100, 2));
        engine.Apply(At(59, 150, 3));
        var next = engine.Apply(At(61, 160, 3));

        Assert.NotNull(next.Closed);
        Assert.Equal(T0, next.Closed!.Minuto);
        Assert.Equal(150, next.Closed.Producao);
        Assert.Equal(3, next.Closed.Rejeicao);
        var open = engine.CloseMinute();
        Assert.Equal(new ClosedMinute(T0.AddMinutes(1), 10, 0), open);
    }

    [Fact]
    public void Switching_counts_keeps_the_sensor_baseline()
    {
        var engine = Engine();
        engine.Apply(At(0, 1_000, 0));
        engine.Apply(At(1, 1_010, 0));
        engine.Switch(new OrderCounts(), T0);
        engine.Apply(At(2, 1_015, 1));

        Assert.Equal(5, engine.Counts.Total);
        Assert.Equal(1, engine.Counts.Rejeitos);
    }
}
