namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>A decoded BACnet/IP datagram: BVLC, NPDU, and where the APDU starts.</summary>
public readonly record struct BacnetDatagram(BvlcHeader Bvlc, NpduHeader Npdu, int ApduOffset)
{
    /// <summary>True when an APDU follows (not a network-layer message).</summary>
    public bool HasApdu => !Npdu.IsNetworkMessage;
}

/// <summary>Whole datagrams: BVLC + NPDU + APDU.</summary>
public static class BacnetDatagrams
{
    /// <summary>
    /// Reads the BVLC and NPDU of a datagram. False for BVLC messages that carry no NPDU
    /// (BVLC-Result, table management), which a client ignores.
    /// </summary>
    /// <exception cref="BacnetFormatException">a malformed BVLC or NPDU header, or no APDU after it.</exception>
    public static bool TryRead(ReadOnlySpan<byte> datagram, out BacnetDatagram message)
    {
        message = default;
        var bvlc = Bvlc.Read(datagram);
        if (!bvlc.CarriesNpdu) return false;
        var npdu = Npdu.Read(datagram[bvlc.NpduOffset..]);
        int apdu = bvlc.NpduOffset + npdu.Length;
        if (!npdu.IsNetworkMessage && apdu >= datagram.Length) BacnetFormatException.Throw("NPDU without an APDU");
        message = new BacnetDatagram(bvlc, npdu, apdu);
        return true;
    }

    /// <summary>Writes BVLC + NPDU + <paramref name="apdu"/>: Original-Unicast, or Original-Broadcast when <paramref name="broadcast"/>.</summary>
    public static bool TryWrite(Span<byte> destination, bool broadcast, BacnetRoute route, bool expectingReply, ReadOnlySpan<byte> apdu, out int written)
    {
        written = 0;
        if (destination.Length < Bvlc.HeaderLength) return false;
        if (!Npdu.TryWrite(destination[Bvlc.HeaderLength..], route, expectingReply, out int npdu)) return false;
        int total = Bvlc.HeaderLength + npdu + apdu.Length;
        if (total > destination.Length) return false;
        apdu.CopyTo(destination[(Bvlc.HeaderLength + npdu)..]);
        if (!Bvlc.TryWriteHeader(destination, broadcast ? BvlcFunction.OriginalBroadcastNpdu : BvlcFunction.OriginalUnicastNpdu, total)) return false;
        written = total;
        return true;
    }
}
