using System.Buffers.Binary;
using System.Text;

namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>What a value in the data tables holds.</summary>
public enum ModbusValueType : byte
{
    Bool,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Float32,
    Float64,
    String,
}

/// <summary>
/// The order a value's bytes travel in, A being its most significant byte. A register always
/// travels high byte first (sec 4.2), but devices disagree on how to lay wider values across
/// registers: ABCD is big-endian, CDAB swaps the 16-bit words ("word swap", common on PLCs and
/// meters), BADC swaps the bytes inside each register, DCBA is little-endian. For 64-bit values
/// the same rule applies to four registers (CDAB reverses the register order).
/// </summary>
public enum ModbusByteOrder : byte
{
    ABCD,
    DCBA,
    BADC,
    CDAB,
}

/// <summary>Turns register and bit data, as read off the wire, into values. Pure and allocation-free except strings.</summary>
public static class RegisterDecoder
{
    /// <summary>Registers a value of <paramref name="type"/> spans; a string spans <paramref name="stringLength"/>.</summary>
    public static int RegisterCount(ModbusValueType type, int stringLength = 0) => type switch
    {
        ModbusValueType.Bool or ModbusValueType.Int16 or ModbusValueType.UInt16 => 1,
        ModbusValueType.Int32 or ModbusValueType.UInt32 or ModbusValueType.Float32 => 2,
        ModbusValueType.Int64 or ModbusValueType.UInt64 or ModbusValueType.Float64 => 4,
        ModbusValueType.String => stringLength,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Whether the word order is reversed (CDAB, DCBA) and whether the bytes inside a register are swapped (BADC, DCBA).</summary>
    public static (bool ReverseWords, bool SwapBytes) Split(this ModbusByteOrder order)
        => (order is ModbusByteOrder.CDAB or ModbusByteOrder.DCBA, order is ModbusByteOrder.BADC or ModbusByteOrder.DCBA);

    /// <summary>Rearranges register bytes read off the wire into big-endian (ABCD...) order.</summary>
    /// <exception cref="ArgumentException">an odd length, or <paramref name="destination"/> shorter than <paramref name="wire"/>.</exception>
    public static void ToBigEndian(ReadOnlySpan<byte> wire, ModbusByteOrder order, Span<byte> destination)
    {
        if ((wire.Length & 1) != 0) throw new ArgumentException("registers come in pairs of bytes", nameof(wire));
        if (destination.Length < wire.Length) throw new ArgumentException("too small", nameof(destination));
        var (reverseWords, swapBytes) = order.Split();
        int words = wire.Length / 2;
        for (int i = 0; i < words; i++)
        {
            int from = (reverseWords ? words - 1 - i : i) * 2;
            byte hi = wire[from], lo = wire[from + 1];
            destination[i * 2] = swapBytes ? lo : hi;
            destination[i * 2 + 1] = swapBytes ? hi : lo;
        }
    }

    /// <summary>The raw bits of a 16, 32 or 64-bit value, zero-extended.</summary>
    /// <exception cref="ArgumentException"><paramref name="wire"/> is not 2, 4 or 8 bytes.</exception>
    public static ulong DecodeBits(ReadOnlySpan<byte> wire, ModbusByteOrder order)
    {
        Span<byte> be = stackalloc byte[8];
        switch (wire.Length)
        {
            case 2: ToBigEndian(wire, order, be); return BinaryPrimitives.ReadUInt16BigEndian(be);
            case 4: ToBigEndian(wire, order, be); return BinaryPrimitives.ReadUInt32BigEndian(be);
            case 8: ToBigEndian(wire, order, be); return BinaryPrimitives.ReadUInt64BigEndian(be);
            default: throw new ArgumentException($"2, 4 or 8 bytes, got {wire.Length}", nameof(wire));
        }
    }

    /// <summary>A signed integer value (int16, int32, int64) exactly.</summary>
    public static long DecodeInt64(ReadOnlySpan<byte> wire, ModbusValueType type, ModbusByteOrder order)
    {
        ulong bits = DecodeBits(Slice(wire, type), order);
        return type switch
        {
            ModbusValueType.Int16 => (short)bits,
            ModbusValueType.Int32 => (int)bits,
            ModbusValueType.Int64 => (long)bits,
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a signed integer"),
        };
    }

    /// <summary>
    /// Any numeric type as a double: integers exactly up to 2^53, float32 widened exactly.
    /// Not for bool or string.
    /// </summary>
    public static double DecodeNumber(ReadOnlySpan<byte> wire, ModbusValueType type, ModbusByteOrder order)
    {
        ulong bits = DecodeBits(Slice(wire, type), order);
        return type switch
        {
            ModbusValueType.Int16 => (short)bits,
            ModbusValueType.UInt16 => (ushort)bits,
            ModbusValueType.Int32 => (int)bits,
            ModbusValueType.UInt32 => (uint)bits,
            ModbusValueType.Int64 => (long)bits,
            ModbusValueType.UInt64 => bits,
            ModbusValueType.Float32 => BitConverter.UInt32BitsToSingle((uint)bits),
            ModbusValueType.Float64 => BitConverter.UInt64BitsToDouble(bits),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a number"),
        };
    }

    /// <summary>Bit <paramref name="bit"/> (0 = least significant) of one register after byte order.</summary>
    public static bool DecodeRegisterBit(ReadOnlySpan<byte> wire, ModbusByteOrder order, int bit)
    {
        if ((uint)bit > 15) throw new ArgumentOutOfRangeException(nameof(bit), bit, "0 to 15");
        return ((DecodeBits(wire[..2], order) >> bit) & 1) != 0;
    }

    /// <summary>
    /// Text of registers, two characters each. ABCD (and CDAB) put the first character in the
    /// high byte, BADC (and DCBA) in the low byte; the word order does not apply to text.
    /// Decoded as UTF-8 (ASCII in practice), cut at the first NUL, trailing blanks trimmed.
    /// </summary>
    public static string DecodeString(ReadOnlySpan<byte> wire, ModbusByteOrder order)
    {
        if ((wire.Length & 1) != 0) throw new ArgumentException("registers come in pairs of bytes", nameof(wire));
        bool swap = order.Split().SwapBytes;
        Span<byte> text = wire.Length <= 256 ? stackalloc byte[wire.Length] : new byte[wire.Length];
        for (int i = 0; i < wire.Length; i += 2)
        {
            text[i] = swap ? wire[i + 1] : wire[i];
            text[i + 1] = swap ? wire[i] : wire[i + 1];
        }
        int end = text.IndexOf((byte)0);
        if (end < 0) end = text.Length;
        while (end > 0 && text[end - 1] == (byte)' ') end--;
        return Encoding.UTF8.GetString(text[..end]);
    }

    /// <summary>Bit <paramref name="index"/> of coil or discrete-input data (packed LSB first, sec 6.1).</summary>
    public static bool ReadBit(ReadOnlySpan<byte> bits, int index) => (bits[index >> 3] & (1 << (index & 7))) != 0;

    public static bool TryParseType(string text, out ModbusValueType type)
    {
        switch (text)
        {
            case "bool": type = ModbusValueType.Bool; return true;
            case "int16": type = ModbusValueType.Int16; return true;
            case "uint16": type = ModbusValueType.UInt16; return true;
            case "int32": type = ModbusValueType.Int32; return true;
            case "uint32": type = ModbusValueType.UInt32; return true;
            case "int64": type = ModbusValueType.Int64; return true;
            case "uint64": type = ModbusValueType.UInt64; return true;
            case "float32": type = ModbusValueType.Float32; return true;
            case "float64": type = ModbusValueType.Float64; return true;
            case "string": type = ModbusValueType.String; return true;
            default: type = default; return false;
        }
    }

    public static string Name(this ModbusValueType type) => type switch
    {
        ModbusValueType.Bool => "bool",
        ModbusValueType.Int16 => "int16",
        ModbusValueType.UInt16 => "uint16",
        ModbusValueType.Int32 => "int32",
        ModbusValueType.UInt32 => "uint32",
        ModbusValueType.Int64 => "int64",
        ModbusValueType.UInt64 => "uint64",
        ModbusValueType.Float32 => "float32",
        ModbusValueType.Float64 => "float64",
        _ => "string",
    };

    public static bool IsInteger(this ModbusValueType type) => type is >= ModbusValueType.Int16 and <= ModbusValueType.UInt64;

    public static bool IsFloat(this ModbusValueType type) => type is ModbusValueType.Float32 or ModbusValueType.Float64;

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> wire, ModbusValueType type)
    {
        int bytes = RegisterCount(type) * 2;
        if (wire.Length < bytes) throw new ArgumentException($"{type.Name()} needs {bytes} bytes, got {wire.Length}", nameof(wire));
        return wire[..bytes];
    }
}
