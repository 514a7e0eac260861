using System.Security.Cryptography;
using System.Text;

namespace Integracoes.Storage.Secrets;

/// <summary>
/// Encrypts secrets before they reach PostgreSQL (AES-256-GCM). The key lives outside the database
/// (INTEGRACOES_ENCRYPTION_KEY), so a stolen dump alone reveals no credential.
/// Format: <c>v1:</c> + base64(nonce[12] | tag[16] | ciphertext). The version prefix leaves room for key rotation.
/// </summary>
public sealed class SecretProtector
{
    private const string Prefix = "v1:";
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    public SecretProtector(byte[] key)
    {
        if (key.Length != 32)
        {
            throw new ArgumentException("The encryption key must be 32 bytes (base64 of 32 random bytes).", nameof(key));
        }
        _key = key;
    }

    public static SecretProtector FromBase64(string base64Key)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64Key);
        }
        catch (FormatException e)
        {
            throw new ArgumentException("The encryption key is not valid base64.", nameof(base64Key), e);
        }
        return new SecretProtector(key);
    }

    public string Protect(string plaintext)
    {
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var buffer = new byte[NonceSize + TagSize + plain.Length];
        var nonce = buffer.AsSpan(0, NonceSize);
        var tag = buffer.AsSpan(NonceSize, TagSize);
        var cipher = buffer.AsSpan(NonceSize + TagSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, cipher, tag);
        return Prefix + Convert.ToBase64String(buffer);
    }

    public string Unprotect(string protectedText)
    {
        if (!protectedText.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new CryptographicException("Unknown secret format.");
        }
        var buffer = Convert.FromBase64String(protectedText[Prefix.Length..]);
        if (buffer.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("Truncated secret.");
        }
        var plain = new byte[buffer.Length - NonceSize - TagSize];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(buffer.AsSpan(0, NonceSize), buffer.AsSpan(NonceSize + TagSize), buffer.AsSpan(NonceSize, TagSize), plain);
        return Encoding.UTF8.GetString(plain);
    }
}
