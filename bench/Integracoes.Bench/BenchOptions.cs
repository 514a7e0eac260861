using System.Diagnostics;
using System.Globalization;

namespace Integracoes.Bench;

/// <summary>Command-line settings. Every default is here, with the reason for it.</summary>
public sealed record BenchOptions(
    bool Quick,
    TimeSpan Duration,
    TimeSpan Warmup,
    TimeSpan JitWarmup,
    bool Fsync,
    int Rate,
    IReadOnlyDictionary<string, string> SiloEnvironment,
    string Scenario = BenchOptions.Webhooks,
    int Lines = 1_000)
{
    public const string Webhooks = "webhooks";
    public const string Keyence = "keyence";

    /// <summary>Closed-loop publishers in the throughput scenarios: enough to keep group commit batches full.</summary>
    public const int Publishers = 64;

    /// <summary>Parallel deliveries each subscription may have in flight (the API allows up to 100).</summary>
    public const int MaxConcurrency = 64;

    public const string Usage = """
        Usage: dotnet run -c Release --project bench/Integracoes.Bench -- [options]
          --quick              smoke run: 3 s per scenario after 1 s of warm-up (2 s of JIT warm-up instead of 20)
          --duration <s>       measurement window of each scenario (default 20)
          --rate <events/s>    offered load of the latency scenario (default 1000)
          --fsync on|off       PostgreSQL durability (default on: fsync and synchronous_commit)
          --silo-env K=V       extra environment variable for the silo (repeatable), for experiments
          --scenario keyence   production lines through KEYENCE gateway files instead of webhook delivery
                               (window 60 s by default)
          --lines <n>          lines (one sensor file each, 4 records/s) of the keyence scenario (default 1000)
        Prints one JSON line on stdout; progress on stderr.
        """;

    public static BenchOptions? Parse(string[] args)
    {
        var quick = false;
        double? duration = null;
        var rate = 1_000;
        var fsync = true;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var scenario = Webhooks;
        var lines = 1_000;
        for (var i = 0; i < args.Length; i++)
        {
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--duration" when double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0:
                    duration = d;
                    break;
                case "--rate" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r > 0:
                    rate = r;
                    break;
                case "--fsync" when Next() is "on" or "off":
                    fsync = args[i] == "on";
                    break;
                case "--scenario" when Next() is Webhooks or Keyence:
                    scenario = args[i];
                    break;
                case "--lines" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 5_000:
                    lines = n;
                    break;
                case "--silo-env" when Next() is { } pair && pair.IndexOf('=') > 0:
                    env[pair[..pair.IndexOf('=')]] = pair[(pair.IndexOf('=') + 1)..];
                    break;
                default:
                    return null;
            }
        }

        return new BenchOptions(
            quick,
            TimeSpan.FromSeconds(duration ?? (quick ? 3 : scenario == Keyence ? 60 : 20)),
            // Per scenario: long enough for new grain activations and connection pools to settle.
            TimeSpan.FromSeconds(quick ? 1 : 5),
            // Once, before the first scenario: long enough for the silo's tiered JIT to settle.
            TimeSpan.FromSeconds(quick ? 2 : 20),
            fsync,
            rate,
            env,
            scenario,
            lines);
    }
}

/// <summary>Progress messages on stderr, so stdout carries only the result line.</summary>
public static class Progress
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    public static void Log(string message) =>
        Console.Error.WriteLine($"[bench {Clock.Elapsed.TotalSeconds,6:0.0}s] {message}");
}
