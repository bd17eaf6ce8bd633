using System.Buffers.Binary;
using System.Text;

namespace Pattoo.Edge.Protocols.OpcUa;

/// <summary>
/// Appends OPC UA Binary encodings (Part 6, sec 5.2) to a growable buffer: little-endian
/// numbers, Int32-length-prefixed strings and byte strings (-1 = null), DateTime as 100 ns
/// ticks since 1601. One writer is reused per channel; <see cref="Clear"/> resets it.
/// </summary>
public sealed class UaWriter
{
    private byte[] _buffer;

    public UaWriter(int capacity = 1024) => _buffer = new byte[Math.Max(64, capacity)];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, Length);

    public void Clear() => Length = 0;

    /// <summary>Drops everything after <paramref name="length"/> bytes.</summary>
    public void Truncate(int length)
    {
        if ((uint)length > (uint)Length) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
    }

    public byte[] ToArray() => Written.ToArray();

    /// <summary>Reserves <paramref name="count"/> bytes and returns them to be filled.</summary>
    public Span<byte> Reserve(int count)
    {
        Ensure(count);
        var span = _buffer.AsSpan(Length, count);
        Length += count;
        return span;
    }

    /// <summary>The bytes at an earlier position, to patch a length written before it was known.</summary>
    public Span<byte> At(int position, int count) => _buffer.AsSpan(position, count);

    private void Ensure(int count)
    {
        if (Length + count <= _buffer.Length) return;
        int size = _buffer.Length;
        while (size < Length + count) size = checked(size * 2);
        Array.Resize(ref _buffer, size);
    }

    public void Boolean(bool v) => Byte(v ? (byte)1 : (byte)0);
    public void Byte(byte v) => Reserve(1)[0] = v;
    public void SByte(sbyte v) => Reserve(1)[0] = (byte)v;
    public void Int16(short v) => BinaryPrimitives.WriteInt16LittleEndian(Reserve(2), v);
    public void UInt16(ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), v);
    public void Int32(int v) => BinaryPrimitives.WriteInt32LittleEndian(Reserve(4), v);
    public void UInt32(uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Reserve(4), v);
    public void Int64(long v) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), v);
    public void UInt64(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), v);
    public void Float(float v) => BinaryPrimitives.WriteSingleLittleEndian(Reserve(4), v);
    public void Double(double v) => BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), v);
    public void Raw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    /// <summary>UTF-8 with an Int32 byte count; null is -1.</summary>
    public void String(string? v)
    {
        if (v is null) { Int32(-1); return; }
        int count = Encoding.UTF8.GetByteCount(v);
        Int32(count);
        Encoding.UTF8.GetBytes(v, Reserve(count));
    }

    /// <summary>Int32 byte count then the bytes; null is -1.</summary>
    public void ByteString(ReadOnlySpan<byte> v, bool isNull = false)
    {
        if (isNull) { Int32(-1); return; }
        Int32(v.Length);
        Raw(v);
    }

    public void ByteString(byte[]? v)
    {
        if (v is null) Int32(-1);
        else ByteString(v.AsSpan());
    }

    /// <summary>100 ns ticks since 1601-01-01 UTC; <see cref="DateTime.MinValue"/> is the null 0 (Part 6, sec 5.2.2.5).</summary>
    public void DateTime(DateTime v) => Int64(UaDateTime.ToTicks(v));

    /// <summary>Data1 (UInt32), Data2, Data3 (UInt16) little-endian, then Data4's 8 bytes: .NET's own layout.</summary>
    public void Guid(Guid v)
    {
        if (!v.TryWriteBytes(Reserve(16))) throw new InvalidOperationException("Guid.TryWriteBytes failed");
    }

    public void StatusCode(StatusCode v) => UInt32(v.Code);

    public void NodeId(NodeId v) => v.Encode(this, expandedFlags: 0);

    public void ExpandedNodeId(ExpandedNodeId v) => v.Encode(this);

    public void QualifiedName(QualifiedName v)
    {
        UInt16(v.NamespaceIndex);
        String(v.Name);
    }

    public void LocalizedText(LocalizedText v)
    {
        byte mask = (byte)((v.Locale is null ? 0 : 1) | (v.Text is null ? 0 : 2));
        Byte(mask);
        if (v.Locale is not null) String(v.Locale);
        if (v.Text is not null) String(v.Text);
    }

    /// <summary>An ExtensionObject with no body (TypeId 0, encoding 0).</summary>
    public void NullExtensionObject()
    {
        Byte(0); Byte(0); // TwoByte NodeId i=0
        Byte(0);          // no body
    }

    /// <summary>An ExtensionObject whose binary body is written by <paramref name="body"/>.</summary>
    public void ExtensionObject(uint binaryEncodingId, Action<UaWriter> body)
    {
        NodeId(new NodeId(0, binaryEncodingId));
        Byte(1); // body is a ByteString
        int lengthAt = Length;
        Int32(0);
        int start = Length;
        body(this);
        BinaryPrimitives.WriteInt32LittleEndian(At(lengthAt, 4), Length - start);
    }

    public void Variant(in Variant v) => v.Encode(this);

    public void DataValue(in DataValue v) => v.Encode(this);

    /// <summary>An array's Int32 length; -1 for a null array.</summary>
    public void ArrayLength(int count) => Int32(count);

    public void StringArray(IReadOnlyList<string?>? items)
    {
        if (items is null) { Int32(-1); return; }
        Int32(items.Count);
        foreach (var s in items) String(s);
    }

    public void UInt32Array(IReadOnlyList<uint>? items)
    {
        if (items is null) { Int32(-1); return; }
        Int32(items.Count);
        foreach (var u in items) UInt32(u);
    }
}
