using System.Text;

namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>
/// Appends tagged BACnet data (clause 20.2) to a caller's span. Running out of room never
/// throws: <see cref="Overflowed"/> turns true and the public TryWrite methods return false.
/// </summary>
public ref struct BacnetWriter
{
    private readonly Span<byte> _buffer;
    private int _pos;

    public BacnetWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _pos = 0;
        Overflowed = false;
    }

    public readonly int Written => _pos;
    public bool Overflowed { get; private set; }

    public void Byte(byte b)
    {
        if (_pos >= _buffer.Length) { Overflowed = true; return; }
        _buffer[_pos++] = b;
    }

    public void Bytes(scoped ReadOnlySpan<byte> bytes)
    {
        if (_pos + bytes.Length > _buffer.Length) { Overflowed = true; return; }
        bytes.CopyTo(_buffer[_pos..]);
        _pos += bytes.Length;
    }

    public void UInt16(ushort v)
    {
        Byte((byte)(v >> 8));
        Byte((byte)v);
    }

    /// <summary>A tag header: number, class and length (clause 20.2.1).</summary>
    public void Tag(int number, bool context, uint length)
    {
        byte first = (byte)((number < 15 ? number << 4 : 0xF0) | (context ? 0x08 : 0));
        if (length < 5) first |= (byte)length;
        else first |= 5;
        Byte(first);
        if (number >= 15) Byte((byte)number);
        if (length < 5) return;
        if (length < 254) Byte((byte)length);
        else if (length <= ushort.MaxValue) { Byte(254); UInt16((ushort)length); }
        else { Byte(255); UInt16((ushort)(length >> 16)); UInt16((ushort)length); }
    }

    public void Opening(int number) => Byte((byte)((number < 15 ? number << 4 : 0xF0) | 0x0E)); // numbers >= 15 are never used here
    public void Closing(int number) => Byte((byte)((number < 15 ? number << 4 : 0xF0) | 0x0F));

    public void ContextUnsigned(int number, ulong value)
    {
        int n = UnsignedLength(value);
        Tag(number, true, (uint)n);
        BigEndian(value, n);
    }

    public void ContextEnumerated(int number, ulong value) => ContextUnsigned(number, value);

    public void ContextObjectId(int number, BacnetObjectId id)
    {
        Tag(number, true, 4);
        BigEndian(id.Encoded, 4);
    }

    public void ApplicationNull() => Tag((int)ApplicationTag.Null, false, 0);
    public void ApplicationBoolean(bool v) => Tag((int)ApplicationTag.Boolean, false, v ? 1u : 0u);

    public void ApplicationUnsigned(ulong value)
    {
        int n = UnsignedLength(value);
        Tag((int)ApplicationTag.Unsigned, false, (uint)n);
        BigEndian(value, n);
    }

    public void ApplicationEnumerated(ulong value)
    {
        int n = UnsignedLength(value);
        Tag((int)ApplicationTag.Enumerated, false, (uint)n);
        BigEndian(value, n);
    }

    public void ApplicationSigned(long value)
    {
        int n = 1;
        while (n < 8 && (value < -(1L << (8 * n - 1)) || value >= 1L << (8 * n - 1))) n++;
        Tag((int)ApplicationTag.Signed, false, (uint)n);
        BigEndian(unchecked((ulong)value), n);
    }

    public void ApplicationReal(float v)
    {
        Tag((int)ApplicationTag.Real, false, 4);
        BigEndian(BitConverter.SingleToUInt32Bits(v), 4);
    }

    public void ApplicationDouble(double v)
    {
        Tag((int)ApplicationTag.Double, false, 8);
        BigEndian(BitConverter.DoubleToUInt64Bits(v), 8);
    }

    public void ApplicationOctetString(scoped ReadOnlySpan<byte> v)
    {
        Tag((int)ApplicationTag.OctetString, false, (uint)v.Length);
        Bytes(v);
    }

    /// <summary>A UTF-8 CharacterString (character set 0).</summary>
    public void ApplicationCharacterString(string v)
    {
        int n = Encoding.UTF8.GetByteCount(v);
        Tag((int)ApplicationTag.CharacterString, false, (uint)n + 1);
        Byte(0);
        if (_pos + n > _buffer.Length) { Overflowed = true; return; }
        _pos += Encoding.UTF8.GetBytes(v, _buffer[_pos..]);
    }

    /// <summary>A BitString of <paramref name="length"/> bits (at most 64), bit i taken from bit i of <paramref name="mask"/>.</summary>
    public void ApplicationBitString(ulong mask, int length)
    {
        int octets = (length + 7) / 8;
        Tag((int)ApplicationTag.BitString, false, (uint)octets + 1);
        Byte((byte)(octets * 8 - length));
        for (int o = 0; o < octets; o++)
        {
            byte b = 0;
            for (int bit = 0; bit < 8; bit++)
            {
                int i = o * 8 + bit;
                if (i < length && ((mask >> i) & 1) != 0) b |= (byte)(0x80 >> bit);
            }
            Byte(b);
        }
    }

    public void ApplicationDate(byte yearMinus1900, byte month, byte day, byte weekday)
    {
        Tag((int)ApplicationTag.Date, false, 4);
        Byte(yearMinus1900); Byte(month); Byte(day); Byte(weekday);
    }

    public void ApplicationTime(byte hour, byte minute, byte second, byte hundredths)
    {
        Tag((int)ApplicationTag.Time, false, 4);
        Byte(hour); Byte(minute); Byte(second); Byte(hundredths);
    }

    public void ApplicationObjectId(BacnetObjectId id)
    {
        Tag((int)ApplicationTag.ObjectIdentifier, false, 4);
        BigEndian(id.Encoded, 4);
    }

    /// <summary>Writes any primitive value with its application tag.</summary>
    public void Application(in BacnetValue v)
    {
        switch (v.Tag)
        {
            case ApplicationTag.Null: ApplicationNull(); break;
            case ApplicationTag.Boolean: ApplicationBoolean(v.Boolean); break;
            case ApplicationTag.Unsigned: ApplicationUnsigned(v.Unsigned); break;
            case ApplicationTag.Signed: ApplicationSigned(v.Signed); break;
            case ApplicationTag.Real: ApplicationReal(v.Real); break;
            case ApplicationTag.Double: ApplicationDouble(v.Double); break;
            case ApplicationTag.OctetString: ApplicationOctetString(v.Octets); break;
            case ApplicationTag.CharacterString: ApplicationCharacterString(v.Text); break;
            case ApplicationTag.BitString: ApplicationBitString(v.BitMask, Math.Min(v.BitLength, 64)); break;
            case ApplicationTag.Enumerated: ApplicationEnumerated(v.Enumerated); break;
            case ApplicationTag.ObjectIdentifier: ApplicationObjectId(v.ObjectId); break;
            case ApplicationTag.Date:
            case ApplicationTag.Time:
                // Held packed as four octets, most significant first.
                Tag((int)v.Tag, false, 4);
                BigEndian(v.Unsigned, 4);
                break;
        }
    }

    /// <summary>Octets an Unsigned needs: 1-8, no leading zero octets (clause 20.2.4).</summary>
    public static int UnsignedLength(ulong value)
    {
        int n = 1;
        while (n < 8 && value >= 1UL << (8 * n)) n++;
        return n;
    }

    private void BigEndian(ulong value, int n)
    {
        for (int i = n - 1; i >= 0; i--) Byte((byte)(value >> (8 * i)));
    }
}
