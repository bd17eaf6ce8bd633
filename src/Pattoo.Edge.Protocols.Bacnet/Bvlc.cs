using System.Buffers.Binary;

namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>BVLC functions of BACnet/IP (Annex J.2).</summary>
public enum BvlcFunction : byte
{
    Result = 0x00,
    WriteBroadcastDistributionTable = 0x01,
    ReadBroadcastDistributionTable = 0x02,
    ReadBroadcastDistributionTableAck = 0x03,
    ForwardedNpdu = 0x04,
    RegisterForeignDevice = 0x05,
    ReadForeignDeviceTable = 0x06,
    ReadForeignDeviceTableAck = 0x07,
    DeleteForeignDeviceTableEntry = 0x08,
    DistributeBroadcastToNetwork = 0x09,
    OriginalUnicastNpdu = 0x0A,
    OriginalBroadcastNpdu = 0x0B,
    SecureBvll = 0x0C,
}

/// <summary>
/// A decoded BVLL header (Annex J.2): the function, where the NPDU starts, and for a
/// Forwarded-NPDU the B/IP address (4 octets IPv4 + 2 octets port) of the original sender.
/// </summary>
public readonly record struct BvlcHeader(BvlcFunction Function, int Length, int NpduOffset, uint ForwardedAddress, ushort ForwardedPort)
{
    /// <summary>True when the message carries an NPDU (unicast, broadcast, forwarded, distribute).</summary>
    public bool CarriesNpdu => Function is BvlcFunction.OriginalUnicastNpdu or BvlcFunction.OriginalBroadcastNpdu
        or BvlcFunction.ForwardedNpdu or BvlcFunction.DistributeBroadcastToNetwork;
}

/// <summary>BACnet/IP Virtual Link Control (Annex J.2): the 4-octet header of every BACnet/IP datagram.</summary>
public static class Bvlc
{
    /// <summary>BVLC type of BACnet/IP (Annex J.2.1).</summary>
    public const byte TypeBacnetIp = 0x81;
    public const int HeaderLength = 4;
    public const int ForwardedHeaderLength = 10;
    /// <summary>The largest BACnet/IP datagram: BVLC + NPDU + an APDU of 1476 octets.</summary>
    public const int MaxDatagram = 1497;

    /// <summary>Reads the header of a datagram; its length field must equal the datagram's length.</summary>
    /// <exception cref="BacnetFormatException">not BACnet/IP, a length that disagrees, or a truncated forwarded address.</exception>
    public static BvlcHeader Read(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < HeaderLength) BacnetFormatException.Truncated("BVLC header", HeaderLength, datagram.Length);
        if (datagram[0] != TypeBacnetIp) BacnetFormatException.Throw($"BVLC type 0x{datagram[0]:x2} is not BACnet/IP (0x81)");
        var function = (BvlcFunction)datagram[1];
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (length != datagram.Length) BacnetFormatException.Throw($"BVLC length {length} but the datagram has {datagram.Length} octets");
        if (function == BvlcFunction.ForwardedNpdu)
        {
            if (length < ForwardedHeaderLength) BacnetFormatException.Truncated("Forwarded-NPDU address", ForwardedHeaderLength, length);
            return new BvlcHeader(function, length, ForwardedHeaderLength, BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]), BinaryPrimitives.ReadUInt16BigEndian(datagram[8..]));
        }
        if (function > BvlcFunction.SecureBvll) BacnetFormatException.Throw($"BVLC function 0x{(byte)function:x2} is not defined");
        return new BvlcHeader(function, length, HeaderLength, 0, 0);
    }

    /// <summary>Writes a 4-octet header for a message of <paramref name="totalLength"/> octets (header included).</summary>
    public static bool TryWriteHeader(Span<byte> destination, BvlcFunction function, int totalLength)
    {
        if (destination.Length < HeaderLength || totalLength < HeaderLength || totalLength > ushort.MaxValue) return false;
        destination[0] = TypeBacnetIp;
        destination[1] = (byte)function;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)totalLength);
        return true;
    }

    /// <summary>The result code of a BVLC-Result (Annex J.2.1.1).</summary>
    public static ushort ReadResult(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < 6) BacnetFormatException.Truncated("BVLC-Result", 6, datagram.Length);
        return BinaryPrimitives.ReadUInt16BigEndian(datagram[4..]);
    }
}
