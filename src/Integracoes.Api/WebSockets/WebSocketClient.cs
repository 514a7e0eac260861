using System.Net.WebSockets;
using System.Threading.Channels;

namespace Integracoes.Api.WebSockets;

/// <summary>Who a client is, for logs and for re-checking its key while it stays connected.</summary>
/// <param name="Secret">The key's secret, kept only in memory (the request holding it lives as long as the connection anyway).</param>
public sealed record WebSocketCaller(string Instance, string KeyId, string Secret, string? RemoteIp)
{
    /// <summary>The feed the client receives: its instance's events, or another channel of it (<c>/ws/linhas</c>).</summary>
    public string Channel { get; init; } = Instance;
}

/// <summary>
/// One accepted WebSocket: a bounded queue of envelopes and its own writer, so a slow reader only ever
/// delays itself. Reading is the request's job (<see cref="RunAsync"/>): it is what answers pings and
/// notices the client's close.
/// </summary>
public sealed class WebSocketClient : IDisposable
{
    /// <summary>How long a close frame may wait behind the message being written, and the client's answer to it.</summary>
    public static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    private readonly WebSocket _socket;
    private readonly Channel<byte[]> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private int _closing;

    public WebSocketClient(WebSocketCaller caller, WebSocket socket, int queueLength, TimeProvider time)
    {
        Caller = caller;
        _socket = socket;
        _time = time;
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(queueLength)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite answers false when full: nobody ever waits
        });
    }

    public WebSocketCaller Caller { get; }

    public int Waiting => _queue.Reader.Count;

    /// <summary>Queues one envelope; false when the client is closing or its queue is full.</summary>
    public bool TryEnqueue(byte[] envelope) => Volatile.Read(ref _closing) == 0 && _queue.Writer.TryWrite(envelope);

    /// <summary>Writes queued envelopes while reading what the client sends (pongs, its close) until either side closes.</summary>
    public async Task RunAsync(CancellationToken aborted)
    {
        var writer = Task.Run(WriteAsync, CancellationToken.None);
        try
        {
            await ReadAsync(aborted);
        }
        finally
        {
            Interlocked.Exchange(ref _closing, 1);
            _queue.Writer.TryComplete();
            await _stop.CancelAsync();
            await writer;
            _finished.TrySetResult();
        }
    }

    /// <summary>
    /// Closes with <paramref name="status"/>: what is still queued is dropped, the close frame goes right after
    /// the message being written, and a client that cannot take it or does not answer within
    /// <see cref="CloseTimeout"/> is cut off. False when the client was already closing.
    /// </summary>
    public bool Close(WebSocketCloseStatus status, string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0) return false;
        _queue.Writer.TryComplete();
        _ = CloseAsync(status, reason);
        return true;
    }

    private async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        try
        {
            using var timeout = new CancellationTokenSource(CloseTimeout, _time);
            await _socket.CloseOutputAsync(status, reason, timeout.Token);
            await _finished.Task.WaitAsync(CloseTimeout, _time);
        }
        catch (Exception)
        {
            // Its buffers are full or it does not answer: cut it off (the read loop then ends).
            try
            {
                _socket.Abort();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task ReadAsync(CancellationToken aborted)
    {
        // Clients have nothing to say on this feed; what they send is read (that is what processes pongs and
        // close frames) and dropped, a small buffer at a time.
        var buffer = new byte[512];
        try
        {
            while (_socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var received = await _socket.ReceiveAsync(buffer.AsMemory(), aborted);
                if (received.MessageType != WebSocketMessageType.Close) continue;
                if (_socket.State == WebSocketState.CloseReceived)
                {
                    Interlocked.Exchange(ref _closing, 1);
                    using var timeout = new CancellationTokenSource(CloseTimeout, _time);
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
                }
                return;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Gone: the client dropped the connection, or the keep-alive, a close or the server aborted it.
        }
    }

    private async Task WriteAsync()
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stop.Token))
            {
                while (Volatile.Read(ref _closing) == 0 && _queue.Reader.TryRead(out var envelope))
                {
                    await _socket.SendAsync(envelope, WebSocketMessageType.Text, endOfMessage: true, _stop.Token);
                }
                if (Volatile.Read(ref _closing) != 0) return;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The connection is closing or gone; RunAsync cleans up.
        }
    }

    public void Dispose() => _stop.Dispose();
}
