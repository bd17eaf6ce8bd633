using System.Formats.Asn1;

namespace Pattoo.Edge.Protocols.Snmp;

/// <summary>
/// Writes request messages with System.Formats.Asn1's BER writer. One instance keeps its
/// writers between calls so steady polling allocates nothing here; it is not thread-safe
/// (a session owns one). Writers return false when the destination is too small.
/// </summary>
public sealed class SnmpEncoder
{
    /// <summary>The largest message written: a UDP datagram's payload over IPv4.</summary>
    public const int MaxMessageSize = 65507;

    private readonly AsnWriter _writer = new(AsnEncodingRules.BER);
    private readonly AsnWriter _usm = new(AsnEncodingRules.BER);
    private readonly byte[] _oidTlv = new byte[4 + Oid.MaxArcs * 5];

    /// <summary>
    /// A v1 or v2c message (RFC 1157 sec 4, RFC 1901 sec 3): version, community, and a
    /// request PDU naming <paramref name="oids"/> with NULL values. For GetBulkRequest the two
    /// integers are non-repeaters and max-repetitions; otherwise error-status and error-index (0).
    /// </summary>
    public bool TryWriteCommunityRequest(Span<byte> destination, SnmpVersion version, ReadOnlySpan<byte> community,
        PduType type, int requestId, int nonRepeaters, int maxRepetitions, ReadOnlySpan<ReadOnlyMemory<byte>> oids, out int written)
    {
        if (version == SnmpVersion.V3) throw new ArgumentException("use TryWriteV3Message for SNMPv3", nameof(version));
        if (version == SnmpVersion.V1 && type == PduType.GetBulkRequest) throw new ArgumentException("SNMPv1 has no GetBulkRequest", nameof(type));
        var w = _writer;
        w.Reset();
        using (w.PushSequence())
        {
            w.WriteInteger((int)version);
            w.WriteOctetString(community);
            WritePdu(w, type, requestId, nonRepeaters, maxRepetitions, oids);
        }
        return w.TryEncode(destination, out written);
    }

    /// <summary>A ScopedPDU (RFC 3412 sec 6.8): context engine id, context name and the request PDU.</summary>
    public bool TryWriteScopedPdu(Span<byte> destination, ReadOnlySpan<byte> contextEngineId, ReadOnlySpan<byte> contextName,
        PduType type, int requestId, int nonRepeaters, int maxRepetitions, ReadOnlySpan<ReadOnlyMemory<byte>> oids, out int written)
    {
        var w = _writer;
        w.Reset();
        using (w.PushSequence())
        {
            w.WriteOctetString(contextEngineId);
            w.WriteOctetString(contextName);
            WritePdu(w, type, requestId, nonRepeaters, maxRepetitions, oids);
        }
        return w.TryEncode(destination, out written);
    }

    /// <summary>
    /// An SNMPv3 message (RFC 3412 sec 6) with USM security parameters (RFC 3414 sec 2.4).
    /// msgAuthenticationParameters is written as <paramref name="authParametersLength"/> zero
    /// octets, to be replaced by the HMAC once the whole message exists; its place is returned.
    /// <paramref name="scopedPdu"/> is a ScopedPDU's encoding, or the ciphertext when
    /// <paramref name="encrypted"/>.
    /// </summary>
    public bool TryWriteV3Message(Span<byte> destination, int messageId, int maxSize, SnmpV3Flags flags,
        ReadOnlySpan<byte> engineId, int engineBoots, int engineTime, ReadOnlySpan<byte> userName,
        int authParametersLength, ReadOnlySpan<byte> privParameters, ReadOnlySpan<byte> scopedPdu, bool encrypted,
        out int written, out Segment authParameters)
    {
        authParameters = default;
        Span<byte> zeros = stackalloc byte[64];
        zeros.Clear();
        if ((uint)authParametersLength > 64) throw new ArgumentOutOfRangeException(nameof(authParametersLength));
        var u = _usm;
        u.Reset();
        using (u.PushSequence())
        {
            u.WriteOctetString(engineId);
            u.WriteInteger(engineBoots);
            u.WriteInteger(engineTime);
            u.WriteOctetString(userName);
            u.WriteOctetString(zeros[..authParametersLength]);
            u.WriteOctetString(privParameters);
        }
        Span<byte> usm = stackalloc byte[u.GetEncodedLength()];
        u.Encode(usm);

        var w = _writer;
        w.Reset();
        using (w.PushSequence())
        {
            w.WriteInteger(3);
            using (w.PushSequence())
            {
                w.WriteInteger(messageId);
                w.WriteInteger(maxSize);
                w.WriteOctetString([(byte)flags]);
                w.WriteInteger(3); // msgSecurityModel: USM
            }
            w.WriteOctetString(usm);
            if (encrypted) w.WriteOctetString(scopedPdu);
            else w.WriteEncodedValue(scopedPdu);
        }
        if (!w.TryEncode(destination, out written)) return false;
        if (authParametersLength > 0) authParameters = SnmpDecoder.ReadMessage(destination[..written]).AuthParameters;
        return true;
    }

    /// <summary>
    /// A v1 or v2c message carrying a PDU whose variable-bindings are given encoded (tag and
    /// length included): an inform's response (RFC 3416 sec 4.2.7) copies the inform's own.
    /// </summary>
    public bool TryWriteCommunityPdu(Span<byte> destination, SnmpVersion version, ReadOnlySpan<byte> community,
        PduType type, int requestId, int errorStatus, int errorIndex, ReadOnlySpan<byte> varbindList, out int written)
    {
        if (version == SnmpVersion.V3) throw new ArgumentException("use TryWriteV3Message for SNMPv3", nameof(version));
        var w = _writer;
        w.Reset();
        using (w.PushSequence())
        {
            w.WriteInteger((int)version);
            w.WriteOctetString(community);
            WritePdu(w, type, requestId, errorStatus, errorIndex, varbindList);
        }
        return w.TryEncode(destination, out written);
    }

    /// <summary>A ScopedPDU whose PDU's variable-bindings are given encoded (an inform's response, a report).</summary>
    public bool TryWriteScopedPdu(Span<byte> destination, ReadOnlySpan<byte> contextEngineId, ReadOnlySpan<byte> contextName,
        PduType type, int requestId, int errorStatus, int errorIndex, ReadOnlySpan<byte> varbindList, out int written)
    {
        var w = _writer;
        w.Reset();
        using (w.PushSequence())
        {
            w.WriteOctetString(contextEngineId);
            w.WriteOctetString(contextName);
            WritePdu(w, type, requestId, errorStatus, errorIndex, varbindList);
        }
        return w.TryEncode(destination, out written);
    }

    /// <summary>A variable-bindings list of one Counter32 varbind, as a Report PDU carries (RFC 3414 sec 3.2: usmStats counters).</summary>
    public byte[] EncodeCounterVarbindList(ReadOnlySpan<byte> oid, uint value)
    {
        var w = new AsnWriter(AsnEncodingRules.BER);
        using (w.PushSequence())
        {
            using (w.PushSequence())
            {
                w.WriteEncodedValue(OidTlv(oid));
                w.WriteInteger(value, new Asn1Tag(TagClass.Application, 1)); // Counter32
            }
        }
        return w.Encode();
    }

    /// <summary>
    /// A variable-bindings list of one varbind setting <paramref name="oid"/> (a SetRequest, RFC
    /// 3416 sec 4.2.5): an INTEGER, Gauge32, TimeTicks or IpAddress from <paramref name="number"/>
    /// or <paramref name="text"/>, an OCTET STRING from <paramref name="text"/> (UTF-8).
    /// </summary>
    /// <exception cref="ArgumentException">a type that cannot be set this way (counters, OIDs), or a value it cannot hold.</exception>
    public byte[] EncodeSetVarbindList(ReadOnlySpan<byte> oid, SnmpValueType type, double number, string? text)
    {
        var w = new AsnWriter(AsnEncodingRules.BER);
        using (w.PushSequence())
        {
            using (w.PushSequence())
            {
                w.WriteEncodedValue(OidTlv(oid));
                switch (type)
                {
                    case SnmpValueType.Integer when number == Math.Floor(number) && number >= int.MinValue && number <= int.MaxValue:
                        w.WriteInteger((long)number);
                        break;
                    case SnmpValueType.Gauge32 or SnmpValueType.TimeTicks when number == Math.Floor(number) && number >= 0 && number <= uint.MaxValue:
                        w.WriteInteger((ulong)number, new Asn1Tag(TagClass.Application, type == SnmpValueType.Gauge32 ? 2 : 3));
                        break;
                    case SnmpValueType.OctetString when text is not null:
                        w.WriteOctetString(System.Text.Encoding.UTF8.GetBytes(text));
                        break;
                    case SnmpValueType.IpAddress when System.Net.IPAddress.TryParse(text, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork:
                        w.WriteOctetString(address.GetAddressBytes(), new Asn1Tag(TagClass.Application, 0));
                        break;
                    case SnmpValueType.Integer or SnmpValueType.Gauge32 or SnmpValueType.TimeTicks or SnmpValueType.IpAddress or SnmpValueType.OctetString:
                        throw new ArgumentException($"{(text ?? number.ToString("R", System.Globalization.CultureInfo.InvariantCulture))} is not a value of {type.Name()}");
                    default:
                        throw new ArgumentException($"a {type.Name()} cannot be set");
                }
            }
        }
        return w.Encode();
    }

    private static void WritePdu(AsnWriter w, PduType type, int requestId, int errorStatus, int errorIndex, ReadOnlySpan<byte> varbindList)
    {
        using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, (int)type & 0x1F, isConstructed: true)))
        {
            w.WriteInteger(requestId);
            w.WriteInteger(errorStatus);
            w.WriteInteger(errorIndex);
            w.WriteEncodedValue(varbindList);
        }
    }

    private void WritePdu(AsnWriter w, PduType type, int requestId, int a, int b, ReadOnlySpan<ReadOnlyMemory<byte>> oids)
    {
        using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, (int)type & 0x1F, isConstructed: true)))
        {
            w.WriteInteger(requestId);
            w.WriteInteger(a);
            w.WriteInteger(b);
            using (w.PushSequence())
            {
                foreach (var oid in oids)
                {
                    using (w.PushSequence())
                    {
                        w.WriteEncodedValue(OidTlv(oid.Span));
                        w.WriteNull();
                    }
                }
            }
        }
    }

    private ReadOnlySpan<byte> OidTlv(ReadOnlySpan<byte> content)
    {
        if (!Oid.IsValid(content) || content.Length > Oid.MaxArcs * 5) throw new ArgumentException("not a valid OID encoding", nameof(content));
        var t = _oidTlv;
        t[0] = 0x06;
        int h;
        if (content.Length < 0x80) { t[1] = (byte)content.Length; h = 2; }
        else if (content.Length <= 0xFF) { t[1] = 0x81; t[2] = (byte)content.Length; h = 3; }
        else { t[1] = 0x82; t[2] = (byte)(content.Length >> 8); t[3] = (byte)content.Length; h = 4; }
        content.CopyTo(t.AsSpan(h));
        return t.AsSpan(0, h + content.Length);
    }
}
