using System.Globalization;
using System.Net;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;

namespace Pattoo.Edge.Pollers.Snmp.Traps;

/// <summary>An SNMPv3 user whose traps and informs are accepted, and the engines whose traps it may send.</summary>
/// <param name="EngineIds">Trap senders' engine ids allowed for this user; empty: any (learned from the traps).</param>
public sealed record SnmpTrapUserOptions(UsmUserOptions Usm, IReadOnlyList<byte[]> EngineIds);

/// <summary>The [snmp.traps] table: where traps and informs are received and who may send them.</summary>
public sealed record SnmpTrapOptions
{
    public const int DefaultPort = 162;

    public bool Enabled { get; init; } = true;
    public IPEndPoint Listen { get; init; } = new(IPAddress.Any, DefaultPort);
    /// <summary>v1/v2c communities accepted; a trap with another is counted and dropped.</summary>
    public IReadOnlyList<string> Communities { get; init; } = ["public"];
    public IReadOnlyList<SnmpTrapUserOptions> Users { get; init; } = [];
    /// <summary>Notifications taken per second from one source address; the rest are counted and dropped.</summary>
    public int MaxPerSecond { get; init; } = 50;
    /// <summary>Numeric varbinds are also stored as samples (program "snmp", the source as target).</summary>
    public bool StoreValues { get; init; }
    /// <summary>This box's engine id for informs; null: generated once and kept in the state directory.</summary>
    public byte[]? EngineId { get; init; }

    /// <summary>A digest of every setting: the receiver restarts on a reload when it changes.</summary>
    public string Fingerprint()
    {
        var sb = new StringBuilder();
        sb.Append(Enabled).Append('|').Append(Listen).Append('|').Append(string.Join(',', Communities)).Append('|')
          .Append(MaxPerSecond).Append('|').Append(StoreValues).Append('|').Append(EngineId is null ? "" : Convert.ToHexString(EngineId));
        foreach (var u in Users)
            sb.Append('\n').Append(u.Usm).Append('|').Append(string.Join(',', u.EngineIds.Select(Convert.ToHexString)));
        return "snmp-traps:" + PattooChecksum.Sha256Hex(sb.ToString())[..32];
    }

    /// <summary>Binds [snmp.traps]; every problem is reported with its line.</summary>
    public static SnmpTrapOptions Bind(ConfigSection t)
    {
        var d = new SnmpTrapOptions();
        bool enabled = t.GetBool("enabled", true);
        var listenText = t.GetString("listen", "0.0.0.0:162");
        var listen = d.Listen;
        if (!TryParseListen(listenText, out var endpoint))
            t.Error("listen", $"expected address:port such as \"0.0.0.0:162\" or \"[::]:1162\", got \"{listenText}\"");
        else listen = endpoint;
        var communities = t.Has("communities") ? t.GetStringArray("communities") : [.. d.Communities];
        foreach (var c in communities)
            if (c.Length == 0) t.Error("communities", "expected community strings, got an empty one");
        int maxPerSecond = (int)t.GetInteger("max_per_second", d.MaxPerSecond, 1, 100_000);
        bool storeValues = t.GetBool("store_values", false);
        byte[]? engineId = null;
        if (t.GetOptionalString("engine_id") is { } idText && !TryParseEngineId(idText, out engineId, out var why))
            t.Error("engine_id", why);

        var users = new List<SnmpTrapUserOptions>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var u in t.GetSectionArray("users"))
        {
            int before = u.Errors.Count;
            var usm = SnmpOptionsBinder.BindUsmUser(u, check: true);
            if (usm.User.Length > 0 && !names.Add(usm.User)) u.Error("user", $"user \"{usm.User}\" is defined twice");
            var ids = new List<byte[]>();
            foreach (var text in u.GetStringArray("engine_ids"))
            {
                if (TryParseEngineId(text, out var id, out var idWhy)) ids.Add(id);
                else u.Error("engine_ids", idWhy);
            }
            u.Finish();
            if (u.Errors.Count == before) users.Add(new SnmpTrapUserOptions(usm, ids));
        }
        t.Finish();
        return new SnmpTrapOptions
        {
            Enabled = enabled,
            Listen = listen,
            Communities = communities,
            Users = users,
            MaxPerSecond = maxPerSecond,
            StoreValues = storeValues,
            EngineId = engineId,
        };
    }

    /// <summary>"0.0.0.0:162", "[::]:1162", or an address alone (port 162).</summary>
    public static bool TryParseListen(string text, out IPEndPoint endpoint)
    {
        endpoint = new IPEndPoint(IPAddress.Any, DefaultPort);
        if (IPAddress.TryParse(text, out var bare) && !text.Contains(':', StringComparison.Ordinal))
        {
            endpoint = new IPEndPoint(bare, DefaultPort);
            return true;
        }
        if (!IPEndPoint.TryParse(text, out var ep) || ep.Port == 0 || !text.EndsWith(":" + ep.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)) return false;
        endpoint = ep;
        return true;
    }

    /// <summary>An engine id as hex, "0x8000..." or "80:00:1f:88:...": 5 to 32 octets (RFC 3411 SnmpEngineID).</summary>
    public static bool TryParseEngineId(string text, out byte[] id, out string why)
    {
        id = [];
        var hex = text.Trim();
        if (hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) hex = hex[2..];
        hex = hex.Replace(":", "", StringComparison.Ordinal);
        try
        {
            id = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            why = $"expected an engine id in hex such as \"0x80001f8880c71100000a1b2c3d\", got \"{text}\"";
            return false;
        }
        if (id.Length is < 5 or > 32)
        {
            why = $"an engine id is 5 to 32 octets (RFC 3411), \"{text}\" is {id.Length}";
            return false;
        }
        why = "";
        return true;
    }
}
