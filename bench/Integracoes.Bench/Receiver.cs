using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Integracoes.Bench;

/// <summary>What one scenario's receiver saw: per request, the webhook-id and the Stopwatch timestamp of arrival.</summary>
public sealed class Recording(int capacity)
{
    internal readonly Guid[] Ids = new Guid[capacity];
    internal readonly long[] Ticks = new long[capacity];
    internal int Next;
    internal long Received;

    /// <summary>Requests received so far (also those past the recording capacity).</summary>
    public long Count => Interlocked.Read(ref Received);

    /// <summary>The first arrival of each webhook-id (later ones are at-least-once duplicates).</summary>
    public Dictionary<Guid, long> FirstArrivals()
    {
        var recorded = Math.Min(Volatile.Read(ref Next), Ids.Length);
        var first = new Dictionary<Guid, long>(recorded);
        for (var i = 0; i < recorded; i++)
        {
            if (Ids[i] == Guid.Empty) continue;
            if (!first.TryGetValue(Ids[i], out var seen) || Ticks[i] < seen) first[Ids[i]] = Ticks[i];
        }
        return first;
    }
}

/// <summary>
/// The webhook destination: Kestrel on 127.0.0.1 answering 200 to every POST. It shares the CPU with
/// the system under test, so the handler does only what the measurement needs: no routing, no body
/// read, no logging, no locks (an interlocked slot in preallocated arrays).
/// </summary>
public sealed class Receiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private Recording _recording = new(0);

    private Receiver(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    public static async Task<Receiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        var receiver = new Receiver(app);
        app.Run(receiver.Handle);
        await app.StartAsync();
        receiver.BaseUri = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return receiver;
    }

    /// <summary>Starts a new recording; requests from now on go into it.</summary>
    public Recording Begin(int capacity)
    {
        var recording = new Recording(capacity);
        Volatile.Write(ref _recording, recording);
        return recording;
    }

    public string Url(string path) => new Uri(BaseUri, path).ToString();

    private Task Handle(HttpContext context)
    {
        var arrived = Stopwatch.GetTimestamp();
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return Task.CompletedTask;
        }

        var recording = Volatile.Read(ref _recording);
        Interlocked.Increment(ref recording.Received);
        var slot = Interlocked.Increment(ref recording.Next) - 1;
        if (slot < recording.Ids.Length && Guid.TryParse(context.Request.Headers["webhook-id"].ToString(), out var id))
        {
            recording.Ticks[slot] = arrived;
            recording.Ids[slot] = id;
        }
        // 200 with an empty body; Kestrel drains the unread request body itself.
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
