using System.Buffers.Binary;

namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>
/// Protocol data units of the write functions (MODBUS Application Protocol V1.1b3, sec 6.5,
/// 6.6, 6.11, 6.12). A single write's answer echoes the request; a multiple write's answer
/// echoes its address and quantity. Stateless, no I/O.
/// </summary>
public static class ModbusWritePdu
{
    /// <summary>Most coils one FC15 may write (sec 6.11: 1 to 0x7B0).</summary>
    public const int MaxCoils = 1968;

    /// <summary>Most registers one FC16 may write (sec 6.12: 1 to 123).</summary>
    public const int MaxRegisters = 123;

    /// <summary>FC5: writes one coil; 5 bytes.</summary>
    public static int WriteSingleCoil(Span<byte> destination, ushort address, bool on)
    {
        destination[0] = (byte)ModbusFunction.WriteSingleCoil;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], on ? (ushort)0xFF00 : (ushort)0x0000);
        return ModbusPdu.WriteResponseLength;
    }

    /// <summary>FC6: writes one register (<paramref name="register"/> is its 2 bytes as sent); 5 bytes.</summary>
    public static int WriteSingleRegister(Span<byte> destination, ushort address, ReadOnlySpan<byte> register)
    {
        if (register.Length != 2) throw new ArgumentException($"one register is 2 bytes, got {register.Length}", nameof(register));
        destination[0] = (byte)ModbusFunction.WriteSingleRegister;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], address);
        register.CopyTo(destination[3..]);
        return ModbusPdu.WriteResponseLength;
    }

    /// <summary>FC15: writes <paramref name="coils"/> from <paramref name="address"/> on.</summary>
    public static int WriteMultipleCoils(Span<byte> destination, ushort address, ReadOnlySpan<bool> coils)
    {
        if (coils.Length is 0 or > MaxCoils || address + coils.Length > 65536)
            throw new ArgumentOutOfRangeException(nameof(coils), coils.Length, $"1 to {MaxCoils} coils, ending at 65535 at most");
        int bytes = (coils.Length + 7) / 8;
        destination[0] = (byte)ModbusFunction.WriteMultipleCoils;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], (ushort)coils.Length);
        destination[5] = (byte)bytes;
        destination.Slice(6, bytes).Clear();
        for (int i = 0; i < coils.Length; i++)
        {
            if (coils[i]) destination[6 + (i >> 3)] |= (byte)(1 << (i & 7));
        }
        return 6 + bytes;
    }

    /// <summary>FC16: writes registers (<paramref name="registers"/>: 2 bytes each, as sent) from <paramref name="address"/> on.</summary>
    public static int WriteMultipleRegisters(Span<byte> destination, ushort address, ReadOnlySpan<byte> registers)
    {
        int count = registers.Length / 2;
        if ((registers.Length & 1) != 0 || count is 0 or > MaxRegisters || address + count > 65536)
            throw new ArgumentOutOfRangeException(nameof(registers), registers.Length, $"1 to {MaxRegisters} registers (2 bytes each), ending at 65535 at most");
        destination[0] = (byte)ModbusFunction.WriteMultipleRegisters;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], (ushort)count);
        destination[5] = (byte)registers.Length;
        registers.CopyTo(destination[6..]);
        return 6 + registers.Length;
    }

    /// <summary>
    /// Checks the answer to a write request: <see cref="ModbusExceptionCode.None"/> when it echoes
    /// the request as the function says, else the server's exception code.
    /// </summary>
    /// <exception cref="ModbusFormatException">the answer is malformed, answers another function, or does not echo the request.</exception>
    public static ModbusExceptionCode ReadResponse(ReadOnlySpan<byte> pdu, ReadOnlySpan<byte> request)
    {
        if (pdu.Length < 2) ModbusFormatException.Throw(ModbusFrameError.BadLength, $"a response PDU is at least 2 bytes, got {pdu.Length}");
        var function = (ModbusFunction)request[0];
        if ((pdu[0] & 0x7F) != request[0])
            ModbusFormatException.Throw(ModbusFrameError.UnexpectedFunction, $"asked {function.Describe()}, the answer is for function {pdu[0] & 0x7F}");
        if ((pdu[0] & 0x80) != 0)
        {
            if (pdu.Length != 2) ModbusFormatException.Throw(ModbusFrameError.BadLength, $"an exception response is 2 bytes, got {pdu.Length}");
            if (pdu[1] == 0) ModbusFormatException.Throw(ModbusFrameError.BadExceptionCode, "exception code 0");
            return (ModbusExceptionCode)pdu[1];
        }
        if (pdu.Length != ModbusPdu.WriteResponseLength)
            ModbusFormatException.Throw(ModbusFrameError.BadLength, $"a write's answer is {ModbusPdu.WriteResponseLength} bytes, got {pdu.Length}");
        // FC5/FC6 echo address and value, FC15/FC16 address and quantity: the 4 bytes after the function either way.
        if (!pdu[1..5].SequenceEqual(request[1..5]))
            ModbusFormatException.Throw(ModbusFrameError.CountMismatch, $"the answer to {function.Describe()} does not echo its address and {(function is ModbusFunction.WriteSingleCoil or ModbusFunction.WriteSingleRegister ? "value" : "quantity")}");
        return ModbusExceptionCode.None;
    }
}
