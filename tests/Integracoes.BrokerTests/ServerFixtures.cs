using System.Diagnostics;
using Integracoes.Testing;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Integracoes.BrokerTests;

/// <summary>
/// Starts one server for a whole test collection and stops it after the collection's last test. Reports how long
/// the start took (a diagnostic message, shown by `dotnet test` because xunit.runner.json enables them).
/// </summary>
public abstract class ServerFixture<TServer>(IMessageSink diagnostics, string name, Func<CancellationToken, Task<TServer>> start)
    : IAsyncLifetime
    where TServer : class, IAsyncDisposable
{
    private TServer? _server;

    public TServer Server => _server ?? throw new InvalidOperationException($"{name} has not started.");

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        _server = await start(CancellationToken.None);
        diagnostics.OnMessage(new DiagnosticMessage($"{name} ready in {clock.Elapsed.TotalSeconds:0.0} s"));
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            var clock = Stopwatch.StartNew();
            await _server.DisposeAsync();
            diagnostics.OnMessage(new DiagnosticMessage($"{name} stopped in {clock.Elapsed.TotalSeconds:0.0} s"));
        }
    }
}

public sealed class RabbitMqFixture(IMessageSink diagnostics)
    : ServerFixture<RabbitMqServer>(diagnostics, "RabbitMQ", RabbitMqServer.StartAsync);

public sealed class NatsFixture(IMessageSink diagnostics)
    : ServerFixture<NatsServer>(diagnostics, "nats-server", NatsServer.StartAsync);

public sealed class SqsFixture(IMessageSink diagnostics)
    : ServerFixture<SqsServer>(diagnostics, "fauxqs (SQS)", SqsServer.StartAsync);

public sealed class SoketiFixture(IMessageSink diagnostics)
    : ServerFixture<SoketiServer>(diagnostics, "soketi (Pusher)", SoketiServer.StartAsync);

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>
{
    public const string Name = "RabbitMQ server";
}

[CollectionDefinition(Name)]
public sealed class NatsCollection : ICollectionFixture<NatsFixture>
{
    public const string Name = "NATS server";
}

[CollectionDefinition(Name)]
public sealed class SqsCollection : ICollectionFixture<SqsFixture>
{
    public const string Name = "SQS server";
}

[CollectionDefinition(Name)]
public sealed class SoketiCollection : ICollectionFixture<SoketiFixture>
{
    public const string Name = "Pusher server";
}

/// <summary>Names that do not collide between tests sharing a server.</summary>
public static class Unique
{
    public static string Name(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";
}
