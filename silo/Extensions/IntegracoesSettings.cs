using Integracoes.Delivery.Sinks;
using Npgsql;

namespace Integracoes.Silo.Extensions;

/// <summary>
/// Every setting of the silo, read from appsettings.json and INTEGRACOES_-prefixed environment
/// variables (INTEGRACOES_HTTP_PORT sets HTTP_PORT). Each one is in README's configuration table.
/// </summary>
public sealed class IntegracoesSettings
{
    [ConfigurationKeyName("HTTP_HOST")] public string HttpHost { get; set; } = "localhost";
    [ConfigurationKeyName("HTTP_PORT")] public int HttpPort { get; set; } = 5080;
    [ConfigurationKeyName("CONNECTION_STRING")] public string? ConnectionString { get; set; }
    [ConfigurationKeyName("DB_MAX_POOL")] public int DbMaxPool { get; set; } = 50;
    [ConfigurationKeyName("ADMIN_KEY")] public string? AdminKey { get; set; }
    [ConfigurationKeyName("ENCRYPTION_KEY")] public string? EncryptionKey { get; set; }
    [ConfigurationKeyName("CLUSTER_ID")] public string ClusterId { get; set; } = "integracoes";
    [ConfigurationKeyName("SERVICE_ID")] public string ServiceId { get; set; } = "integracoes";
    [ConfigurationKeyName("SILO_PORT")] public int SiloPort { get; set; } = 11111;
    [ConfigurationKeyName("GATEWAY_PORT")] public int GatewayPort { get; set; } = 30000;
    [ConfigurationKeyName("ADVERTISED_IP")] public string AdvertisedIp { get; set; } = "127.0.0.1";
    [ConfigurationKeyName("ALLOWED_TARGETS")] public string? AllowedTargets { get; set; }
    [ConfigurationKeyName("MAX_BODY_BYTES")] public long MaxBodyBytes { get; set; } = 1024 * 1024;
    [ConfigurationKeyName("MAX_SERVICES_PER_INSTANCE")] public int MaxServicesPerInstance { get; set; } = 1_000;
    [ConfigurationKeyName("MAX_EVENT_BYTES")] public int MaxEventBytes { get; set; } = 256 * 1024;
    [ConfigurationKeyName("MAX_WEBHOOKS_PER_INSTANCE")] public int MaxWebhooksPerInstance { get; set; } = 100;
    [ConfigurationKeyName("DELIVERY_LOG_RETENTION_DAYS")] public int DeliveryLogRetentionDays { get; set; } = 30;
    [ConfigurationKeyName("WEBHOOK_DISABLE_AFTER_DAYS")] public double WebhookDisableAfterDays { get; set; } = 5;
    [ConfigurationKeyName("CIRCUIT_FAILURE_RATIO")] public double CircuitFailureRatio { get; set; } = 0.5;
    [ConfigurationKeyName("CIRCUIT_MIN_THROUGHPUT")] public int CircuitMinimumThroughput { get; set; } = 20;
    [ConfigurationKeyName("CIRCUIT_BREAK_SECONDS")] public int CircuitBreakSeconds { get; set; } = 30;
    [ConfigurationKeyName("REQUEST_LOG_RETENTION_DAYS")] public int RequestLogRetentionDays { get; set; } = 90;
    [ConfigurationKeyName("RATE_LIMIT_PER_MINUTE")] public int RateLimitPerMinute { get; set; } = 100;
    [ConfigurationKeyName("RABBITMQ_URI")] public string? RabbitMqUri { get; set; }
    [ConfigurationKeyName("RABBITMQ_EXCHANGE_PREFIX")] public string RabbitMqExchangePrefix { get; set; } = "integracoes.";
    [ConfigurationKeyName("NATS_URL")] public string? NatsUrl { get; set; }
    [ConfigurationKeyName("SQS_ENDPOINT")] public string? SqsEndpoint { get; set; }
    [ConfigurationKeyName("SQS_REGION")] public string SqsRegion { get; set; } = "us-east-1";
    [ConfigurationKeyName("SQS_ACCESS_KEY")] public string? SqsAccessKey { get; set; }
    [ConfigurationKeyName("SQS_SECRET_KEY")] public string? SqsSecretKey { get; set; }
    [ConfigurationKeyName("SQS_QUEUE_PREFIX")] public string SqsQueuePrefix { get; set; } = "integracoes-";
    [ConfigurationKeyName("PUSHER_URL")] public string? PusherUrl { get; set; }
    [ConfigurationKeyName("PUSHER_APP_ID")] public string? PusherAppId { get; set; }
    [ConfigurationKeyName("PUSHER_KEY")] public string? PusherKey { get; set; }
    [ConfigurationKeyName("PUSHER_SECRET")] public string? PusherSecret { get; set; }
    [ConfigurationKeyName("WEBSOCKET_MAX_CLIENTS_PER_INSTANCE")] public int WebSocketMaxClientsPerInstance { get; set; } = 100;
    [ConfigurationKeyName("WEBSOCKET_SEND_QUEUE")] public int WebSocketSendQueue { get; set; } = 256;
    [ConfigurationKeyName("WEBSOCKET_PING_SECONDS")] public int WebSocketPingSeconds { get; set; } = 30;
    [ConfigurationKeyName("WEBSOCKET_PONG_TIMEOUT_SECONDS")] public int WebSocketPongTimeoutSeconds { get; set; } = 30;
    [ConfigurationKeyName("PUBLIC_URL")] public string? PublicUrl { get; set; }
    [ConfigurationKeyName("TRUSTED_PROXIES")] public string? TrustedProxies { get; set; }
    [ConfigurationKeyName("REQUEST_HEADERS_TIMEOUT_SECONDS")] public int RequestHeadersTimeoutSeconds { get; set; } = 15;
    [ConfigurationKeyName("MAX_LINES_PER_INSTANCE")] public int MaxLinesPerInstance { get; set; } = 5_000;
    [ConfigurationKeyName("LINE_STOP_SECONDS")] public int LineStopSeconds { get; set; } = 30;
    [ConfigurationKeyName("LINE_STALE_SECONDS")] public int LineStaleSeconds { get; set; } = 10;
    [ConfigurationKeyName("LINE_FLUSH_SECONDS")] public int LineFlushSeconds { get; set; } = 5;
    [ConfigurationKeyName("KEYENCE_ROOT")] public string? KeyenceRoot { get; set; }
    [ConfigurationKeyName("KEYENCE_POLL_MS")] public int KeyencePollMilliseconds { get; set; } = 250;
    [ConfigurationKeyName("MIGRATE_ON_START")] public bool MigrateOnStart { get; set; } = true;
    [ConfigurationKeyName("SQL_DIR")] public string? SqlDirectory { get; set; }

    public string SqlPath => SqlDirectory ?? Path.Combine(AppContext.BaseDirectory, "sql");

    public static IntegracoesSettings Load(IConfiguration configuration, bool migrateOnly)
    {
        var settings = configuration.Get<IntegracoesSettings>() ?? new IntegracoesSettings();
        var errors = settings.Validate(migrateOnly);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Invalid configuration:\n  - " + string.Join("\n  - ", errors));
        }
        return settings;
    }

    public List<string> Validate(bool migrateOnly)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString)) errors.Add("INTEGRACOES_CONNECTION_STRING is required (PostgreSQL connection string).");
        if (DbMaxPool is < 5 or > 1_000) errors.Add("INTEGRACOES_DB_MAX_POOL must be between 5 and 1000.");
        if (migrateOnly) return errors;

        if (AdminKey is null || AdminKey.Length < 24) errors.Add("INTEGRACOES_ADMIN_KEY is required (at least 24 characters).");
        if (EncryptionKey is null) errors.Add("INTEGRACOES_ENCRYPTION_KEY is required (base64 of 32 random bytes).");
        else
        {
            var buffer = new byte[64];
            if (!Convert.TryFromBase64String(EncryptionKey, buffer, out var written) || written != 32)
                errors.Add("INTEGRACOES_ENCRYPTION_KEY must be the base64 of exactly 32 bytes.");
        }
        foreach (var (name, port) in new[] { ("HTTP_PORT", HttpPort), ("SILO_PORT", SiloPort), ("GATEWAY_PORT", GatewayPort) })
        {
            if (port is < 1 or > 65_535) errors.Add($"INTEGRACOES_{name} must be a TCP port (1-65535).");
        }
        if (!System.Net.IPAddress.TryParse(AdvertisedIp, out _)) errors.Add("INTEGRACOES_ADVERTISED_IP must be an IP address.");
        if (MaxBodyBytes is < 1_024 or > 100 * 1024 * 1024) errors.Add("INTEGRACOES_MAX_BODY_BYTES must be between 1 KiB and 100 MiB.");
        if (MaxServicesPerInstance < 1) errors.Add("INTEGRACOES_MAX_SERVICES_PER_INSTANCE must be positive.");
        if (MaxLinesPerInstance < 1) errors.Add("INTEGRACOES_MAX_LINES_PER_INSTANCE must be positive.");
        if (LineStopSeconds is < 1 or > 3_600) errors.Add("INTEGRACOES_LINE_STOP_SECONDS must be between 1 and 3600.");
        if (LineStaleSeconds is < 1 or > 3_600) errors.Add("INTEGRACOES_LINE_STALE_SECONDS must be between 1 and 3600.");
        if (LineFlushSeconds is < 1 or > 60) errors.Add("INTEGRACOES_LINE_FLUSH_SECONDS must be between 1 and 60.");
        if (KeyenceRoot is not null && !(Path.IsPathFullyQualified(KeyenceRoot) && Directory.Exists(KeyenceRoot)))
            errors.Add("INTEGRACOES_KEYENCE_ROOT must be the absolute path of an existing directory.");
        if (KeyencePollMilliseconds is < 50 or > 60_000) errors.Add("INTEGRACOES_KEYENCE_POLL_MS must be between 50 and 60000.");
        if (MaxWebhooksPerInstance < 1) errors.Add("INTEGRACOES_MAX_WEBHOOKS_PER_INSTANCE must be positive.");
        if (MaxEventBytes < 1_024 || MaxEventBytes > MaxBodyBytes) errors.Add("INTEGRACOES_MAX_EVENT_BYTES must be between 1 KiB and INTEGRACOES_MAX_BODY_BYTES.");
        if (CircuitFailureRatio is <= 0 or > 1) errors.Add("INTEGRACOES_CIRCUIT_FAILURE_RATIO must be in (0, 1].");
        if (CircuitMinimumThroughput < 2) errors.Add("INTEGRACOES_CIRCUIT_MIN_THROUGHPUT must be at least 2.");
        if (CircuitBreakSeconds is < 1 or > 3_600) errors.Add("INTEGRACOES_CIRCUIT_BREAK_SECONDS must be between 1 and 3600.");
        if (RateLimitPerMinute < 0) errors.Add("INTEGRACOES_RATE_LIMIT_PER_MINUTE must be 0 (unlimited) or positive.");
        if (PublicUrl is not null && !(Uri.TryCreate(PublicUrl, UriKind.Absolute, out var publicUri) && publicUri.Scheme is "http" or "https"))
            errors.Add("INTEGRACOES_PUBLIC_URL must be an absolute http(s) URL.");
        foreach (var (name, value, schemes) in new[]
        {
            ("RABBITMQ_URI", RabbitMqUri, new[] { "amqp", "amqps" }),
            ("NATS_URL", NatsUrl, ["nats", "tls", "ws", "wss"]),
            ("SQS_ENDPOINT", SqsEndpoint, ["http", "https"]),
            ("PUSHER_URL", PusherUrl, ["http", "https"]),
        })
        {
            if (value is not null && !(Uri.TryCreate(value, UriKind.Absolute, out var uri) && schemes.Contains(uri.Scheme)))
                errors.Add($"INTEGRACOES_{name} must be a URL with scheme {string.Join(" or ", schemes)}.");
        }
        if (PusherUrl is not null && (string.IsNullOrEmpty(PusherAppId) || string.IsNullOrEmpty(PusherKey) || string.IsNullOrEmpty(PusherSecret)))
            errors.Add("INTEGRACOES_PUSHER_URL needs INTEGRACOES_PUSHER_APP_ID, INTEGRACOES_PUSHER_KEY and INTEGRACOES_PUSHER_SECRET.");
        if (SqsEndpoint is not null && (string.IsNullOrEmpty(SqsAccessKey) || string.IsNullOrEmpty(SqsSecretKey)))
            errors.Add("INTEGRACOES_SQS_ENDPOINT needs INTEGRACOES_SQS_ACCESS_KEY and INTEGRACOES_SQS_SECRET_KEY.");
        if (SqsQueuePrefix.Length > 40 || !SqsQueuePrefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            errors.Add("INTEGRACOES_SQS_QUEUE_PREFIX must be at most 40 letters, digits, '-' or '_' (it starts SQS queue names).");
        if (WebSocketMaxClientsPerInstance is < 1 or > 100_000) errors.Add("INTEGRACOES_WEBSOCKET_MAX_CLIENTS_PER_INSTANCE must be between 1 and 100000.");
        if (WebSocketSendQueue is < 1 or > 100_000) errors.Add("INTEGRACOES_WEBSOCKET_SEND_QUEUE must be between 1 and 100000.");
        if (WebSocketPingSeconds is < 1 or > 3_600) errors.Add("INTEGRACOES_WEBSOCKET_PING_SECONDS must be between 1 and 3600.");
        if (WebSocketPongTimeoutSeconds is < 1 or > 3_600) errors.Add("INTEGRACOES_WEBSOCKET_PONG_TIMEOUT_SECONDS must be between 1 and 3600.");
        if (RequestHeadersTimeoutSeconds is < 1 or > 300) errors.Add("INTEGRACOES_REQUEST_HEADERS_TIMEOUT_SECONDS must be between 1 and 300.");
        if (TrustedProxies is not null && !TryParseTrustedProxies(out _)) errors.Add("INTEGRACOES_TRUSTED_PROXIES must be a comma-separated list of IP addresses or CIDR blocks.");
        if (RequestLogRetentionDays < 1) errors.Add("INTEGRACOES_REQUEST_LOG_RETENTION_DAYS must be positive.");
        if (DeliveryLogRetentionDays < 1) errors.Add("INTEGRACOES_DELIVERY_LOG_RETENTION_DAYS must be positive.");
        if (WebhookDisableAfterDays <= 0) errors.Add("INTEGRACOES_WEBHOOK_DISABLE_AFTER_DAYS must be positive.");
        return errors;
    }

    /// <summary>The reverse proxies whose X-Forwarded-For is believed; none unless configured.</summary>
    public bool TryParseTrustedProxies(out List<System.Net.IPNetwork> networks)
    {
        networks = [];
        foreach (var entry in (TrustedProxies ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Integracoes.Abstractions.Instances.KeyRules.TryParseNetwork(entry, out var network)) return false;
            networks.Add(network);
        }
        return true;
    }

    public SinkConnections SinkConnections() => new(
        RabbitMqUri, RabbitMqExchangePrefix, NatsUrl, SqsEndpoint, SqsRegion, SqsAccessKey, SqsSecretKey, SqsQueuePrefix,
        PusherUrl, PusherAppId, PusherKey, PusherSecret);

    /// <summary>One pool for the whole process, bounded so many activations never exhaust max_connections.</summary>
    public NpgsqlDataSource CreateDataSource()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        if (!ConnectionString!.Contains("Maximum Pool Size", StringComparison.OrdinalIgnoreCase)
            && !ConnectionString.Contains("MaxPoolSize", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxPoolSize = DbMaxPool;
        }
        builder.ApplicationName ??= "integracoes-silo";
        return new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
    }
}
