using System.Globalization;
using System.Text;

namespace Pattoo.Edge.Protocols.Snmp;

/// <summary>One varbind of a notification, decoded: its OID, type, value as text, and as a number when it is one.</summary>
public sealed record NotificationVarbind(string Oid, SnmpValueType Type, string Text, double? Number);

/// <summary>
/// A notification (SNMPv1 trap, SNMPv2 trap or inform) in SNMPv2's form whatever version it
/// came in (RFC 3584 sec 3.1): its snmpTrapOID and sysUpTime, and the varbinds after those two.
/// A v1 trap's generic-trap 0-5 becomes 1.3.6.1.6.3.1.1.5.(generic + 1), an enterprise-specific
/// one enterprise.0.specific; its enterprise and agent-addr are kept.
/// </summary>
public sealed record SnmpNotification(PduType Type, int RequestId, string TrapOid, long UptimeTicks, IReadOnlyList<NotificationVarbind> Varbinds)
{
    /// <summary>v1: the enterprise field; v2: snmpTrapEnterprise.0 when the sender adds it.</summary>
    public string? Enterprise { get; init; }
    /// <summary>v1: the agent-addr field (the sender's own idea of its address).</summary>
    public string? AgentAddress { get; init; }

    public bool IsInform => Type == PduType.InformRequest;

    public const string SysUpTime = "1.3.6.1.2.1.1.3.0";
    public const string SnmpTrapOid = "1.3.6.1.6.3.1.1.4.1.0";
    public const string SnmpTrapEnterprise = "1.3.6.1.6.3.1.1.4.3.0";
    private const string GenericTraps = "1.3.6.1.6.3.1.1.5.";

    /// <summary>
    /// Reads the notification PDU at <paramref name="pdu"/> of <paramref name="buffer"/>: a Trap-PDU
    /// (v1), SNMPv2-Trap-PDU or InformRequest-PDU. The v2 forms must start with sysUpTime.0 and
    /// snmpTrapOID.0 (RFC 3416 sec 4.2.6).
    /// </summary>
    /// <exception cref="SnmpFormatException">not a notification, or a malformed one.</exception>
    public static SnmpNotification Read(ReadOnlySpan<byte> buffer, Segment pdu)
    {
        if (pdu.Length == 0) SnmpFormatException.Throw("no PDU");
        byte tag = buffer[pdu.Offset];
        if (tag == (byte)PduType.TrapV1)
        {
            var v1 = SnmpDecoder.ReadTrapV1Header(buffer, pdu);
            string enterprise = Snmp.Oid.Format(v1.Enterprise.Of(buffer));
            string trapOid = v1.GenericTrap < 6
                ? GenericTraps + (v1.GenericTrap + 1).ToString(CultureInfo.InvariantCulture)
                : $"{enterprise}.0.{v1.SpecificTrap.ToString(CultureInfo.InvariantCulture)}";
            var a = v1.AgentAddress.Of(buffer);
            return new SnmpNotification(PduType.TrapV1, 0, trapOid, v1.TimeStamp, ReadVarbinds(buffer, v1.Varbinds))
            {
                Enterprise = enterprise,
                AgentAddress = $"{a[0]}.{a[1]}.{a[2]}.{a[3]}",
            };
        }
        var h = SnmpDecoder.ReadPduHeader(buffer, pdu);
        if (h.Type is not (PduType.TrapV2 or PduType.InformRequest))
            SnmpFormatException.Throw($"expected a trap or an inform, got a {h.Type} PDU");
        var all = ReadVarbinds(buffer, h.Varbinds);
        if (all.Count < 2 || all[0].Oid != SysUpTime || all[0].Type != SnmpValueType.TimeTicks)
            SnmpFormatException.Throw("the first varbind of a notification must be sysUpTime.0 (TimeTicks)");
        if (all[1].Oid != SnmpTrapOid || all[1].Type != SnmpValueType.ObjectIdentifier)
            SnmpFormatException.Throw("the second varbind of a notification must be snmpTrapOID.0 (OBJECT IDENTIFIER)");
        return new SnmpNotification(h.Type, h.RequestId, all[1].Text, (long)all[0].Number!.Value, all.GetRange(2, all.Count - 2))
        {
            Enterprise = all.FirstOrDefault(v => v.Oid == SnmpTrapEnterprise)?.Text,
        };
    }

    private static List<NotificationVarbind> ReadVarbinds(ReadOnlySpan<byte> buffer, Segment list)
    {
        var result = new List<NotificationVarbind>();
        var reader = new VarbindReader(buffer, list);
        while (reader.TryRead(out var vb)) result.Add(Decode(vb));
        return result;
    }

    /// <summary>A varbind's value as text (and number): numbers in decimal, addresses and OIDs dotted, printable strings as they are, other octets in hex.</summary>
    public static NotificationVarbind Decode(Varbind vb)
    {
        string oid = Snmp.Oid.Format(vb.Oid);
        if (vb.IsNumber)
        {
            double n = vb.ToDouble();
            return new NotificationVarbind(oid, vb.Type, n.ToString("R", CultureInfo.InvariantCulture), n);
        }
        string text = vb.Type switch
        {
            SnmpValueType.IpAddress => $"{vb.Value[0]}.{vb.Value[1]}.{vb.Value[2]}.{vb.Value[3]}",
            SnmpValueType.ObjectIdentifier => Snmp.Oid.Format(vb.Value),
            SnmpValueType.OctetString => OctetsText(vb.Value),
            SnmpValueType.Opaque => "0x" + Convert.ToHexString(vb.Value),
            _ => vb.Type.Name(),
        };
        return new NotificationVarbind(oid, vb.Type, text, null);
    }

    /// <summary>UTF-8 text when the octets are printable text, else "0x" and hex (MAC addresses, bit strings).</summary>
    public static string OctetsText(ReadOnlySpan<byte> octets)
    {
        var trimmed = octets;
        while (!trimmed.IsEmpty && trimmed[^1] == 0) trimmed = trimmed[..^1]; // C strings from some agents
        if (Utf8.IsPrintable(trimmed)) return Encoding.UTF8.GetString(trimmed);
        return "0x" + Convert.ToHexString(octets);
    }

    private static class Utf8
    {
        public static bool IsPrintable(ReadOnlySpan<byte> bytes)
        {
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) return false;
            foreach (byte b in bytes)
            {
                if (b < 0x20 && b is not (0x09 or 0x0A or 0x0D)) return false;
                if (b == 0x7F) return false;
            }
            return true;
        }
    }
}
