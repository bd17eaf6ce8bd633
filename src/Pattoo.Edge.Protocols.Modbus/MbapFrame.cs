using System.Buffers.Binary;

namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>
/// Modbus TCP application data units: the 7-byte MBAP header (transaction id, protocol id 0,
/// length of what follows, unit id) and a PDU (MODBUS Messaging on TCP/IP Implementation
/// Guide V1.0b, sec 3.1.3).
/// </summary>
public static class MbapFrame
{
    public const int HeaderLength = 7;

    /// <summary>Largest ADU: header plus a 253-byte PDU.</summary>
    public const int MaxLength = HeaderLength + ModbusPdu.MaxLength;

    public static bool TryWrite(Span<byte> destination, ushort transactionId, byte unitId, ReadOnlySpan<byte> pdu, out int written)
    {
        if (pdu.Length is 0 or > ModbusPdu.MaxLength) throw new ArgumentOutOfRangeException(nameof(pdu), pdu.Length, "1 to 253 bytes");
        written = 0;
        if (destination.Length < HeaderLength + pdu.Length) return false;
        BinaryPrimitives.WriteUInt16BigEndian(destination, transactionId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)(pdu.Length + 1));
        destination[6] = unitId;
        pdu.CopyTo(destination[HeaderLength..]);
        written = HeaderLength + pdu.Length;
        return true;
    }

    /// <summary>
    /// Reads one ADU from the start of <paramref name="buffer"/>. Returns false when more bytes
    /// are needed; <paramref name="consumed"/> is then 0.
    /// </summary>
    /// <exception cref="ModbusFormatException">a protocol id other than 0, or a length outside 2-254.
    /// The stream cannot be resynchronised after this: close the connection.</exception>
    public static bool TryRead(ReadOnlySpan<byte> buffer, out ushort transactionId, out byte unitId, out ReadOnlySpan<byte> pdu, out int consumed)
    {
        transactionId = 0;
        unitId = 0;
        pdu = default;
        consumed = 0;
        if (buffer.Length < HeaderLength) return false;
        ushort protocol = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        if (protocol != 0) ModbusFormatException.Throw(ModbusFrameError.BadProtocolId, $"MBAP protocol id {protocol}, expected 0");
        int length = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
        if (length < 2 || length > ModbusPdu.MaxLength + 1)
            ModbusFormatException.Throw(ModbusFrameError.BadLength, $"MBAP length {length}, expected 2 to {ModbusPdu.MaxLength + 1}");
        int total = HeaderLength - 1 + length;
        if (buffer.Length < total) return false;
        transactionId = BinaryPrimitives.ReadUInt16BigEndian(buffer);
        unitId = buffer[6];
        pdu = buffer[HeaderLength..total];
        consumed = total;
        return true;
    }
}
