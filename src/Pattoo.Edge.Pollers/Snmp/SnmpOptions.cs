using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Pollers.Snmp.Traps;
using Pattoo.Edge.Protocols.Snmp;
using Pattoo.Edge.Protocols.Snmp.Usm;

namespace Pattoo.Edge.Pollers.Snmp;

/// <summary>How a value is stored: from its ASN.1 type, or forced.</summary>
public enum SnmpValueKind
{
    /// <summary>Counter32/Counter64 become counters, INTEGER/Gauge32/TimeTicks numbers, OCTET STRING strings.</summary>
    Auto,
    Counter,
    Gauge,
    String,
}

public enum SnmpSecurityLevel
{
    NoAuthNoPriv,
    AuthNoPriv,
    AuthPriv,
}

/// <summary>An SNMPv3 USM user: name, security level, protocols and passwords (None and "" below the level).</summary>
public sealed record UsmUserOptions(string User, SnmpSecurityLevel Level, AuthProtocol AuthProtocol, string AuthPassword, PrivProtocol PrivProtocol, string PrivPassword);

/// <summary>One OID to read: a scalar (GET) or, with <see cref="Walk"/>, a table column (GETBULK).</summary>
public sealed record SnmpOidOptions
{
    /// <summary>Dotted numeric OID without a leading dot.</summary>
    public required string Oid { get; init; }
    public required string Key { get; init; }
    public bool Walk { get; init; }
    public double Scale { get; init; } = 1;
    public SnmpValueKind Type { get; init; } = SnmpValueKind.Auto;
    /// <summary>Label name to OID: for a walk, a column read at the same row index; for a scalar, another scalar.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; init; } = [];
    /// <summary>Where it was defined ("group if-mib", "target core-switch"), for messages.</summary>
    public string Origin { get; init; } = "";
    /// <summary>What a SET may write (<c>writable = true</c> on a target's own scalar OID), or null.</summary>
    public WriteLimits? Write { get; init; }

    internal string Describe()
    {
        var sb = new StringBuilder();
        sb.Append(Oid).Append(" key=").Append(Key).Append(" walk=").Append(Walk)
          .Append(" scale=").Append(Scale.ToString("R", CultureInfo.InvariantCulture)).Append(" type=").Append(Type);
        foreach (var l in Labels) sb.Append(' ').Append(l.Key).Append('=').Append(l.Value);
        if (Write is not null) sb.Append(" writable ").Append(Write.Describe());
        return sb.ToString();
    }
}

/// <summary>A named, reusable list of OIDs ([[snmp.groups]] or a built-in one).</summary>
public sealed record SnmpGroupOptions(string Name, IReadOnlyList<SnmpOidOptions> Oids, string Description = "", bool BuiltIn = false);

/// <summary>One [[snmp.targets]] entry, with its groups already expanded into <see cref="Oids"/>.</summary>
public sealed record SnmpTargetOptions
{
    public const int DefaultPort = 161;

    public required string Name { get; init; }
    /// <summary>Host name or address as written, without the port.</summary>
    public required string Host { get; init; }
    public int Port { get; init; } = DefaultPort;
    public SnmpVersion Version { get; init; } = SnmpVersion.V2c;
    public string Community { get; init; } = "public";
    public string User { get; init; } = "";
    public SnmpSecurityLevel SecurityLevel { get; init; } = SnmpSecurityLevel.NoAuthNoPriv;
    public AuthProtocol AuthProtocol { get; init; } = AuthProtocol.None;
    public string AuthPassword { get; init; } = "";
    public PrivProtocol PrivProtocol { get; init; } = PrivProtocol.None;
    public string PrivPassword { get; init; } = "";
    public string Context { get; init; } = "";
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);
    public int Retries { get; init; } = 2;
    public int MaxRepetitions { get; init; } = 25;
    public int MaxOidsPerRequest { get; init; } = 32;
    public int MaxMessageSize { get; init; } = SnmpEncoder.MaxMessageSize;
    public IReadOnlyList<string> Groups { get; init; } = [];
    public IReadOnlyList<SnmpOidOptions> Oids { get; init; } = [];

    /// <summary>A digest of every setting (passwords included, so it is hashed): changes when the target must restart.</summary>
    public string Fingerprint()
    {
        var sb = new StringBuilder();
        sb.Append(Name).Append('|').Append(Host).Append('|').Append(Port).Append('|').Append(Version).Append('|')
          .Append(Community).Append('|').Append(User).Append('|').Append(SecurityLevel).Append('|')
          .Append(AuthProtocol).Append('|').Append(AuthPassword).Append('|').Append(PrivProtocol).Append('|')
          .Append(PrivPassword).Append('|').Append(Context).Append('|').Append(Interval.Ticks).Append('|')
          .Append(Timeout.Ticks).Append('|').Append(Retries).Append('|').Append(MaxRepetitions).Append('|')
          .Append(MaxOidsPerRequest).Append('|').Append(MaxMessageSize);
        foreach (var o in Oids) sb.Append('\n').Append(o.Describe());
        return "snmp:" + PattooChecksum.Sha256Hex(sb.ToString())[..32];
    }
}

/// <summary>The [snmp] section: targets, groups and how many targets are polled at once.</summary>
public sealed record SnmpOptions : IPollerOptions
{
    public const int DefaultConcurrency = 32;

    public int Concurrency { get; init; } = DefaultConcurrency;
    public IReadOnlyList<SnmpTargetOptions> Targets { get; init; } = [];
    /// <summary>Every group a target may name: the built-in ones, replaced by user groups of the same name.</summary>
    public IReadOnlyDictionary<string, SnmpGroupOptions> Groups { get; init; } = BuiltInGroups.All;
    /// <summary>The trap and inform receiver ([snmp.traps]), or null when there is none.</summary>
    public SnmpTrapOptions? Traps { get; init; }

    /// <summary>Binds and checks the whole [snmp] table; an absent table binds to no targets.</summary>
    public static SnmpOptions Bind(ConfigSection snmpSection) => SnmpOptionsBinder.Bind(snmpSection);

    /// <summary>
    /// One poll target per configured target. They share one UDP socket (a leased
    /// <see cref="SnmpTransport"/>, closed when the last target using it is disposed) and one
    /// limit of <see cref="Concurrency"/> targets polled at the same moment.
    /// </summary>
    public IReadOnlyList<IPollTarget> CreateTargets(PollerContext context)
    {
        ArgumentException.ThrowIfNullOrEmpty(context.ApplianceName);
        if (Targets.Count == 0) return [];
        var limiter = new SemaphoreSlim(Concurrency, Concurrency);
        var result = new List<IPollTarget>(Targets.Count);
        foreach (var t in Targets)
            result.Add(new SnmpPoller(AgentIdentity.ForPoller(context.ApplianceName, SnmpPoller.ProgramName, t.Name), t, SnmpTransport.Acquire(), limiter));
        return result;
    }

    public string Program => SnmpPoller.ProgramName;

    public int TargetCount => Targets.Count;

    public IEnumerable<PollEndpoint> Endpoints() => Targets.Select(t => new PollEndpoint($"snmp {t.Name}", PollTransport.Udp, t.Host, t.Port));

    /// <summary>The trap receiver, when [snmp.traps] is configured; its engine id and boot count (one boot per process) live in the state directory.</summary>
    public IReadOnlyList<IListener> CreateListeners(ListenerContext context)
        => Traps is null ? [] : [new SnmpTrapReceiver(Traps, context, LocalEngine.ForProcess(context.StatePath, Traps.EngineId), this)];

    /// <summary>
    /// Each target's requests per cycle, for <c>config check --verbose</c>: its scalars in GETs of
    /// max_oids_per_request, its table columns walked side by side in GETBULKs.
    /// </summary>
    public string DescribePlan()
    {
        var sb = new StringBuilder();
        foreach (var t in Targets)
        {
            // The poller reads each OID once, however many keys or labels name it.
            var scalars = new SortedSet<string>(StringComparer.Ordinal);
            var columns = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var o in t.Oids)
            {
                var into = o.Walk ? columns : scalars;
                into.Add(o.Oid);
                foreach (var l in o.Labels) into.Add(l.Value);
            }
            int width = Math.Max(1, t.MaxOidsPerRequest);
            int gets = (scalars.Count + width - 1) / width;
            string security = t.Version switch
            {
                SnmpVersion.V1 => "v1",
                SnmpVersion.V2c => "v2c",
                _ => $"v3 user {t.User} {t.SecurityLevel}",
            };
            sb.Append(CultureInfo.InvariantCulture,
                $"snmp target \"{t.Name}\": {t.Host}:{t.Port} {security}, every {Duration.Format(t.Interval)}, timeout {Duration.Format(t.Timeout)} x {1 + t.Retries}: {scalars.Count} scalar{(scalars.Count == 1 ? "" : "s")} in {gets} GET{(gets == 1 ? "" : "s")}, {columns.Count} column{(columns.Count == 1 ? "" : "s")} walked {Math.Min(width, Math.Max(1, columns.Count))} at a time by GETBULK of {t.MaxRepetitions} repetitions\n");
            if (t.Groups.Count > 0) sb.Append("  groups: ").Append(string.Join(", ", t.Groups)).Append('\n');
            foreach (var o in t.Oids)
                sb.Append(CultureInfo.InvariantCulture, $"  {o.Key}: {(o.Walk ? "walk" : "get")} {o.Oid}{(o.Labels.Count > 0 ? " labels " + string.Join(", ", o.Labels.Select(l => $"{l.Key}={l.Value}")) : "")}\n");
        }
        return sb.ToString();
    }

    public IEnumerable<string> Warnings()
    {
        foreach (var t in Targets)
        {
            if (PollerModules.BudgetWarning("snmp.targets", t.Name, t.Interval, t.Timeout, t.Retries) is { } budget) yield return budget;
        }
    }
}
