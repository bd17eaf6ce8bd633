using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>OPC UA Binary encodings (Part 6, sec 5.2) checked byte for byte, both ways.</summary>
public sealed class OpcUaCodecTests
{
    private static byte[] Encode(Action<UaWriter> write)
    {
        var w = new UaWriter();
        write(w);
        return w.ToArray();
    }

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static TheoryData<string, string> NodeIds => new()
    {
        // TwoByte: 0x00, identifier byte
        { "i=85", "00 55" },
        // FourByte: 0x01, namespace byte, UInt16 identifier
        { "ns=1;i=5001", "01 01 8913" },
        // Numeric: 0x02, UInt16 namespace, UInt32 identifier (namespace > 255)
        { "ns=300;i=5", "02 2C01 05000000" },
        // Numeric: identifier > 65535
        { "ns=2;i=70000", "02 0200 70110100" },
        // String: 0x03, UInt16 namespace, Int32 length, UTF-8
        { "ns=2;s=Line3.Temperature", "03 0200 11000000 4C696E65332E54656D7065726174757265" },
        // Guid: 0x04, UInt16 namespace, Data1 (LE UInt32), Data2, Data3 (LE UInt16), Data4 (8 bytes)
        { "ns=1;g=09087e75-8e5e-499b-954f-f2a9603db28a", "04 0100 757E0809 5E8E 9B49 954FF2A9603DB28A" },
        // Opaque: 0x05, UInt16 namespace, ByteString
        { "ns=1;b=AQIDBA==", "05 0100 04000000 01020304" },
    };

    [Theory]
    [MemberData(nameof(NodeIds))]
    public void NodeIdEncodings(string text, string hex)
    {
        var id = NodeId.Parse(text);
        Assert.Equal(text, id.ToString());
        Assert.Equal(Hex(hex), Encode(w => w.NodeId(id)));
        var r = new UaReader(Hex(hex));
        Assert.Equal(id, r.NodeId());
        Assert.True(r.End);
    }

    [Fact]
    public void ExpandedNodeIdWithNamespaceUri()
    {
        Assert.True(ExpandedNodeId.TryParse("nsu=urn:plant;s=Tag;1", out var e, out _));
        Assert.Equal("urn:plant", e.NamespaceUri);
        Assert.Equal("Tag;1", e.NodeId.StringId);
        byte[] expected = Hex(
            "83 0000 05000000 5461673B31" // String NodeId with the NamespaceUri flag 0x80: namespace 0, "Tag;1"
            + "09000000 75726E3A706C616E74"); // NamespaceUri "urn:plant"
        Assert.Equal(expected, Encode(w => w.ExpandedNodeId(e)));
        var r = new UaReader(expected);
        var back = r.ExpandedNodeId();
        Assert.Equal("urn:plant", back.NamespaceUri);
        Assert.Equal("nsu=urn:plant;s=Tag;1", back.ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("ns=2", "expected ns=")]
    [InlineData("ns=70000;i=1", "namespace index")]
    [InlineData("ns=1;i=-1", "numeric identifier")]
    [InlineData("ns=1;i=4294967296", "numeric identifier")]
    [InlineData("ns=1;s=", "cannot be empty")]
    [InlineData("ns=1;g=not-a-guid", "GUID")]
    [InlineData("ns=1;b=***", "base64")]
    [InlineData("ns=1;x=1", "expected i=, s=, g= or b=")]
    [InlineData("nsu=;s=a", "nsu=")]
    [InlineData("Line3.Temperature", "expected i=, s=, g= or b=")]
    public void BadNodeIdText(string text, string why)
    {
        Assert.False(ExpandedNodeId.TryParse(text, out _, out string? error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    public static TheoryData<string, Variant, string> Variants => new()
    {
        { "Boolean", Variant.From(true), "01 01" },                      // type 1, true
        { "SByte", Variant.From((sbyte)-8), "02 F8" },                    // type 2
        { "Byte", Variant.From((byte)200), "03 C8" },                     // type 3
        { "Int16", Variant.From((short)-1600), "04 C0F9" },               // type 4, LE
        { "UInt16", Variant.From((ushort)65000), "05 E8FD" },             // type 5
        { "Int32", Variant.From(-320000), "06 001EFBFF" },                // type 6
        { "UInt32", Variant.From(4000000000u), "07 00286BEE" },           // type 7
        { "Int64", Variant.From(-64L), "08 C0FFFFFFFFFFFFFF" },           // type 8
        { "UInt64", Variant.From(4294967296UL), "09 0000000001000000" },  // type 9
        { "Float", Variant.From(1.5f), "0A 0000C03F" },                   // type 10, IEEE 754 LE
        { "Double", Variant.From(3.25), "0B 0000000000000A40" },          // type 11
        { "String", Variant.From("hé"), "0C 03000000 68C3A9" },           // type 12, length 3, UTF-8
        { "NullString", Variant.From((string?)null), "0C FFFFFFFF" },     // length -1 = null
        // type 13: 100 ns ticks since 1601-01-01 (2024-01-02T03:04:05.678Z)
        { "DateTime", Variant.From(new DateTime(2024, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc)), "0D E034B058283DDA01" },
        { "StatusCode", Variant.From(new StatusCode(0x80340000)), "13 00003480" }, // type 19
        { "Null", Variant.Null, "00" },
        // 0x86 = Int32 | array; 3 elements
        { "Int32Array", Variant.FromArray(BuiltInType.Int32, new[] { 10, 20, 30 }), "86 03000000 0A000000 14000000 1E000000" },
        // 0xC1 = Boolean | array | dimensions; 4 elements, then 2 dimensions [2, 2]
        { "BooleanMatrix", Variant.FromArray(BuiltInType.Boolean, new[] { true, false, false, true }, [2, 2]), "C1 04000000 01000001 02000000 02000000 02000000" },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void VariantEncodings(string name, Variant value, string hex)
    {
        var bytes = Encode(w => w.Variant(value));
        Assert.True(Hex(hex).AsSpan().SequenceEqual(bytes), $"{name}: {Convert.ToHexString(bytes)}");
        var r = new UaReader(bytes);
        var back = r.Variant();
        Assert.True(r.End);
        Assert.Equal(value.Type, back.Type);
        Assert.Equal(value.ToString(), back.ToString());
        Assert.Equal(bytes, Encode(w => w.Variant(back)));
    }

    [Fact]
    public void DataValueFieldsFollowTheMask()
    {
        var source = new DateTime(2024, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);
        var dv = new DataValue(Variant.From(3.25), new StatusCode(0x40000000), source, DateTime.MinValue, 7, 0);
        byte[] expected = Hex(
            "17"                   // mask: value 0x01 | status 0x02 | source timestamp 0x04 | source picoseconds 0x10
            + "0B 0000000000000A40" // Variant Double 3.25
            + "00000040"           // StatusCode Uncertain (0x40000000)
            + "E034B058283DDA01"   // SourceTimestamp
            + "0700");             // SourcePicoseconds 7
        Assert.Equal(expected, Encode(w => w.DataValue(dv)));
        var r = new UaReader(expected);
        var back = r.DataValue();
        Assert.Equal(3.25, back.Value.TryGetDouble(out double d) ? d : 0);
        Assert.True(back.Status.IsUncertain);
        Assert.Equal(source, back.SourceTimestamp);
        Assert.Equal(DateTime.MinValue, back.ServerTimestamp);
        Assert.Equal(7, back.SourcePicoseconds);
    }

    [Fact]
    public void BadStatusDataValueHasNoValue()
    {
        var r = new UaReader(Hex("02 00008C80")); // mask: status only; BadSensorFailure
        var dv = r.DataValue();
        Assert.True(dv.Value.IsNull);
        Assert.Equal("BadSensorFailure (0x808C0000)", dv.Status.ToString());
    }

    [Fact]
    public void LocalizedTextQualifiedNameAndExtensionObject()
    {
        Assert.Equal(Hex("03 02000000 656E 02000000 6869"), Encode(w => w.LocalizedText(new LocalizedText("en", "hi")))); // mask locale|text
        Assert.Equal(Hex("0100 05000000 4C696E6533"), Encode(w => w.QualifiedName(new QualifiedName(1, "Line3"))));        // ns 1, "Line3"
        var eo = Encode(w => w.ExtensionObject(EncodingIds.AnonymousIdentityToken, b => b.String("anon")));
        Assert.Equal(Hex("01 00 4101" // FourByte NodeId i=321
            + "01"                    // body is a ByteString
            + "08000000"              // body length
            + "04000000 616E6F6E"), eo); // PolicyId "anon"
    }

    [Fact]
    public void HelloAndAcknowledge()
    {
        var w = new UaWriter();
        UaTcpMessages.WriteHello(w, new UaTcpLimits(0, 65535, 65535, 16777216, 0), "opc.tcp://h:1");
        byte[] expected = Hex(
            "48454C46 2D000000" // "HELF", message size 45
            + "00000000"        // ProtocolVersion
            + "FFFF0000"        // ReceiveBufferSize 65535
            + "FFFF0000"        // SendBufferSize
            + "00000001"        // MaxMessageSize 16 MiB
            + "00000000"        // MaxChunkCount: no limit
            + "0D000000 6F70632E7463703A2F2F683A31"); // EndpointUrl
        Assert.Equal(expected, w.ToArray());
        Assert.True(UaMessageHeader.TryRead(expected, 65535, out var header));
        Assert.Equal(UaMessageType.Hello, header.Type);
        Assert.Equal(45, header.Size);

        var ack = UaTcpMessages.ReadAcknowledge(Hex("00000000 00200000 00200000 00000000 00000000"));
        Assert.Equal(8192u, ack.ReceiveBufferSize);
        var e = Assert.Throws<OpcUaFormatException>(() => UaTcpMessages.ReadAcknowledge(Hex("00000000 00010000 00200000 00000000 00000000")));
        Assert.Equal(OpcUaFormatError.BadLength, e.Error);
    }

    [Fact]
    public void ReadResponseDecodes()
    {
        byte[] body = Hex(
            "01 00 7A02"                  // FourByte NodeId i=634 (ReadResponse)
            + "0000000000000000"          // ResponseHeader.Timestamp
            + "07000000"                  // RequestHandle 7
            + "00000000"                  // ServiceResult Good
            + "00"                        // ServiceDiagnostics: empty
            + "FFFFFFFF"                  // StringTable: null
            + "00 00 00"                  // AdditionalHeader: null ExtensionObject
            + "02000000"                  // Results: 2 DataValues
            + "01 06 2A000000"            //   value Int32 42
            + "02 00003480"               //   status BadNodeIdUnknown
            + "FFFFFFFF");                // DiagnosticInfos: null
        var response = UaServices.Decode(body, EncodingIds.ReadResponse, UaServices.DecodeRead, out var fault);
        Assert.Null(fault);
        Assert.Equal(7u, response!.Header.RequestHandle);
        Assert.True(response.Results[0].Value.TryGetInt64(out long v) && v == 42);
        Assert.Equal(StatusCode.BadNodeIdUnknown, response.Results[1].Status);
    }

    [Fact]
    public void ServiceFaultIsAValueNotAnException()
    {
        byte[] body = Hex("01 00 8D01" + "0000000000000000 09000000 00001F80 00 FFFFFFFF 000000"); // i=397, BadUserAccessDenied
        var response = UaServices.Decode(body, EncodingIds.ReadResponse, UaServices.DecodeRead, out var fault);
        Assert.Null(response);
        Assert.Equal("BadUserAccessDenied", fault!.ServiceResult.Name);
    }

    [Fact]
    public void PSha256MatchesAKnownVector()
    {
        // RFC 5246 P_SHA256 test vector (www.ietf.org/mail-archive/web/tls/current/msg03416.html).
        byte[] secret = Hex("9bbe436ba940f017b17652849a71db35");
        byte[] seed = [.. System.Text.Encoding.ASCII.GetBytes("test label"), .. Hex("a0ba9f936cda311827a6f796ffd5198c")];
        var output = SecurityPolicies.PSha256(secret, seed, 100);
        Assert.Equal("E3F229BA727BE17B8D122620557CD453C2AAB21D07C3D495329B52D4E61EDB5A6B301791E90D35C9C9A46B4E14BAF9AF0FA022F7077DEF17ABFD3797C0564BAB4FBC91666E9DEF9B97FCE34F796789BAA48082D122EE42C5A72E5A5110FFF70187347B66",
            Convert.ToHexString(output));
    }

    [Fact]
    public void SymmetricChunksRoundTripThroughTwoCodecs()
    {
        using var clientKey = System.Security.Cryptography.RSA.Create(2048);
        using var serverKey = System.Security.Cryptography.RSA.Create(2048);
        byte[] clientCert = SelfSigned(clientKey), serverCert = SelfSigned(serverKey);
        byte[] cn = new byte[32], sn = new byte[32];
        cn[0] = 1;
        sn[0] = 2;
        foreach (var mode in new[] { MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt })
        {
            using var client = new SecureChannelCodec(SecurityPolicy.Basic256Sha256, mode, clientCert, clientKey, serverCert) { ChannelId = 5, SendChunkSize = 8192 };
            // The peer's view: its "client" keys are ours swapped, so it can read what we send.
            using var peer = new SecureChannelCodec(SecurityPolicy.Basic256Sha256, mode, serverCert, serverKey, clientCert) { ChannelId = 5, ReceiveChunkSize = 8192 };
            client.ActivateToken(9, SecurityPolicies.DeriveKeys(sn, cn, SecurityPolicy.Basic256Sha256), SecurityPolicies.DeriveKeys(cn, sn, SecurityPolicy.Basic256Sha256));
            peer.ActivateToken(9, SecurityPolicies.DeriveKeys(cn, sn, SecurityPolicy.Basic256Sha256), SecurityPolicies.DeriveKeys(sn, cn, SecurityPolicy.Basic256Sha256));
            var body = new byte[20000];
            new Random(1).NextBytes(body);
            var w = new UaWriter();
            client.EncodeSymmetric(w, UaMessageType.Message, 77, body);
            var assembler = new MessageAssembler(1 << 20, 0);
            var wire = w.ToArray();
            int at = 0, chunks = 0;
            byte[]? message = null;
            while (at < wire.Length)
            {
                Assert.True(UaMessageHeader.TryRead(wire.AsSpan(at), 8192, out var h));
                var chunk = wire.AsSpan(at, h.Size).ToArray();
                var c = peer.DecodeChunk(chunk, chunk.Length);
                Assert.Equal(77u, c.RequestId);
                if (assembler.Add(c, out var m, out _)) message = m;
                at += h.Size;
                chunks++;
            }
            Assert.True(chunks >= 3, $"{chunks} chunks");
            Assert.Equal(body, message);
        }
    }

    [Theory]
    [InlineData(false, "00")]
    [InlineData(true, "01")]
    public void BrowseNextRequestEncodes(bool release, string releaseByte)
    {
        var before = DateTime.UtcNow.AddSeconds(-1);
        byte[] bytes = Encode(w => UaServices.WriteBrowseNext(w, new RequestHeader(NodeId.Null, 7, 5000), release, [[1, 2, 3], [0xAA]]));
        byte[] expected = Hex(
            "01 00 1502"                  // FourByte NodeId i=533 (BrowseNextRequest)
            + "00 00"                     // RequestHeader.AuthenticationToken: null NodeId
            + "0000000000000000"          // Timestamp (now: checked below)
            + "07000000"                  // RequestHandle 7
            + "00000000"                  // ReturnDiagnostics
            + "FFFFFFFF"                  // AuditEntryId: null
            + "88130000"                  // TimeoutHint 5000 ms
            + "00 00 00"                  // AdditionalHeader: null ExtensionObject
            + releaseByte                 // ReleaseContinuationPoints
            + "02000000"                  // ContinuationPoints: 2 ByteStrings
            + "03000000 010203"
            + "01000000 AA");
        AssertRequestExceptTimestamp(expected, bytes);
        var r = new UaReader(bytes.AsSpan(6, 8));
        var stamp = r.DateTime();
        Assert.InRange(stamp, before, DateTime.UtcNow.AddSeconds(1));
    }

    /// <summary>A request body equals its byte vector but for the header's timestamp (bytes 6-13: the time of encoding).</summary>
    private static void AssertRequestExceptTimestamp(byte[] expected, byte[] bytes)
    {
        Assert.Equal(expected.Length, bytes.Length);
        Assert.Equal(Convert.ToHexString(expected.AsSpan(0, 6)), Convert.ToHexString(bytes.AsSpan(0, 6)));
        Assert.Equal(Convert.ToHexString(expected.AsSpan(14)), Convert.ToHexString(bytes.AsSpan(14)));
    }

    [Fact]
    public void TransferSubscriptionsRequestEncodes()
    {
        byte[] bytes = Encode(w => UaServices.WriteTransferSubscriptions(w, new RequestHeader(NodeId.Null, 9, 5000), [0x01020304u, 5u], false));
        byte[] expected = Hex(
            "01 00 4903"                  // FourByte NodeId i=841 (TransferSubscriptionsRequest)
            + "00 00"                     // RequestHeader.AuthenticationToken: null NodeId
            + "0000000000000000"          // Timestamp (now: not compared)
            + "09000000"                  // RequestHandle 9
            + "00000000"                  // ReturnDiagnostics
            + "FFFFFFFF"                  // AuditEntryId: null
            + "88130000"                  // TimeoutHint 5000 ms
            + "00 00 00"                  // AdditionalHeader: null ExtensionObject
            + "02000000 04030201 05000000" // SubscriptionIds
            + "00");                      // SendInitialValues false
        AssertRequestExceptTimestamp(expected, bytes);
    }

    [Fact]
    public void TransferSubscriptionsResponseDecodes()
    {
        byte[] body = Hex(
            "01 00 4C03"                  // FourByte NodeId i=844 (TransferSubscriptionsResponse)
            + "0000000000000000"          // ResponseHeader.Timestamp
            + "09000000"                  // RequestHandle 9
            + "00000000"                  // ServiceResult Good
            + "00"                        // ServiceDiagnostics: empty
            + "FFFFFFFF"                  // StringTable: null
            + "00 00 00"                  // AdditionalHeader: null ExtensionObject
            + "02000000"                  // Results: 2 TransferResults
            + "00000000"                  //   [0] Good
            + "02000000 07000000 08000000" //     AvailableSequenceNumbers 7, 8
            + "00002880"                  //   [1] BadSubscriptionIdInvalid
            + "FFFFFFFF"                  //     AvailableSequenceNumbers: null
            + "FFFFFFFF");                // DiagnosticInfos: null
        var response = UaServices.Decode(body, EncodingIds.TransferSubscriptionsResponse, UaServices.DecodeTransferSubscriptions, out var fault);
        Assert.Null(fault);
        Assert.Equal(2, response!.Results.Length);
        Assert.True(response.Results[0].Status.IsGood);
        Assert.Equal(new uint[] { 7, 8 }, response.Results[0].AvailableSequenceNumbers);
        Assert.Equal("BadSubscriptionIdInvalid", response.Results[1].Status.Name);
        Assert.Empty(response.Results[1].AvailableSequenceNumbers);

        // Truncated: a clear format error, not an exception of another kind.
        Assert.Throws<OpcUaFormatException>(() => UaServices.Decode(body.AsSpan(0, body.Length - 9), EncodingIds.TransferSubscriptionsResponse,
            UaServices.DecodeTransferSubscriptions, out _));
    }

    [Fact]
    public void BrowseNextResponseDecodes()
    {
        byte[] body = Hex(
            "01 00 1802"                  // FourByte NodeId i=536 (BrowseNextResponse)
            + "0000000000000000"          // ResponseHeader.Timestamp
            + "07000000"                  // RequestHandle 7
            + "00000000"                  // ServiceResult Good
            + "00"                        // ServiceDiagnostics: empty
            + "FFFFFFFF"                  // StringTable: null
            + "00 00 00"                  // AdditionalHeader: null ExtensionObject
            + "02000000"                  // Results: 2 BrowseResults
            + "00000000"                  //   [0] StatusCode Good
            + "03000000 010203"           //       ContinuationPoint: more to come
            + "01000000"                  //       References: 1
            + "00 2F"                     //         ReferenceTypeId i=47 (HasComponent)
            + "01"                        //         IsForward
            + "03 0100 06000000 4D616E792E34" //     NodeId ns=1;s=Many.4
            + "0100 05000000 4D616E7934"  //         BrowseName 1:Many4
            + "02 05000000 4D616E7934"    //         DisplayName: text only, "Many4"
            + "02000000"                  //         NodeClass Variable
            + "00 3F"                     //         TypeDefinition i=63 (BaseDataVariableType)
            + "00004A80"                  //   [1] StatusCode BadContinuationPointInvalid
            + "FFFFFFFF"                  //       ContinuationPoint: null
            + "00000000"                  //       References: none
            + "FFFFFFFF");                // DiagnosticInfos: null
        var response = UaServices.Decode(body, EncodingIds.BrowseNextResponse, UaServices.DecodeBrowseNext, out var fault);
        Assert.Null(fault);
        Assert.Equal(7u, response!.Header.RequestHandle);
        Assert.Equal(2, response.Results.Length);
        var first = response.Results[0];
        Assert.True(first.Status.IsGood);
        Assert.Equal(new byte[] { 1, 2, 3 }, first.ContinuationPoint);
        var reference = Assert.Single(first.References);
        Assert.Equal(new NodeId(0, 47), reference.ReferenceTypeId);
        Assert.True(reference.IsForward);
        Assert.Equal(new NodeId(1, "Many.4"), reference.NodeId.NodeId);
        Assert.Equal(new QualifiedName(1, "Many4"), reference.BrowseName);
        Assert.Equal("Many4", reference.DisplayName.Text);
        Assert.Equal(2u, reference.NodeClass);
        Assert.Equal(new NodeId(0, 63), reference.TypeDefinition.NodeId);
        Assert.Equal("BadContinuationPointInvalid", response.Results[1].Status.Name);
        Assert.Null(response.Results[1].ContinuationPoint);
        Assert.Empty(response.Results[1].References);

        // A BrowseNextResponse is not taken for a BrowseResponse.
        Assert.Throws<OpcUaFormatException>(() => UaServices.Decode(body, EncodingIds.BrowseResponse, UaServices.DecodeBrowse, out _));
    }

    internal static byte[] SelfSigned(System.Security.Cryptography.RSA key)
    {
        var req = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=test", key,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return cert.RawData;
    }
}
