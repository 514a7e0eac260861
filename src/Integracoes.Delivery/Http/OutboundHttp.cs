using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;

namespace Integracoes.Delivery.Http;

/// <summary>Wires the one <see cref="HttpClient"/> used for every outbound call, guarded by the target policy.</summary>
public static class OutboundHttp
{
    public const string ClientName = "integracoes-outbound";

    public static IServiceCollection AddOutboundHttp(this IServiceCollection services, string? allowedTargets)
    {
        var policy = new OutboundTargetPolicy(allowedTargets);
        services.AddSingleton(policy);
        services.AddHttpClient(ClientName, client =>
            {
                // Per-call timeouts come from each service's configuration.
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("Integracoes/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(() => CreateHandler(policy))
            // Per-request logging handlers cost CPU on every delivery; failures are logged by the callers.
            .RemoveAllLoggers();
        return services;
    }

    public static SocketsHttpHandler CreateHandler(OutboundTargetPolicy policy) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.All,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        MaxConnectionsPerServer = 64,
        ConnectCallback = (context, ct) => ConnectAsync(policy, context.DnsEndPoint, ct),
    };

    private static async ValueTask<Stream> ConnectAsync(OutboundTargetPolicy policy, DnsEndPoint endpoint, CancellationToken ct)
    {
        IPAddress[] addresses = IPAddress.TryParse(endpoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endpoint.Host, ct);
        if (!policy.IsHostAllowedByName(endpoint.Host))
        {
            // Every address must pass: a name resolving to one public and one internal address is refused.
            if (addresses.Length == 0 || !addresses.All(policy.IsAllowed))
            {
                throw new OutboundTargetBlockedException(endpoint.Host);
            }
        }

        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                last = e;
                if (e is OperationCanceledException) throw;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }
}
