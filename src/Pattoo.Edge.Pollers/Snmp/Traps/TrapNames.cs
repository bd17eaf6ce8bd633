using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Protocols.Snmp;

namespace Pattoo.Edge.Pollers.Snmp.Traps;

/// <summary>
/// Names for the OIDs of a notification: the standard notifications and the objects they carry
/// (SNMPv2-MIB, IF-MIB), and every OID the SNMP poller reads under a key (built-in and
/// configured groups). An instance is named by its object and index: "ifOperStatus.3".
/// </summary>
public sealed class TrapNames
{
    private static readonly (string Oid, string Name)[] Standard =
    [
        ("1.3.6.1.6.3.1.1.5.1", "coldStart"),
        ("1.3.6.1.6.3.1.1.5.2", "warmStart"),
        ("1.3.6.1.6.3.1.1.5.3", "linkDown"),
        ("1.3.6.1.6.3.1.1.5.4", "linkUp"),
        ("1.3.6.1.6.3.1.1.5.5", "authenticationFailure"),
        ("1.3.6.1.6.3.1.1.5.6", "egpNeighborLoss"),
        ("1.3.6.1.2.1.1.1", "sysDescr"),
        ("1.3.6.1.2.1.1.3", "sysUpTime"),
        ("1.3.6.1.2.1.1.5", "sysName"),
        ("1.3.6.1.2.1.1.6", "sysLocation"),
        ("1.3.6.1.6.3.1.1.4.1", "snmpTrapOID"),
        ("1.3.6.1.6.3.1.1.4.3", "snmpTrapEnterprise"),
        ("1.3.6.1.6.3.18.1.3", "snmpTrapAddress"),
        ("1.3.6.1.6.3.18.1.4", "snmpTrapCommunity"),
        ("1.3.6.1.2.1.2.2.1.1", "ifIndex"),
        ("1.3.6.1.2.1.2.2.1.2", "ifDescr"),
        ("1.3.6.1.2.1.2.2.1.7", "ifAdminStatus"),
        ("1.3.6.1.2.1.2.2.1.8", "ifOperStatus"),
        ("1.3.6.1.2.1.31.1.1.1.1", "ifName"),
        ("1.3.6.1.2.1.31.1.1.1.18", "ifAlias"),
    ];

    /// <summary>IF-MIB's IfAdminStatus/IfOperStatus values.</summary>
    private static readonly string[] InterfaceStates = ["", "up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"];

    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);

    public TrapNames(IEnumerable<SnmpGroupOptions> groups)
    {
        foreach (var (oid, name) in Standard) _names[oid] = name;
        foreach (var g in groups)
            foreach (var o in g.Oids) _names.TryAdd(o.Oid, o.Key);
    }

    /// <summary>The name of an OID: its longest named prefix and the rest as an index; the OID itself when none is named.</summary>
    public string Name(string oid)
    {
        if (_names.TryGetValue(oid, out var exact)) return exact;
        for (int dot = oid.LastIndexOf('.'); dot > 0; dot = oid.LastIndexOf('.', dot - 1))
        {
            if (_names.TryGetValue(oid[..dot], out var name)) return name + oid[dot..];
        }
        return oid;
    }

    /// <summary>A value as read, with IF-MIB's status names: "down(2)".</summary>
    public static string Value(string name, NotificationVarbind v)
    {
        if (v.Number is { } n && (name.StartsWith("ifOperStatus", StringComparison.Ordinal) || name.StartsWith("ifAdminStatus", StringComparison.Ordinal))
            && n >= 1 && n < InterfaceStates.Length)
            return $"{InterfaceStates[(int)n]}({n.ToString(CultureInfo.InvariantCulture)})";
        return v.Text;
    }

    /// <summary>How much a notification matters: a link going down or a failed authentication is a warning, the rest information.</summary>
    public static EventSeverity Severity(string trapOid) => trapOid switch
    {
        "1.3.6.1.6.3.1.1.5.3" or "1.3.6.1.6.3.1.1.5.5" => EventSeverity.Warning,
        _ => EventSeverity.Info,
    };

    /// <summary>linkDown and linkUp: the interface's ifIndex, from the ifIndex varbind or the index of ifOperStatus/ifAdminStatus.</summary>
    public static string? InterfaceIndex(SnmpNotification n)
    {
        if (n.TrapOid is not ("1.3.6.1.6.3.1.1.5.3" or "1.3.6.1.6.3.1.1.5.4")) return null;
        foreach (var v in n.Varbinds)
        {
            if (v.Oid.StartsWith("1.3.6.1.2.1.2.2.1.1.", StringComparison.Ordinal) && v.Number is { } index) return index.ToString(CultureInfo.InvariantCulture);
            foreach (var column in (ReadOnlySpan<string>)["1.3.6.1.2.1.2.2.1.7.", "1.3.6.1.2.1.2.2.1.8."])
                if (v.Oid.StartsWith(column, StringComparison.Ordinal)) return v.Oid[column.Length..];
        }
        return null;
    }

    /// <summary>The name used when a numeric varbind is stored as a sample: letters, digits and underscores.</summary>
    public static string SampleKey(string name)
    {
        var chars = name.ToCharArray();
        for (int i = 0; i < chars.Length; i++) if (!char.IsAsciiLetterOrDigit(chars[i])) chars[i] = '_';
        return "trap_" + new string(chars);
    }
}
