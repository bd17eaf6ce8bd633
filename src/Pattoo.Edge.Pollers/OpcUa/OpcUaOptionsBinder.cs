using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>Binds and checks one server table and its nodes; every problem is reported with its position.</summary>
internal static class OpcUaOptionsBinder
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxInterval = TimeSpan.FromDays(1);

    /// <summary>The accepted security_policy values: "None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss".</summary>
    private static readonly string[] PolicyNames = SecurityPolicies.All.Select(SecurityPolicies.Name).ToArray();

    /// <summary>"\"Basic256Sha256\", \"Aes128_Sha256_RsaOaep\" or \"Aes256_Sha256_RsaPss\"" for error messages.</summary>
    private static readonly string SecurePolicyList = string.Join(", ", PolicyNames[1..^1].Select(n => $"\"{n}\"")) + $" or \"{PolicyNames[^1]}\"";

    /// <summary>The server, or null when its errors leave nothing usable (the errors are recorded).</summary>
    public static OpcUaServerOptions? BindServer(ConfigSection s, out string name)
    {
        int errorsBefore = s.Errors.Count;
        name = s.GetName("a server needs a name (name = \"line-3-plc\")");

        string? endpoint = s.GetOptionalString("endpoint");
        string host = "";
        int port = 4840;
        if (!s.Has("endpoint")) s.Error("a server needs endpoint = \"opc.tcp://host:4840\"");
        else if (endpoint is not null && !TryParseEndpoint(endpoint, out host, out port, out string? why)) s.Error("endpoint", why!);

        string policyText = s.GetChoice("security_policy", "None", PolicyNames);
        SecurityPolicies.TryFromName(policyText, out var policy);
        string defaultMode = policy == SecurityPolicy.None ? "None" : "SignAndEncrypt";
        string modeText = s.GetChoice("security_mode", defaultMode, "None", "Sign", "SignAndEncrypt");
        var securityMode = modeText switch
        {
            "Sign" => MessageSecurityMode.Sign,
            "SignAndEncrypt" => MessageSecurityMode.SignAndEncrypt,
            _ => MessageSecurityMode.None,
        };
        if (s.Has("security_mode") && s.Has("security_policy"))
        {
            if (policy == SecurityPolicy.None && securityMode != MessageSecurityMode.None)
                s.Error("security_mode", $"\"{modeText}\" needs a security policy; with security_policy = \"None\" the mode is \"None\"");
            else if (policy != SecurityPolicy.None && securityMode == MessageSecurityMode.None)
                s.Error("security_mode", $"security_policy = \"{policyText}\" signs messages: use \"Sign\" or \"SignAndEncrypt\" (or security_policy = \"None\")");
        }
        else if (s.Has("security_mode") && securityMode != MessageSecurityMode.None)
        {
            s.Error("security_mode", $"\"{modeText}\" needs a security policy: security_policy = {SecurePolicyList}");
        }

        string? username = s.GetOptionalString("username");
        string? password = s.GetOptionalString("password");
        if (username is not null && username.Length == 0) s.Error("username", "expected a user name, got an empty string (leave username out for anonymous access)");
        if (username is not null && password is null) s.Error("username", "a username needs a password");
        if (password is not null && username is null) s.Error("password", "a password needs a username");

        string modeName = s.GetChoice("mode", "poll", "poll", "subscribe");
        var mode = modeName == "subscribe" ? OpcUaMode.Subscribe : OpcUaMode.Poll;
        var interval = s.GetDuration("interval", TimeSpan.FromSeconds(10), MinInterval, MaxInterval);
        var sampling = interval;
        if (s.Has("sampling_interval"))
        {
            if (mode != OpcUaMode.Subscribe) s.Error("sampling_interval", "applies to mode = \"subscribe\" only (a poll reads the value when it polls)");
            sampling = s.GetDuration("sampling_interval", interval, TimeSpan.Zero, MaxInterval);
            if (sampling > interval)
                s.Error("sampling_interval", $"{Duration.Format(sampling)} is longer than the publishing interval ({Duration.Format(interval)}); changes would arrive late");
        }
        uint queueSize = OpcUaServerOptions.DefaultQueueSize;
        if (s.Has("queue_size"))
        {
            if (mode != OpcUaMode.Subscribe) s.Error("queue_size", "applies to mode = \"subscribe\" only (a poll reads the value when it polls)");
            queueSize = (uint)s.GetInteger("queue_size", OpcUaServerOptions.DefaultQueueSize, 1, 10_000);
        }
        // Long enough to ride out a short network break; never shorter than the gap between polls.
        var defaultSessionTimeout = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(2).Ticks, interval.Ticks * 3));
        var sessionTimeout = s.GetDuration("session_timeout", defaultSessionTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        var defaultTimeout = mode == OpcUaMode.Poll && interval < TimeSpan.FromSeconds(5) ? interval : TimeSpan.FromSeconds(5);
        var timeout = s.GetDuration("timeout", defaultTimeout, MinInterval, TimeSpan.FromMinutes(2));
        if (mode == OpcUaMode.Poll) s.CheckTimeoutWithinInterval(timeout, interval);

        string trustText = s.GetChoice("trust_server_certificate", "folder", "folder", "tofu", "pinned");
        var trust = trustText switch
        {
            "tofu" => OpcUaTrust.Tofu,
            "pinned" => OpcUaTrust.Pinned,
            _ => OpcUaTrust.Folder,
        };
        string? pinned = s.GetOptionalString("server_certificate_sha256");
        if (pinned is not null)
        {
            pinned = pinned.Replace(":", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
            if (trust != OpcUaTrust.Pinned) s.Error("server_certificate_sha256", "applies to trust_server_certificate = \"pinned\" only");
            else if (pinned.Length != 64 || !pinned.All(char.IsAsciiHexDigit))
                s.Error("server_certificate_sha256", "expected the certificate's SHA-256 fingerprint: 64 hex digits (colons allowed)");
        }
        else if (trust == OpcUaTrust.Pinned)
        {
            s.Error("trust_server_certificate", "\"pinned\" needs server_certificate_sha256 = \"<64 hex digits>\"");
        }

        var nodes = new List<OpcUaNodeOptions>();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        var sections = s.GetSectionArray("nodes");
        if (sections.Count == 0) s.Error("nodes", "a server needs at least one [[opcua.servers.nodes]] entry");
        foreach (var ns in sections)
        {
            var node = BindNode(ns);
            if (node is null) continue;
            if (keys.TryGetValue(node.Key, out var first)) { ns.Error("key", $"\"{node.Key}\" is already read by {first}"); continue; }
            keys[node.Key] = ns.Path;
            nodes.Add(node);
        }
        s.Finish();
        if (s.Errors.Count > errorsBefore) return null;
        return new OpcUaServerOptions
        {
            Name = name,
            Endpoint = endpoint!,
            Host = host,
            Port = port,
            SecurityPolicy = policy,
            SecurityMode = securityMode,
            Username = username,
            Password = password,
            Mode = mode,
            Interval = interval,
            SamplingInterval = sampling,
            QueueSize = queueSize,
            SessionTimeout = sessionTimeout,
            Timeout = timeout,
            Trust = trust,
            PinnedSha256 = trust == OpcUaTrust.Pinned ? pinned : null,
            Nodes = nodes,
        };
    }

    private static OpcUaNodeOptions? BindNode(ConfigSection s)
    {
        int errorsBefore = s.Errors.Count;
        string key = (s.GetOptionalString("key") ?? "").Trim();
        if (!s.Has("key")) s.Error("a node needs a key (key = \"temperature\")");
        else if (key.Length == 0) s.Error("key", "expected a key, got an empty string");
        string? text = s.GetOptionalString("node_id");
        ExpandedNodeId? id = null;
        if (!s.Has("node_id")) s.Error("a node needs node_id = \"ns=2;s=Line3.Temperature\"");
        else if (text is not null)
        {
            if (!ExpandedNodeId.TryParse(text.Trim(), out var parsed, out string? error)) s.Error("node_id", error + " (forms: ns=2;s=Name, ns=1;i=42, nsu=urn:uri;s=Name, ns=1;g=<guid>, ns=1;b=<base64>)");
            else id = parsed;
        }
        // The node's DataType is learnt from the server: writes take numbers and booleans (0/1), in the type the server reports.
        var write = WriteLimits.Bind(s, WriteKind.Number);
        s.Finish();
        if (s.Errors.Count > errorsBefore || id is null) return null;
        return new OpcUaNodeOptions(key, id, text!.Trim()) { Write = write };
    }

    /// <summary>opc.tcp://host[:port][/path]; the port defaults to 4840. IPv6 hosts are bracketed.</summary>
    internal static bool TryParseEndpoint(string text, out string host, out int port, out string? error)
    {
        host = "";
        port = 4840;
        error = null;
        const string scheme = "opc.tcp://";
        if (!text.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            error = $"expected \"opc.tcp://host:port\", got \"{text}\"";
            return false;
        }
        string rest = text[scheme.Length..];
        int slash = rest.IndexOf('/');
        string authority = slash >= 0 ? rest[..slash] : rest;
        if (authority.StartsWith('['))
        {
            int close = authority.IndexOf(']');
            if (close < 0) { error = $"unclosed '[' in \"{text}\""; return false; }
            host = authority[1..close];
            authority = authority[(close + 1)..];
            if (authority.Length > 0 && !authority.StartsWith(':')) { error = $"expected ':port' after the IPv6 address in \"{text}\""; return false; }
            authority = authority.Length > 0 ? authority : "";
            if (authority.Length > 0 && !TryPort(authority[1..], out port)) { error = $"bad port in \"{text}\": expected 1 to 65535"; return false; }
        }
        else
        {
            int colon = authority.LastIndexOf(':');
            host = colon >= 0 ? authority[..colon] : authority;
            if (colon >= 0 && !TryPort(authority[(colon + 1)..], out port)) { error = $"bad port in \"{text}\": expected 1 to 65535"; return false; }
        }
        if (host.Length == 0) { error = $"no host in \"{text}\""; return false; }
        return true;
    }

    private static bool TryPort(string s, out int port)
        => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;
}
