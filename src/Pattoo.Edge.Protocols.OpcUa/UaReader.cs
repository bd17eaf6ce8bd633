using System.Buffers.Binary;
using System.Text;

namespace Pattoo.Edge.Protocols.OpcUa;

/// <summary>
/// Reads OPC UA Binary encodings (Part 6, sec 5.2) forward from a span. Every read checks the
/// bytes it needs and every length against what is left, so malformed input ends in an
/// <see cref="OpcUaFormatException"/>, never an index error, a huge allocation or a hang.
/// </summary>
public ref struct UaReader
{
    /// <summary>How deep Variants, DataValues and DiagnosticInfos may nest.</summary>
    public const int MaxDepth = 16;

    private readonly ReadOnlySpan<byte> _data;
    private int _position;
    internal int Depth;

    public UaReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
        Depth = 0;
    }

    public readonly int Position => _position;
    public readonly int Remaining => _data.Length - _position;
    public readonly bool End => _position >= _data.Length;

    /// <summary>Throws unless every byte was read: trailing bytes mean the message was misunderstood.</summary>
    public readonly void ExpectEnd(string what)
    {
        if (_position != _data.Length)
            OpcUaFormatException.Throw(OpcUaFormatError.BadLength, $"{_data.Length - _position} bytes left over after {what}");
    }

    public ReadOnlySpan<byte> Bytes(int count, string what)
    {
        if (count < 0 || count > Remaining) OpcUaFormatException.Truncated(what);
        var s = _data.Slice(_position, count);
        _position += count;
        return s;
    }

    public bool Boolean() => Bytes(1, "a Boolean")[0] != 0;
    public byte Byte() => Bytes(1, "a Byte")[0];
    public sbyte SByte() => (sbyte)Bytes(1, "an SByte")[0];
    public short Int16() => BinaryPrimitives.ReadInt16LittleEndian(Bytes(2, "an Int16"));
    public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2, "a UInt16"));
    public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4, "an Int32"));
    public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4, "a UInt32"));
    public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Bytes(8, "an Int64"));
    public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8, "a UInt64"));
    public float Float() => BinaryPrimitives.ReadSingleLittleEndian(Bytes(4, "a Float"));
    public double Double() => BinaryPrimitives.ReadDoubleLittleEndian(Bytes(8, "a Double"));

    /// <summary>Int32 length (-1 = null) then UTF-8. Invalid UTF-8 reads as U+FFFD, as decoders do.</summary>
    public string? String()
    {
        int length = Int32();
        if (length == -1) return null;
        if (length < -1) OpcUaFormatException.Throw(OpcUaFormatError.BadLength, $"string length {length}");
        return Encoding.UTF8.GetString(Bytes(length, "a String"));
    }

    /// <summary>Int32 length (-1 = null) then the bytes, copied.</summary>
    public byte[]? ByteString()
    {
        int length = Int32();
        if (length == -1) return null;
        if (length < -1) OpcUaFormatException.Throw(OpcUaFormatError.BadLength, $"ByteString length {length}");
        return Bytes(length, "a ByteString").ToArray();
    }

    /// <summary>An XmlElement: a UTF-8 string on the wire.</summary>
    public string? XmlElement() => String();

    public DateTime DateTime() => UaDateTime.FromTicks(Int64());

    public Guid Guid() => new(Bytes(16, "a Guid"));

    public StatusCode StatusCode() => new(UInt32());

    public NodeId NodeId() => OpcUa.NodeId.Decode(ref this, expanded: false, out _, out _);

    public ExpandedNodeId ExpandedNodeId()
    {
        var id = OpcUa.NodeId.Decode(ref this, expanded: true, out string? uri, out uint serverIndex);
        return new ExpandedNodeId(id, uri, serverIndex);
    }

    public QualifiedName QualifiedName() => new(UInt16(), String());

    public LocalizedText LocalizedText()
    {
        byte mask = Byte();
        if ((mask & ~0x03) != 0) OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"LocalizedText mask 0x{mask:X2}");
        string? locale = (mask & 1) != 0 ? String() : null;
        string? text = (mask & 2) != 0 ? String() : null;
        return new LocalizedText(locale, text);
    }

    /// <summary>An ExtensionObject: its type id and, when it has one, its binary body (XML bodies are returned raw).</summary>
    public ExtensionObject ExtensionObject()
    {
        var typeId = NodeId();
        byte encoding = Byte();
        switch (encoding)
        {
            case 0: return new ExtensionObject(typeId, 0, null);
            case 1:
            case 2:
                int length = Int32();
                if (length < 0) OpcUaFormatException.Throw(OpcUaFormatError.BadLength, $"ExtensionObject body length {length}");
                return new ExtensionObject(typeId, encoding, Bytes(length, "an ExtensionObject body").ToArray());
            default:
                OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"ExtensionObject encoding {encoding}");
                return default;
        }
    }

    public Variant Variant() => OpcUa.Variant.Decode(ref this);

    public DataValue DataValue() => OpcUa.DataValue.Decode(ref this);

    /// <summary>Reads and drops a DiagnosticInfo (Part 6, sec 5.2.2.12); servers send them only when asked.</summary>
    public void SkipDiagnosticInfo()
    {
        if (++Depth > MaxDepth) OpcUaFormatException.Throw(OpcUaFormatError.TooDeep, "DiagnosticInfo nested too deep");
        byte mask = Byte();
        if ((mask & 0x80) != 0) OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"DiagnosticInfo mask 0x{mask:X2}");
        if ((mask & 0x01) != 0) Int32();   // SymbolicId
        if ((mask & 0x02) != 0) Int32();   // NamespaceUri
        if ((mask & 0x08) != 0) Int32();   // Locale
        if ((mask & 0x04) != 0) Int32();   // LocalizedText
        if ((mask & 0x10) != 0) String();  // AdditionalInfo
        if ((mask & 0x20) != 0) UInt32();  // InnerStatusCode
        if ((mask & 0x40) != 0) SkipDiagnosticInfo();
        Depth--;
    }

    /// <summary>
    /// An array's Int32 length: -1 (null) reads as 0. A count that cannot fit in the bytes left
    /// (each element takes at least <paramref name="minElementSize"/>) is rejected before anything is allocated.
    /// </summary>
    public int ArrayLength(string what, int minElementSize = 1)
    {
        int count = Int32();
        if (count == -1) return 0;
        if (count < -1) OpcUaFormatException.Throw(OpcUaFormatError.BadLength, $"{what}: array length {count}");
        if ((long)count * Math.Max(1, minElementSize) > Remaining) OpcUaFormatException.Truncated($"{what} ({count} elements)");
        return count;
    }

    public string?[] StringArray(string what)
    {
        int n = ArrayLength(what, 4);
        var a = new string?[n];
        for (int i = 0; i < n; i++) a[i] = String();
        return a;
    }

    public StatusCode[] StatusCodeArray(string what)
    {
        int n = ArrayLength(what, 4);
        var a = new StatusCode[n];
        for (int i = 0; i < n; i++) a[i] = StatusCode();
        return a;
    }

    public uint[] UInt32Array(string what)
    {
        int n = ArrayLength(what, 4);
        var a = new uint[n];
        for (int i = 0; i < n; i++) a[i] = UInt32();
        return a;
    }

    public void SkipDiagnosticInfoArray()
    {
        int n = ArrayLength("DiagnosticInfos");
        for (int i = 0; i < n; i++) SkipDiagnosticInfo();
    }
}

/// <summary>OPC UA DateTime: 100 ns ticks since 1601-01-01 UTC (Part 6, sec 5.2.2.5).</summary>
public static class UaDateTime
{
    /// <summary>1601-01-01 in .NET ticks.</summary>
    public const long EpochTicks = 504911232000000000L;

    /// <summary>0 and anything before 1601 read as <see cref="DateTime.MinValue"/>; past 9999 as MaxValue.</summary>
    public static DateTime FromTicks(long ticks)
    {
        if (ticks <= 0) return System.DateTime.MinValue;
        if (ticks >= System.DateTime.MaxValue.Ticks - EpochTicks) return System.DateTime.MaxValue;
        return new DateTime(ticks + EpochTicks, DateTimeKind.Utc);
    }

    public static long ToTicks(DateTime value)
    {
        if (value == System.DateTime.MinValue) return 0;
        if (value == System.DateTime.MaxValue) return long.MaxValue;
        long t = value.ToUniversalTime().Ticks - EpochTicks;
        return t < 0 ? 0 : t;
    }
}
