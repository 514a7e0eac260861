using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;

namespace Integracoes.Testing;

/// <summary>
/// A client of <c>/ws/{instance}</c> over a real <see cref="ClientWebSocket"/>. A reading client collects
/// every message in the background (which also answers the server's pings); a non-reading one is only
/// read when the test says so.
/// </summary>
public sealed class WebSocketFeedClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentQueue<JsonElement> _messages = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _reading;
    private HttpMessageInvoker? _invoker;
    private int _disposed;

    private WebSocketFeedClient(ClientWebSocket socket) => _socket = socket;

    public IReadOnlyCollection<JsonElement> Messages => _messages;

    public WebSocketState State => _socket.State;

    /// <summary>The server's close status, once its close frame was read.</summary>
    public WebSocketCloseStatus? CloseStatus { get; private set; }

    public string? CloseDescription { get; private set; }

    /// <summary>Set when the connection ended without a close frame (aborted, reset).</summary>
    public Exception? Failure { get; private set; }

    public bool Ended => CloseStatus is not null || Failure is not null;

    /// <param name="header">Sends the key as this header (<c>X-Api-Key</c>, or <c>Authorization</c> with "Bearer ...").</param>
    /// <param name="read">False: connect and never read until <see cref="StartReading"/> (a client that does not keep up).</param>
    /// <param name="receiveBuffer">The TCP receive buffer, to make a non-reading client fill up fast instead of buffering megabytes in the kernel.</param>
    public static async Task<WebSocketFeedClient> ConnectAsync(Uri uri, (string Name, string Value)? header = null, bool read = true, int? receiveBuffer = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (header is { } h) socket.Options.SetRequestHeader(h.Name, h.Value);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        HttpMessageInvoker? invoker = null;
        if (receiveBuffer is { } size)
        {
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (context, ct) =>
                {
                    var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = size, NoDelay = true };
                    await tcp.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(tcp, ownsSocket: true);
                },
            };
            invoker = new HttpMessageInvoker(handler);
            await socket.ConnectAsync(uri, invoker, timeout.Token);
        }
        else
        {
            await socket.ConnectAsync(uri, timeout.Token);
        }
        var client = new WebSocketFeedClient(socket) { _invoker = invoker };
        if (read) client.StartReading();
        return client;
    }

    /// <summary>The HTTP status of a refused connection attempt.</summary>
    public static async Task<HttpStatusCode> RefusalAsync(Uri uri, (string Name, string Value)? header = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (header is { } h) socket.Options.SetRequestHeader(h.Name, h.Value);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await socket.ConnectAsync(uri, timeout.Token);
        }
        catch (WebSocketException)
        {
            return socket.HttpStatusCode;
        }
        throw new InvalidOperationException($"{uri.AbsolutePath} accepted the connection.");
    }

    public void StartReading() => _reading ??= Task.Run(ReadAsync);

    /// <summary>Messages with this event name, in the order received.</summary>
    public List<JsonElement> Of(string evento) => [.. _messages.Where(m => m.GetProperty("event").GetString() == evento)];

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var received = await _socket.ReceiveAsync(buffer.AsMemory(), _stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    CloseDescription = _socket.CloseStatusDescription;
                    CloseStatus = _socket.CloseStatus;
                    return;
                }
                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage) continue;
                _messages.Enqueue(JsonDocument.Parse(message.ToArray()).RootElement.Clone());
                message.SetLength(0);
            }
        }
        catch (Exception e)
        {
            Failure = e;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }
        await _stop.CancelAsync();
        if (_reading is not null) await _reading;
        _socket.Dispose();
        _invoker?.Dispose();
        _stop.Dispose();
    }
}
