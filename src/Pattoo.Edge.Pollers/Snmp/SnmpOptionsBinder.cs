using System.Text;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Pollers.Snmp.Traps;
using Pattoo.Edge.Protocols.Snmp;
using Pattoo.Edge.Protocols.Snmp.Usm;

namespace Pattoo.Edge.Pollers.Snmp;

/// <summary>The [snmp] table bound and checked: groups, targets, their OIDs and USM settings, every error with its line.</summary>
internal static class SnmpOptionsBinder
{
    public static SnmpOptions Bind(ConfigSection snmpSection)
    {
        ArgumentNullException.ThrowIfNull(snmpSection);
        var s = snmpSection;
        int concurrency = (int)s.GetInteger("concurrency", SnmpOptions.DefaultConcurrency, 1, 1024);

        var groups = new Dictionary<string, SnmpGroupOptions>(BuiltInGroups.All, StringComparer.Ordinal);
        var userGroups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in s.GetSectionArray("groups"))
        {
            var name = g.GetString("name", "");
            var description = g.GetString("description", "");
            if (name.Trim().Length == 0) g.Error("name", "expected a group name, got an empty string or none");
            else if (!userGroups.Add(name)) g.Error("name", $"a group named \"{name}\" is already defined");
            var oids = new List<SnmpOidOptions>();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var o in g.GetSectionArray("oids"))
            {
                var oid = BindOid(o, $"group {name}", ownOid: false);
                if (oid is null) continue;
                if (!keys.Add(oid.Key)) o.Error("key", $"key \"{oid.Key}\" is used twice in group \"{name}\"");
                else oids.Add(oid);
            }
            if (!g.Has("oids")) g.Error("oids", "a group needs at least one [[snmp.groups.oids]] entry");
            g.Finish();
            if (name.Trim().Length > 0) groups[name] = new SnmpGroupOptions(name, oids, description);
        }

        var targets = new List<SnmpTargetOptions>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in s.GetSectionArray("targets"))
        {
            var target = BindTarget(t, groups, names);
            if (target is not null) targets.Add(target);
        }
        var traps = s.Has("traps") ? SnmpTrapOptions.Bind(s.GetSection("traps")) : null;
        s.Finish();
        return new SnmpOptions { Concurrency = concurrency, Targets = targets, Groups = groups, Traps = traps is { Enabled: true } ? traps : null };
    }

    private static SnmpTargetOptions? BindTarget(ConfigSection t, Dictionary<string, SnmpGroupOptions> groups, HashSet<string> names)
    {
        int errorsBefore = t.Errors.Count;
        var name = t.GetString("name", "");
        if (name.Trim().Length == 0) t.Error("name", "expected a target name, got an empty string or none");
        else if (name != name.Trim()) t.Error("name", "a target name may not start or end with blanks");
        else if (!names.Add(name)) t.Error("name", $"a target named \"{name}\" is already defined");

        string host = "";
        int port = SnmpTargetOptions.DefaultPort;
        var address = t.GetOptionalString("address");
        if (address is null) t.Error("address", "expected host[:port] such as \"192.0.2.10\" or \"switch.lan:161\", got none");
        else if (!HostPort.TryParse(address, SnmpTargetOptions.DefaultPort, out host, out port))
            t.Error("address", $"expected host[:port] such as \"192.0.2.10\", \"[2001:db8::1]:161\" or \"switch.lan:1161\", got \"{address}\"");

        var versionText = t.GetChoice("version", "2c", "1", "2c", "3");
        var version = versionText switch { "1" => SnmpVersion.V1, "3" => SnmpVersion.V3, _ => SnmpVersion.V2c };
        var community = t.GetString("community", "public");
        var usm = BindUsmUser(t, check: version == SnmpVersion.V3);
        var context = t.GetString("context", "");

        if (version == SnmpVersion.V3)
        {
            if (t.Has("community")) t.Error("community", "community is for versions \"1\" and \"2c\"; SNMPv3 uses user and passwords");
        }
        else
        {
            foreach (var key in new[] { "user", "security_level", "auth_protocol", "auth_password", "priv_protocol", "priv_password", "context" })
                if (t.Has(key)) t.Error(key, $"{key} is for version \"3\"; this target is version \"{versionText}\"");
            if (community.Length == 0) t.Error("community", "expected a community string, got an empty one");
        }

        var interval = t.GetDuration("interval", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        var timeout = t.GetDuration("timeout", TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        int retries = (int)t.GetInteger("retries", 2, 0, 10);
        int maxRepetitions = (int)t.GetInteger("max_repetitions", 25, 1, 1000);
        int maxOids = (int)t.GetInteger("max_oids_per_request", 32, 1, 1000);
        int maxMessage = (int)t.GetInteger("max_message_size", SnmpEncoder.MaxMessageSize, 484, SnmpEncoder.MaxMessageSize);
        if (t.Has("max_message_size") && version != SnmpVersion.V3) t.Error("max_message_size", "max_message_size is sent to the agent by SNMPv3 only");

        var groupNames = t.GetStringArray("groups");
        var oids = new List<SnmpOidOptions>();
        var origins = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var g in groupNames)
        {
            if (!groups.TryGetValue(g, out var group))
            {
                var known = string.Join(", ", groups.Keys.Order(StringComparer.Ordinal).Select(k => "\"" + k + "\""));
                t.Error("groups", $"unknown group \"{g}\"; defined groups: {known}");
                continue;
            }
            foreach (var o in group.Oids)
            {
                if (origins.TryGetValue(o.Key, out var first)) t.Error("groups", $"key \"{o.Key}\" of group \"{g}\" is also defined by {first}");
                else { origins[o.Key] = $"group \"{g}\""; oids.Add(o); }
            }
        }
        foreach (var o in t.GetSectionArray("oids"))
        {
            var oid = BindOid(o, $"target {name}", ownOid: true);
            if (oid is null) continue;
            if (origins.TryGetValue(oid.Key, out var first)) o.Error("key", $"key \"{oid.Key}\" is also defined by {first}");
            else { origins[oid.Key] = "this target's oids"; oids.Add(oid); }
        }
        if (oids.Count == 0 && t.Errors.Count == errorsBefore) t.Error("nothing to read: name groups (such as [\"if-mib\"]) or add [[snmp.targets.oids]] entries");
        t.Finish();
        if (t.Errors.Count > errorsBefore) return null;

        return new SnmpTargetOptions
        {
            Name = name,
            Host = host,
            Port = port,
            Version = version,
            Community = version == SnmpVersion.V3 ? "" : community,
            User = usm.User,
            SecurityLevel = usm.Level,
            AuthProtocol = usm.AuthProtocol,
            AuthPassword = usm.AuthPassword,
            PrivProtocol = usm.PrivProtocol,
            PrivPassword = usm.PrivPassword,
            Context = context,
            Interval = interval,
            Timeout = timeout,
            Retries = retries,
            MaxRepetitions = maxRepetitions,
            MaxOidsPerRequest = maxOids,
            MaxMessageSize = maxMessage,
            Groups = groupNames,
            Oids = oids,
        };
    }

    /// <summary>
    /// A USM user's keys (user, security_level, auth_* and priv_*), read from a target or a trap
    /// receiver's [[snmp.traps.users]]; checked only when <paramref name="check"/> (an SNMPv3 target).
    /// Without security_level, the strongest level the passwords given allow.
    /// </summary>
    internal static UsmUserOptions BindUsmUser(ConfigSection t, bool check)
    {
        var user = t.GetString("user", "");
        bool hasLevel = t.Has("security_level");
        var levelText = t.GetChoice("security_level", "", "noAuthNoPriv", "authNoPriv", "authPriv");
        var authText = t.GetChoice("auth_protocol", "SHA", "MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512");
        var authPassword = t.GetString("auth_password", "");
        var privText = t.GetChoice("priv_protocol", "AES", "DES", "AES", "AES192", "AES256");
        var privPassword = t.GetString("priv_password", "");
        if (!check) return new UsmUserOptions(user, SnmpSecurityLevel.NoAuthNoPriv, AuthProtocol.None, "", PrivProtocol.None, "");

        if (user.Length == 0) t.Error("user", "SNMPv3 needs a user");
        else if (Encoding.UTF8.GetByteCount(user) > 32) t.Error("user", "a USM user name is at most 32 octets");
        var level = levelText switch
        {
            "noAuthNoPriv" => SnmpSecurityLevel.NoAuthNoPriv,
            "authNoPriv" => SnmpSecurityLevel.AuthNoPriv,
            "authPriv" => SnmpSecurityLevel.AuthPriv,
            _ => privPassword.Length > 0 ? SnmpSecurityLevel.AuthPriv : authPassword.Length > 0 ? SnmpSecurityLevel.AuthNoPriv : SnmpSecurityLevel.NoAuthNoPriv,
        };
        if (level >= SnmpSecurityLevel.AuthNoPriv) CheckPassword(t, "auth_password", authPassword, level);
        else if (authPassword.Length > 0) t.Error("auth_password", $"security_level is \"{levelText}\", which sends no authentication; remove auth_password or raise the level");
        if (level == SnmpSecurityLevel.AuthPriv) CheckPassword(t, "priv_password", privPassword, level);
        else if (privPassword.Length > 0) t.Error("priv_password", $"security_level is \"{(hasLevel ? levelText : Name(level))}\", which does not encrypt; remove priv_password or use \"authPriv\"");
        return new UsmUserOptions(user, level,
            level >= SnmpSecurityLevel.AuthNoPriv ? ParseAuth(authText) : AuthProtocol.None,
            level >= SnmpSecurityLevel.AuthNoPriv ? authPassword : "",
            level == SnmpSecurityLevel.AuthPriv ? ParsePriv(privText) : PrivProtocol.None,
            level == SnmpSecurityLevel.AuthPriv ? privPassword : "");
    }

    private static void CheckPassword(ConfigSection t, string key, string password, SnmpSecurityLevel level)
    {
        if (!t.Has(key)) t.Error(key, $"security_level \"{Name(level)}\" needs {key}");
        else if (password.Length < 8) t.Error(key, $"expected a password of at least 8 characters (RFC 3414 sec 11.2), got {password.Length}");
    }

    private static string Name(SnmpSecurityLevel l) => l switch
    {
        SnmpSecurityLevel.AuthNoPriv => "authNoPriv",
        SnmpSecurityLevel.AuthPriv => "authPriv",
        _ => "noAuthNoPriv",
    };

    /// <param name="ownOid">A target's own [[snmp.targets.oids]] entry (only those may be writable: a group is shared by targets).</param>
    private static SnmpOidOptions? BindOid(ConfigSection o, string origin, bool ownOid)
    {
        int errorsBefore = o.Errors.Count;
        var oidText = o.GetOptionalString("oid");
        string oid = "";
        if (oidText is null) o.Error("oid", "expected a numeric OID such as \"1.3.6.1.2.1.1.3.0\", got none");
        else if (!Protocols.Snmp.Oid.TryParse(oidText, out var content, out var why)) o.Error("oid", $"expected a numeric OID such as \"1.3.6.1.2.1.1.3.0\" (MIB names are not read), got \"{oidText}\": {why}");
        else oid = Protocols.Snmp.Oid.Format(content);

        var key = o.GetString("key", "");
        if (key.Trim().Length == 0) o.Error("key", "expected a key naming the value, got an empty string or none");
        bool walk = o.GetBool("walk", false);
        double scale = o.GetFloat("scale", 1);
        if (o.Has("scale") && (scale == 0 || !double.IsFinite(scale))) o.Error("scale", "expected a non-zero number");
        var typeText = o.GetChoice("type", "auto", "auto", "counter", "gauge", "string");
        var type = typeText switch { "counter" => SnmpValueKind.Counter, "gauge" => SnmpValueKind.Gauge, "string" => SnmpValueKind.String, _ => SnmpValueKind.Auto };
        if (o.Has("scale") && type is SnmpValueKind.Counter or SnmpValueKind.String)
            o.Error("scale", $"a {typeText} is stored as read; scale applies to numbers (type \"auto\" or \"gauge\")");
        var labels = new List<KeyValuePair<string, string>>();
        foreach (var (label, labelOid) in o.GetStringMap("labels"))
        {
            if (label.Trim().Length == 0) o.Error("labels", "a label needs a name");
            else if (walk && label == "index") o.Error("labels", "label \"index\" is taken: a walked row's index is stored under it");
            else if (!Protocols.Snmp.Oid.TryParse(labelOid, out var lc, out var lwhy)) o.Error("labels", $"label \"{label}\": expected a numeric OID, got \"{labelOid}\": {lwhy}");
            else labels.Add(new(label, Protocols.Snmp.Oid.Format(lc)));
        }
        string? notWritable = !ownOid ? "a group's OIDs are read from every target naming it: declare a writable OID in the target's own [[snmp.targets.oids]]"
            : walk ? "a walked column has a value per row: declare the instance you mean to set (the OID with its index) as its own entry, without walk"
            : type == SnmpValueKind.Counter ? "a counter counts what the agent measures; it is not a setting to write"
            : null;
        var kind = type == SnmpValueKind.String ? WriteKind.Text : scale == Math.Floor(scale) ? WriteKind.Integer : WriteKind.Number;
        var write = WriteLimits.Bind(o, kind, notWritable);
        o.Finish();
        if (o.Errors.Count > errorsBefore) return null;
        return new SnmpOidOptions { Oid = oid, Key = key.Trim(), Walk = walk, Scale = scale, Type = type, Labels = labels, Origin = origin, Write = write };
    }

    private static AuthProtocol ParseAuth(string s) => s switch
    {
        "MD5" => AuthProtocol.Md5,
        "SHA224" => AuthProtocol.Sha224,
        "SHA256" => AuthProtocol.Sha256,
        "SHA384" => AuthProtocol.Sha384,
        "SHA512" => AuthProtocol.Sha512,
        _ => AuthProtocol.Sha1,
    };

    private static PrivProtocol ParsePriv(string s) => s switch
    {
        "DES" => PrivProtocol.Des,
        "AES192" => PrivProtocol.Aes192,
        "AES256" => PrivProtocol.Aes256,
        _ => PrivProtocol.Aes128,
    };
}
