using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Delivery.Webhooks;
using Microsoft.Extensions.Logging;

namespace Integracoes.Delivery.Sinks;

/// <summary>
/// Amazon SQS, or any server speaking its protocol: one FIFO queue per instance and event
/// (<see cref="QueueName"/>), created when missing. Each event is sent with <c>MessageGroupId</c> = instance,
/// so a consumer reads an instance's events of that queue in the order they were delivered, and
/// <c>MessageDeduplicationId</c> = event id, so a resend within SQS's 5-minute deduplication interval
/// (a retry after a lost answer, a redrive) is accepted but stored once.
/// </summary>
public sealed class SqsSink : IEventSink, IDisposable
{
    /// <summary>SQS's limit on a queue name, <c>.fifo</c> included.</summary>
    public const int MaxQueueNameLength = 80;

    private const string FifoSuffix = ".fifo";
    private const int HashHexLength = 16;

    private readonly AmazonSQSClient _client;
    private readonly string _prefix;
    private readonly ILogger<SqsSink> _logger;
    private readonly ConcurrentDictionary<string, string> _queueUrls = new(StringComparer.Ordinal);

    public SqsSink(SinkConnections connections, ILogger<SqsSink> logger)
    {
        _logger = logger;
        _prefix = connections.SqsQueuePrefix;
        var config = new AmazonSQSConfig
        {
            ServiceURL = connections.SqsServiceUrl,
            AuthenticationRegion = connections.SqsRegion,
            // The delivery loop retries on its own schedule; the SDK only smooths over a dropped connection.
            MaxErrorRetry = 1,
            Timeout = TimeSpan.FromSeconds(10),
        };
        _client = connections.SqsAccessKey is { } accessKey
            ? new AmazonSQSClient(new BasicAWSCredentials(accessKey, connections.SqsSecretKey), config)
            // No keys configured: the SDK's own chain (environment, instance profile, ...).
            : new AmazonSQSClient(config);
    }

    public string Kind => SinkKinds.Sqs;

    /// <summary>
    /// <c>prefix + instance + "_" + event + ".fifo"</c> when that is a valid SQS name (letters, digits, '-'
    /// and '_', at most 80 characters) that no other instance and event can produce. Otherwise (an event
    /// name with '.', an instance name with '_', too long, or a name that already ends like a hashed one)
    /// the invalid characters become '-', the result is cut to leave room, and '-' plus 16 hex digits of
    /// SHA-256(prefix, instance, event) are appended: deterministic, at most 80 characters, and never the
    /// name of another instance's queue.
    /// </summary>
    public static string QueueName(string prefix, string instance, string evento)
    {
        var plain = prefix + instance + "_" + evento;
        if (plain.Length + FifoSuffix.Length <= MaxQueueNameLength && plain.All(IsQueueNameChar)
            && !instance.Contains('_') && !LooksHashed(plain))
        {
            return plain + FifoSuffix;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prefix + "\n" + instance + "\n" + evento)))[..HashHexLength];
        var room = MaxQueueNameLength - FifoSuffix.Length - 1 - HashHexLength;
        var readable = new string([.. plain.Take(room).Select(c => IsQueueNameChar(c) ? c : '-')]);
        return readable + "-" + hash + FifoSuffix;
    }

    private static bool IsQueueNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    /// <summary>Ends in '-' and 16 lower-case hex digits, as every hashed name does.</summary>
    private static bool LooksHashed(string name) =>
        name.Length > HashHexLength && name[^(HashHexLength + 1)] == '-' && name[^HashHexLength..].All(char.IsAsciiHexDigitLower);

    public async Task<string?> ProblemAsync(CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            // Cheap, and signed like every other call: proves the endpoint answers and takes the credentials.
            await _client.ListQueuesAsync(new ListQueuesRequest { MaxResults = 1, QueueNamePrefix = _prefix }, timeout.Token);
            return null;
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or SocketException
            or OperationCanceledException)
        {
            return $"the SQS endpoint is not usable: {Describe(e)}";
        }
    }

    public async Task<AttemptResult> SendAsync(SinkMessage message, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var queue = QueueName(_prefix, message.Instance, message.Evento);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        try
        {
            SendMessageResponse sent;
            try
            {
                sent = await SendToAsync(queue, message, timeout.Token);
            }
            catch (QueueDoesNotExistException)
            {
                // Deleted since its URL was cached: create it again, once.
                _queueUrls.TryRemove(queue, out _);
                _logger.LogWarning("SQS queue {Queue} no longer exists; creating it again", queue);
                sent = await SendToAsync(queue, message, timeout.Token);
            }
            return new AttemptResult(AttemptOutcome.Delivered, null, AttemptTiming.Since(started),
                $"queue {queue} message {sent.MessageId} sequence {sent.SequenceNumber}", null, null);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or SocketException
            or OperationCanceledException)
        {
            return new AttemptResult(Classify(e), (e as AmazonServiceException)?.StatusCode is { } status and > 0 ? (int)status : null,
                AttemptTiming.Since(started), null, $"SQS queue {queue}: {Describe(e)}", null);
        }
    }

    /// <summary>
    /// Throttling, 5xx, timeouts and network errors are retried; so are credential and permission errors,
    /// which the operator fixes without the message changing. A queue that cannot be created yet (deleted
    /// less than a minute ago) is retried. Any other refusal (an invalid parameter, a message SQS will not
    /// take) is final: a rejection carrying SQS's reason.
    /// </summary>
    public static AttemptOutcome Classify(Exception e) => e switch
    {
        RequestThrottledException or OverLimitException or QueueDeletedRecentlyException or QueueDoesNotExistException => AttemptOutcome.Retry,
        InvalidMessageContentsException or UnsupportedOperationException => AttemptOutcome.Rejected,
        AmazonServiceException { Retryable: not null } => AttemptOutcome.Retry,
        AmazonServiceException s when (int)s.StatusCode is 0 or 401 or 403 or 408 or 429 or >= 500 => AttemptOutcome.Retry,
        AmazonServiceException s when IsRetriedErrorCode(s.ErrorCode) => AttemptOutcome.Retry,
        AmazonServiceException => AttemptOutcome.Rejected,
        _ => AttemptOutcome.Retry,
    };

    private static bool IsRetriedErrorCode(string? code) => code is not null && (code.Contains("Throttl", StringComparison.OrdinalIgnoreCase)
        || code.StartsWith("Kms", StringComparison.OrdinalIgnoreCase)
        || code is "InvalidClientTokenId" or "SignatureDoesNotMatch" or "AccessDenied" or "AccessDeniedException" or "InvalidSecurity"
            or "MissingAuthenticationToken" or "ExpiredToken" or "RequestExpired" or "ServiceUnavailable" or "InternalError" or "InternalFailure");

    private async Task<SendMessageResponse> SendToAsync(string queue, SinkMessage message, CancellationToken ct)
    {
        var url = await QueueUrlAsync(queue, ct);
        return await _client.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = url,
            MessageBody = Encoding.UTF8.GetString(message.Body),
            MessageGroupId = message.Instance,
            MessageDeduplicationId = message.EventId.ToString(),
        }, ct);
    }

    /// <summary>The queue's URL: cached; otherwise looked up, and the queue created if it does not exist.</summary>
    private async Task<string> QueueUrlAsync(string queue, CancellationToken ct)
    {
        if (_queueUrls.TryGetValue(queue, out var known)) return known;
        string url;
        try
        {
            // Looked up first, so a queue the operator created with other attributes is used as it is.
            url = (await _client.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = queue }, ct)).QueueUrl;
        }
        catch (QueueDoesNotExistException)
        {
            url = (await _client.CreateQueueAsync(new CreateQueueRequest
            {
                QueueName = queue,
                Attributes = new Dictionary<string, string>
                {
                    [QueueAttributeName.FifoQueue] = "true",
                    [QueueAttributeName.ContentBasedDeduplication] = "false",
                },
            }, ct)).QueueUrl;
            _logger.LogInformation("Created SQS FIFO queue {Queue}", queue);
        }
        _queueUrls[queue] = url;
        return url;
    }

    private static string Describe(Exception e) => e switch
    {
        AmazonServiceException s when !string.IsNullOrEmpty(s.ErrorCode) => $"{s.ErrorCode} (HTTP {(int)s.StatusCode}): {s.Message}",
        OperationCanceledException => "timeout",
        _ => e.Message,
    };

    public void Dispose() => _client.Dispose();
}
