using System.Formats.Asn1;

namespace Pattoo.Edge.Protocols.Snmp;

/// <summary>The outer layer of a message as read, with every field as a place in the datagram.</summary>
public struct SnmpMessage
{
    public SnmpVersion Version;
    /// <summary>v1/v2c: the community string.</summary>
    public Segment Community;
    /// <summary>v1/v2c: the PDU (tag, length and content). v3: the plaintext scoped PDU's PDU, when not encrypted.</summary>
    public Segment Pdu;

    // SNMPv3 (RFC 3412 sec 6, RFC 3414 sec 2.4)
    public int MessageId;
    public int MaxSize;
    public SnmpV3Flags Flags;
    public int SecurityModel;
    public Segment EngineId;
    public int EngineBoots;
    public int EngineTime;
    public Segment UserName;
    public Segment AuthParameters;
    public Segment PrivParameters;
    /// <summary>True when msgData is an encryptedPDU; then <see cref="ScopedPdu"/> is the ciphertext.</summary>
    public bool Encrypted;
    /// <summary>The plaintext ScopedPDU (tag, length, content), or the encryptedPDU's octets.</summary>
    public Segment ScopedPdu;
    public Segment ContextEngineId;
    public Segment ContextName;
}

/// <summary>The fixed fields of a PDU (RFC 3416 sec 3) and where its varbind list lies.</summary>
public readonly record struct PduHeader(PduType Type, int RequestId, int ErrorStatus, int ErrorIndex, Segment Varbinds)
{
    /// <summary>The variable-bindings list with its tag and length, to be copied into an answer (an inform's response).</summary>
    public Segment VarbindList { get; init; }
}

/// <summary>
/// The fixed fields of an SNMPv1 Trap-PDU (RFC 1157 sec 4.1.6): enterprise, agent-addr,
/// generic-trap, specific-trap and time-stamp, and where its varbind list lies.
/// </summary>
public readonly record struct TrapV1Header(Segment Enterprise, Segment AgentAddress, int GenericTrap, int SpecificTrap, long TimeStamp, Segment Varbinds);

/// <summary>
/// Reads SNMP messages (RFC 1157, RFC 3416, RFC 3412/3414) from datagrams. Stateless and
/// allocation-free: fields are returned as <see cref="Segment"/>s of the input. TLV framing
/// is System.Formats.Asn1's BER reader; the primitive contents (INTEGER, OID) are read here,
/// leniently as agents in the field encode them (non-minimal integers are accepted).
/// Every malformation throws <see cref="SnmpFormatException"/>.
/// </summary>
public static class SnmpDecoder
{
    /// <summary>Reads one TLV at <paramref name="offset"/> of <paramref name="buffer"/>, bounded by <paramref name="end"/>.</summary>
    /// <returns>the identifier octet; <paramref name="content"/> is absolute in <paramref name="buffer"/>.</returns>
    public static byte ReadTlv(ReadOnlySpan<byte> buffer, ref int offset, int end, out Segment content)
    {
        if (offset >= end) SnmpFormatException.Throw("the message ends where a field was expected");
        var span = buffer[offset..end];
        byte id = span[0];
        if ((id & 0x1F) == 0x1F) SnmpFormatException.Throw($"multi-octet tag at offset {offset}");
        int contentOffset, contentLength, consumed;
        try
        {
            AsnDecoder.ReadEncodedValue(span, AsnEncodingRules.BER, out contentOffset, out contentLength, out consumed);
        }
        catch (AsnContentException e)
        {
            throw new SnmpFormatException($"bad BER at offset {offset}: {e.Message}", e);
        }
        // X.690 8.1.3.6: the indefinite form; SNMP never uses it (RFC 3417 sec 8).
        if (consumed != contentOffset + contentLength) SnmpFormatException.Throw($"indefinite length at offset {offset}");
        content = new Segment(offset + contentOffset, contentLength);
        offset += consumed;
        return id;
    }

    private static Segment Expect(ReadOnlySpan<byte> buffer, ref int offset, int end, byte tag, string field)
    {
        byte id = ReadTlv(buffer, ref offset, end, out var content);
        if (id != tag) SnmpFormatException.Throw($"{field}: expected tag 0x{tag:X2}, got 0x{id:X2}");
        return content;
    }

    private static int ExpectInt32(ReadOnlySpan<byte> buffer, ref int offset, int end, string field)
    {
        var c = Expect(buffer, ref offset, end, 0x02, field);
        long v = ReadInt64(c.Of(buffer));
        if (v < int.MinValue || v > int.MaxValue) SnmpFormatException.Throw($"{field}: {v} does not fit 32 bits");
        return (int)v;
    }

    /// <summary>
    /// Reads a whole message: version, community and PDU for v1/v2c; header, USM security
    /// parameters and scoped PDU (or its ciphertext) for v3. Trailing bytes are an error.
    /// </summary>
    /// <exception cref="SnmpFormatException">the datagram is not a well-formed message.</exception>
    public static SnmpMessage ReadMessage(ReadOnlySpan<byte> datagram)
    {
        var m = new SnmpMessage();
        int pos = 0;
        var outer = Expect(datagram, ref pos, datagram.Length, 0x30, "message");
        if (pos != datagram.Length) SnmpFormatException.Throw($"{datagram.Length - pos} bytes after the message");
        pos = outer.Offset;
        int end = outer.End;
        int version = ExpectInt32(datagram, ref pos, end, "msgVersion");
        switch (version)
        {
            case 0:
            case 1:
                m.Version = (SnmpVersion)version;
                m.Community = Expect(datagram, ref pos, end, 0x04, "community");
                int pduStart = pos;
                byte tag = ReadTlv(datagram, ref pos, end, out _);
                if ((tag & 0xE0) != 0xA0) SnmpFormatException.Throw($"expected a PDU, got tag 0x{tag:X2}");
                m.Pdu = new Segment(pduStart, pos - pduStart);
                break;
            case 3:
                m.Version = SnmpVersion.V3;
                ReadV3(datagram, ref pos, end, ref m);
                break;
            default:
                SnmpFormatException.Throw($"unknown msgVersion {version}");
                break;
        }
        if (pos != end) SnmpFormatException.Throw("bytes after the last field of the message");
        return m;
    }

    private static void ReadV3(ReadOnlySpan<byte> d, ref int pos, int end, ref SnmpMessage m)
    {
        var header = Expect(d, ref pos, end, 0x30, "msgGlobalData");
        int h = header.Offset;
        m.MessageId = ExpectInt32(d, ref h, header.End, "msgID");
        m.MaxSize = ExpectInt32(d, ref h, header.End, "msgMaxSize");
        var flags = Expect(d, ref h, header.End, 0x04, "msgFlags");
        if (flags.Length != 1) SnmpFormatException.Throw($"msgFlags: expected 1 octet, got {flags.Length}");
        m.Flags = (SnmpV3Flags)d[flags.Offset];
        m.SecurityModel = ExpectInt32(d, ref h, header.End, "msgSecurityModel");
        if (h != header.End) SnmpFormatException.Throw("bytes after msgSecurityModel");

        var sec = Expect(d, ref pos, end, 0x04, "msgSecurityParameters");
        if (m.SecurityModel == 3)
        {
            int s = sec.Offset;
            var usm = Expect(d, ref s, sec.End, 0x30, "UsmSecurityParameters");
            if (s != sec.End) SnmpFormatException.Throw("bytes after UsmSecurityParameters");
            s = usm.Offset;
            m.EngineId = Expect(d, ref s, usm.End, 0x04, "msgAuthoritativeEngineID");
            m.EngineBoots = ExpectInt32(d, ref s, usm.End, "msgAuthoritativeEngineBoots");
            m.EngineTime = ExpectInt32(d, ref s, usm.End, "msgAuthoritativeEngineTime");
            m.UserName = Expect(d, ref s, usm.End, 0x04, "msgUserName");
            m.AuthParameters = Expect(d, ref s, usm.End, 0x04, "msgAuthenticationParameters");
            m.PrivParameters = Expect(d, ref s, usm.End, 0x04, "msgPrivacyParameters");
            if (s != usm.End) SnmpFormatException.Throw("bytes after msgPrivacyParameters");
        }

        int dataStart = pos;
        byte tag = ReadTlv(d, ref pos, end, out var data);
        if (tag == 0x04)
        {
            m.Encrypted = true;
            m.ScopedPdu = data;
        }
        else if (tag == 0x30)
        {
            m.ScopedPdu = new Segment(dataStart, pos - dataStart);
            ReadScopedPdu(d, m.ScopedPdu, out m.ContextEngineId, out m.ContextName, out m.Pdu);
        }
        else SnmpFormatException.Throw($"msgData: expected a ScopedPDU or encryptedPDU, got tag 0x{tag:X2}");
    }

    /// <summary>
    /// Reads a ScopedPDU (RFC 3412 sec 6.8) lying at <paramref name="scoped"/> of <paramref name="buffer"/>.
    /// A decrypted scoped PDU may be followed by padding, which is ignored.
    /// </summary>
    public static void ReadScopedPdu(ReadOnlySpan<byte> buffer, Segment scoped, out Segment contextEngineId, out Segment contextName, out Segment pdu)
    {
        int pos = scoped.Offset;
        var seq = Expect(buffer, ref pos, scoped.End, 0x30, "ScopedPDU");
        pos = seq.Offset;
        contextEngineId = Expect(buffer, ref pos, seq.End, 0x04, "contextEngineID");
        contextName = Expect(buffer, ref pos, seq.End, 0x04, "contextName");
        int pduStart = pos;
        byte tag = ReadTlv(buffer, ref pos, seq.End, out _);
        if ((tag & 0xE0) != 0xA0) SnmpFormatException.Throw($"expected a PDU, got tag 0x{tag:X2}");
        if (pos != seq.End) SnmpFormatException.Throw("bytes after the PDU");
        pdu = new Segment(pduStart, pos - pduStart);
    }

    /// <summary>Reads a PDU's fixed fields; the varbind list is checked as it is read.</summary>
    public static PduHeader ReadPduHeader(ReadOnlySpan<byte> buffer, Segment pdu)
    {
        int pos = pdu.Offset;
        byte tag = ReadTlv(buffer, ref pos, pdu.End, out var body);
        if (tag is < 0xA0 or > 0xA8) SnmpFormatException.Throw($"unknown PDU tag 0x{tag:X2}");
        if (tag == (byte)PduType.TrapV1) SnmpFormatException.Throw("SNMPv1 traps are not read");
        pos = body.Offset;
        int requestId = ExpectInt32(buffer, ref pos, body.End, "request-id");
        int errorStatus = ExpectInt32(buffer, ref pos, body.End, "error-status");
        int errorIndex = ExpectInt32(buffer, ref pos, body.End, "error-index");
        int listStart = pos;
        var list = Expect(buffer, ref pos, body.End, 0x30, "variable-bindings");
        if (pos != body.End) SnmpFormatException.Throw("bytes after variable-bindings");
        return new PduHeader((PduType)tag, requestId, errorStatus, errorIndex, list) { VarbindList = new Segment(listStart, pos - listStart) };
    }

    /// <summary>Reads an SNMPv1 Trap-PDU's fixed fields (tag 0xA4); the varbind list is checked as it is read.</summary>
    public static TrapV1Header ReadTrapV1Header(ReadOnlySpan<byte> buffer, Segment pdu)
    {
        int pos = pdu.Offset;
        byte tag = ReadTlv(buffer, ref pos, pdu.End, out var body);
        if (tag != (byte)PduType.TrapV1) SnmpFormatException.Throw($"expected an SNMPv1 Trap-PDU (tag 0xA4), got tag 0x{tag:X2}");
        pos = body.Offset;
        var enterprise = Expect(buffer, ref pos, body.End, 0x06, "enterprise");
        if (!Oid.IsValid(enterprise.Of(buffer))) SnmpFormatException.Throw("enterprise: bad OBJECT IDENTIFIER encoding");
        var agent = Expect(buffer, ref pos, body.End, (byte)SnmpValueType.IpAddress, "agent-addr");
        if (agent.Length != 4) SnmpFormatException.Throw($"agent-addr: an IpAddress of {agent.Length} octets");
        int generic = ExpectInt32(buffer, ref pos, body.End, "generic-trap");
        if (generic is < 0 or > 6) SnmpFormatException.Throw($"generic-trap: {generic} is not 0-6");
        int specific = ExpectInt32(buffer, ref pos, body.End, "specific-trap");
        var ticks = Expect(buffer, ref pos, body.End, (byte)SnmpValueType.TimeTicks, "time-stamp");
        if (ticks.Length is 0 or > 5) SnmpFormatException.Throw($"time-stamp: TimeTicks of {ticks.Length} octets");
        long timeStamp = (long)(ReadUInt64(ticks.Of(buffer)) & 0xFFFF_FFFF);
        var list = Expect(buffer, ref pos, body.End, 0x30, "variable-bindings");
        if (pos != body.End) SnmpFormatException.Throw("bytes after variable-bindings");
        return new TrapV1Header(enterprise, agent, generic, specific, timeStamp, list);
    }

    /// <summary>
    /// Cheap look at a datagram for routing: the version and the id a response carries back
    /// (request-id for v1/v2c, msgID for v3). False for anything that is not shaped like a
    /// message; never throws.
    /// </summary>
    public static bool TryReadRoutingId(ReadOnlySpan<byte> datagram, out SnmpVersion version, out int id)
    {
        version = default;
        id = 0;
        try
        {
            int pos = 0;
            var outer = Expect(datagram, ref pos, datagram.Length, 0x30, "message");
            pos = outer.Offset;
            int v = ExpectInt32(datagram, ref pos, outer.End, "msgVersion");
            if (v is 0 or 1)
            {
                version = (SnmpVersion)v;
                Expect(datagram, ref pos, outer.End, 0x04, "community");
                byte tag = ReadTlv(datagram, ref pos, outer.End, out var body);
                if ((tag & 0xE0) != 0xA0) return false;
                int p = body.Offset;
                id = ExpectInt32(datagram, ref p, body.End, "request-id");
                return true;
            }
            if (v == 3)
            {
                version = SnmpVersion.V3;
                var header = Expect(datagram, ref pos, outer.End, 0x30, "msgGlobalData");
                int h = header.Offset;
                id = ExpectInt32(datagram, ref h, header.End, "msgID");
                return true;
            }
            return false;
        }
        catch (SnmpFormatException)
        {
            return false;
        }
    }

    /// <summary>A two's-complement big-endian INTEGER content (X.690 sec 8.3), up to 64 bits; lenient about leading octets.</summary>
    public static long ReadInt64(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty) SnmpFormatException.Throw("an INTEGER has no content octets");
        int i = 0;
        // Skip redundant sign octets so that non-minimal encodings from sloppy agents still read.
        while (content.Length - i > 8 && (content[i] == 0x00 || content[i] == 0xFF) && content[i] == (content[i + 1] >= 0x80 ? 0xFF : 0x00)) i++;
        if (content.Length - i > 8) SnmpFormatException.Throw($"an INTEGER of {content.Length} octets does not fit 64 bits");
        long v = (sbyte)content[i];
        for (i++; i < content.Length; i++) v = (v << 8) | content[i];
        return v;
    }

    /// <summary>
    /// An unsigned INTEGER content (Counter32, Gauge32, TimeTicks, Counter64): up to 64 bits,
    /// with a leading zero octet allowed. A negative encoding (some agents send Counter32
    /// 0xFFFFFFFF as FF FF FF FF) is read as the unsigned number of its octets.
    /// </summary>
    public static ulong ReadUInt64(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty) SnmpFormatException.Throw("an unsigned integer has no content octets");
        int i = 0;
        while (content.Length - i > 8 && content[i] == 0) i++;
        if (content.Length - i > 8) SnmpFormatException.Throw($"an unsigned integer of {content.Length} octets does not fit 64 bits");
        ulong v = 0;
        for (; i < content.Length; i++) v = (v << 8) | content[i];
        return v;
    }
}

/// <summary>One variable binding as read: its name and value, as slices of the datagram.</summary>
public readonly ref struct Varbind
{
    public Varbind(ReadOnlySpan<byte> oid, SnmpValueType type, ReadOnlySpan<byte> value)
    {
        Oid = oid;
        Type = type;
        Value = value;
    }

    /// <summary>The name's content octets (see <see cref="Snmp.Oid"/>).</summary>
    public ReadOnlySpan<byte> Oid { get; }
    public SnmpValueType Type { get; }
    /// <summary>The value's content octets.</summary>
    public ReadOnlySpan<byte> Value { get; }

    /// <summary>INTEGER as a signed number; the unsigned types as theirs.</summary>
    /// <exception cref="SnmpFormatException">not a number, or a malformed one.</exception>
    public double ToDouble() => Type switch
    {
        SnmpValueType.Integer => SnmpDecoder.ReadInt64(Value),
        SnmpValueType.Counter32 or SnmpValueType.Gauge32 or SnmpValueType.TimeTicks => SnmpDecoder.ReadUInt64(Value) & 0xFFFF_FFFF,
        SnmpValueType.Counter64 => SnmpDecoder.ReadUInt64(Value),
        _ => SnmpFormatException.Throw<double>($"{Type.Name()} is not a number"),
    };

    /// <summary>True for INTEGER, Counter32/64, Gauge32 and TimeTicks.</summary>
    public bool IsNumber => Type is SnmpValueType.Integer or SnmpValueType.Counter32 or SnmpValueType.Gauge32 or SnmpValueType.TimeTicks or SnmpValueType.Counter64;
}

/// <summary>
/// Walks a variable-bindings list (RFC 3416 sec 3) forward, one varbind per call, without
/// allocating. Each varbind's name must be an OBJECT IDENTIFIER and its value one of the
/// SMI types or exceptions.
/// </summary>
public ref struct VarbindReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _end;
    private int _pos;

    public VarbindReader(ReadOnlySpan<byte> buffer, Segment varbinds)
    {
        _buffer = buffer;
        _pos = varbinds.Offset;
        _end = varbinds.End;
    }

    /// <summary>Reads the next varbind; false at the end of the list.</summary>
    /// <exception cref="SnmpFormatException">a malformed varbind.</exception>
    public bool TryRead(out Varbind varbind)
    {
        if (_pos >= _end)
        {
            varbind = default;
            return false;
        }
        byte tag = SnmpDecoder.ReadTlv(_buffer, ref _pos, _end, out var seq);
        if (tag != 0x30) SnmpFormatException.Throw($"varbind: expected a SEQUENCE, got tag 0x{tag:X2}");
        int p = seq.Offset;
        byte nameTag = SnmpDecoder.ReadTlv(_buffer, ref p, seq.End, out var name);
        if (nameTag != 0x06) SnmpFormatException.Throw($"varbind name: expected an OBJECT IDENTIFIER, got tag 0x{nameTag:X2}");
        var oid = name.Of(_buffer);
        if (!Oid.IsValid(oid)) SnmpFormatException.Throw("varbind name: bad OBJECT IDENTIFIER encoding");
        byte valueTag = SnmpDecoder.ReadTlv(_buffer, ref p, seq.End, out var value);
        if (p != seq.End) SnmpFormatException.Throw("bytes after a varbind's value");
        var type = (SnmpValueType)valueTag;
        switch (type)
        {
            case SnmpValueType.Integer:
            case SnmpValueType.Counter32:
            case SnmpValueType.Gauge32:
            case SnmpValueType.TimeTicks:
            case SnmpValueType.Counter64:
                if (value.Length == 0 || value.Length > 9) SnmpFormatException.Throw($"{type.Name()} of {value.Length} octets");
                break;
            case SnmpValueType.IpAddress:
                if (value.Length != 4) SnmpFormatException.Throw($"IpAddress of {value.Length} octets");
                break;
            case SnmpValueType.Null:
            case SnmpValueType.NoSuchObject:
            case SnmpValueType.NoSuchInstance:
            case SnmpValueType.EndOfMibView:
                if (value.Length != 0) SnmpFormatException.Throw($"{type.Name()} with {value.Length} content octets");
                break;
            case SnmpValueType.ObjectIdentifier:
                if (!Oid.IsValid(value.Of(_buffer))) SnmpFormatException.Throw("OBJECT IDENTIFIER value: bad encoding");
                break;
            case SnmpValueType.OctetString:
            case SnmpValueType.Opaque:
                break;
            default:
                SnmpFormatException.Throw($"unknown value tag 0x{valueTag:X2}");
                break;
        }
        varbind = new Varbind(oid, type, value.Of(_buffer));
        return true;
    }
}
