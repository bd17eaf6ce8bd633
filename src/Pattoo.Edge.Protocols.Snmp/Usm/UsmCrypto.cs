using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Pattoo.Edge.Protocols.Snmp.Usm;

/// <summary>USM authentication protocols (RFC 3414 sec 6-7, RFC 7860).</summary>
public enum AuthProtocol
{
    None,
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// <summary>USM privacy protocols (RFC 3414 sec 8, RFC 3826; AES-192/256 as net-snmp's Blumenthal variant).</summary>
public enum PrivProtocol
{
    None,
    Des,
    Aes128,
    Aes192,
    Aes256,
}

/// <summary>
/// The USM key and digest arithmetic: password to key (RFC 3414 A.2), key localisation
/// (RFC 3414 sec 2.6), key extension for AES-192/256 (draft-blumenthal-aes-usm-04 sec 3.1.2.1,
/// as net-snmp does it), and the truncated HMACs (RFC 3414 sec 6.3/7.3, RFC 7860 sec 4.2).
/// </summary>
public static class UsmCrypto
{
    /// <summary>Octets of the hash and thus of a localised key.</summary>
    public static int KeyLength(AuthProtocol p) => p switch
    {
        AuthProtocol.Md5 => 16,
        AuthProtocol.Sha1 => 20,
        AuthProtocol.Sha224 => 28,
        AuthProtocol.Sha256 => 32,
        AuthProtocol.Sha384 => 48,
        AuthProtocol.Sha512 => 64,
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    /// <summary>Octets of msgAuthenticationParameters: the HMAC truncated (12, 12, 16, 24, 32, 48).</summary>
    public static int MacLength(AuthProtocol p) => p switch
    {
        AuthProtocol.Md5 or AuthProtocol.Sha1 => 12,
        AuthProtocol.Sha224 => 16,
        AuthProtocol.Sha256 => 24,
        AuthProtocol.Sha384 => 32,
        AuthProtocol.Sha512 => 48,
        AuthProtocol.None => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    /// <summary>Octets of key a privacy protocol uses (DES: 8 key + 8 pre-IV).</summary>
    public static int PrivKeyLength(PrivProtocol p) => p switch
    {
        PrivProtocol.Des => 16,
        PrivProtocol.Aes128 => 16,
        PrivProtocol.Aes192 => 24,
        PrivProtocol.Aes256 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    public static void Hash(AuthProtocol p, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        switch (p)
        {
            case AuthProtocol.Md5: MD5.HashData(data, destination); break;
            case AuthProtocol.Sha1: SHA1.HashData(data, destination); break;
            case AuthProtocol.Sha224: Sha224.HashData(data, destination); break;
            case AuthProtocol.Sha256: SHA256.HashData(data, destination); break;
            case AuthProtocol.Sha384: SHA384.HashData(data, destination); break;
            case AuthProtocol.Sha512: SHA512.HashData(data, destination); break;
            default: throw new ArgumentOutOfRangeException(nameof(p));
        }
    }

    /// <summary>The full HMAC of <paramref name="data"/> under <paramref name="key"/>.</summary>
    public static void Hmac(AuthProtocol p, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        switch (p)
        {
            case AuthProtocol.Md5: HMACMD5.HashData(key, data, destination); break;
            case AuthProtocol.Sha1: HMACSHA1.HashData(key, data, destination); break;
            case AuthProtocol.Sha224: Sha224.Hmac(key, data, destination); break;
            case AuthProtocol.Sha256: HMACSHA256.HashData(key, data, destination); break;
            case AuthProtocol.Sha384: HMACSHA384.HashData(key, data, destination); break;
            case AuthProtocol.Sha512: HMACSHA512.HashData(key, data, destination); break;
            default: throw new ArgumentOutOfRangeException(nameof(p));
        }
    }

    /// <summary>
    /// Password to key (RFC 3414 A.2.1, RFC 7860 sec 4.2.1): the hash of the password repeated
    /// to one megabyte. Takes milliseconds: do it once per user, not per message.
    /// </summary>
    public static byte[] PasswordToKey(AuthProtocol p, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        byte[] pw = Encoding.UTF8.GetBytes(password);
        const int total = 1_048_576;
        Span<byte> chunk = stackalloc byte[64];
        byte[] key = new byte[KeyLength(p)];
        int index = 0;
        if (p == AuthProtocol.Sha224)
        {
            var h = new Sha224();
            for (int count = 0; count < total; count += 64)
            {
                for (int i = 0; i < 64; i++) chunk[i] = pw[index++ % pw.Length];
                h.Append(chunk);
            }
            h.Finish(key);
            return key;
        }
        using var hash = IncrementalHash.CreateHash(HashName(p));
        for (int count = 0; count < total; count += 64)
        {
            for (int i = 0; i < 64; i++) chunk[i] = pw[index++ % pw.Length];
            hash.AppendData(chunk);
        }
        hash.GetHashAndReset(key);
        return key;
    }

    /// <summary>Key localisation (RFC 3414 sec 2.6): Kul = H(Ku || snmpEngineID || Ku).</summary>
    public static byte[] LocalizeKey(AuthProtocol p, ReadOnlySpan<byte> ku, ReadOnlySpan<byte> engineId)
    {
        byte[] buf = new byte[ku.Length * 2 + engineId.Length];
        ku.CopyTo(buf);
        engineId.CopyTo(buf.AsSpan(ku.Length));
        ku.CopyTo(buf.AsSpan(ku.Length + engineId.Length));
        byte[] kul = new byte[KeyLength(p)];
        Hash(p, buf, kul);
        return kul;
    }

    /// <summary>
    /// The privacy key from a localised key: cut to the length the cipher needs, or first
    /// lengthened by appending H(key so far) until long enough (the Blumenthal extension
    /// net-snmp applies to AES-192/256 when the hash is shorter than the cipher key).
    /// </summary>
    public static byte[] PrivacyKey(AuthProtocol p, PrivProtocol priv, ReadOnlySpan<byte> localizedKey)
    {
        int need = PrivKeyLength(priv);
        var key = new List<byte>(localizedKey.ToArray());
        Span<byte> h = stackalloc byte[64];
        while (key.Count < need)
        {
            Hash(p, key.ToArray(), h);
            for (int i = 0; i < KeyLength(p); i++) key.Add(h[i]);
        }
        return key.GetRange(0, need).ToArray();
    }

    /// <summary>
    /// Writes the truncated HMAC of a whole message into its msgAuthenticationParameters,
    /// which must hold zeros (RFC 3414 sec 6.3.1).
    /// </summary>
    public static void Sign(AuthProtocol p, ReadOnlySpan<byte> key, Span<byte> message, Segment authParameters)
    {
        if (authParameters.Length != MacLength(p)) throw new ArgumentException("msgAuthenticationParameters has the wrong length", nameof(authParameters));
        Span<byte> mac = stackalloc byte[64];
        Hmac(p, key, message, mac);
        mac[..authParameters.Length].CopyTo(authParameters.Of(message));
    }

    /// <summary>
    /// Checks a received message's digest (RFC 3414 sec 6.3.2): recomputes the HMAC with the
    /// field zeroed and compares in fixed time. The field is restored afterwards.
    /// </summary>
    public static bool Verify(AuthProtocol p, ReadOnlySpan<byte> key, Span<byte> message, Segment authParameters)
    {
        int n = MacLength(p);
        if (authParameters.Length != n) return false;
        Span<byte> received = stackalloc byte[64];
        var field = authParameters.Of(message);
        field.CopyTo(received);
        field.Clear();
        Span<byte> mac = stackalloc byte[64];
        Hmac(p, key, message, mac);
        received[..n].CopyTo(field);
        return CryptographicOperations.FixedTimeEquals(mac[..n], received[..n]);
    }

    private static HashAlgorithmName HashName(AuthProtocol p) => p switch
    {
        AuthProtocol.Md5 => HashAlgorithmName.MD5,
        AuthProtocol.Sha1 => HashAlgorithmName.SHA1,
        AuthProtocol.Sha256 => HashAlgorithmName.SHA256,
        AuthProtocol.Sha384 => HashAlgorithmName.SHA384,
        AuthProtocol.Sha512 => HashAlgorithmName.SHA512,
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };
}

/// <summary>
/// One user's privacy transform: DES-CBC (RFC 3414 sec 8) or AES-CFB128 (RFC 3826; 192 and
/// 256-bit keys the same way). Holds the cipher objects for reuse; not thread-safe.
/// </summary>
public sealed class UsmPrivacy : IDisposable
{
    private readonly PrivProtocol _protocol;
    private readonly SymmetricAlgorithm _cipher;
    private readonly byte[] _preIv = new byte[8];
    private byte[] _scratch = new byte[2048];

    /// <param name="privacyKey">from <see cref="UsmCrypto.PrivacyKey"/>.</param>
    public UsmPrivacy(PrivProtocol protocol, byte[] privacyKey)
    {
        _protocol = protocol;
        if (privacyKey.Length != UsmCrypto.PrivKeyLength(protocol)) throw new ArgumentException("privacy key of the wrong length", nameof(privacyKey));
        if (protocol == PrivProtocol.Des)
        {
#pragma warning disable CA5351 // DES is what the protocol specifies; offered for old agents only.
            _cipher = DES.Create();
#pragma warning restore CA5351
            _cipher.Key = privacyKey[..8];
            privacyKey.AsSpan(8, 8).CopyTo(_preIv);
        }
        else
        {
            _cipher = Aes.Create();
            _cipher.Key = privacyKey;
        }
    }

    /// <summary>Ciphertext length for a plaintext of <paramref name="length"/> octets.</summary>
    public int CiphertextLength(int length) => _protocol == PrivProtocol.Des ? (length + 7) & ~7 : length;

    /// <summary>
    /// Encrypts a scoped PDU. <paramref name="salt"/> is a value never reused with this key
    /// (a counter); <paramref name="privParameters"/> receives the 8 octets sent as msgPrivacyParameters.
    /// </summary>
    public int Encrypt(ReadOnlySpan<byte> plaintext, int engineBoots, int engineTime, ulong salt, Span<byte> privParameters, Span<byte> destination)
    {
        Span<byte> iv = stackalloc byte[16];
        if (_protocol == PrivProtocol.Des)
        {
            // RFC 3414 sec 8.1.1.1: salt = engineBoots || a local 32-bit integer; IV = pre-IV XOR salt.
            BinaryPrimitives.WriteInt32BigEndian(privParameters, engineBoots);
            BinaryPrimitives.WriteUInt32BigEndian(privParameters[4..], (uint)salt);
            for (int i = 0; i < 8; i++) iv[i] = (byte)(_preIv[i] ^ privParameters[i]);
            int padded = CiphertextLength(plaintext.Length);
            var buf = Scratch(padded);
            plaintext.CopyTo(buf);
            buf[plaintext.Length..padded].Clear();
            return ((DES)_cipher).EncryptCbc(buf[..padded], iv[..8], destination, PaddingMode.None);
        }
        // RFC 3826 sec 3.1.2.1: IV = engineBoots || engineTime || 64-bit salt.
        BinaryPrimitives.WriteUInt64BigEndian(privParameters, salt);
        BinaryPrimitives.WriteInt32BigEndian(iv, engineBoots);
        BinaryPrimitives.WriteInt32BigEndian(iv[4..], engineTime);
        privParameters[..8].CopyTo(iv[8..]);
        return CfbStream(plaintext, iv, destination, encrypt: true);
    }

    /// <summary>Decrypts an encryptedPDU; the result may carry padding after the scoped PDU.</summary>
    /// <exception cref="SnmpFormatException">privacy parameters or ciphertext of an impossible size.</exception>
    public int Decrypt(ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> privParameters, int engineBoots, int engineTime, Span<byte> destination)
    {
        if (privParameters.Length != 8) SnmpFormatException.Throw($"msgPrivacyParameters of {privParameters.Length} octets, expected 8");
        Span<byte> iv = stackalloc byte[16];
        if (_protocol == PrivProtocol.Des)
        {
            if (ciphertext.Length % 8 != 0) SnmpFormatException.Throw("DES ciphertext is not a multiple of 8 octets");
            for (int i = 0; i < 8; i++) iv[i] = (byte)(_preIv[i] ^ privParameters[i]);
            return ((DES)_cipher).DecryptCbc(ciphertext, iv[..8], destination, PaddingMode.None);
        }
        BinaryPrimitives.WriteInt32BigEndian(iv, engineBoots);
        BinaryPrimitives.WriteInt32BigEndian(iv[4..], engineTime);
        privParameters.CopyTo(iv[8..]);
        return CfbStream(ciphertext, iv, destination, encrypt: false);
    }

    /// <summary>
    /// AES-CFB128 is a stream mode, but .NET's one-shot CFB wants whole blocks: pad to a block
    /// multiple, transform, keep the first n octets (the pad never affects earlier octets).
    /// </summary>
    private int CfbStream(ReadOnlySpan<byte> input, ReadOnlySpan<byte> iv, Span<byte> destination, bool encrypt)
    {
        int padded = (input.Length + 15) & ~15;
        var buf = Scratch(padded * 2);
        var inBuf = buf[..padded];
        var outBuf = buf.Slice(padded, padded);
        input.CopyTo(inBuf);
        inBuf[input.Length..].Clear();
        var aes = (Aes)_cipher;
        if (encrypt) aes.EncryptCfb(inBuf, iv, outBuf, PaddingMode.None, 128);
        else aes.DecryptCfb(inBuf, iv, outBuf, PaddingMode.None, 128);
        outBuf[..input.Length].CopyTo(destination);
        return input.Length;
    }

    private Span<byte> Scratch(int length)
    {
        if (_scratch.Length < length) _scratch = new byte[Math.Max(length, _scratch.Length * 2)];
        return _scratch.AsSpan(0, length);
    }

    public void Dispose() => _cipher.Dispose();
}
