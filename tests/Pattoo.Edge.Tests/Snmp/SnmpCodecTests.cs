using Pattoo.Edge.Protocols.Snmp;

using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Snmp;

/// <summary>Byte-exact tests of the BER/PDU codec: requests written, responses read, malformed input refused.</summary>
public sealed class SnmpCodecTests
{
    // A v2c GetRequest for sysUpTime.0, as snmpget sends it (request-id 1):
    private const string GetSysUpTime =
        "3026" +                      // SEQUENCE, 38 octets: the message
        "020101" +                    //   INTEGER 1: msgVersion v2c
        "04067075626C6963" +          //   OCTET STRING "public": community
        "A019" +                      //   [0] GetRequest-PDU, 25 octets
        "020101" +                    //     request-id 1
        "020100" +                    //     error-status 0
        "020100" +                    //     error-index 0
        "300E" +                      //     variable-bindings, 14 octets
        "300C" +                      //       varbind, 12 octets
        "06082B06010201010300" +      //         OID 1.3.6.1.2.1.1.3.0
        "0500";                       //         NULL

    // Its answer: sysUpTime.0 = TimeTicks 12345.
    private const string ResponseSysUpTime =
        "3028" +                      // SEQUENCE, 40 octets
        "020101" +                    //   msgVersion v2c
        "04067075626C6963" +          //   community "public"
        "A21B" +                      //   [2] Response-PDU, 27 octets
        "020101" +                    //     request-id 1
        "020100" +                    //     error-status noError
        "020100" +                    //     error-index 0
        "3010" +                      //     variable-bindings
        "300E" +                      //       varbind
        "06082B06010201010300" +      //         OID 1.3.6.1.2.1.1.3.0
        "43023039";                   //         TimeTicks (application 3) 0x3039 = 12345

    [Fact]
    public void WritesAGetRequest()
    {
        var encoder = new SnmpEncoder();
        var buffer = new byte[100];
        Assert.True(encoder.TryWriteCommunityRequest(buffer, SnmpVersion.V2c, "public"u8, PduType.GetRequest, 1, 0, 0, [Oid.Parse("1.3.6.1.2.1.1.3.0")], out int n));
        Assert.Equal(GetSysUpTime, Convert.ToHexString(buffer, 0, n));
        Assert.False(encoder.TryWriteCommunityRequest(new byte[10], SnmpVersion.V2c, "public"u8, PduType.GetRequest, 1, 0, 0, [Oid.Parse("1.3.6.1.2.1.1.3.0")], out _));
    }

    [Fact]
    public void WritesAGetBulkRequest()
    {
        var encoder = new SnmpEncoder();
        var buffer = new byte[100];
        Assert.True(encoder.TryWriteCommunityRequest(buffer, SnmpVersion.V2c, "public"u8, PduType.GetBulkRequest, 7, 0, 25, [Oid.Parse("1.3.6.1.2.1.2.2.1.10")], out int n));
        Assert.Equal(
            "3027020101" + "04067075626C6963" +
            "A51A" +                  // [5] GetBulkRequest-PDU
            "020107" +                //   request-id 7
            "020100" +                //   non-repeaters 0
            "020119" +                //   max-repetitions 25
            "300F300D06092B060102010202010A0500", // ifInOctets column, NULL
            Convert.ToHexString(buffer, 0, n));
        Assert.Throws<ArgumentException>(() => encoder.TryWriteCommunityRequest(buffer, SnmpVersion.V1, "public"u8, PduType.GetBulkRequest, 7, 0, 25, [], out _));
    }

    [Fact]
    public void ReadsAResponse()
    {
        byte[] d = Convert.FromHexString(ResponseSysUpTime);
        var m = SnmpDecoder.ReadMessage(d);
        Assert.Equal(SnmpVersion.V2c, m.Version);
        Assert.Equal("public"u8.ToArray(), m.Community.Of(d).ToArray());
        var h = SnmpDecoder.ReadPduHeader(d, m.Pdu);
        Assert.Equal(PduType.Response, h.Type);
        Assert.Equal(1, h.RequestId);
        Assert.Equal(0, h.ErrorStatus);
        var reader = new VarbindReader(d, h.Varbinds);
        Assert.True(reader.TryRead(out var vb));
        Assert.Equal("1.3.6.1.2.1.1.3.0", Oid.Format(vb.Oid));
        Assert.Equal(SnmpValueType.TimeTicks, vb.Type);
        Assert.Equal(12345, vb.ToDouble());
        Assert.False(reader.TryRead(out _));
        Assert.True(SnmpDecoder.TryReadRoutingId(d, out var v, out int id));
        Assert.Equal((SnmpVersion.V2c, 1), (v, id));
    }

    [Theory]
    [InlineData("020101", SnmpValueType.Integer, 1)]
    [InlineData("0201FF", SnmpValueType.Integer, -1)]
    [InlineData("02020080", SnmpValueType.Integer, 128)]
    [InlineData("0209FFFFFFFFFFFFFFFFFF", SnmpValueType.Integer, -1)]               // non-minimal, read leniently
    [InlineData("410500FFFFFFFF", SnmpValueType.Counter32, 4294967295)]           // Counter32 max with its sign octet
    [InlineData("4104FFFFFFFF", SnmpValueType.Counter32, 4294967295)]             // the same sent as "negative" by sloppy agents
    [InlineData("420400989680", SnmpValueType.Gauge32, 10_000_000)]               // Gauge32 ifSpeed 10 Mbit/s
    [InlineData("46090100000000000000FF", SnmpValueType.Counter64, 0)]            // 9 octets: does not fit, see below
    [InlineData("460900FFFFFFFFFFFFFFFF", SnmpValueType.Counter64, 18446744073709551615.0)]
    public void ReadsNumbers(string tlv, SnmpValueType type, double expected)
    {
        byte[] d = Varbinds("06032B0601" + tlv);
        var reader = new VarbindReader(d, new Segment(0, d.Length));
        Assert.True(reader.TryRead(out var vb));
        Assert.Equal(type, vb.Type);
        if (tlv == "46090100000000000000FF")
        {
            try { vb.ToDouble(); Assert.Fail("a 65-bit counter was read"); }
            catch (SnmpFormatException) { }
            return;
        }
        Assert.Equal(expected, vb.ToDouble());
    }

    [Theory]
    [InlineData("1.3.6.1.2.1.1.3.0", "2B06010201010300")]
    [InlineData("1.3.6.1.4.1.2021.10.1.3.1", "2B060104018F650A010301")]
    [InlineData("2.999.3", "883703")]
    [InlineData(".1.3.6.1.2.1.31.1.1.1.6.4294967295", "2B060102011F010101068FFFFFFF7F")]
    public void EncodesAndFormatsOids(string text, string hex)
    {
        byte[] content = Oid.Parse(text);
        Assert.Equal(hex.Replace(" ", ""), Convert.ToHexString(content));
        Assert.Equal(text.TrimStart('.'), Oid.Format(content));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("3.1")]
    [InlineData("1.40")]
    [InlineData("1.3.6.x")]
    [InlineData("1..3")]
    [InlineData("1.3.4294967296")]
    [InlineData("ifDescr")]
    public void RefusesBadOidText(string text) => Assert.False(Oid.TryParse(text, out _, out _));

    [Fact]
    public void OrdersOidsLikeGetnext()
    {
        Assert.True(Oid.Compare(Oid.Parse("1.3.6.1.2.1.2"), Oid.Parse("1.3.6.1.2.1.10")) < 0);
        Assert.True(Oid.Compare(Oid.Parse("1.3.6.1.2.1.2.2.1.1.200"), Oid.Parse("1.3.6.1.2.1.2.2.1.2")) < 0);
        Assert.True(Oid.Compare(Oid.Parse("1.3.6.1"), Oid.Parse("1.3.6.1.0")) < 0);
        Assert.Equal(0, Oid.Compare(Oid.Parse("1.3.6.1"), Oid.Parse("1.3.6.1")));
        Assert.True(Oid.IsUnder(Oid.Parse("1.3.6.1.2.1.2.2.1.10.3"), Oid.Parse("1.3.6.1.2.1.2.2.1.10")));
        Assert.False(Oid.IsUnder(Oid.Parse("1.3.6.1.2.1.2.2.1.100"), Oid.Parse("1.3.6.1.2.1.2.2.1.10")));
        Assert.Equal("1.200", Oid.FormatSuffix(Oid.Parse("1.3.1.200")[1..]));
    }

    [Fact]
    public void RoundTripsAV3Message()
    {
        var encoder = new SnmpEncoder();
        var scoped = new byte[200];
        Assert.True(encoder.TryWriteScopedPdu(scoped, [0x80, 0, 0x1F, 0x88], "ctx"u8, PduType.GetRequest, 42, 0, 0, [Oid.Parse("1.3.6.1.2.1.1.5.0")], out int sn));
        var message = new byte[300];
        Assert.True(encoder.TryWriteV3Message(message, 77, 65507, SnmpV3Flags.Auth | SnmpV3Flags.Reportable, [0x80, 0, 0x1F, 0x88], 3, 1234, "user"u8,
            12, [], scoped.AsSpan(0, sn), encrypted: false, out int n, out var auth));
        var d = message.AsSpan(0, n);
        var m = SnmpDecoder.ReadMessage(d);
        Assert.Equal(SnmpVersion.V3, m.Version);
        Assert.Equal(77, m.MessageId);
        Assert.Equal(65507, m.MaxSize);
        Assert.Equal(SnmpV3Flags.Auth | SnmpV3Flags.Reportable, m.Flags);
        Assert.Equal(3, m.SecurityModel);
        Assert.Equal(3, m.EngineBoots);
        Assert.Equal(1234, m.EngineTime);
        Assert.Equal("user", System.Text.Encoding.ASCII.GetString(m.UserName.Of(d)));
        Assert.Equal(auth, m.AuthParameters);
        Assert.Equal(new byte[12], m.AuthParameters.Of(d).ToArray());
        Assert.Equal("ctx", System.Text.Encoding.ASCII.GetString(m.ContextName.Of(d)));
        var h = SnmpDecoder.ReadPduHeader(d, m.Pdu);
        Assert.Equal((PduType.GetRequest, 42), (h.Type, h.RequestId));
        Assert.True(SnmpDecoder.TryReadRoutingId(d, out _, out int id));
        Assert.Equal(77, id);
    }

    public static TheoryData<string, string> InvalidMessages => new()
    {
        { "", "empty datagram" },
        { "30", "a tag and nothing else" },
        { "3003020101", "no community" },
        { "300A020105040170A0030201", "msgVersion 5" },
        { "3080020101040170A000000000", "indefinite length" },
        { ResponseSysUpTime + "00", "a trailing octet" },
        { ResponseSysUpTime[..^2], "truncated by one octet" },
        { "302A020101" + "04067075626C6963" + "A21D020101020100020100" + "3012" + "3010" + "06082B06010201010300" + "4304FFFFFFFF01", "bytes after a varbind's value" },
        { "3028020101" + "04067075626C6963" + "A21B020101020100020100" + "3010" + "300E" + "06082B060102010103" + "80" + "43023039", "an OID ending in a continuation octet" },
        { "3028020101" + "04067075626C6963" + "A21B020101020100020100" + "3010" + "300E" + "06082B06010201010300" + "40023039", "an IpAddress of 2 octets" },
        { "3028020101" + "04067075626C6963" + "A21B020101020100020100" + "3010" + "300E" + "06082B06010201010300" + "47023039", "an unknown application tag" },
        { "3028020101" + "04067075626C6963" + "BF1B020101020100020100" + "3010" + "300E" + "06082B06010201010300" + "43023039", "a multi-octet PDU tag" },
        { "3028020101" + "04067075626C6963" + "A41B020101020100020100" + "3010" + "300E" + "06082B06010201010300" + "43023039", "an SNMPv1 trap" },
        { "3028020101" + "04067075626C6963" + "A21B020101020100020100" + "3110" + "300E" + "06082B06010201010300" + "43023039", "variable-bindings as a SET" },
        { "302E020101" + "04067075626C6963" + "A221020101020100020100" + "3016" + "3014" + "06082B06010201010300" + "460A01000000000000000000", "a 10-octet Counter64" },
        { "3028020101" + "04067075626C6963" + "A21B020101020100020100" + "3010" + "300E" + "06082B06010201010300" + "80023039", "noSuchObject with content" },
    };

    [Theory]
    [MemberData(nameof(InvalidMessages))]
    public void RefusesMalformedMessages(string hex, string description)
    {
        byte[] d = Convert.FromHexString(hex);
        var e = Record.Exception(() => DecodeEverything(d));
        Assert.True(e is SnmpFormatException, $"{description}: {e?.GetType().Name ?? "no exception"}");
    }

    /// <summary>
    /// Thousands of mutated, truncated and random datagrams (seeded, so a failure repeats):
    /// the decoder throws its own exception or reads them, and nothing else.
    /// </summary>
    [Fact]
    public void FuzzedDatagramsThrowOnlyTheCodecException()
    {
        var encoder = new SnmpEncoder();
        var seeds = new List<byte[]> { Convert.FromHexString(ResponseSysUpTime), Convert.FromHexString(GetSysUpTime) };
        var buf = new byte[400];
        encoder.TryWriteScopedPdu(buf, [1, 2, 3], ""u8, PduType.Response, 9, 0, 0, [Oid.Parse("1.3.6.1.2.1.1.1.0"), Oid.Parse("1.3.6.1.4.1.8072.3.2.10")], out int sn);
        var v3 = new byte[600];
        encoder.TryWriteV3Message(v3, 5, 1500, SnmpV3Flags.Auth, [1, 2, 3], 1, 2, "u"u8, 12, [], buf.AsSpan(0, sn), false, out int vn, out _);
        seeds.Add(v3[..vn]);
        seeds.Add(Convert.FromHexString("302E020101" + "04067075626C6963" + "A221020101020100020100" + "3016" + "3014" + "06082B06010201010300" + "4608FFFFFFFFFFFFFFFF"));
        var random = new Random(20240604);
        int accepted = 0, refused = 0;
        for (int i = 0; i < 30_000; i++)
        {
            var d = DatagramMutator.Mutate(random, seeds[random.Next(seeds.Count)]);
            SnmpDecoder.TryReadRoutingId(d, out _, out _); // never throws
            try
            {
                DecodeEverything(d);
                accepted++;
            }
            catch (SnmpFormatException)
            {
                refused++;
            }
        }
        Assert.True(refused > 10_000, $"{refused} refused, {accepted} read");
    }

    /// <summary>Reads every field a poller would: message, PDU, each varbind and its value.</summary>
    private static void DecodeEverything(byte[] d)
    {
        var m = SnmpDecoder.ReadMessage(d);
        if (m.Version == SnmpVersion.V3 && m.Encrypted) return;
        var h = SnmpDecoder.ReadPduHeader(d, m.Pdu);
        var reader = new VarbindReader(d, h.Varbinds);
        while (reader.TryRead(out var vb))
        {
            Oid.Format(vb.Oid);
            if (vb.IsNumber) vb.ToDouble();
            else if (vb.Type == SnmpValueType.ObjectIdentifier) Oid.Format(vb.Value);
        }
    }

    private static byte[] Varbinds(string varbindContentHex)
    {
        byte[] content = Convert.FromHexString(varbindContentHex);
        return [0x30, (byte)content.Length, .. content];
    }
}
