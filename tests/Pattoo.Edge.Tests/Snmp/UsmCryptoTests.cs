using System.Text;
using Pattoo.Edge.Protocols.Snmp;
using Pattoo.Edge.Protocols.Snmp.Usm;

namespace Pattoo.Edge.Tests.Snmp;

/// <summary>USM key arithmetic against published vectors (RFC 3414 A.3, FIPS 180-4, RFC 4231).</summary>
public sealed class UsmCryptoTests
{
    private static readonly byte[] EngineId = Convert.FromHexString("000000000000000000000002");

    [Theory]
    // RFC 3414 A.3.1: password "maplesyrup", MD5.
    [InlineData(AuthProtocol.Md5, "9FAF3283884E92834EBC9847D8EDD963", "526F5EED9FCCE26F8964C2930787D82B")]
    // RFC 3414 A.3.2: the same password, SHA-1.
    [InlineData(AuthProtocol.Sha1, "9FB5CC0381497B3793528939FF788D5D79145211", "6695FEBC9288E36282235FC7151F128497B38F3F")]
    public void PasswordToKeyAndLocalisationMatchRfc3414(AuthProtocol protocol, string ku, string kul)
    {
        var key = UsmCrypto.PasswordToKey(protocol, "maplesyrup");
        Assert.Equal(ku, Convert.ToHexString(key));
        Assert.Equal(kul, Convert.ToHexString(UsmCrypto.LocalizeKey(protocol, key, EngineId)));
    }

    [Fact]
    public void Sha224MatchesFips180AndRfc4231()
    {
        var digest = new byte[28];
        Sha224.HashData("abc"u8, digest);
        Assert.Equal("23097D223405D8228642A477BDA255B32AADBCE4BDA0B3F7E36C9DA7", Convert.ToHexString(digest));
        Sha224.HashData(Encoding.ASCII.GetBytes(new string('a', 1000)), digest); // several blocks, streamed
        var incremental = new Sha224();
        for (int i = 0; i < 10; i++) incremental.Append(Encoding.ASCII.GetBytes(new string('a', 100)));
        var digest2 = new byte[28];
        incremental.Finish(digest2);
        Assert.Equal(digest, digest2);
        Sha224.Hmac("Jefe"u8, "what do ya want for nothing?"u8, digest);
        Assert.Equal("A30E01098BC6DBBF45690F3A7E9E6D0F8BBEA2A39E6148008FD05E44", Convert.ToHexString(digest));
    }

    [Theory]
    [InlineData(AuthProtocol.Md5, 16, 12)]
    [InlineData(AuthProtocol.Sha1, 20, 12)]
    [InlineData(AuthProtocol.Sha224, 28, 16)]
    [InlineData(AuthProtocol.Sha256, 32, 24)]
    [InlineData(AuthProtocol.Sha384, 48, 32)]
    [InlineData(AuthProtocol.Sha512, 64, 48)]
    public void SignsAndVerifiesWithTheTruncationOfEachProtocol(AuthProtocol protocol, int keyLength, int macLength)
    {
        var key = UsmCrypto.LocalizeKey(protocol, UsmCrypto.PasswordToKey(protocol, "authpassword"), EngineId);
        Assert.Equal(keyLength, key.Length);
        Assert.Equal(macLength, UsmCrypto.MacLength(protocol));
        var message = new byte[64 + macLength];
        new Random(1).NextBytes(message);
        var field = new Segment(20, macLength);
        field.Of(message.AsSpan()).Clear();
        UsmCrypto.Sign(protocol, key, message, field);
        Assert.True(UsmCrypto.Verify(protocol, key, message, field));
        message[3] ^= 1;
        Assert.False(UsmCrypto.Verify(protocol, key, message, field));
    }

    [Theory]
    [InlineData(PrivProtocol.Des, 37)]
    [InlineData(PrivProtocol.Aes128, 37)]
    [InlineData(PrivProtocol.Aes192, 16)]
    [InlineData(PrivProtocol.Aes256, 1)]
    public void EncryptsAndDecryptsAnyLength(PrivProtocol protocol, int length)
    {
        var kul = UsmCrypto.LocalizeKey(AuthProtocol.Sha1, UsmCrypto.PasswordToKey(AuthProtocol.Sha1, "privpassword"), EngineId);
        var key = UsmCrypto.PrivacyKey(AuthProtocol.Sha1, protocol, kul);
        Assert.Equal(UsmCrypto.PrivKeyLength(protocol), key.Length);
        using var privacy = new UsmPrivacy(protocol, key);
        var plain = new byte[length];
        new Random(length).NextBytes(plain);
        var privParams = new byte[8];
        var cipher = new byte[length + 16];
        int n = privacy.Encrypt(plain, 3, 1000, 42, privParams, cipher);
        Assert.Equal(privacy.CiphertextLength(length), n);
        var back = new byte[n + 16];
        int m = privacy.Decrypt(cipher.AsSpan(0, n), privParams, 3, 1000, back);
        Assert.Equal(plain, back[..length]);
        Assert.True(m >= length);
    }

    [Fact]
    public void KeyExtensionAppendsTheHashOfTheKeySoFar()
    {
        // SHA-1 gives 20 octets; AES-256 needs 32: Kul || H(Kul), cut to 32 (net-snmp's Blumenthal extension).
        var kul = Convert.FromHexString("6695FEBC9288E36282235FC7151F128497B38F3F");
        var extended = UsmCrypto.PrivacyKey(AuthProtocol.Sha1, PrivProtocol.Aes256, kul);
        var h = System.Security.Cryptography.SHA1.HashData(kul);
        Assert.Equal([.. kul, .. h[..12]], extended);
    }
}
