using System.Globalization;
using System.Text;
using Pattoo.Edge.Config;
using Pattoo.Edge.Protocols.Snmp;
using Pattoo.Edge.Protocols.Snmp.Usm;

namespace Pattoo.Edge.Pollers.Snmp.Discovery;

/// <summary>Writes an <see cref="SnmpSurvey"/> as a <c>[[snmp.targets]]</c> table, a comment per item saying what was found.</summary>
public static class SnmpDiscoveryToml
{
    /// <summary>RFC 3433 SensorDataType.</summary>
    private static string SensorType(int type) => type switch
    {
        1 => "other", 2 => "unknown", 3 => "volts AC", 4 => "volts DC", 5 => "amperes", 6 => "watts", 7 => "hertz",
        8 => "celsius", 9 => "percent RH", 10 => "rpm", 11 => "cubic metres per minute", 12 => "true/false", 13 => "enumeration",
        14 => "dBm", _ => $"type {type}",
    };

    /// <summary>RFC 3433 SensorDataScale: 9 is units, each step a factor of 1000.</summary>
    private static int ScaleExponent(int scale) => scale is >= 1 and <= 17 ? (scale - 9) * 3 : 0;

    public static string Write(string commandLine, SnmpTargetOptions target, SnmpSurvey survey, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(commandLine).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"# {now.UtcDateTime:yyyy-MM-dd HH:mm} UTC, {survey.Requests} requests.\n");
        foreach (var (field, value) in survey.System) sb.Append("# ").Append(field).Append(": ").Append(TomlText.OneLine(value)).Append('\n');

        var groups = new List<string>();
        sb.Append("# IF-MIB: ");
        if (survey.Interfaces.Count == 0) sb.Append("not served\n");
        else if (survey.HasIfXTable)
        {
            groups.Add(BuiltInGroups.IfMib);
            sb.Append(CultureInfo.InvariantCulture, $"{survey.Interfaces.Count} interfaces with 64-bit counters (ifXTable): {List(survey.Interfaces)}; group \"if-mib\"\n");
        }
        else sb.Append(CultureInfo.InvariantCulture, $"{survey.Interfaces.Count} interfaces, no ifXTable (32-bit counters, explicit OIDs below): {List(survey.Interfaces)}\n");
        sb.Append("# HOST-RESOURCES-MIB: ");
        if (survey.Storage.Count == 0 && survey.Processors == 0) sb.Append("not served\n");
        else
        {
            groups.Add(BuiltInGroups.HostResources);
            sb.Append(CultureInfo.InvariantCulture, $"{survey.Processors} processors; storage: {List(survey.Storage)}; group \"host-resources\"\n");
        }
        sb.Append("# ENTITY-SENSOR-MIB: ");
        if (survey.Sensors.Count == 0) sb.Append("not served\n");
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"{survey.Sensors.Count} sensors\n");
            foreach (var s in survey.Sensors)
            {
                sb.Append(CultureInfo.InvariantCulture, $"#   {s.Index}: {TomlText.OneLine(s.Name)}: {SensorType(s.Type)}");
                int exponent = ScaleExponent(s.Scale) - s.Precision;
                if (exponent != 0) sb.Append(CultureInfo.InvariantCulture, $", value x 1e{exponent}");
                sb.Append('\n');
            }
        }

        sb.Append("\n[[snmp.targets]]\n");
        string name = survey.System.TryGetValue("sysName", out var sysName) && sysName.Length > 0 ? sysName : target.Host;
        sb.Append("  name = ").Append(TomlText.String(name)).Append('\n');
        string address = target.Host.Contains(':') ? $"[{target.Host}]" : target.Host;
        if (target.Port != SnmpTargetOptions.DefaultPort) address += ":" + target.Port.ToString(CultureInfo.InvariantCulture);
        sb.Append("  address = ").Append(TomlText.String(address)).Append('\n');
        switch (target.Version)
        {
            case SnmpVersion.V1:
                sb.Append("  version = \"1\"\n  community = ").Append(TomlText.String(target.Community)).Append('\n');
                break;
            case SnmpVersion.V3:
                sb.Append("  version = \"3\"\n  user = ").Append(TomlText.String(target.User)).Append('\n');
                sb.Append("  security_level = ").Append(TomlText.String(Level(target.SecurityLevel))).Append('\n');
                if (target.SecurityLevel >= SnmpSecurityLevel.AuthNoPriv)
                {
                    sb.Append("  auth_protocol = ").Append(TomlText.String(target.AuthProtocol == AuthProtocol.Sha1 ? "SHA" : target.AuthProtocol.ToString().ToUpperInvariant())).Append('\n');
                    sb.Append("  auth_password = ").Append(TomlText.String(target.AuthPassword)).Append('\n');
                }
                if (target.SecurityLevel == SnmpSecurityLevel.AuthPriv)
                {
                    sb.Append("  priv_protocol = ").Append(TomlText.String(target.PrivProtocol == PrivProtocol.Aes128 ? "AES" : target.PrivProtocol.ToString().ToUpperInvariant())).Append('\n');
                    sb.Append("  priv_password = ").Append(TomlText.String(target.PrivPassword)).Append('\n');
                }
                if (target.Context.Length > 0) sb.Append("  context = ").Append(TomlText.String(target.Context)).Append('\n');
                break;
            default:
                if (target.Community != "public") sb.Append("  community = ").Append(TomlText.String(target.Community)).Append('\n');
                break;
        }
        if (groups.Count > 0) sb.Append("  groups = [").Append(string.Join(", ", groups.Select(TomlText.String))).Append("]\n");

        Oid(sb, "SNMPv2-MIB::sysUpTime.0, hundredths of a second, stored in seconds", "1.3.6.1.2.1.1.3.0", "sysUpTime", walk: false, scale: 0.01);
        if (survey.Interfaces.Count > 0 && !survey.HasIfXTable)
        {
            const string labels = "{ ifDescr = \"1.3.6.1.2.1.2.2.1.2\" }";
            Oid(sb, "IF-MIB::ifInOctets, per interface (32-bit: wraps every 34 s at 1 Gbit/s)", "1.3.6.1.2.1.2.2.1.10", "ifInOctets", true, labels: labels);
            Oid(sb, "IF-MIB::ifOutOctets, per interface", "1.3.6.1.2.1.2.2.1.16", "ifOutOctets", true, labels: labels);
            Oid(sb, "IF-MIB::ifOperStatus, per interface: 1 up, 2 down", "1.3.6.1.2.1.2.2.1.8", "ifOperStatus", true, labels: labels);
        }
        if (survey.Sensors.Count > 0)
        {
            // One scale for the column when every sensor agrees; otherwise the raw value, the comment above gives each factor.
            var exponents = survey.Sensors.Select(s => ScaleExponent(s.Scale) - s.Precision).Distinct().ToList();
            double? scale = exponents.Count == 1 && exponents[0] != 0 ? Math.Pow(10, exponents[0]) : null;
            Oid(sb, "ENTITY-SENSOR-MIB::entPhySensorValue per sensor" + (scale is null && exponents.Count > 1 ? ", raw: each sensor's factor is listed above" : ""),
                "1.3.6.1.2.1.99.1.1.1.4", "entPhySensorValue", true, scale,
                "{ sensor = \"1.3.6.1.2.1.47.1.1.1.1.7\", sensorType = \"1.3.6.1.2.1.99.1.1.1.1\" }");
        }
        return sb.ToString();
    }

    private static void Oid(StringBuilder sb, string comment, string oid, string key, bool walk, double? scale = null, string? labels = null)
    {
        sb.Append("\n  [[snmp.targets.oids]]\n");
        sb.Append("    # ").Append(comment).Append('\n');
        sb.Append("    oid = ").Append(TomlText.String(oid)).Append('\n');
        sb.Append("    key = ").Append(TomlText.String(key)).Append('\n');
        if (walk) sb.Append("    walk = true\n");
        if (scale is double s) sb.Append("    scale = ").Append(TomlText.Number(s)).Append('\n');
        if (labels is not null) sb.Append("    labels = ").Append(labels).Append('\n');
    }

    private static string Level(SnmpSecurityLevel level) => level switch
    {
        SnmpSecurityLevel.AuthPriv => "authPriv",
        SnmpSecurityLevel.AuthNoPriv => "authNoPriv",
        _ => "noAuthNoPriv",
    };

    private static string List(IReadOnlyList<string> items)
    {
        var shown = items.Take(12).Select(t => TomlText.OneLine(t)).ToList();
        return string.Join(", ", shown) + (items.Count > shown.Count ? $" and {items.Count - shown.Count} more" : "");
    }
}
