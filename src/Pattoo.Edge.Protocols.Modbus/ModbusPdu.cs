using System.Buffers.Binary;

namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>
/// Protocol data units of the read functions (MODBUS Application Protocol V1.1b3, sec 6.1-6.4
/// and 7): requests <c>fn, address(2), quantity(2)</c>; responses <c>fn, byte count, data</c>;
/// exceptions <c>fn | 0x80, code</c>. All fields big-endian. Stateless, no I/O.
/// </summary>
public static class ModbusPdu
{
    /// <summary>Length of a read request PDU.</summary>
    public const int ReadRequestLength = 5;

    /// <summary>Length of a write function's normal answer (and of an FC5/FC6 request).</summary>
    public const int WriteResponseLength = 5;

    /// <summary>Largest PDU (sec 4.1: 256-byte serial ADU minus address and CRC).</summary>
    public const int MaxLength = 253;

    /// <summary>Data bytes a read of <paramref name="quantity"/> items answers with.</summary>
    public static int DataLength(ModbusFunction function, int quantity) => function.IsBits() ? (quantity + 7) / 8 : quantity * 2;

    /// <summary>Writes a read request; false when <paramref name="destination"/> is too small.</summary>
    /// <exception cref="ArgumentOutOfRangeException">the function is not a read, or the quantity is 0,
    /// above the function's limit or runs past address 65535.</exception>
    public static bool TryWriteReadRequest(Span<byte> destination, ModbusFunction function, ushort address, ushort quantity, out int written)
    {
        if (!function.IsKnown()) throw new ArgumentOutOfRangeException(nameof(function), function, "not a read function");
        if (quantity == 0 || quantity > function.MaxCount() || address + quantity > 65536)
            throw new ArgumentOutOfRangeException(nameof(quantity), quantity, $"1 to {function.MaxCount()} items, ending at 65535 at most");
        written = 0;
        if (destination.Length < ReadRequestLength) return false;
        destination[0] = (byte)function;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], quantity);
        written = ReadRequestLength;
        return true;
    }

    /// <summary>Reads a read request (as a server sees it).</summary>
    /// <exception cref="ModbusFormatException">not a read request of 5 bytes, or a quantity out of range.</exception>
    public static void ReadReadRequest(ReadOnlySpan<byte> pdu, out ModbusFunction function, out ushort address, out ushort quantity)
    {
        if (pdu.Length < 1) ModbusFormatException.Throw(ModbusFrameError.BadLength, "empty PDU");
        function = (ModbusFunction)pdu[0];
        if (!function.IsKnown()) ModbusFormatException.Throw(ModbusFrameError.UnexpectedFunction, $"function {pdu[0]} is not a read");
        if (pdu.Length != ReadRequestLength) ModbusFormatException.Throw(ModbusFrameError.BadLength, $"a read request is {ReadRequestLength} bytes, got {pdu.Length}");
        address = BinaryPrimitives.ReadUInt16BigEndian(pdu[1..]);
        quantity = BinaryPrimitives.ReadUInt16BigEndian(pdu[3..]);
        if (quantity == 0 || quantity > function.MaxCount() || address + quantity > 65536)
            ModbusFormatException.Throw(ModbusFrameError.BadRequest, $"quantity {quantity} at {address} is out of range");
    }

    /// <summary>Writes a normal read response carrying <paramref name="data"/>.</summary>
    public static bool TryWriteReadResponse(Span<byte> destination, ModbusFunction function, ReadOnlySpan<byte> data, out int written)
    {
        if (data.Length > 250) throw new ArgumentOutOfRangeException(nameof(data), data.Length, "at most 250 data bytes");
        written = 0;
        if (destination.Length < 2 + data.Length) return false;
        destination[0] = (byte)function;
        destination[1] = (byte)data.Length;
        data.CopyTo(destination[2..]);
        written = 2 + data.Length;
        return true;
    }

    /// <summary>Writes an exception response (sec 7).</summary>
    public static bool TryWriteException(Span<byte> destination, ModbusFunction function, ModbusExceptionCode code, out int written)
    {
        written = 0;
        if (destination.Length < 2) return false;
        destination[0] = (byte)((byte)function | 0x80);
        destination[1] = (byte)code;
        written = 2;
        return true;
    }

    /// <summary>
    /// Checks a response against the request it answers and returns its data bytes, or the
    /// exception code the server sent (then <paramref name="data"/> is empty).
    /// </summary>
    /// <returns><see cref="ModbusExceptionCode.None"/> for data, else the server's exception code.</returns>
    /// <exception cref="ModbusFormatException">the response is malformed, answers another function,
    /// or carries a byte count that does not fit <paramref name="quantity"/>.</exception>
    public static ModbusExceptionCode ReadResponse(ReadOnlySpan<byte> pdu, ModbusFunction function, int quantity, out ReadOnlySpan<byte> data)
    {
        var code = ReadResponse(pdu, out var answered, out data);
        if (answered != function)
            ModbusFormatException.Throw(ModbusFrameError.UnexpectedFunction, $"asked {function.Describe()}, the answer is for function {(byte)answered}");
        if (code == ModbusExceptionCode.None && data.Length != DataLength(function, quantity))
            ModbusFormatException.Throw(ModbusFrameError.CountMismatch, $"asked for {quantity} items ({DataLength(function, quantity)} bytes), got {data.Length} bytes");
        return code;
    }

    /// <summary>Reads any read-function response without a request to check it against.</summary>
    /// <exception cref="ModbusFormatException">the response is malformed.</exception>
    public static ModbusExceptionCode ReadResponse(ReadOnlySpan<byte> pdu, out ModbusFunction function, out ReadOnlySpan<byte> data)
    {
        data = default;
        if (pdu.Length < 2) ModbusFormatException.Throw(ModbusFrameError.BadLength, $"a response PDU is at least 2 bytes, got {pdu.Length}");
        byte fn = pdu[0];
        function = (ModbusFunction)(fn & 0x7F);
        if (!function.IsKnown()) ModbusFormatException.Throw(ModbusFrameError.UnexpectedFunction, $"function {fn & 0x7F} is not a read");
        if ((fn & 0x80) != 0)
        {
            if (pdu.Length != 2) ModbusFormatException.Throw(ModbusFrameError.BadLength, $"an exception response is 2 bytes, got {pdu.Length}");
            if (pdu[1] == 0) ModbusFormatException.Throw(ModbusFrameError.BadExceptionCode, "exception code 0");
            return (ModbusExceptionCode)pdu[1];
        }
        int count = pdu[1];
        if (pdu.Length != 2 + count) ModbusFormatException.Throw(ModbusFrameError.BadLength, $"byte count {count} but {pdu.Length - 2} data bytes");
        if (count == 0 || (!function.IsBits() && count % 2 != 0))
            ModbusFormatException.Throw(ModbusFrameError.CountMismatch, $"byte count {count} cannot answer {function.Describe()}");
        data = pdu.Slice(2, count);
        return ModbusExceptionCode.None;
    }
}
