using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Integracoes.Testing;

namespace Integracoes.Bench;

/// <summary>
/// Production lines fed through real gateway files: the simulator appends 4 records a second for each of
/// <see cref="BenchOptions.Lines"/> sensors (one file each) under the silo's INTEGRACOES_KEYENCE_ROOT, and
/// the watcher reads them. Measured: ingestion lag (a record written to its count visible through
/// <c>GET /api/linhas/{id}/contadores</c>), that query's latency under the load, the PostgreSQL row writes
/// the counters cost, and whether every line ends exactly at what was written.
/// </summary>
public sealed class KeyenceScenario(BenchStack stack, HubClient hub, ResourceMeter meter, BenchOptions options, string gatewayRoot, JsonObject results)
{
    private const string Prefix = "keyence";

    /// <summary>Lines whose counters are polled for the lag: 4 loops of 5 lines, a request every 10 ms, so each line every 50 ms.</summary>
    private const int ProbedLines = 20;

    private const int ProbeLoops = 4;
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Besides the lag probes, one query every 10 ms goes round all the lines, so the latency covers cold lines too.</summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(10);

    public async Task RunAsync(CancellationToken ct)
    {
        var lines = options.Lines;
        var key = await hub.CreateInstanceAsync("keyence", ct);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, UseProxy = false })
        {
            BaseAddress = stack.Silo.BaseUri,
            Timeout = TimeSpan.FromSeconds(60),
        };
        http.DefaultRequestHeaders.Add("X-Api-Key", key);

        var sensors = Enumerable.Range(1, lines).Select(i => $"K{i:0000}").ToList();
        Progress.Log($"{Prefix}: creating {lines} lines");
        await Parallel.ForEachAsync(sensors, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (sensor, token) =>
        {
            var response = await http.PostAsJsonAsync("api/linhas/", new
            {
                id = LineId(sensor),
                nome = "Linha " + sensor,
                familia_maquina = "Bottelpack",
                fonte_sensor = "keyence",
                sensor_id = sensor,
                velocidade_nominal = 480,
            }, token);
            if (response.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"creating line {sensor}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(token)}");
        });
        var service = await http.PostAsJsonAsync("api/integracoes/servicos/", new
        {
            nome = "totvs",
            tipo = "erp",
            config_padrao = new { clps = new { keyence = new { gateway = "192.168.1.100", protocol = "file", path = "sicfar" } } },
        }, ct);
        if (service.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException("creating the service: " + await service.Content.ReadAsStringAsync(ct));

        await using var gateway = new KeyenceGatewaySimulator(Path.Combine(gatewayRoot, "sicfar"), sensors,
            new KeyenceGatewaySimulator.Options(KeepHistory: true));
        gateway.Start();
        Progress.Log($"{Prefix}: gateway writing {lines * 4} records/s; warm-up {options.JitWarmup.TotalSeconds:0} s, window {options.Duration.TotalSeconds:0} s");
        await Task.Delay(options.JitWarmup, ct);

        var probed = sensors.Where((_, i) => i % Math.Max(1, lines / ProbedLines) == 0).Take(ProbedLines).ToList();
        var probes = new ProbeResults();
        using var stopProbes = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var windowStart = Stopwatch.GetTimestamp();
        var written0 = gateway.RecordsWritten;
        var resources0 = await meter.SampleAsync(ct);
        var loops = Enumerable.Range(0, ProbeLoops)
            .Select(loop => ProbeAsync(http, gateway, probed.Where((_, i) => i % ProbeLoops == loop).ToList(), windowStart, probes, stopProbes.Token))
            .Append(SweepAsync(http, sensors, probes, stopProbes.Token))
            .ToList();
        await Task.Delay(options.Duration, ct);
        var resources1 = await meter.SampleAsync(ct);
        var written1 = gateway.RecordsWritten;
        await stopProbes.CancelAsync();
        await Task.WhenAll(loops);
        await gateway.StopAsync();

        var stopped = Stopwatch.GetTimestamp();
        Progress.Log($"{Prefix}: gateway stopped after {gateway.RecordsWritten} records; waiting for every line to count them");
        var (exact, mismatched, difference) = await WaitForExactCountersAsync(http, gateway, sensors, ct);

        var window = Stopwatch.GetElapsedTime(resources0.At, resources1.At).TotalSeconds;
        results[$"{Prefix}_lines"] = lines;
        results[$"{Prefix}_records_per_s"] = Math.Round((written1 - written0) / window);
        results[$"{Prefix}_lag_samples"] = probes.Lags.Count;
        results[$"{Prefix}_lag_p50_ms"] = Scenarios.Percentile(probes.Lags, 50);
        results[$"{Prefix}_lag_p99_ms"] = Scenarios.Percentile(probes.Lags, 99);
        results[$"{Prefix}_lag_max_ms"] = probes.Lags.Count == 0 ? null : Math.Round(probes.Lags.Max(), 1);
        results[$"{Prefix}_counters_queries"] = probes.Latencies.Count;
        results[$"{Prefix}_counters_query_p50_ms"] = Scenarios.Percentile(probes.Latencies, 50);
        results[$"{Prefix}_counters_query_p99_ms"] = Scenarios.Percentile(probes.Latencies, 99);
        results[$"{Prefix}_counters_query_errors"] = probes.Errors;
        results[$"{Prefix}_counters_exact"] = exact;
        results[$"{Prefix}_lines_not_exact"] = mismatched;
        results[$"{Prefix}_units_difference"] = difference;
        results[$"{Prefix}_settle_s"] = Math.Round(Stopwatch.GetElapsedTime(stopped).TotalSeconds, 1);
        ResourceMeter.Report(results, Prefix, resources0, resources1);
        // A window of N x 5 s holds N or N + 1 of the silo's 5-second flushes, depending on where it starts.
        var activeRows = resources1.RowsWritten.GetValueOrDefault("ordens_producao_ativas") - resources0.RowsWritten.GetValueOrDefault("ordens_producao_ativas");
        var flushesAtMost = (int)Math.Floor(window / 5) + 1;
        results[$"{Prefix}_active_row_writes"] = activeRows;
        results[$"{Prefix}_active_row_writes_per_5s"] = Math.Round(activeRows * 5 / window);
        results[$"{Prefix}_active_row_writes_bound"] = (long)lines * flushesAtMost;
        results[$"{Prefix}_target_lag_1s_met"] = results[$"{Prefix}_lag_p99_ms"] is JsonValue lag && lag.GetValue<double>() < 1_000;
        results[$"{Prefix}_target_query_p99_5ms_met"] = results[$"{Prefix}_counters_query_p99_ms"] is JsonValue q && q.GetValue<double>() < 5;
        results[$"{Prefix}_target_writes_bounded_met"] = activeRows <= (long)lines * flushesAtMost;
        Progress.Log($"{Prefix}: lag p50 {results[$"{Prefix}_lag_p50_ms"]} ms p99 {results[$"{Prefix}_lag_p99_ms"]} ms; counters query p99 {results[$"{Prefix}_counters_query_p99_ms"]} ms; " +
            $"active-row writes {activeRows} in the window (at most {lines} lines x {flushesAtMost} flushes); exact: {exact} ({mismatched} lines off by {difference} units)");
    }

    private static string LineId(string sensor) => sensor.ToLowerInvariant();

    /// <summary>
    /// Polls a few lines' live counters at a fixed pace. A record is visible once a line's total reaches the
    /// total it brought; its lag runs from its write to the answer that first shows it (so it includes up to
    /// one probe interval of waiting). Records that did not move the total cannot be seen and are not counted.
    /// </summary>
    private static async Task ProbeAsync(HttpClient http, KeyenceGatewaySimulator gateway, List<string> sensors, long windowStart, ProbeResults results, CancellationToken ct)
    {
        var seen = sensors.ToDictionary(s => s, _ => 0);
        using var timer = new PeriodicTimer(ProbeInterval);
        var next = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                var sensor = sensors[next++ % sensors.Count];
                var sent = Stopwatch.GetTimestamp();
                long total;
                try
                {
                    using var response = await http.GetAsync($"api/linhas/{LineId(sensor)}/contadores", ct);
                    var body = await response.Content.ReadAsByteArrayAsync(ct);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref results.Errors);
                        continue;
                    }
                    total = JsonDocument.Parse(body).RootElement.GetProperty("total").GetInt64();
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref results.Errors);
                    continue;
                }
                var received = Stopwatch.GetTimestamp();
                var history = gateway.History(sensor);
                var index = seen[sensor];
                lock (results)
                {
                    results.Latencies.Add(Stopwatch.GetElapsedTime(sent, received).TotalMilliseconds);
                    for (; index < history.Count && history[index].Total <= total; index++)
                    {
                        var moved = history[index].Total > (index == 0 ? 0 : history[index - 1].Total);
                        if (moved && history[index].Timestamp >= windowStart)
                        {
                            results.Lags.Add(Stopwatch.GetElapsedTime(history[index].Timestamp, received).TotalMilliseconds);
                        }
                    }
                }
                seen[sensor] = index;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private static async Task SweepAsync(HttpClient http, List<string> sensors, ProbeResults results, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(SweepInterval);
        var next = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.GetAsync($"api/linhas/{LineId(sensors[next++ % sensors.Count])}/contadores", ct);
                    await response.Content.ReadAsByteArrayAsync(ct);
                    if (response.StatusCode != HttpStatusCode.OK) Interlocked.Increment(ref results.Errors);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref results.Errors);
                    continue;
                }
                var elapsed = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                lock (results) results.Latencies.Add(elapsed);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Every line's total, good and rejected counts against what the gateway wrote, until they match or a minute passes.</summary>
    private static async Task<(bool Exact, int Mismatched, long Difference)> WaitForExactCountersAsync(
        HttpClient http, KeyenceGatewaySimulator gateway, List<string> sensors, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 60;
        while (true)
        {
            var all = JsonDocument.Parse(await http.GetStringAsync("api/linhas/contadores", ct)).RootElement.GetProperty("results")
                .EnumerateArray().ToDictionary(c => c.GetProperty("linha").GetString()!);
            var mismatched = 0;
            long difference = 0;
            foreach (var sensor in sensors)
            {
                var expected = gateway.Expected(sensor);
                var counters = all[LineId(sensor)];
                var total = counters.GetProperty("total").GetInt64();
                if (total != expected.Total || counters.GetProperty("rejeitos").GetInt64() != expected.Rejeitos || counters.GetProperty("bons").GetInt64() != expected.Bons)
                {
                    mismatched++;
                    difference += total - expected.Total;
                }
            }
            if (mismatched == 0) return (true, 0, 0);
            if (Stopwatch.GetTimestamp() > deadline) return (false, mismatched, difference);
            await Task.Delay(500, ct);
        }
    }

    private sealed class ProbeResults
    {
        public List<double> Lags { get; } = [];
        public List<double> Latencies { get; } = [];
        public long Errors;
    }
}
