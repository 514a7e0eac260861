using System.Net;
using System.Net.Sockets;
using Integracoes.Delivery.Http;

namespace Integracoes.Delivery.Webhooks;

/// <summary>
/// Refuses, when a subscription is saved, URLs the hub must never call: other schemes, credentials in
/// the URL, and hosts that resolve to internal addresses not listed in INTEGRACOES_ALLOWED_TARGETS.
/// The same policy is enforced again at connect time, so a later DNS change does not get around it.
/// </summary>
public sealed class WebhookTargetValidator(OutboundTargetPolicy policy)
{
    public async Task<string?> ProblemWithAsync(string url, CancellationToken ct = default)
    {
        if (url.Length > 2_048 || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "url must be an absolute URL (at most 2048 characters).";
        }
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            return "url must use http or https.";
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "url must not contain credentials; use headers instead.";
        }
        if (policy.IsHostAllowedByName(uri.IdnHost))
        {
            return null;
        }
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(uri.IdnHost, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(uri.IdnHost, ct);
        }
        catch (SocketException)
        {
            return $"the host '{uri.IdnHost}' does not resolve.";
        }
        return addresses.Length == 0 || !addresses.All(policy.IsAllowed)
            ? $"the host '{uri.IdnHost}' resolves to an internal address; an operator must list it in INTEGRACOES_ALLOWED_TARGETS."
            : null;
    }
}
