using System.Buffers.Binary;
using System.Security.Cryptography;
using Pattoo.Edge.Pollers.OpcUa;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>
/// The security policies Aes128_Sha256_RsaOaep and Aes256_Sha256_RsaPss against the real
/// node-opcua server of tests/peers/opcua/server.js: channel, session signatures, encrypted
/// password, reads and token renewal.
/// </summary>
public sealed class OpcUaSecurityPolicyTests(OpcUaServerFixture fixture) : IClassFixture<OpcUaServerFixture>
{
    private OpcUaPeer Peer => fixture.Peer;

    private async Task<T> WithPeerLog<T>(Func<Task<T>> step)
    {
        try
        {
            return await step();
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            string log = Peer.Stderr;
            throw new InvalidOperationException($"{e.GetType().Name}: {e.Message}\n--- server log (end) ---\n{log[Math.Max(0, log.Length - 3000)..]}", e);
        }
    }

    private string Config(string policy, string mode, string password = "secret") => $"""
        [[opcua.servers]]
        name = "line-3"
        endpoint = "{Peer.Endpoint}"
        security_policy = "{policy}"
        security_mode = "{mode}"
        username = "operator"
        password = "{password}"
        interval = "1s"
          [[opcua.servers.nodes]]
          node_id = "ns=1;s=Line3.Double"
          key = "double"
          [[opcua.servers.nodes]]
          node_id = "ns=1;s=Line3.Int32"
          key = "int32"
          [[opcua.servers.nodes]]
          node_id = "ns=1;s=Line3.String"
          key = "string"
          [[opcua.servers.nodes]]
          node_id = "ns=1;s=Line3.Int32Array"
          key = "ints"
        """;

    public static TheoryData<string, string, SecurityPolicy, MessageSecurityMode> PoliciesAndModes => new()
    {
        { "Aes128_Sha256_RsaOaep", "Sign", SecurityPolicy.Aes128_Sha256_RsaOaep, MessageSecurityMode.Sign },
        { "Aes128_Sha256_RsaOaep", "SignAndEncrypt", SecurityPolicy.Aes128_Sha256_RsaOaep, MessageSecurityMode.SignAndEncrypt },
        { "Aes256_Sha256_RsaPss", "Sign", SecurityPolicy.Aes256_Sha256_RsaPss, MessageSecurityMode.Sign },
        { "Aes256_Sha256_RsaPss", "SignAndEncrypt", SecurityPolicy.Aes256_Sha256_RsaPss, MessageSecurityMode.SignAndEncrypt },
    };

    [Theory]
    [MemberData(nameof(PoliciesAndModes))]
    public async Task PollsWithUserNameOverThePolicy(string policyName, string modeName, SecurityPolicy policy, MessageSecurityMode mode)
    {
        await using var poller = OpcUaTestSupport.Poller(Config(policyName, modeName), fixture.StateTrustingServer());
        var (batch, report) = await WithPeerLog(() => OpcUaTestSupport.PollAsync(poller));
        Assert.Empty(report.Problems);
        var v = OpcUaTestSupport.ByKeyAndIndex(batch);
        Assert.Equal(3.25, v["double"].Value);
        Assert.Equal(-320000, v["int32"].Value);
        Assert.Equal("hello é", v["string"].Text);
        Assert.Equal(20, v["ints[1]"].Value);
        Assert.Equal(policy, poller.Session!.Channel.Policy);
        Assert.Equal(mode, poller.Session.Channel.Mode);
        Assert.Equal(SecurityPolicies.Uri(policy), poller.Session.Endpoint.SecurityPolicyUri);
        // A second poll runs on the same channel and session.
        var (again, againReport) = await WithPeerLog(() => OpcUaTestSupport.PollAsync(poller));
        Assert.Empty(againReport.Problems);
        Assert.Equal(batch.Count, again.Count);
        Assert.Equal(1, poller.Counters[OpcUaCounter.SessionsOpened]);
    }

    [Theory]
    [InlineData("Aes128_Sha256_RsaOaep")]
    [InlineData("Aes256_Sha256_RsaPss")]
    public async Task WrongPasswordIsRefusedClearly(string policyName)
    {
        await using var poller = OpcUaTestSupport.Poller(Config(policyName, "SignAndEncrypt", "wrong"), fixture.StateTrustingServer());
        var e = await Assert.ThrowsAsync<OpcUaServiceException>(() => OpcUaTestSupport.PollAsync(poller));
        Assert.Contains("refused user \"operator\"", e.Message);
        Assert.True(e.Status.IsBad);
    }

    /// <summary>
    /// The renewal is an OpenSecureChannel with the policy's asymmetric algorithms and new derived
    /// keys. A 4 s token is renewed at 3 s: with 2 s, a renewal delayed half a second on a loaded
    /// 2-core machine (RSA work) found the server had dropped the old token.
    /// </summary>
    [Theory]
    [InlineData(SecurityPolicy.Aes128_Sha256_RsaOaep)]
    [InlineData(SecurityPolicy.Aes256_Sha256_RsaPss)]
    public async Task SecurityTokenIsRenewed(SecurityPolicy policy)
    {
        var store = new OpcUaCertificateStore(Path.Combine(fixture.EmptyState(), "pki"), "renew-test");
        var own = store.GetApplicationCertificate();
        await using var channel = await WithPeerLog(() => UaChannel.OpenAsync("127.0.0.1", Peer.Port, Peer.Endpoint, policy,
            MessageSecurityMode.SignAndEncrypt, own, Peer.Certificate, TimeSpan.FromSeconds(5), CancellationToken.None, TimeSpan.FromSeconds(4)));
        uint firstToken = channel.Token!.TokenId;
        var until = DateTime.UtcNow.AddSeconds(20);
        while (channel.Renewals < 1 && DateTime.UtcNow < until)
        {
            var r = await channel.CallAsync("GetEndpoints", (w, h) => UaServices.WriteGetEndpoints(w, h, Peer.Endpoint),
                EncodingIds.GetEndpointsResponse, UaServices.DecodeGetEndpoints, TimeSpan.FromSeconds(5), CancellationToken.None);
            Assert.Contains(r.Endpoints, e => e.SecurityPolicyUri == SecurityPolicies.Uri(policy));
            await Task.Delay(250);
        }
        Assert.True(channel.Renewals >= 1, $"renewals: {channel.Renewals}");
        Assert.NotEqual(firstToken, channel.Token.TokenId);
        var after = await channel.CallAsync("GetEndpoints", (w, h) => UaServices.WriteGetEndpoints(w, h, Peer.Endpoint),
            EncodingIds.GetEndpointsResponse, UaServices.DecodeGetEndpoints, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.NotEmpty(after.Endpoints);
        Assert.True(channel.IsOpen);
        await channel.CloseAsync();
    }

    [Theory]
    [InlineData("Aes128_Sha256_RsaOaep", SecurityPolicy.Aes128_Sha256_RsaOaep)]
    [InlineData("Aes256_Sha256_RsaPss", SecurityPolicy.Aes256_Sha256_RsaPss)]
    public void ConfigAcceptsThePolicyWithSignAndEncryptByDefault(string name, SecurityPolicy policy)
    {
        var options = OpcUaTestSupport.Bind($"""
            [[opcua.servers]]
            name = "x"
            endpoint = "opc.tcp://192.0.2.40:4840"
            security_policy = "{name}"
              [[opcua.servers.nodes]]
              node_id = "i=2258"
              key = "k"
            """);
        var server = Assert.Single(options.Servers);
        Assert.Equal(policy, server.SecurityPolicy);
        Assert.Equal(MessageSecurityMode.SignAndEncrypt, server.SecurityMode);
        Assert.Equal($"{name}/SignAndEncrypt", server.SecurityDescription);
    }
}

/// <summary>The asymmetric and key-derivation functions of each policy, byte for byte, checked against .NET's RSA and AES.</summary>
public sealed class OpcUaSecurityPolicyCryptoTests
{
    private static readonly SecurityPolicy[] Secured =
        [SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityPolicy.Aes256_Sha256_RsaPss];

    private static RSAEncryptionPadding ExpectedEncryption(SecurityPolicy p)
        => p == SecurityPolicy.Aes256_Sha256_RsaPss ? RSAEncryptionPadding.OaepSHA256 : RSAEncryptionPadding.OaepSHA1;

    private static RSASignaturePadding ExpectedSignature(SecurityPolicy p)
        => p == SecurityPolicy.Aes256_Sha256_RsaPss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;

    [Fact]
    public void NamesAndUrisRoundTrip()
    {
        Assert.Equal(4, SecurityPolicies.All.Count);
        foreach (var p in SecurityPolicies.All)
        {
            Assert.True(SecurityPolicies.TryFromUri(SecurityPolicies.Uri(p), out var fromUri));
            Assert.Equal(p, fromUri);
            Assert.True(SecurityPolicies.TryFromName(SecurityPolicies.Name(p), out var fromName));
            Assert.Equal(p, fromName);
            Assert.Equal(SecurityPolicies.Name(p), SecurityPolicies.Uri(p).Split('#')[1]);
        }
        Assert.Equal("http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep", SecurityPolicies.Uri(SecurityPolicy.Aes128_Sha256_RsaOaep));
        Assert.Equal("http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss", SecurityPolicies.Uri(SecurityPolicy.Aes256_Sha256_RsaPss));
        Assert.False(SecurityPolicies.TryFromUri("http://opcfoundation.org/UA/SecurityPolicy#Basic128Rsa15", out _));
        Assert.False(SecurityPolicies.TryFromName("aes256_sha256_rsapss", out _));
    }

    [Fact]
    public void AlgorithmUrisPerPolicy()
    {
        Assert.Equal("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", SecurityPolicies.SignatureUri(SecurityPolicy.Basic256Sha256));
        Assert.Equal("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", SecurityPolicies.SignatureUri(SecurityPolicy.Aes128_Sha256_RsaOaep));
        Assert.Equal("http://opcfoundation.org/UA/security/rsa-pss-sha2-256", SecurityPolicies.SignatureUri(SecurityPolicy.Aes256_Sha256_RsaPss));
        Assert.Equal("http://www.w3.org/2001/04/xmlenc#rsa-oaep", SecurityPolicies.PasswordEncryptionUri(SecurityPolicy.Basic256Sha256));
        Assert.Equal("http://www.w3.org/2001/04/xmlenc#rsa-oaep", SecurityPolicies.PasswordEncryptionUri(SecurityPolicy.Aes128_Sha256_RsaOaep));
        Assert.Equal("http://opcfoundation.org/UA/security/rsa-oaep-sha2-256", SecurityPolicies.PasswordEncryptionUri(SecurityPolicy.Aes256_Sha256_RsaPss));
        Assert.Throws<ArgumentException>(() => SecurityPolicies.SignatureUri(SecurityPolicy.None));
        Assert.Throws<ArgumentException>(() => SecurityPolicies.PasswordEncryptionUri(SecurityPolicy.None));
        Assert.Equal(16, SecurityPolicies.EncryptionKeyLength(SecurityPolicy.Aes128_Sha256_RsaOaep));
        Assert.Equal(32, SecurityPolicies.EncryptionKeyLength(SecurityPolicy.Aes256_Sha256_RsaPss));
        Assert.Equal(32, SecurityPolicies.EncryptionKeyLength(SecurityPolicy.Basic256Sha256));
        foreach (var p in Secured) Assert.Equal(32, SecurityPolicies.NonceLength(p));
    }

    [Theory]
    [InlineData(SecurityPolicy.Basic256Sha256, 2048, 214)]
    [InlineData(SecurityPolicy.Aes128_Sha256_RsaOaep, 2048, 214)]
    [InlineData(SecurityPolicy.Aes256_Sha256_RsaPss, 2048, 190)]
    [InlineData(SecurityPolicy.Aes128_Sha256_RsaOaep, 4096, 470)]
    [InlineData(SecurityPolicy.Aes256_Sha256_RsaPss, 4096, 446)]
    public void AsymmetricEncryptionDecryptsWithDotNetOaepOfThePolicy(SecurityPolicy policy, int bits, int plainBlock)
    {
        using var key = RSA.Create(bits);
        Assert.Equal(plainBlock, SecurityPolicies.AsymmetricPlainBlock(policy, key));
        Assert.Equal(bits / 8, SecurityPolicies.AsymmetricCipherBlock(key));
        var plain = new byte[plainBlock * 2 + 5]; // two whole blocks and a short one
        new Random(bits + (int)policy).NextBytes(plain);
        var cipher = SecurityPolicies.AsymmetricEncrypt(policy, key, plain);
        Assert.Equal(3 * bits / 8, cipher.Length);
        var decrypted = new List<byte>();
        for (int i = 0; i < cipher.Length; i += bits / 8)
            decrypted.AddRange(key.Decrypt(cipher.AsSpan(i, bits / 8).ToArray(), ExpectedEncryption(policy)));
        Assert.Equal(plain, decrypted.ToArray());
        // The other OAEP hash does not open it.
        var other = ExpectedEncryption(policy) == RSAEncryptionPadding.OaepSHA1 ? RSAEncryptionPadding.OaepSHA256 : RSAEncryptionPadding.OaepSHA1;
        Assert.ThrowsAny<CryptographicException>(() => key.Decrypt(cipher.AsSpan(0, bits / 8).ToArray(), other));
        // And our decryption reads it back.
        Assert.Equal(plain, SecurityPolicies.AsymmetricDecrypt(policy, key, cipher));
    }

    [Fact]
    public void AsymmetricDecryptionReadsDotNetOaepSha256AndRefusesTheWrongHash()
    {
        using var key = RSA.Create(2048);
        var plain = new byte[190];
        new Random(3).NextBytes(plain);
        var cipher = key.Encrypt(plain, RSAEncryptionPadding.OaepSHA256);
        Assert.Equal(plain, SecurityPolicies.AsymmetricDecrypt(SecurityPolicy.Aes256_Sha256_RsaPss, key, cipher));
        var e = Assert.Throws<OpcUaFormatException>(() => SecurityPolicies.AsymmetricDecrypt(SecurityPolicy.Aes128_Sha256_RsaOaep, key, cipher));
        Assert.Contains("does not decrypt", e.Message);
        Assert.Throws<OpcUaFormatException>(() => SecurityPolicies.AsymmetricDecrypt(SecurityPolicy.Aes256_Sha256_RsaPss, key, cipher.AsSpan(1).ToArray()));
    }

    [Theory]
    [InlineData(SecurityPolicy.Basic256Sha256)]
    [InlineData(SecurityPolicy.Aes128_Sha256_RsaOaep)]
    [InlineData(SecurityPolicy.Aes256_Sha256_RsaPss)]
    public void AsymmetricSignaturesVerifyWithDotNetPaddingOfThePolicy(SecurityPolicy policy)
    {
        using var key = RSA.Create(2048);
        byte[] data = new byte[1000];
        new Random(5).NextBytes(data);
        var signature = SecurityPolicies.AsymmetricSign(policy, key, data);
        Assert.Equal(256, signature.Length);
        Assert.True(key.VerifyData(data, signature, HashAlgorithmName.SHA256, ExpectedSignature(policy)));
        Assert.True(SecurityPolicies.AsymmetricVerify(policy, key, data, signature));
        var other = ExpectedSignature(policy) == RSASignaturePadding.Pss ? RSASignaturePadding.Pkcs1 : RSASignaturePadding.Pss;
        Assert.False(key.VerifyData(data, signature, HashAlgorithmName.SHA256, other));
        data[10] ^= 1;
        Assert.False(SecurityPolicies.AsymmetricVerify(policy, key, data, signature));
    }

    [Fact]
    public void PssSignaturesAreSaltedPkcs1AreNot()
    {
        using var key = RSA.Create(2048);
        byte[] data = [1, 2, 3];
        var pss1 = SecurityPolicies.AsymmetricSign(SecurityPolicy.Aes256_Sha256_RsaPss, key, data);
        var pss2 = SecurityPolicies.AsymmetricSign(SecurityPolicy.Aes256_Sha256_RsaPss, key, data);
        Assert.NotEqual(pss1, pss2);
        Assert.True(SecurityPolicies.AsymmetricVerify(SecurityPolicy.Aes256_Sha256_RsaPss, key, data, pss2));
        Assert.Equal(SecurityPolicies.AsymmetricSign(SecurityPolicy.Basic256Sha256, key, data),
            SecurityPolicies.AsymmetricSign(SecurityPolicy.Aes128_Sha256_RsaOaep, key, data));
        // A PSS signature is no PKCS#1 signature and the other way round.
        Assert.False(SecurityPolicies.AsymmetricVerify(SecurityPolicy.Aes128_Sha256_RsaOaep, key, data, pss1));
        Assert.False(SecurityPolicies.AsymmetricVerify(SecurityPolicy.Aes256_Sha256_RsaPss, key, data,
            SecurityPolicies.AsymmetricSign(SecurityPolicy.Aes128_Sha256_RsaOaep, key, data)));
        Assert.Throws<ArgumentException>(() => SecurityPolicies.AsymmetricSign(SecurityPolicy.None, key, data));
    }

    [Theory]
    [InlineData(SecurityPolicy.Basic256Sha256, 32)]
    [InlineData(SecurityPolicy.Aes128_Sha256_RsaOaep, 16)]
    [InlineData(SecurityPolicy.Aes256_Sha256_RsaPss, 32)]
    public void DerivedKeysSplitPSha256ByThePolicyLengths(SecurityPolicy policy, int aesKeyLength)
    {
        byte[] secret = new byte[32], seed = new byte[32];
        new Random(11).NextBytes(secret);
        new Random(12).NextBytes(seed);
        using var keys = SecurityPolicies.DeriveKeys(secret, seed, policy);
        var stream = SecurityPolicies.PSha256(secret, seed, 32 + aesKeyLength + 16);
        Assert.Equal(stream[..32], keys.SigningKey);
        Assert.Equal(stream[32..(32 + aesKeyLength)], keys.EncryptingKey);
        Assert.Equal(stream[(32 + aesKeyLength)..], keys.InitializationVector);
        Assert.Throws<ArgumentException>(() => SecurityPolicies.DeriveKeys(secret, seed, SecurityPolicy.None));

        // AES-CBC with a key of that length (AES-128 or AES-256), no padding; HMAC-SHA256 signatures.
        var plain = new byte[64];
        new Random(13).NextBytes(plain);
        var cipher = new byte[64];
        keys.Encrypt(plain, cipher);
        using var aes = Aes.Create();
        aes.Key = stream[32..(32 + aesKeyLength)];
        Assert.Equal(aesKeyLength * 8, aes.KeySize);
        Assert.Equal(aes.EncryptCbc(plain, keys.InitializationVector, PaddingMode.None), cipher);
        var back = new byte[64];
        keys.Decrypt(cipher, back);
        Assert.Equal(plain, back);
        var sig = new byte[SymmetricKeys.SignatureLength];
        keys.Sign(plain, sig);
        Assert.Equal(HMACSHA256.HashData(keys.SigningKey, plain), sig);
    }

    /// <summary>OpenSecureChannel chunks one codec writes and the other reads, with 2048- and 4096-bit keys (extra padding byte).</summary>
    [Theory]
    [InlineData(SecurityPolicy.Aes128_Sha256_RsaOaep, 2048)]
    [InlineData(SecurityPolicy.Aes256_Sha256_RsaPss, 2048)]
    [InlineData(SecurityPolicy.Aes128_Sha256_RsaOaep, 4096)]
    [InlineData(SecurityPolicy.Aes256_Sha256_RsaPss, 4096)]
    public void OpenSecureChannelChunksRoundTrip(SecurityPolicy policy, int bits)
    {
        using var clientKey = RSA.Create(bits);
        using var serverKey = RSA.Create(bits);
        byte[] clientCert = OpcUaCodecTests.SelfSigned(clientKey), serverCert = OpcUaCodecTests.SelfSigned(serverKey);
        using var client = new SecureChannelCodec(policy, MessageSecurityMode.SignAndEncrypt, clientCert, clientKey, serverCert);
        using var server = new SecureChannelCodec(policy, MessageSecurityMode.SignAndEncrypt, serverCert, serverKey, clientCert);
        foreach (int size in new[] { 1, 100, 1000 })
        {
            var body = new byte[size];
            new Random(size).NextBytes(body);
            var w = new UaWriter();
            client.EncodeOpen(w, 42, body);
            var wire = w.ToArray();
            // Header, security header, then whole RSA blocks.
            int headerEnd = UaMessageHeader.Length + 4 + 4 + SecurityPolicies.Uri(policy).Length + 4 + clientCert.Length + 4 + 20;
            Assert.Equal(0, (wire.Length - headerEnd) % (bits / 8));
            var chunk = server.DecodeChunk(wire, wire.Length);
            Assert.Equal(UaMessageType.OpenSecureChannel, chunk.Type);
            Assert.Equal(42u, chunk.RequestId);
            Assert.Equal(body, chunk.Body.ToArray());
        }
        // A chunk of the other new policy is refused.
        var otherPolicy = policy == SecurityPolicy.Aes128_Sha256_RsaOaep ? SecurityPolicy.Aes256_Sha256_RsaPss : SecurityPolicy.Aes128_Sha256_RsaOaep;
        using var other = new SecureChannelCodec(otherPolicy, MessageSecurityMode.SignAndEncrypt, clientCert, clientKey, serverCert);
        var ow = new UaWriter();
        other.EncodeOpen(ow, 1, new byte[10]);
        var owire = ow.ToArray();
        using var fresh = new SecureChannelCodec(policy, MessageSecurityMode.SignAndEncrypt, serverCert, serverKey, clientCert);
        Assert.Throws<OpcUaFormatException>(() => fresh.DecodeChunk(owire, owire.Length));
    }

    [Theory]
    [InlineData(SecurityPolicy.Aes128_Sha256_RsaOaep)]
    [InlineData(SecurityPolicy.Aes256_Sha256_RsaPss)]
    public void SymmetricChunksRoundTripWithThePolicyKeys(SecurityPolicy policy)
    {
        using var clientKey = RSA.Create(2048);
        using var serverKey = RSA.Create(2048);
        byte[] clientCert = OpcUaCodecTests.SelfSigned(clientKey), serverCert = OpcUaCodecTests.SelfSigned(serverKey);
        byte[] cn = RandomNumberGenerator.GetBytes(32), sn = RandomNumberGenerator.GetBytes(32);
        foreach (var mode in new[] { MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt })
        {
            using var client = new SecureChannelCodec(policy, mode, clientCert, clientKey, serverCert) { ChannelId = 5, SendChunkSize = 8192 };
            using var peer = new SecureChannelCodec(policy, mode, serverCert, serverKey, clientCert) { ChannelId = 5, ReceiveChunkSize = 8192 };
            client.ActivateToken(9, SecurityPolicies.DeriveKeys(sn, cn, policy), SecurityPolicies.DeriveKeys(cn, sn, policy));
            peer.ActivateToken(9, SecurityPolicies.DeriveKeys(cn, sn, policy), SecurityPolicies.DeriveKeys(sn, cn, policy));
            var body = new byte[20000];
            new Random(1).NextBytes(body);
            var w = new UaWriter();
            client.EncodeSymmetric(w, UaMessageType.Message, 77, body);
            var assembler = new MessageAssembler(1 << 20, 0);
            var wire = w.ToArray();
            int at = 0;
            byte[]? message = null;
            while (at < wire.Length)
            {
                Assert.True(UaMessageHeader.TryRead(wire.AsSpan(at), 8192, out var h));
                var chunk = wire.AsSpan(at, h.Size).ToArray();
                if (mode == MessageSecurityMode.SignAndEncrypt) Assert.Equal(0, (h.Size - 16) % SymmetricKeys.BlockSize);
                if (assembler.Add(peer.DecodeChunk(chunk, chunk.Length), out var m, out _)) message = m;
                at += h.Size;
            }
            Assert.Equal(body, message);
        }
    }

    [Theory]
    [InlineData(SecurityPolicy.Basic256Sha256)]
    [InlineData(SecurityPolicy.Aes128_Sha256_RsaOaep)]
    [InlineData(SecurityPolicy.Aes256_Sha256_RsaPss)]
    public void PasswordIsEncryptedWithTheOaepOfThePolicy(SecurityPolicy policy)
    {
        using var key = RSA.Create(2048);
        byte[] cert = OpcUaCodecTests.SelfSigned(key);
        byte[] password = "secret"u8.ToArray();
        byte[] nonce = RandomNumberGenerator.GetBytes(32);
        var secret = UaSession.EncryptPassword(policy, password, nonce, cert);
        Assert.Equal(256, secret.Length);
        var plain = key.Decrypt(secret, ExpectedEncryption(policy));
        Assert.Equal((uint)(password.Length + nonce.Length), BinaryPrimitives.ReadUInt32LittleEndian(plain));
        Assert.Equal(password, plain[4..(4 + password.Length)]);
        Assert.Equal(nonce, plain[(4 + password.Length)..]);
    }
}
