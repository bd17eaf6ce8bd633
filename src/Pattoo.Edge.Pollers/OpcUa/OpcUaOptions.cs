using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>How values reach us: one Read per interval, or a subscription the server publishes to.</summary>
public enum OpcUaMode
{
    Poll,
    Subscribe,
}

/// <summary>How the server's certificate comes to be trusted.</summary>
public enum OpcUaTrust
{
    /// <summary>Only certificates in the trusted/ folder (the default).</summary>
    Folder,
    /// <summary>Trust on first use: the first certificate seen is written to trusted/; a different one later is refused.</summary>
    Tofu,
    /// <summary>Only the certificate whose SHA-256 fingerprint is configured.</summary>
    Pinned,
}

/// <summary>One <c>[[opcua.servers.nodes]]</c> entry: a node read under a key.</summary>
public sealed record OpcUaNodeOptions(string Key, ExpandedNodeId NodeId, string NodeIdText)
{
    /// <summary>What a Write may set (<c>writable = true</c>), or null: the node is only read.</summary>
    public WriteLimits? Write { get; init; }
}

/// <summary>One <c>[[opcua.servers]]</c> entry, checked.</summary>
public sealed record OpcUaServerOptions
{
    public required string Name { get; init; }
    /// <summary>opc.tcp://host:port[/path] as written.</summary>
    public required string Endpoint { get; init; }
    public required string Host { get; init; }
    public required int Port { get; init; }
    public SecurityPolicy SecurityPolicy { get; init; } = SecurityPolicy.None;
    public MessageSecurityMode SecurityMode { get; init; } = MessageSecurityMode.None;
    public string? Username { get; init; }
    public string? Password { get; init; }
    public OpcUaMode Mode { get; init; } = OpcUaMode.Poll;
    /// <summary>Poll interval, or publishing interval when subscribing.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How often the server samples a monitored value (subscribe mode).</summary>
    public TimeSpan SamplingInterval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// Values the server keeps per node between two publishes (subscribe mode): every sampled
    /// change is delivered, and while the link is down the newest this many wait for us.
    /// </summary>
    public uint QueueSize { get; init; } = DefaultQueueSize;
    public const uint DefaultQueueSize = 10;
    /// <summary>
    /// How long the server keeps the session (and the subscription's queued values) while the
    /// link is down; a link back within it loses nothing.
    /// </summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>Time allowed for one request (and for connecting).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
    public OpcUaTrust Trust { get; init; } = OpcUaTrust.Folder;
    /// <summary>Lower-case hex SHA-256 of the pinned certificate's DER (trust "pinned").</summary>
    public string? PinnedSha256 { get; init; }
    public required IReadOnlyList<OpcUaNodeOptions> Nodes { get; init; }

    /// <summary>"None", or policy/mode: "Basic256Sha256/Sign", "Aes256_Sha256_RsaPss/SignAndEncrypt"...</summary>
    public string SecurityDescription => SecurityPolicy == SecurityPolicy.None
        ? "None"
        : $"{SecurityPolicies.Name(SecurityPolicy)}/{SecurityPolicies.ModeName(SecurityMode)}";

    /// <summary>Every setting the server was built from: a change restarts its poller.</summary>
    public string Fingerprint()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"opcua|{Name}|{Endpoint}|{SecurityDescription}|{Username}|{(Password is null ? "" : Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Password))))}|{Mode}|{Duration.Format(Interval)}|{Duration.Format(SamplingInterval)}|{QueueSize}|{Duration.Format(SessionTimeout)}|{Duration.Format(Timeout)}|{Trust}|{PinnedSha256}");
        foreach (var n in Nodes) sb.Append(';').Append(n.Key).Append('=').Append(n.NodeIdText).Append('|').Append(n.Write?.Describe());
        return sb.ToString();
    }
}

/// <summary>
/// The <c>[opcua]</c> section: OPC UA servers read by polling or subscription. Every setting is
/// checked here, at config time (NodeId syntax, policy and mode, intervals, trust), so a server
/// never fails mid-poll for a reason the file could have shown.
/// </summary>
public sealed record OpcUaOptions : IPollerOptions
{
    public const string ProgramName = "opcua";

    public IReadOnlyList<OpcUaServerOptions> Servers { get; init; } = [];

    public int TargetCount => Servers.Count;

    public IEnumerable<PollEndpoint> Endpoints() => Servers.Select(s => new PollEndpoint($"opcua {s.Name}", PollTransport.Tcp, s.Host, s.Port));

    /// <summary>Binds the whole [opcua] table; an absent table binds to no servers. Errors go to the section's error list.</summary>
    public static OpcUaOptions Bind(ConfigSection opcuaSection)
    {
        ArgumentNullException.ThrowIfNull(opcuaSection);
        var servers = new List<OpcUaServerOptions>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var section in opcuaSection.GetSectionArray("servers"))
        {
            var server = OpcUaOptionsBinder.BindServer(section, out string name);
            if (name.Length > 0 && !names.TryAdd(name, section.Path))
            {
                section.Error("name", $"server \"{name}\" is already defined at {names[name]}");
                continue;
            }
            if (server is not null) servers.Add(server);
        }
        opcuaSection.Finish();
        return new OpcUaOptions { Servers = servers };
    }

    /// <summary>
    /// One poll target per server. The context's state path holds the application instance
    /// certificate and the trusted/ and rejected/ folders under opcua/pki/; the certificate is
    /// made on first connect, not here.
    /// </summary>
    public IReadOnlyList<IPollTarget> CreateTargets(PollerContext context)
    {
        ArgumentException.ThrowIfNullOrEmpty(context.ApplianceName);
        ArgumentException.ThrowIfNullOrEmpty(context.StatePath);
        var store = new OpcUaCertificateStore(Path.Combine(context.StatePath, "opcua", "pki"), context.ApplianceName);
        var targets = new List<IPollTarget>(Servers.Count);
        foreach (var server in Servers)
            targets.Add(new OpcUaPoller(AgentIdentity.ForPoller(context.ApplianceName, ProgramName, server.Name), server, store));
        return targets;
    }

    public string Program => ProgramName;

    /// <summary>Each server's reads or subscription, for <c>config check --verbose</c>.</summary>
    public string DescribePlan()
    {
        var sb = new StringBuilder();
        foreach (var s in Servers)
        {
            string what = s.Mode == OpcUaMode.Poll
                ? $"every {Duration.Format(s.Interval)}: {s.Nodes.Count} node{(s.Nodes.Count == 1 ? "" : "s")} in one Read (split at the server's MaxNodesPerRead)"
                : $"subscribed: {s.Nodes.Count} monitored item{(s.Nodes.Count == 1 ? "" : "s")} sampled every {Duration.Format(s.SamplingInterval)}, queue {s.QueueSize}";
            sb.Append(CultureInfo.InvariantCulture, $"opcua server \"{s.Name}\": {s.Endpoint} {s.SecurityDescription}, {what}\n");
            foreach (var n in s.Nodes) sb.Append(CultureInfo.InvariantCulture, $"  {n.Key}: {n.NodeIdText}\n");
        }
        return sb.ToString();
    }

    public IEnumerable<string> Warnings()
    {
        foreach (var s in Servers)
        {
            if (s.Mode == OpcUaMode.Poll && PollerModules.BudgetWarning("opcua.servers", s.Name, s.Interval, s.Timeout, 0) is { } budget)
                yield return budget;
        }
    }
}
