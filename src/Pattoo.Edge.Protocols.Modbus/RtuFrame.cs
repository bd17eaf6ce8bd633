namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>
/// Modbus RTU frames: unit address, PDU, CRC-16 low byte first (MODBUS over Serial Line
/// V1.02, sec 2.5.1). RTU has no length field: a response's length follows from its function
/// code and byte count, which is why only the read functions (and exceptions) are framed here.
/// </summary>
public static class RtuFrame
{
    /// <summary>Largest RTU frame (sec 2.5.1.1).</summary>
    public const int MaxLength = 256;

    /// <summary>Length of a read request frame: unit, 5-byte PDU, CRC.</summary>
    public const int ReadRequestLength = 1 + ModbusPdu.ReadRequestLength + 2;

    public static bool TryWrite(Span<byte> destination, byte unitId, ReadOnlySpan<byte> pdu, out int written)
    {
        if (pdu.Length is 0 or > ModbusPdu.MaxLength) throw new ArgumentOutOfRangeException(nameof(pdu), pdu.Length, "1 to 253 bytes");
        written = 0;
        if (destination.Length < pdu.Length + 3) return false;
        destination[0] = unitId;
        pdu.CopyTo(destination[1..]);
        ushort crc = Crc16.Compute(destination[..(1 + pdu.Length)]);
        destination[1 + pdu.Length] = (byte)crc;
        destination[2 + pdu.Length] = (byte)(crc >> 8);
        written = pdu.Length + 3;
        return true;
    }

    /// <summary>
    /// How long the response starting at <paramref name="buffer"/> is, or 0 when more bytes are
    /// needed to tell (2 for an exception, 3 for a data response).
    /// </summary>
    /// <exception cref="ModbusFormatException">a function code that is neither a read nor a write, or a byte count above 250.</exception>
    public static int ResponseLength(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length < 2) return 0;
        byte fn = buffer[1];
        var function = (ModbusFunction)(fn & 0x7F);
        if (!function.IsKnown() && !function.IsWrite())
            ModbusFormatException.Throw(ModbusFrameError.UnexpectedFunction, $"function {fn & 0x7F} is neither a read nor a write");
        if ((fn & 0x80) != 0) return 5; // unit, fn, code, CRC
        if (function.IsWrite()) return 1 + ModbusPdu.WriteResponseLength + 2;
        if (buffer.Length < 3) return 0;
        int count = buffer[2];
        if (count > 250) ModbusFormatException.Throw(ModbusFrameError.BadLength, $"byte count {count}, at most 250");
        return 3 + count + 2;
    }

    /// <summary>
    /// Reads one response frame from the start of <paramref name="buffer"/>; false when more
    /// bytes are needed (<paramref name="consumed"/> is then 0).
    /// </summary>
    /// <exception cref="ModbusFormatException">an unframeable function code or byte count, or a CRC mismatch.</exception>
    public static bool TryReadResponse(ReadOnlySpan<byte> buffer, out byte unitId, out ReadOnlySpan<byte> pdu, out int consumed)
    {
        unitId = 0;
        pdu = default;
        consumed = 0;
        int length = ResponseLength(buffer);
        if (length == 0 || buffer.Length < length) return false;
        var frame = buffer[..length];
        if (!Crc16.Check(frame))
            ModbusFormatException.Throw(ModbusFrameError.BadCrc, $"CRC {frame[^2] | frame[^1] << 8:X4}, computed {Crc16.Compute(frame[..^2]):X4}");
        unitId = frame[0];
        pdu = frame[1..^2];
        consumed = length;
        return true;
    }

    /// <summary>Reads a read request frame (as a server sees it); false when fewer than 8 bytes are there.</summary>
    /// <exception cref="ModbusFormatException">not a read request, or a CRC mismatch.</exception>
    public static bool TryReadRequest(ReadOnlySpan<byte> buffer, out byte unitId, out ReadOnlySpan<byte> pdu, out int consumed)
    {
        unitId = 0;
        pdu = default;
        consumed = 0;
        if (buffer.Length >= 2 && !((ModbusFunction)buffer[1]).IsKnown())
            ModbusFormatException.Throw(ModbusFrameError.UnexpectedFunction, $"function {buffer[1]} is not a read");
        if (buffer.Length < ReadRequestLength) return false;
        var frame = buffer[..ReadRequestLength];
        if (!Crc16.Check(frame)) ModbusFormatException.Throw(ModbusFrameError.BadCrc, "CRC mismatch");
        unitId = frame[0];
        pdu = frame[1..^2];
        consumed = ReadRequestLength;
        return true;
    }

    /// <summary>
    /// The silence that separates frames: 3.5 character times, fixed at 1750 µs above 19200
    /// baud (sec 2.5.1.1). A character is 11 bits (start, 8 data, parity or a second stop, stop).
    /// </summary>
    public static TimeSpan InterFrameDelay(int baudRate)
    {
        if (baudRate <= 0) throw new ArgumentOutOfRangeException(nameof(baudRate));
        if (baudRate > 19200) return TimeSpan.FromMicroseconds(1750);
        return TimeSpan.FromMicroseconds(3.5 * 11 * 1_000_000.0 / baudRate);
    }
}
