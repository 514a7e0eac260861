namespace Integracoes.Grains.Webhooks;

/// <summary>Delivery settings an operator may change (README configuration table).</summary>
public sealed record DeliverySettings(
    int MaxSubscriptionsPerInstance = 100,
    int MaxEventBytes = 256 * 1024,
    int LogRetentionDays = 30,
    double DisableAfterFailingDays = 5,
    int MaxInMemoryPerSubscription = 5_000,
    double CircuitFailureRatio = 0.5,
    int CircuitMinimumThroughput = 20,
    int CircuitSamplingSeconds = 30,
    int CircuitBreakSeconds = 30,
    string? ServerUrl = null);
