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

/// <summary>
/// The security policies this client speaks (Part 7, sec 6.6). All but None share the
/// symmetric side (HMAC-SHA256 signatures of 32 bytes with a 32-byte key, AES-CBC, keys derived
/// with P_SHA256, 32-byte nonces) and differ in the AES key length and the RSA algorithms.
/// </summary>
public enum SecurityPolicy
{
    None,
    /// <summary>
    /// Asymmetric: RSA-PKCS#1 v1.5 SHA-256 signatures, RSA-OAEP (SHA-1) encryption; symmetric:
    /// HMAC-SHA256, AES-256-CBC.
    /// </summary>
    Basic256Sha256,
    /// <summary>
    /// Asymmetric: RSA-PKCS#1 v1.5 SHA-256 signatures, RSA-OAEP (SHA-1) encryption; symmetric:
    /// HMAC-SHA256, AES-128-CBC.
    /// </summary>
    Aes128_Sha256_RsaOaep,
    /// <summary>
    /// Asymmetric: RSA-PSS SHA-256 signatures (salt of 32 bytes), RSA-OAEP SHA-256 encryption;
    /// symmetric: HMAC-SHA256, AES-256-CBC.
    /// </summary>
    Aes256_Sha256_RsaPss,
}

/// <summary>The algorithms behind each <see cref="SecurityPolicy"/>, all from System.Security.Cryptography.</summary>
public static class SecurityPolicies
{
    public const string NoneUri = "http://opcfoundation.org/UA/SecurityPolicy#None";
    public const string Basic256Sha256Uri = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
    public const string Aes128Sha256RsaOaepUri = "http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep";
    public const string Aes256Sha256RsaPssUri = "http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss";

    /// <summary>AsymmetricSignatureAlgorithm of Basic256Sha256 and Aes128_Sha256_RsaOaep (RSA-PKCS#1 v1.5 SHA-256).</summary>
    public const string RsaSha256SignatureUri = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    /// <summary>AsymmetricSignatureAlgorithm of Aes256_Sha256_RsaPss (RSA-PSS SHA-256).</summary>
    public const string RsaPssSha256SignatureUri = "http://opcfoundation.org/UA/security/rsa-pss-sha2-256";
    /// <summary>AsymmetricEncryptionAlgorithm of Basic256Sha256 and Aes128_Sha256_RsaOaep (RSA-OAEP SHA-1).</summary>
    public const string RsaOaepEncryptionUri = "http://www.w3.org/2001/04/xmlenc#rsa-oaep";
    /// <summary>AsymmetricEncryptionAlgorithm of Aes256_Sha256_RsaPss (RSA-OAEP SHA-256).</summary>
    public const string RsaOaepSha256EncryptionUri = "http://opcfoundation.org/UA/security/rsa-oaep-sha2-256";

    /// <summary>Every policy, in the order the configuration lists them.</summary>
    public static IReadOnlyList<SecurityPolicy> All { get; } =
        [SecurityPolicy.None, SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityPolicy.Aes256_Sha256_RsaPss];

    /// <summary>Bytes of the nonces each side sends when opening a channel with the policy.</summary>
    public static int NonceLength(SecurityPolicy p) => p == SecurityPolicy.None ? 0 : 32;

    public static string Uri(SecurityPolicy p) => p switch
    {
        SecurityPolicy.None => NoneUri,
        SecurityPolicy.Basic256Sha256 => Basic256Sha256Uri,
        SecurityPolicy.Aes128_Sha256_RsaOaep => Aes128Sha256RsaOaepUri,
        SecurityPolicy.Aes256_Sha256_RsaPss => Aes256Sha256RsaPssUri,
        _ => throw Unknown(p),
    };

    /// <summary>The policy's name as the configuration and the spec write it ("Aes256_Sha256_RsaPss").</summary>
    public static string Name(SecurityPolicy p) => p switch
    {
        SecurityPolicy.None => "None",
        SecurityPolicy.Basic256Sha256 => "Basic256Sha256",
        SecurityPolicy.Aes128_Sha256_RsaOaep => "Aes128_Sha256_RsaOaep",
        SecurityPolicy.Aes256_Sha256_RsaPss => "Aes256_Sha256_RsaPss",
        _ => throw Unknown(p),
    };

    public static bool TryFromUri(string? uri, out SecurityPolicy policy)
    {
        foreach (var p in All)
        {
            if (uri == Uri(p)) { policy = p; return true; }
        }
        policy = SecurityPolicy.None;
        return false;
    }

    /// <summary>The policy of a <see cref="Name"/> (exact spelling).</summary>
    public static bool TryFromName(string? name, out SecurityPolicy policy)
    {
        foreach (var p in All)
        {
            if (name == Name(p)) { policy = p; return true; }
        }
        policy = SecurityPolicy.None;
        return false;
    }

    public static string ModeName(MessageSecurityMode m) => m switch
    {
        MessageSecurityMode.None => "None",
        MessageSecurityMode.Sign => "Sign",
        MessageSecurityMode.SignAndEncrypt => "SignAndEncrypt",
        _ => "Invalid",
    };

    /// <summary>Bytes of the derived AES key: 16 for Aes128_Sha256_RsaOaep, 32 for the others.</summary>
    public static int EncryptionKeyLength(SecurityPolicy p) => p switch
    {
        SecurityPolicy.Basic256Sha256 or SecurityPolicy.Aes256_Sha256_RsaPss => 32,
        SecurityPolicy.Aes128_Sha256_RsaOaep => 16,
        _ => throw NoCrypto(p),
    };

    /// <summary>The AsymmetricSignatureAlgorithm URI, sent in CreateSession / ActivateSession SignatureData.</summary>
    public static string SignatureUri(SecurityPolicy p) => p switch
    {
        SecurityPolicy.Basic256Sha256 or SecurityPolicy.Aes128_Sha256_RsaOaep => RsaSha256SignatureUri,
        SecurityPolicy.Aes256_Sha256_RsaPss => RsaPssSha256SignatureUri,
        _ => throw NoCrypto(p),
    };

    /// <summary>The AsymmetricEncryptionAlgorithm URI, sent as the EncryptionAlgorithm of an encrypted password.</summary>
    public static string PasswordEncryptionUri(SecurityPolicy p) => p switch
    {
        SecurityPolicy.Basic256Sha256 or SecurityPolicy.Aes128_Sha256_RsaOaep => RsaOaepEncryptionUri,
        SecurityPolicy.Aes256_Sha256_RsaPss => RsaOaepSha256EncryptionUri,
        _ => throw NoCrypto(p),
    };

    private static RSASignaturePadding SignaturePadding(SecurityPolicy p) => p switch
    {
        SecurityPolicy.Basic256Sha256 or SecurityPolicy.Aes128_Sha256_RsaOaep => RSASignaturePadding.Pkcs1,
        // PSS with MGF1-SHA256 and a salt as long as the hash (32 bytes), as Part 7 and node-opcua use.
        SecurityPolicy.Aes256_Sha256_RsaPss => RSASignaturePadding.Pss,
        _ => throw NoCrypto(p),
    };

    private static RSAEncryptionPadding EncryptionPadding(SecurityPolicy p) => p switch
    {
        SecurityPolicy.Basic256Sha256 or SecurityPolicy.Aes128_Sha256_RsaOaep => RSAEncryptionPadding.OaepSHA1,
        SecurityPolicy.Aes256_Sha256_RsaPss => RSAEncryptionPadding.OaepSHA256,
        _ => throw NoCrypto(p),
    };

    /// <summary>Bytes RSA-OAEP adds to each block: 2 * hash length + 2 (42 with SHA-1, 66 with SHA-256).</summary>
    private static int OaepOverhead(SecurityPolicy p) => p == SecurityPolicy.Aes256_Sha256_RsaPss ? 2 * 32 + 2 : 2 * 20 + 2;

    private static ArgumentOutOfRangeException Unknown(SecurityPolicy p) => new(nameof(p), p, "not a security policy");

    private static ArgumentException NoCrypto(SecurityPolicy p)
        => p == SecurityPolicy.None ? new ArgumentException("security policy None has no algorithms", nameof(p)) : Unknown(p);

    /// <summary>The policy's asymmetric signature of <paramref name="data"/>: as many bytes as the key.</summary>
    public static byte[] AsymmetricSign(SecurityPolicy p, RSA key, ReadOnlySpan<byte> data)
        => key.SignData(data.ToArray(), HashAlgorithmName.SHA256, SignaturePadding(p));

    public static bool AsymmetricVerify(SecurityPolicy p, RSA key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
        => key.VerifyData(data, signature, HashAlgorithmName.SHA256, SignaturePadding(p));

    /// <summary>Asymmetric output block: the key size in bytes.</summary>
    public static int AsymmetricCipherBlock(RSA key) => key.KeySize / 8;

    /// <summary>Asymmetric input block: key bytes minus the OAEP overhead of the policy.</summary>
    public static int AsymmetricPlainBlock(SecurityPolicy p, RSA key) => key.KeySize / 8 - OaepOverhead(p);

    /// <summary>Encrypts block by block (each at most <see cref="AsymmetricPlainBlock"/> bytes) with the policy's RSA-OAEP.</summary>
    public static byte[] AsymmetricEncrypt(SecurityPolicy p, RSA publicKey, ReadOnlySpan<byte> plain)
    {
        var padding = EncryptionPadding(p);
        int pb = AsymmetricPlainBlock(p, publicKey), cb = AsymmetricCipherBlock(publicKey);
        int blocks = (plain.Length + pb - 1) / pb;
        var result = new byte[blocks * cb];
        for (int i = 0; i < blocks; i++)
        {
            var chunk = plain.Slice(i * pb, Math.Min(pb, plain.Length - i * pb));
            if (!publicKey.TryEncrypt(chunk, result.AsSpan(i * cb, cb), padding, out int written) || written != cb)
                throw new CryptographicException("RSA-OAEP encryption produced an unexpected length");
        }
        return result;
    }

    /// <summary>Decrypts the policy's RSA-OAEP blocks; the input must be whole cipher blocks.</summary>
    /// <exception cref="OpcUaFormatException">not whole blocks, or a block that does not decrypt.</exception>
    public static byte[] AsymmetricDecrypt(SecurityPolicy p, RSA privateKey, ReadOnlySpan<byte> cipher)
    {
        var padding = EncryptionPadding(p);
        int cb = AsymmetricCipherBlock(privateKey);
        if (cipher.Length == 0 || cipher.Length % cb != 0)
            OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, $"{cipher.Length} encrypted bytes are not whole {cb}-byte RSA blocks");
        var result = new byte[cipher.Length / cb * AsymmetricPlainBlock(p, privateKey)];
        int total = 0;
        var block = new byte[cb];
        for (int i = 0; i < cipher.Length; i += cb)
        {
            try
            {
                if (!privateKey.TryDecrypt(cipher.Slice(i, cb), block, padding, out int written))
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
    /// split into a 32-byte signing key, the policy's AES key (<see cref="EncryptionKeyLength"/>)
    /// and a 16-byte IV.
    /// </summary>
    public static SymmetricKeys DeriveKeys(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> seed, SecurityPolicy policy)
    {
        int keyLength = EncryptionKeyLength(policy);
        const int signing = SymmetricKeys.SigningKeyLength, iv = SymmetricKeys.BlockSize;
        var bytes = PSha256(secret, seed, signing + keyLength + iv);
        return new SymmetricKeys(bytes[..signing], bytes[signing..(signing + keyLength)], bytes[(signing + keyLength)..]);
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

/// <summary>One side's keys for a security token: HMAC-SHA256 signing key, AES key (128 or 256 bits), CBC IV.</summary>
public sealed class SymmetricKeys(byte[] signingKey, byte[] encryptingKey, byte[] iv) : IDisposable
{
    private readonly Aes _aes = CreateAes(encryptingKey);

    public byte[] SigningKey { get; } = signingKey;
    public byte[] EncryptingKey { get; } = encryptingKey;
    public byte[] InitializationVector { get; } = iv;

    public const int SignatureLength = 32;
    public const int SigningKeyLength = 32;
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
