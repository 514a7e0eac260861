using System.Diagnostics.Metrics;

namespace Integracoes.Grains.Lines.Keyence;

/// <summary>OpenTelemetry counters of KEYENCE file ingestion (meter <see cref="MeterName"/>, scraped at /metrics).</summary>
public static class KeyenceMetrics
{
    public const string MeterName = "Integracoes.Keyence";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Records = Meter.CreateCounter<long>("integracoes.keyence.records", description: "Records read from gateway files and handed to lines");
    private static readonly Counter<long> Malformed = Meter.CreateCounter<long>("integracoes.keyence.malformed", description: "Gateway file lines that are not records");
    private static readonly Counter<long> Unknown = Meter.CreateCounter<long>("integracoes.keyence.unknown_sensor", description: "Records of sensor ids no line has");
    private static readonly Counter<long> Bytes = Meter.CreateCounter<long>("integracoes.keyence.bytes", unit: "By", description: "Bytes of gateway files read");

    public static void Record(int records, int malformed, int unknown, int bytes)
    {
        if (records > 0) Records.Add(records);
        if (malformed > 0) Malformed.Add(malformed);
        if (unknown > 0) Unknown.Add(unknown);
        if (bytes > 0) Bytes.Add(bytes);
    }
}
