using System.Diagnostics;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>
/// Malformed input ends in <see cref="OpcUaFormatException"/> and nothing else: no index error,
/// no overflow, no huge allocation, no hang. Seeded, so a failure reproduces.
/// </summary>
public sealed class OpcUaFuzzTests
{
    public static TheoryData<string, string, OpcUaFormatError> InvalidData => new()
    {
        { "String length past the end", "0C 05000000 6869", OpcUaFormatError.Truncated },
        { "String length below -1", "0C FEFFFFFF", OpcUaFormatError.BadLength },
        { "Variant type id 26", "1A", OpcUaFormatError.BadEncoding },
        { "array of type Null", "80 01000000", OpcUaFormatError.BadEncoding },
        { "dimensions without array", "46 01000000", OpcUaFormatError.BadEncoding },
        { "array length huge", "86 FFFFFF7F", OpcUaFormatError.Truncated },
        { "dimensions do not match", "C6 01000000 05000000 01000000 02000000", OpcUaFormatError.BadLength },
        { "NodeId encoding 6", "11 06 00", OpcUaFormatError.BadEncoding },
        { "NodeId with expanded flags", "11 80 00", OpcUaFormatError.BadEncoding },
        { "ExtensionObject encoding 3", "16 00 00 03", OpcUaFormatError.BadEncoding },
        { "LocalizedText mask 0x04", "15 04", OpcUaFormatError.BadEncoding },
        { "DataValue mask 0x40", "17 40", OpcUaFormatError.BadEncoding },
        { "nested Variants", string.Concat(Enumerable.Repeat("98 01000000 ", 40)), OpcUaFormatError.TooDeep },
        { "empty", "", OpcUaFormatError.Truncated },
    };

    [Theory]
    [MemberData(nameof(InvalidData))]
    public void InvalidVariant(string description, string hex, OpcUaFormatError error)
    {
        byte[] bytes = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        var e = Assert.Throws<OpcUaFormatException>(() => { var r = new UaReader(bytes); r.Variant(); });
        Assert.True(error == e.Error, $"{description}: {e.Error}: {e.Message}");
    }

    [Theory]
    [InlineData("XYZF", "10000000", "unknown message type")]
    [InlineData("MSGX", "10000000", "unknown chunk type")]
    [InlineData("MSGF", "04000000", "message size 4")]
    [InlineData("MSGF", "00000100", "message size 65536")]
    [InlineData("HELC", "20000000", "must be final")]
    public void InvalidHeader(string type, string sizeHex, string why)
    {
        byte[] header = [.. System.Text.Encoding.ASCII.GetBytes(type), .. Convert.FromHexString(sizeHex)];
        var e = Assert.Throws<OpcUaFormatException>(() => UaMessageHeader.TryRead(header, 65535, out _));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    /// <summary>Random bytes and mutations of valid responses through every response decoder.</summary>
    [Fact]
    public void RandomAndMutatedResponsesOnlyThrowTheCodecException()
    {
        var rng = new Random(20240607);
        var valid = ValidResponses();
        var watch = Stopwatch.StartNew();
        int decoded = 0, rejected = 0;
        for (int i = 0; i < 20000; i++)
        {
            byte[] input;
            if (i % 4 == 0)
            {
                input = new byte[rng.Next(0, 200)];
                rng.NextBytes(input);
            }
            else
            {
                var (_, bytes) = valid[rng.Next(valid.Count)];
                input = Mutate(bytes, rng);
            }
            foreach (var decode in Decoders)
            {
                try
                {
                    decode(input);
                    decoded++;
                }
                catch (OpcUaFormatException)
                {
                    rejected++;
                }
            }
        }
        Assert.True(rejected > 0 && decoded > 0, $"decoded {decoded}, rejected {rejected}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}");
    }

    /// <summary>Random and mutated chunks through a secured codec: only the codec's exception, never a hang.</summary>
    [Fact]
    public void MutatedChunksOnlyThrowTheCodecException()
    {
        using var clientKey = System.Security.Cryptography.RSA.Create(2048);
        using var serverKey = System.Security.Cryptography.RSA.Create(2048);
        byte[] clientCert = OpcUaCodecTests.SelfSigned(clientKey), serverCert = OpcUaCodecTests.SelfSigned(serverKey);
        var rng = new Random(7);
        byte[] cn = new byte[32], sn = new byte[32];
        rng.NextBytes(cn);
        rng.NextBytes(sn);
        foreach (var mode in new[] { MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt })
        {
            var policy = mode == MessageSecurityMode.None ? SecurityPolicy.None : SecurityPolicy.Basic256Sha256;
            var sender = new SecureChannelCodec(policy, mode, clientCert, clientKey, serverCert) { ChannelId = 3 };
            sender.ActivateToken(1, SecurityPolicies.DeriveKeys(sn, cn, SecurityPolicy.Basic256Sha256), SecurityPolicies.DeriveKeys(cn, sn, SecurityPolicy.Basic256Sha256));
            var w = new UaWriter();
            var body = new byte[300];
            rng.NextBytes(body);
            sender.EncodeSymmetric(w, UaMessageType.Message, 1, body);
            byte[] good = w.ToArray();
            int accepted = 0;
            for (int i = 0; i < 3000; i++)
            {
                var receiver = new SecureChannelCodec(policy, mode, serverCert, serverKey, clientCert) { ChannelId = 3 };
                receiver.ActivateToken(1, SecurityPolicies.DeriveKeys(cn, sn, SecurityPolicy.Basic256Sha256), SecurityPolicies.DeriveKeys(sn, cn, SecurityPolicy.Basic256Sha256));
                byte[] input = i == 0 ? (byte[])good.Clone() : Mutate(good, rng);
                try
                {
                    receiver.DecodeChunk(input, input.Length);
                    accepted++;
                }
                catch (OpcUaFormatException)
                {
                }
            }
            Assert.True(accepted >= 1);
            if (mode != MessageSecurityMode.None) Assert.True(accepted < 50, $"{mode}: {accepted} mutated chunks passed the signature check");
        }
    }

    private static byte[] Mutate(byte[] bytes, Random rng)
    {
        var m = (byte[])bytes.Clone();
        switch (rng.Next(4))
        {
            case 0:
                for (int k = rng.Next(1, 4); k > 0 && m.Length > 0; k--) m[rng.Next(m.Length)] = (byte)rng.Next(256);
                return m;
            case 1:
                return m.AsSpan(0, rng.Next(m.Length + 1)).ToArray();
            case 2:
                if (m.Length >= 4)
                {
                    int at = rng.Next(m.Length - 3);
                    BitConverter.TryWriteBytes(m.AsSpan(at), rng.Next(3) switch { 0 => -1, 1 => int.MaxValue, _ => rng.Next(-5, 100000) });
                }
                return m;
            default:
                var extra = new byte[rng.Next(1, 16)];
                rng.NextBytes(extra);
                return [.. m, .. extra];
        }
    }

    private static readonly Action<byte[]>[] Decoders =
    [
        b => UaServices.Decode(b, EncodingIds.ReadResponse, UaServices.DecodeRead, out _),
        b => UaServices.Decode(b, EncodingIds.PublishResponse, UaServices.DecodePublish, out _),
        b => UaServices.Decode(b, EncodingIds.GetEndpointsResponse, UaServices.DecodeGetEndpoints, out _),
        b => UaServices.Decode(b, EncodingIds.CreateSessionResponse, UaServices.DecodeCreateSession, out _),
        b => UaServices.Decode(b, EncodingIds.BrowseResponse, UaServices.DecodeBrowse, out _),
        b => UaServices.Decode(b, EncodingIds.BrowseNextResponse, UaServices.DecodeBrowseNext, out _),
        b => UaServices.Decode(b, EncodingIds.TransferSubscriptionsResponse, UaServices.DecodeTransferSubscriptions, out _),
        b => UaTcpMessages.ReadAcknowledge(b),
        b => { var r = new UaReader(b); r.DataValue(); },
    ];

    /// <summary>Valid responses built with the writer, as the server would send them.</summary>
    private static List<(string, byte[])> ValidResponses()
    {
        static void Header(UaWriter w, uint type)
        {
            w.NodeId(new NodeId(0, type));
            w.DateTime(DateTime.UtcNow);
            w.UInt32(1);
            w.UInt32(0);
            w.Byte(0);
            w.Int32(-1);
            w.NullExtensionObject();
        }
        var list = new List<(string, byte[])>();
        var w = new UaWriter();
        Header(w, EncodingIds.ReadResponse);
        w.Int32(4);
        w.DataValue(new DataValue(Variant.From(1.5), default, DateTime.UtcNow));
        w.DataValue(new DataValue(Variant.FromArray(BuiltInType.String, new string?[] { "a", null })));
        w.DataValue(new DataValue(Variant.Null, new StatusCode(0x80340000)));
        w.DataValue(new DataValue(Variant.FromArray(BuiltInType.Variant, new[] { Variant.From(1), Variant.From("x") })));
        w.Int32(-1);
        list.Add(("read", w.ToArray()));

        w = new UaWriter();
        Header(w, EncodingIds.PublishResponse);
        w.UInt32(1);              // SubscriptionId
        w.UInt32Array([1, 2]);    // AvailableSequenceNumbers
        w.Boolean(false);
        w.UInt32(2);              // NotificationMessage.SequenceNumber
        w.DateTime(DateTime.UtcNow);
        w.Int32(1);
        w.ExtensionObject(EncodingIds.DataChangeNotification, b =>
        {
            b.Int32(2);
            b.UInt32(0);
            b.DataValue(new DataValue(Variant.From(42u)));
            b.UInt32(1);
            b.DataValue(new DataValue(Variant.From(true), default, DateTime.UtcNow));
            b.Int32(-1);
        });
        w.Int32(0);
        w.Int32(-1);
        list.Add(("publish", w.ToArray()));

        w = new UaWriter();
        Header(w, EncodingIds.BrowseResponse);
        w.Int32(1);
        w.StatusCode(default);
        w.ByteString(null);
        w.Int32(1);
        w.NodeId(new NodeId(0, 35));
        w.Boolean(true);
        w.ExpandedNodeId(new ExpandedNodeId(new NodeId(1, "Line3"), "urn:x"));
        w.QualifiedName(new QualifiedName(1, "Line3"));
        w.LocalizedText(new LocalizedText(null, "Line3"));
        w.UInt32(1);
        w.ExpandedNodeId(new ExpandedNodeId(new NodeId(0, 61)));
        w.Int32(-1);
        list.Add(("browse", w.ToArray()));

        w = new UaWriter();
        Header(w, EncodingIds.TransferSubscriptionsResponse);
        w.Int32(2);
        w.StatusCode(default);
        w.UInt32Array([3u, 4u]);
        w.StatusCode(new StatusCode(0x80280000));
        w.Int32(-1);
        w.Int32(-1);
        list.Add(("transfer", w.ToArray()));
        return list;
    }
}
