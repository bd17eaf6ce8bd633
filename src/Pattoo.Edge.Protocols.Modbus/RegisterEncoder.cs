using System.Buffers.Binary;
using System.Text;

namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>
/// The inverse of <see cref="RegisterDecoder"/>: a value as the registers a write sends, in
/// the point's byte order. Refuses (false) what the type cannot hold rather than wrapping it.
/// </summary>
public static class RegisterEncoder
{
    /// <summary>
    /// Writes <paramref name="raw"/> (the register value, before scale) as <paramref name="type"/>
    /// into <paramref name="wire"/> (2, 4 or 8 bytes). False when it is not a whole number for an
    /// integer type, or outside the type's range.
    /// </summary>
    public static bool TryEncodeNumber(double raw, ModbusValueType type, ModbusByteOrder order, Span<byte> wire)
    {
        int bytes = RegisterDecoder.RegisterCount(type) * 2;
        if (wire.Length < bytes) throw new ArgumentException($"{type.Name()} needs {bytes} bytes", nameof(wire));
        Span<byte> be = stackalloc byte[8];
        if (type.IsInteger())
        {
            if (raw != Math.Floor(raw)) return false;
            (double lo, double hi) = type switch
            {
                ModbusValueType.Int16 => (short.MinValue, short.MaxValue),
                ModbusValueType.UInt16 => (0, ushort.MaxValue),
                ModbusValueType.Int32 => (int.MinValue, int.MaxValue),
                ModbusValueType.UInt32 => (0, uint.MaxValue),
                // Exact up to 2^53, like the decoder; beyond that a double cannot name one integer.
                _ => (type == ModbusValueType.Int64 ? -9007199254740992.0 : 0, 9007199254740992.0),
            };
            if (raw < lo || raw > hi) return false;
            long n = (long)raw;
            switch (bytes)
            {
                case 2: BinaryPrimitives.WriteUInt16BigEndian(be, (ushort)n); break;
                case 4: BinaryPrimitives.WriteUInt32BigEndian(be, (uint)n); break;
                default: BinaryPrimitives.WriteUInt64BigEndian(be, (ulong)n); break;
            }
        }
        else if (type == ModbusValueType.Float32)
        {
            if (!double.IsFinite(raw) || Math.Abs(raw) > float.MaxValue) return false;
            BinaryPrimitives.WriteUInt32BigEndian(be, BitConverter.SingleToUInt32Bits((float)raw));
        }
        else if (type == ModbusValueType.Float64)
        {
            if (!double.IsFinite(raw)) return false;
            BinaryPrimitives.WriteUInt64BigEndian(be, BitConverter.DoubleToUInt64Bits(raw));
        }
        else throw new ArgumentOutOfRangeException(nameof(type), type, "not a number");
        // The byte order is its own inverse (reversing words twice, swapping bytes twice).
        RegisterDecoder.ToBigEndian(be[..bytes], order, wire);
        return true;
    }

    /// <summary>
    /// Writes <paramref name="text"/> into <paramref name="wire"/> (the string's registers), padded
    /// with NULs, first character in the high byte (ABCD) or the low byte (BADC). False when its
    /// UTF-8 is longer than the registers.
    /// </summary>
    public static bool TryEncodeString(string text, ModbusByteOrder order, Span<byte> wire)
    {
        if ((wire.Length & 1) != 0) throw new ArgumentException("registers come in pairs of bytes", nameof(wire));
        int length = Encoding.UTF8.GetByteCount(text);
        if (length > wire.Length) return false;
        wire.Clear();
        Encoding.UTF8.GetBytes(text, wire);
        if (order.Split().SwapBytes)
        {
            for (int i = 0; i < wire.Length; i += 2) (wire[i], wire[i + 1]) = (wire[i + 1], wire[i]);
        }
        return true;
    }
}
