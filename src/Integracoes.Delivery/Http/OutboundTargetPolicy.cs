using System.Net;
using System.Net.Sockets;

namespace Integracoes.Delivery.Http;

/// <summary>
/// Decides which network addresses the hub may call. Loopback, private, link-local (cloud metadata),
/// carrier-grade NAT, multicast and unspecified addresses are refused unless the operator lists the
/// host or a CIDR in INTEGRACOES_ALLOWED_TARGETS. Checked on the resolved address at connect time,
/// so a DNS name that later resolves to an internal address is still refused.
/// </summary>
public sealed class OutboundTargetPolicy
{
    private static readonly IPNetwork[] Blocked =
    [
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"),
        IPNetwork.Parse("224.0.0.0/4"),
        IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("64:ff9b::/96"),
        IPNetwork.Parse("64:ff9b:1::/48"),
        IPNetwork.Parse("2002::/16"),
        IPNetwork.Parse("fc00::/7"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("ff00::/8"),
    ];

    private readonly HashSet<string> _allowedHosts;
    private readonly IPNetwork[] _allowedNetworks;

    public OutboundTargetPolicy(string? allowedTargets)
    {
        _allowedHosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var networks = new List<IPNetwork>();
        foreach (var raw in (allowedTargets ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (IPNetwork.TryParse(raw, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(raw, out var address))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                _allowedHosts.Add(raw);
            }
        }
        _allowedNetworks = [.. networks];
    }

    public bool IsHostAllowedByName(string host) => _allowedHosts.Contains(host);

    public bool IsAllowed(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (_allowedNetworks.Any(n => n.Contains(address)))
        {
            return true;
        }
        return !Blocked.Any(n => n.Contains(address));
    }
}

/// <summary>Thrown when a call would reach an address the <see cref="OutboundTargetPolicy"/> refuses.</summary>
public sealed class OutboundTargetBlockedException(string host)
    : IOException($"The target '{host}' resolves to a blocked (internal) address; list it in INTEGRACOES_ALLOWED_TARGETS to allow it.");
