using System.Net;
using System.Security.Cryptography;
using Integracoes.Abstractions.Instances;
using Integracoes.Delivery.Http;
using Integracoes.Storage.Secrets;

namespace Integracoes.UnitTests;

public sealed class SecretProtectorTests
{
    private static readonly SecretProtector Protector = new(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void Protected_text_round_trips_and_does_not_contain_the_plaintext()
    {
        var protectedText = Protector.Protect("minha-senha-secreta");

        Assert.DoesNotContain("minha-senha-secreta", protectedText);
        Assert.StartsWith("v1:", protectedText);
        Assert.Equal("minha-senha-secreta", Protector.Unprotect(protectedText));
    }

    [Fact]
    public void The_same_plaintext_encrypts_differently_each_time() =>
        Assert.NotEqual(Protector.Protect("x"), Protector.Protect("x"));

    [Fact]
    public void Tampering_or_another_key_is_detected()
    {
        var protectedText = Protector.Protect("value");
        var bytes = Convert.FromBase64String(protectedText[3..]);
        bytes[^1] ^= 1;

        Assert.ThrowsAny<CryptographicException>(() => Protector.Unprotect("v1:" + Convert.ToBase64String(bytes)));
        Assert.ThrowsAny<CryptographicException>(() => new SecretProtector(RandomNumberGenerator.GetBytes(32)).Unprotect(protectedText));
    }

    [Fact]
    public void Keys_must_be_32_bytes() => Assert.Throws<ArgumentException>(() => new SecretProtector(new byte[16]));
}

public sealed class OutboundTargetPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.1.2.3")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("192.168.1.100")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("fd00:ec2::254")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("224.0.0.1")]
    public void Internal_addresses_are_blocked_by_default(string address) =>
        Assert.False(new OutboundTargetPolicy(null).IsAllowed(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("200.160.2.3")]
    [InlineData("2001:4860:4860::8888")]
    public void Public_addresses_are_allowed(string address) =>
        Assert.True(new OutboundTargetPolicy(null).IsAllowed(IPAddress.Parse(address)));

    [Fact]
    public void Operators_can_allow_addresses_cidrs_and_host_names()
    {
        var policy = new OutboundTargetPolicy("127.0.0.1, 10.20.0.0/16 ,erp.interno");

        Assert.True(policy.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.False(policy.IsAllowed(IPAddress.Parse("127.0.0.2")));
        Assert.True(policy.IsAllowed(IPAddress.Parse("10.20.5.6")));
        Assert.False(policy.IsAllowed(IPAddress.Parse("10.21.0.1")));
        Assert.True(policy.IsHostAllowedByName("ERP.interno"));
        Assert.False(policy.IsHostAllowedByName("outro.interno"));
    }
}

public sealed class ApiKeyFormatTests
{
    [Fact]
    public void Composed_keys_parse_back_to_their_parts()
    {
        var key = ApiKeyFormat.Compose("0123456789abcdef", "s3cr-et_");

        Assert.True(ApiKeyFormat.TryParse(key, out var keyId, out var secret));
        Assert.Equal(("0123456789abcdef", "s3cr-et_"), (keyId, secret));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("intg_")]
    [InlineData("intg_abc")]
    [InlineData("intg_.secret")]
    [InlineData("intg_abc.")]
    [InlineData("intg_ABC.secret")]
    [InlineData("intg_../x.secret")]
    [InlineData("other_abc.secret")]
    public void Malformed_keys_are_rejected(string? key) => Assert.False(ApiKeyFormat.TryParse(key, out _, out _));

    [Theory]
    [InlineData("acme", true)]
    [InlineData("minha-instancia", true)]
    [InlineData("a", false)]
    [InlineData("Acme", false)]
    [InlineData("-acme", false)]
    [InlineData("acme/../x", false)]
    public void Instance_names_are_restricted(string name, bool valid) => Assert.Equal(valid, InstanceNames.IsValid(name));
}
