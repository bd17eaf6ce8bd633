using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pattoo.Edge.Protocols.OpcUa;

/// <summary>Message security modes (Part 4, sec 7.20).</summary>
public enum MessageSecurityMode
{
    Invalid = 0,
    None = 1,
    Sign = 2,
    SignAndEncrypt = 3,
}

/// <summary>The security policies this client speaks (Part 7, sec 6.6).</summary>
public enum SecurityPolicy
{
    None,
    /// <summary>
    /// Asymmetric: RSA-PKCS#1 v1.5 SHA-256 signatures, RSA-OAEP (SHA-1) encryption; symmetric:
    /// HMAC-SHA256 signatures (32 bytes), AES-256-CBC; keys derived with P_SHA256.
    /// </summary>
    Basic256Sha256,
}

/// <summary>The algorithms behind each <see cref="SecurityPolicy"/>, all from System.Security.Cryptography.</summary>
public static class SecurityPolicies
{
    public const string NoneUri = "http://opcfoundation.org/UA/SecurityPolicy#None";
    public const string Basic256Sha256Uri = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
    public const string RsaSha256SignatureUri = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    public const string RsaOaepEncryptionUri = "http://www.w3.org/2001/04/xmlenc#rsa-oaep";

    /// <summary>Bytes of the nonces each side sends when opening a channel with the policy.</summary>
    public static int NonceLength(SecurityPolicy p) => p == SecurityPolicy.None ? 0 : 32;

    public static string Uri(SecurityPolicy p) => p == SecurityPolicy.None ? NoneUri : Basic256Sha256Uri;

    public static bool TryFromUri(string? uri, out SecurityPolicy policy)
    {
        policy = SecurityPolicy.None;
        if (uri == NoneUri) return true;
        if (uri == Basic256Sha256Uri) { policy = SecurityPolicy.Basic256Sha256; return true; }
        return false;
    }

    public static string ModeName(MessageSecurityMode m) => m switch
    {
        MessageSecurityMode.None => "None",
        MessageSecurityMode.Sign => "Sign",
        MessageSecurityMode.SignAndEncrypt => "SignAndEncrypt",
        _ => "Invalid",
    };

    public static string Name(SecurityPolicy p) => p == SecurityPolicy.None ? "None" : "Basic256Sha256";

    /// <summary>RSA-PKCS#1 v1.5 with SHA-256 (asymmetric signature of Basic256Sha256).</summary>
    public static byte[] RsaSign(RSA key, ReadOnlySpan<byte> data)
        => key.SignData(data.ToArray(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    public static bool RsaVerify(RSA key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
        => key.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    /// <summary>RSA-OAEP (SHA-1) output block: the key size in bytes.</summary>
    public static int RsaCipherBlock(RSA key) => key.KeySize / 8;

    /// <summary>RSA-OAEP (SHA-1) input block: key bytes minus 2 * 20 - 2.</summary>
    public static int RsaPlainBlock(RSA key) => key.KeySize / 8 - 42;

    /// <summary>Encrypts block by block (each at most <see cref="RsaPlainBlock"/> bytes) with RSA-OAEP SHA-1.</summary>
    public static byte[] RsaEncrypt(RSA publicKey, ReadOnlySpan<byte> plain)
    {
        int pb = RsaPlainBlock(publicKey), cb = RsaCipherBlock(publicKey);
        int blocks = (plain.Length + pb - 1) / pb;
        var result = new byte[blocks * cb];
        for (int i = 0; i < blocks; i++)
        {
            var chunk = plain.Slice(i * pb, Math.Min(pb, plain.Length - i * pb));
            if (!publicKey.TryEncrypt(chunk, result.AsSpan(i * cb, cb), RSAEncryptionPadding.OaepSHA1, out int written) || written != cb)
                throw new CryptographicException("RSA-OAEP encryption produced an unexpected length");
        }
        return result;
    }

    /// <summary>Decrypts RSA-OAEP SHA-1 blocks; the input must be whole cipher blocks.</summary>
    /// <exception cref="OpcUaFormatException">not whole blocks, or a block that does not decrypt.</exception>
    public static byte[] RsaDecrypt(RSA privateKey, ReadOnlySpan<byte> cipher)
    {
        int cb = RsaCipherBlock(privateKey);
        if (cipher.Length == 0 || cipher.Length % cb != 0)
            OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, $"{cipher.Length} encrypted bytes are not whole {cb}-byte RSA blocks");
        var result = new byte[cipher.Length / cb * RsaPlainBlock(privateKey)];
        int total = 0;
        var block = new byte[cb];
        for (int i = 0; i < cipher.Length; i += cb)
        {
            try
            {
                if (!privateKey.TryDecrypt(cipher.Slice(i, cb), block, RSAEncryptionPadding.OaepSHA1, out int written))
                    OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, "an RSA block does not decrypt");
                if (total + written > result.Length) Array.Resize(ref result, total + written);
                block.AsSpan(0, written).CopyTo(result.AsSpan(total));
                total += written;
            }
            catch (CryptographicException e)
            {
                throw new OpcUaFormatException(OpcUaFormatError.BadSecurity, $"an RSA block does not decrypt: {e.Message}");
            }
        }
        return total == result.Length ? result : result.AsSpan(0, total).ToArray();
    }

    /// <summary>P_SHA256(secret, seed) (RFC 5246, sec 5) cut to <paramref name="length"/> bytes.</summary>
    public static byte[] PSha256(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> seed, int length)
    {
        var output = new byte[length];
        Span<byte> a = stackalloc byte[32];
        HMACSHA256.HashData(secret, seed, a);                  // A(1)
        var input = new byte[32 + seed.Length];
        Span<byte> block = stackalloc byte[32];
        int done = 0;
        while (done < length)
        {
            a.CopyTo(input);
            seed.CopyTo(input.AsSpan(32));
            HMACSHA256.HashData(secret, input, block);         // HMAC(secret, A(i) + seed)
            int n = Math.Min(32, length - done);
            block[..n].CopyTo(output.AsSpan(done));
            done += n;
            HMACSHA256.HashData(secret, a, a);                 // A(i+1)
        }
        return output;
    }

    /// <summary>
    /// The symmetric keys of one side (Part 6, sec 6.7.5): the client's keys come from
    /// P_SHA256(serverNonce, clientNonce), the server's from P_SHA256(clientNonce, serverNonce),
    /// split into a 32-byte signing key, a 32-byte encryption key and a 16-byte IV.
    /// </summary>
    public static SymmetricKeys DeriveKeys(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> seed)
    {
        var bytes = PSha256(secret, seed, 32 + 32 + 16);
        return new SymmetricKeys(bytes[..32], bytes[32..64], bytes[64..80]);
    }

    /// <summary>The SHA-1 thumbprint OPC UA sends as ReceiverCertificateThumbprint.</summary>
    public static byte[] Thumbprint(ReadOnlySpan<byte> certificateDer) => SHA1.HashData(certificateDer);

    /// <summary>The leaf certificate of a DER blob that may hold a chain (Part 6, sec 6.2.3).</summary>
    public static X509Certificate2 LoadLeaf(byte[] der)
    {
        int length = LeafLength(der);
        return X509CertificateLoader.LoadCertificate(length == der.Length ? der : der.AsSpan(0, length).ToArray());
    }

    /// <summary>The length of the first DER SEQUENCE in a blob (the leaf of a chain).</summary>
    public static int LeafLength(ReadOnlySpan<byte> der)
    {
        if (der.Length < 2 || der[0] != 0x30) return der.Length;
        int len = der[1];
        int header = 2;
        if ((len & 0x80) != 0)
        {
            int n = len & 0x7F;
            if (n is 0 or > 4 || der.Length < 2 + n) return der.Length;
            len = 0;
            for (int i = 0; i < n; i++) len = (len << 8) | der[2 + i];
            header += n;
        }
        long total = (long)header + len;
        return total <= der.Length && total > 0 ? (int)total : der.Length;
    }
}

/// <summary>One side's keys for a security token: HMAC-SHA256 signing key, AES-256 key, CBC IV.</summary>
public sealed class SymmetricKeys(byte[] signingKey, byte[] encryptingKey, byte[] iv) : IDisposable
{
    private readonly Aes _aes = CreateAes(encryptingKey);

    public byte[] SigningKey { get; } = signingKey;
    public byte[] EncryptingKey { get; } = encryptingKey;
    public byte[] InitializationVector { get; } = iv;

    public const int SignatureLength = 32;
    public const int BlockSize = 16;

    private static Aes CreateAes(byte[] key)
    {
        var aes = Aes.Create();
        aes.Key = key;
        return aes;
    }

    public void Sign(ReadOnlySpan<byte> data, Span<byte> signature) => HMACSHA256.HashData(SigningKey, data, signature);

    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        Span<byte> expected = stackalloc byte[SignatureLength];
        Sign(data, expected);
        return CryptographicOperations.FixedTimeEquals(expected, signature);
    }

    public void Encrypt(ReadOnlySpan<byte> plain, Span<byte> destination)
    {
        lock (_aes)
        {
            if (!_aes.TryEncryptCbc(plain, InitializationVector, destination, out int written, PaddingMode.None) || written != plain.Length)
                throw new CryptographicException("AES-CBC encryption produced an unexpected length");
        }
    }

    public void Decrypt(ReadOnlySpan<byte> cipher, Span<byte> destination)
    {
        lock (_aes)
        {
            if (!_aes.TryDecryptCbc(cipher, InitializationVector, destination, out int written, PaddingMode.None) || written != cipher.Length)
                OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, "AES-CBC decryption failed");
        }
    }

    public void Dispose() => _aes.Dispose();
}
