using System.Buffers.Binary;

namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>Message priority of an NPDU (clause 6.2.2, bits 1-0 of the control octet).</summary>
public enum NetworkPriority : byte { Normal = 0, Urgent = 1, CriticalEquipment = 2, LifeSafety = 3 }

/// <summary>
/// A remote BACnet address for routing: a network number (1-65534, 65535 = all networks) and a
/// MAC address on that network (empty = broadcast on it). A device on the local network has no
/// route: <see cref="IsLocal"/>.
/// </summary>
public readonly record struct BacnetRoute(ushort Network, ulong Mac, byte MacLength)
{
    public static BacnetRoute Local => default;
    public bool IsLocal => Network == 0;
    public const ushort GlobalBroadcast = 0xFFFF;

    public static BacnetRoute FromMac(ushort network, ReadOnlySpan<byte> mac)
    {
        if (mac.Length > 8) BacnetFormatException.Throw($"a MAC address of {mac.Length} octets (at most 8 are supported)");
        ulong v = 0;
        foreach (byte b in mac) v = (v << 8) | b;
        return new BacnetRoute(network, v, (byte)mac.Length);
    }

    public void WriteMac(ref BacnetWriter w)
    {
        for (int i = MacLength - 1; i >= 0; i--) w.Byte((byte)(Mac >> (8 * i)));
    }

    public string MacText()
    {
        Span<byte> b = stackalloc byte[8];
        for (int i = 0; i < MacLength; i++) b[i] = (byte)(Mac >> (8 * (MacLength - 1 - i)));
        return Convert.ToHexStringLower(b[..MacLength]);
    }

    public override string ToString() => IsLocal ? "local" : $"network {Network} mac {(MacLength == 0 ? "(broadcast)" : MacText())}";
}

/// <summary>A decoded NPDU header (clause 6.2).</summary>
public readonly record struct NpduHeader(
    byte Control, BacnetRoute Destination, BacnetRoute Source, byte HopCount, int Length, byte NetworkMessageType)
{
    /// <summary>Bit 7: the NPDU carries a network-layer message, not an APDU.</summary>
    public bool IsNetworkMessage => (Control & 0x80) != 0;
    public bool HasDestination => (Control & 0x20) != 0;
    public bool HasSource => (Control & 0x08) != 0;
    public bool ExpectingReply => (Control & 0x04) != 0;
    public NetworkPriority Priority => (NetworkPriority)(Control & 0x03);
}

/// <summary>The network layer header (ASHRAE 135 clause 6.2): version, control, optional DNET/DADR, SNET/SADR, hop count.</summary>
public static class Npdu
{
    public const byte Version = 0x01;

    /// <summary>Reads the header at the start of <paramref name="npdu"/>; the APDU (or network message body) follows at <see cref="NpduHeader.Length"/>.</summary>
    /// <exception cref="BacnetFormatException">a wrong version, a truncated address, SLEN 0, or a reserved control bit set.</exception>
    public static NpduHeader Read(ReadOnlySpan<byte> npdu)
    {
        if (npdu.Length < 2) BacnetFormatException.Truncated("NPDU header", 2, npdu.Length);
        if (npdu[0] != Version) BacnetFormatException.Throw($"NPDU version {npdu[0]}, expected 1");
        byte control = npdu[1];
        if ((control & 0x50) != 0) BacnetFormatException.Throw($"NPDU control 0x{control:x2} sets reserved bits");
        int pos = 2;
        BacnetRoute destination = default, source = default;
        byte hops = 0, messageType = 0;
        if ((control & 0x20) != 0)
        {
            destination = ReadAddress(npdu, ref pos, "DNET");
            if (destination.Network == 0) BacnetFormatException.Throw("DNET 0 is not a network number");
        }
        if ((control & 0x08) != 0)
        {
            source = ReadAddress(npdu, ref pos, "SNET");
            if (source.MacLength == 0) BacnetFormatException.Throw("SLEN 0: a source address cannot be a broadcast");
            if (source.Network is 0 or BacnetRoute.GlobalBroadcast) BacnetFormatException.Throw($"SNET {source.Network} is not a network number");
        }
        if ((control & 0x20) != 0)
        {
            if (npdu.Length < pos + 1) BacnetFormatException.Truncated("NPDU hop count", pos + 1, npdu.Length);
            hops = npdu[pos++];
        }
        if ((control & 0x80) != 0)
        {
            if (npdu.Length < pos + 1) BacnetFormatException.Truncated("network message type", pos + 1, npdu.Length);
            messageType = npdu[pos++];
            if (messageType >= 0x80)
            {
                if (npdu.Length < pos + 2) BacnetFormatException.Truncated("network message vendor id", pos + 2, npdu.Length);
                pos += 2;
            }
        }
        return new NpduHeader(control, destination, source, hops, pos, messageType);
    }

    private static BacnetRoute ReadAddress(ReadOnlySpan<byte> npdu, ref int pos, string what)
    {
        if (npdu.Length < pos + 3) BacnetFormatException.Truncated(what, pos + 3, npdu.Length);
        ushort net = BinaryPrimitives.ReadUInt16BigEndian(npdu[pos..]);
        int len = npdu[pos + 2];
        pos += 3;
        if (npdu.Length < pos + len) BacnetFormatException.Truncated(what + " MAC address", pos + len, npdu.Length);
        var route = BacnetRoute.FromMac(net, npdu.Slice(pos, len));
        pos += len;
        return route;
    }

    /// <summary>
    /// Writes the header of an NPDU carrying an APDU: to <paramref name="destination"/> through a
    /// router when it is not local (DNET, DLEN, DADR and a hop count of 255).
    /// </summary>
    public static bool TryWrite(Span<byte> buffer, BacnetRoute destination, bool expectingReply, out int written)
    {
        var w = new BacnetWriter(buffer);
        w.Byte(Version);
        byte control = (byte)((destination.IsLocal ? 0 : 0x20) | (expectingReply ? 0x04 : 0));
        w.Byte(control);
        if (!destination.IsLocal)
        {
            w.UInt16(destination.Network);
            w.Byte(destination.MacLength);
            destination.WriteMac(ref w);
            w.Byte(255);
        }
        written = w.Written;
        return !w.Overflowed;
    }
}
