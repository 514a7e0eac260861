using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Integracoes.Bench;

// End-to-end benchmark of webhook delivery: a private PostgreSQL, the real silo process, a loopback
// receiver, and load through the public HTTP API. Progress goes to stderr; stdout gets one JSON line.
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

using var stop = new CancellationTokenSource();
// Ctrl-C and SIGTERM cancel the run; the `await using`s below then stop the silo and PostgreSQL.
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);

try
{
    var results = new JsonObject { ["cores"] = Environment.ProcessorCount, ["duration_s"] = options.Duration.TotalSeconds, ["quick"] = options.Quick };
    if (options.Scenario == BenchOptions.Keyence)
    {
        return await RunKeyenceAsync(options, results, stop.Token);
    }
    await using var stack = await BenchStack.StartAsync(options, results, stop.Token);
    await using var receiver = await Receiver.StartAsync();
    using var hub = new HubClient(stack.Silo.BaseUri, stack.AdminKey);
    var meter = new ResourceMeter(stack.Silo.Pid, stack.PostmasterPid, stack.ConnectionString);
    var scenarios = new Scenarios(hub, receiver, meter, options, results);

    await scenarios.WarmUpAsync(stop.Token);
    await scenarios.ThroughputAsync(fanout: 1, stop.Token);
    await scenarios.ThroughputAsync(fanout: 10, stop.Token);
    await scenarios.LatencyAsync(stop.Token);

    results["target_5000_deliveries_per_s_met"] = results["fanout1_deliveries_per_s"]!.GetValue<double>() >= 5_000;
    results["target_p99_50ms_met"] = results["latency_1000eps_p99_ms"] is JsonValue p99 ? p99.GetValue<double>() <= 50 : null;
    Console.Out.WriteLine(results.ToJsonString());
    return 0;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Progress.Log("interrupted; everything started was stopped");
    return 130;
}
catch (Exception e)
{
    Progress.Log($"failed: {e}");
    return 1;
}

// The gateway's files go under a directory the silo is told is its KEYENCE root.
static async Task<int> RunKeyenceAsync(BenchOptions options, JsonObject results, CancellationToken ct)
{
    var gatewayRoot = Directory.CreateTempSubdirectory("integracoes-bench-keyence-").FullName;
    try
    {
        var environment = new Dictionary<string, string>(options.SiloEnvironment) { ["INTEGRACOES_KEYENCE_ROOT"] = gatewayRoot };
        var keyenceOptions = options with { SiloEnvironment = environment };
        await using var stack = await BenchStack.StartAsync(keyenceOptions, results, ct);
        using var hub = new HubClient(stack.Silo.BaseUri, stack.AdminKey);
        var meter = new ResourceMeter(stack.Silo.Pid, stack.PostmasterPid, stack.ConnectionString);
        await new KeyenceScenario(stack, hub, meter, keyenceOptions, gatewayRoot, results).RunAsync(ct);
        Console.Out.WriteLine(results.ToJsonString());
        return 0;
    }
    finally
    {
        Directory.Delete(gatewayRoot, recursive: true);
    }
}

void Cancel(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
