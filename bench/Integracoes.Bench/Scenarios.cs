using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Integracoes.Bench;

/// <summary>
/// The two measurements. Each starts from a fresh instance (its own subscriptions, grains and key) and
/// counts only what the receiver got: an accepted publish is not a delivery.
/// </summary>
public sealed class Scenarios(HubClient hub, Receiver receiver, ResourceMeter meter, BenchOptions options, JsonObject results)
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromMinutes(3);

    /// <summary>
    /// Load that is not measured: the silo's tiered JIT keeps recompiling hot code for about half a minute
    /// after start (a CPU profile of the first window showed a fifth of the silo's CPU in the JIT), and
    /// the first scenario should measure the steady state like the others.
    /// </summary>
    public async Task WarmUpAsync(CancellationToken ct)
    {
        var key = await FreshInstanceAsync("warmup", 1, ct);
        var recording = receiver.Begin(capacity: 0);
        var counters = new PublishCounters();
        Progress.Log($"warm-up: {options.JitWarmup.TotalSeconds:0} s of unmeasured load");
        var publishers = StartPublishers(key, counters, ct);
        await Task.Delay(options.JitWarmup, ct);
        await StopAsync(publishers, counters);
        await WaitUntilAsync(() => recording.Count >= Interlocked.Read(ref counters.Deliveries), DrainTimeout, ct);
        results["warmup_s"] = options.JitWarmup.TotalSeconds;
    }

    /// <summary>
    /// Scenario A: 64 closed-loop publishers as fast as the hub accepts, <paramref name="fanout"/>
    /// subscriptions each receiving every event. Reports publishes/s and deliveries/s over the window
    /// after warm-up, and how long the backlog takes to drain once publishing stops.
    /// </summary>
    public async Task ThroughputAsync(int fanout, CancellationToken ct)
    {
        var prefix = $"fanout{fanout}";
        var key = await FreshInstanceAsync(prefix, fanout, ct);
        // Throughput needs only the count, so no per-request slots.
        var recording = receiver.Begin(capacity: 0);
        var counters = new PublishCounters();
        Progress.Log($"{prefix}: {BenchOptions.Publishers} publishers, warm-up {options.Warmup.TotalSeconds:0} s, window {options.Duration.TotalSeconds:0} s");

        var publishers = StartPublishers(key, counters, ct);
        await Task.Delay(options.Warmup, ct);
        var (published0, received0, resources0) = (Interlocked.Read(ref counters.Accepted), recording.Count, await meter.SampleAsync(ct));
        await Task.Delay(options.Duration, ct);
        var (published1, received1, resources1) = (Interlocked.Read(ref counters.Accepted), recording.Count, await meter.SampleAsync(ct));

        await StopAsync(publishers, counters);
        var stopped = Stopwatch.GetTimestamp();
        var expected = Interlocked.Read(ref counters.Deliveries);
        var backlog = expected - recording.Count;
        Progress.Log($"{prefix}: publishing stopped with {backlog} deliveries outstanding; draining");
        var drained = await WaitUntilAsync(() => recording.Count >= expected, DrainTimeout, ct);

        var window = Stopwatch.GetElapsedTime(resources0.At, resources1.At).TotalSeconds;
        results[$"{prefix}_deliveries_per_s"] = Math.Round((received1 - received0) / window);
        results[$"{prefix}_publish_per_s"] = Math.Round((published1 - published0) / window);
        results[$"{prefix}_backlog_at_stop"] = backlog;
        results[$"{prefix}_drain_s"] = drained ? Math.Round(Stopwatch.GetElapsedTime(stopped).TotalSeconds, 2) : null;
        results[$"{prefix}_undelivered"] = Math.Max(0, expected - recording.Count);
        results[$"{prefix}_publish_errors"] = Interlocked.Read(ref counters.Failed);
        ResourceMeter.Report(results, prefix, resources0, resources1);
        Progress.Log($"{prefix}: {results[$"{prefix}_deliveries_per_s"]} deliveries/s, {results[$"{prefix}_publish_per_s"]} publishes/s, " +
            $"drain {(drained ? $"{results[$"{prefix}_drain_s"]} s" : "incomplete")}");
    }

    /// <summary>
    /// Scenario B: open-loop publishing at a fixed rate to one subscription. Events leave on a schedule,
    /// not when the previous answer arrives, so a slow hub cannot lower the offered load (no coordinated
    /// omission). Latency runs from just before the publish is sent to the receiver's arrival timestamp,
    /// matched on the event id (= webhook-id); both use the same Stopwatch.
    /// </summary>
    public async Task LatencyAsync(CancellationToken ct)
    {
        var rate = options.Rate;
        var prefix = $"latency_{rate}eps";
        var key = await FreshInstanceAsync("latency", 1, ct);
        var warmupEvents = (int)(rate * options.Warmup.TotalSeconds);
        var total = warmupEvents + (int)(rate * options.Duration.TotalSeconds);
        var sent = new long[total];
        var answered = new long[total];
        var answers = new PublishAnswer[total];
        var publishes = new Task[total];
        // Room for every delivery twice over: retries and at-least-once duplicates are recorded too.
        var recording = receiver.Begin(2 * total);
        Progress.Log($"{prefix}: {rate} events/s open loop, warm-up {options.Warmup.TotalSeconds:0} s, window {options.Duration.TotalSeconds:0} s");

        async Task PublishAsync(int i)
        {
            sent[i] = Stopwatch.GetTimestamp();
            try
            {
                answers[i] = await hub.PublishAsync(key, ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                answers[i] = default;
            }
            answered[i] = Stopwatch.GetTimestamp();
        }

        async Task<ResourceSample> SampleAfterAsync(TimeSpan delay)
        {
            await Task.Delay(delay, ct);
            return await meter.SampleAsync(ct);
        }

        var start = Stopwatch.GetTimestamp();
        // Sampled beside the generator, so the database query cannot delay an event.
        var resources0 = SampleAfterAsync(options.Warmup);
        var maxLag = 0L;
        for (var next = 0; next < total;)
        {
            // Event i is due at start + i / rate; a late wake-up sends every overdue event at once.
            var now = Stopwatch.GetTimestamp();
            var due = (int)Math.Min(total, (now - start) * rate / Stopwatch.Frequency + 1);
            for (; next < due; next++)
            {
                maxLag = Math.Max(maxLag, now - (start + next * Stopwatch.Frequency / rate));
                publishes[next] = PublishAsync(next);
            }
            await Task.Delay(1, ct);
        }
        var resources1 = await meter.SampleAsync(ct);
        await Task.WhenAll(publishes);
        var expected = answers.Sum(a => (long)a.Deliveries);
        if (!await WaitUntilAsync(() => recording.Count >= expected, DrainTimeout, ct))
        {
            Progress.Log($"{prefix}: {expected - recording.Count} deliveries still missing after {DrainTimeout.TotalSeconds:0} s");
        }

        var arrivals = recording.FirstArrivals();
        var endToEnd = new List<double>(total);
        var accepted = new List<double>(total);
        var missing = 0;
        for (var i = warmupEvents; i < total; i++)
        {
            if (!answers[i].Accepted) continue;
            accepted.Add(Milliseconds(sent[i], answered[i]));
            if (arrivals.TryGetValue(answers[i].EventId, out var arrived)) endToEnd.Add(Milliseconds(sent[i], arrived));
            else missing++;
        }

        var measured = total - warmupEvents;
        results[$"{prefix}_offered_per_s"] = Math.Round(measured / Stopwatch.GetElapsedTime(sent[warmupEvents], sent[total - 1]).TotalSeconds);
        results[$"{prefix}_events"] = measured;
        results[$"{prefix}_p50_ms"] = Percentile(endToEnd, 50);
        results[$"{prefix}_p95_ms"] = Percentile(endToEnd, 95);
        results[$"{prefix}_p99_ms"] = Percentile(endToEnd, 99);
        results[$"{prefix}_max_ms"] = Percentile(endToEnd, 100);
        results[$"{prefix}_missing"] = missing;
        results[$"{prefix}_publish_errors"] = measured - accepted.Count;
        results["publish_202_p50_ms"] = Percentile(accepted, 50);
        results["publish_202_p99_ms"] = Percentile(accepted, 99);
        // How late the generator itself sent: large values mean the bench, not the hub, was starved of CPU.
        results[$"{prefix}_generator_max_lag_ms"] = Math.Round(maxLag * 1000.0 / Stopwatch.Frequency, 1);
        ResourceMeter.Report(results, prefix, await resources0, resources1);
        Progress.Log($"{prefix}: p50 {results[$"{prefix}_p50_ms"]} ms, p99 {results[$"{prefix}_p99_ms"]} ms, max {results[$"{prefix}_max_ms"]} ms; " +
            $"202 p99 {results["publish_202_p99_ms"]} ms");
    }

    private async Task<string> FreshInstanceAsync(string label, int subscriptions, CancellationToken ct)
    {
        var key = await hub.CreateInstanceAsync($"bench-{label}-{Guid.NewGuid():N}"[..40], ct);
        for (var i = 0; i < subscriptions; i++)
        {
            await hub.CreateWebhookAsync(key, $"receiver-{i}", receiver.Url($"/{label}/{i}"), ct);
        }
        return key;
    }

    private Task[] StartPublishers(string key, PublishCounters counters, CancellationToken ct) =>
        [.. Enumerable.Range(0, BenchOptions.Publishers).Select(_ => Task.Run(() => PublishInLoopAsync(key, counters, ct), ct))];

    /// <summary>Requests in flight still finish, so every accepted delivery is in the expected total.</summary>
    private static async Task StopAsync(Task[] publishers, PublishCounters counters)
    {
        Volatile.Write(ref counters.Stop, true);
        await Task.WhenAll(publishers);
    }

    private async Task PublishInLoopAsync(string key, PublishCounters counters, CancellationToken ct)
    {
        while (!Volatile.Read(ref counters.Stop))
        {
            PublishAnswer answer;
            try
            {
                answer = await hub.PublishAsync(key, ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                answer = default;
            }

            if (answer.Accepted)
            {
                Interlocked.Increment(ref counters.Accepted);
                Interlocked.Add(ref counters.Deliveries, answer.Deliveries);
            }
            else
            {
                Interlocked.Increment(ref counters.Failed);
                await Task.Delay(10, ct); // do not spin on a failing hub
            }
        }
    }

    private static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > timeout) return false;
            await Task.Delay(20, ct);
        }
        return true;
    }

    private static double Milliseconds(long from, long to) => Math.Round((to - from) * 1000.0 / Stopwatch.Frequency, 3);

    /// <summary>Nearest-rank percentile, in ms with 0.1 ms resolution; null when nothing was measured.</summary>
    internal static double? Percentile(List<double> values, double percentile)
    {
        if (values.Count == 0) return null;
        values.Sort();
        var rank = (int)Math.Ceiling(percentile / 100 * values.Count);
        return Math.Round(values[Math.Clamp(rank - 1, 0, values.Count - 1)], 1);
    }

    private sealed class PublishCounters
    {
        public long Accepted;
        public long Deliveries;
        public long Failed;
        public bool Stop;
    }
}
