using System.Net;
using System.Text.Json;
using Integracoes.Abstractions.Instances;
using Integracoes.Api.Apis;

namespace Integracoes.UnitTests;

public sealed class KeyRulesTests
{
    [Fact]
    public void Allowlists_are_normalized_to_cidr_and_deduplicated()
    {
        Assert.True(KeyRules.TryNormalizeAllowedIps(["203.0.113.7", " 10.0.0.0/8 ", "203.0.113.7/32", "2001:db8::/32"], out var normalized, out _));

        Assert.Equal(["203.0.113.7/32", "10.0.0.0/8", "2001:db8::/32"], normalized);
    }

    [Theory]
    [InlineData("10.0.0.1/8")]
    [InlineData("10.0.0.0/33")]
    [InlineData("example.com")]
    [InlineData("")]
    [InlineData("1.2.3")]
    public void Bad_allowlist_entries_are_refused_naming_the_field(string entry)
    {
        Assert.False(KeyRules.TryNormalizeAllowedIps([entry], out _, out var error));
        Assert.Equal("allowed_ips", error.Field);
    }

    [Fact]
    public void Too_many_allowlist_entries_are_refused()
    {
        var entries = Enumerable.Range(0, KeyRules.MaxAllowedIps + 1).Select(i => $"10.0.{i}.0/24").ToList();

        Assert.False(KeyRules.TryNormalizeAllowedIps(entries, out _, out _));
    }

    [Theory]
    [InlineData("10.1.2.3", true)]
    [InlineData("::ffff:10.1.2.3", true)]
    [InlineData("10.2.0.1", false)]
    [InlineData("2001:db8::1", true)]
    [InlineData(null, false)]
    [InlineData("garbage", false)]
    public void Client_addresses_match_the_allowlist_including_ipv4_mapped_ipv6(string? client, bool allowed)
    {
        IReadOnlyList<IPNetwork> allowlist = [IPNetwork.Parse("10.1.0.0/16"), IPNetwork.Parse("2001:db8::/32")];

        Assert.Equal(allowed, KeyRules.IsAllowed(allowlist, client));
    }

    [Fact]
    public void An_empty_allowlist_allows_every_address()
    {
        Assert.True(KeyRules.IsAllowed([], "198.51.100.1"));
    }

    [Fact]
    public void Expiry_must_be_in_the_future_and_within_ten_years()
    {
        var now = DateTimeOffset.UtcNow;

        Assert.Null(KeyRules.ValidateExpiry(null, now));
        Assert.Null(KeyRules.ValidateExpiry(now.AddDays(30), now));
        Assert.Equal("expires_at", KeyRules.ValidateExpiry(now.AddSeconds(-1), now)?.Field);
        Assert.Equal("expires_at", KeyRules.ValidateExpiry(now.AddYears(11), now)?.Field);
    }

    [Fact]
    public void A_patch_tells_absent_fields_from_cleared_ones()
    {
        var body = JsonDocument.Parse("""{"expires_at": null, "rate_limit_por_minuto": 10, "allowed_ips": null}""").RootElement;

        Assert.True(KeysApi.TryReadPatch(body, out var patch, out _));

        Assert.True(patch.SetsExpiresAt);
        Assert.Null(patch.ExpiresAt);
        Assert.True(patch.SetsRateLimit);
        Assert.Equal(10, patch.RateLimitPerMinute);
        Assert.Empty(patch.AllowedIps!);
        Assert.Null(patch.Name);
        Assert.Null(patch.Scope);
    }

    [Theory]
    [InlineData("""{"scope": "root"}""", "scope")]
    [InlineData("""{"name": 5}""", "name")]
    [InlineData("""{"expires_at": "tomorrow"}""", "expires_at")]
    [InlineData("""{"allowed_ips": [1, 2]}""", "allowed_ips")]
    [InlineData("""{"rate_limit_por_minuto": "many"}""", "rate_limit_por_minuto")]
    [InlineData("""{"secret": "x"}""", "secret")]
    [InlineData("""[]""", "body")]
    public void A_bad_patch_names_the_field_at_fault(string json, string field)
    {
        Assert.False(KeysApi.TryReadPatch(JsonDocument.Parse(json).RootElement, out _, out var error));
        Assert.Equal(field, error.Field);
    }
}
