using System.Net;
using Pattoo.Edge.Config;

namespace Pattoo.Edge.Api;

/// <summary>The [api] section: who may read and write, and limits that keep the box responsive.</summary>
public sealed record ApiOptions
{
    /// <summary>Bearer tokens that may read; empty = reads are open to the LAN.</summary>
    public IReadOnlyList<string> ReadTokens { get; init; } = [];
    /// <summary>Bearer tokens that may ingest and run mutations (and read).</summary>
    public IReadOnlyList<string> WriteTokens { get; init; } = [];
    /// <summary>
    /// Named bearer tokens that may write to devices (write-back) and read; nothing else grants
    /// that, not a write token nor a trusted network. Empty: every device write is refused.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> ControlTokens { get; init; } = [];
    /// <summary>Networks that may ingest and mutate without a token (pattoo agents send none).</summary>
    public IReadOnlyList<IPNetwork> IngestAllow { get; init; } = [IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")];
    /// <summary>Largest request body accepted, in bytes.</summary>
    public long MaxBody { get; init; } = 32L * 1024 * 1024;
    /// <summary>Largest GraphQL request body (or GET query string), in bytes.</summary>
    public int MaxQueryBytes { get; init; } = 256 * 1024;
    /// <summary>Nodes of a GraphQL document as written (fields, arguments, values, directives).</summary>
    public int MaxQueryNodes { get; init; } = 10_000;
    public int MaxFragmentSpreads { get; init; } = 500;
    /// <summary>Field selections once every fragment is expanded.</summary>
    public int MaxSelections { get; init; } = 5_000;
    /// <summary>GraphQL requests executing at once; more wait briefly, then get 503.</summary>
    public int MaxConcurrentQueries { get; init; } = 4;
    /// <summary>Ingest bodies being read and stored at once (each up to max_body in memory).</summary>
    public int MaxConcurrentIngest { get; init; } = 2;
    public int MaxDepth { get; init; } = 15;
    public int MaxComplexity { get; init; } = 200_000;
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public static ApiOptions Bind(ConfigSection s)
    {
        var o = new ApiOptions
        {
            ReadTokens = Tokens(s, "read_tokens"),
            WriteTokens = Tokens(s, "write_tokens"),
            ControlTokens = ControlTokenTable(s),
            MaxBody = s.GetInteger("max_body", 32L * 1024 * 1024, 1024, 1L << 31),
            MaxQueryBytes = (int)s.GetInteger("max_query_bytes", 256 * 1024, 1024, 64L * 1024 * 1024),
            MaxQueryNodes = (int)s.GetInteger("max_query_nodes", 10_000, 10, 10_000_000),
            MaxFragmentSpreads = (int)s.GetInteger("max_fragment_spreads", 500, 0, 1_000_000),
            MaxSelections = (int)s.GetInteger("max_selections", 5_000, 10, 10_000_000),
            MaxConcurrentQueries = (int)s.GetInteger("max_concurrent_queries", 4, 1, 1024),
            MaxConcurrentIngest = (int)s.GetInteger("max_concurrent_ingest", 2, 1, 1024),
            MaxDepth = (int)s.GetInteger("max_depth", 15, 2, 100),
            MaxComplexity = (int)s.GetInteger("max_complexity", 200_000, 100, 100_000_000),
            QueryTimeout = s.GetDuration("query_timeout", TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10)),
        };
        if (s.Has("ingest_allow"))
        {
            var networks = new List<IPNetwork>();
            foreach (var text in s.GetStringArray("ingest_allow"))
            {
                if (IPNetwork.TryParse(text, out var n)) networks.Add(n);
                else if (IPAddress.TryParse(text, out var a)) networks.Add(new IPNetwork(a, a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
                else s.Error("ingest_allow", $"expected networks like \"192.168.1.0/24\" or addresses, got \"{text}\"");
            }
            o = o with { IngestAllow = networks };
        }
        s.Finish();
        return o;
    }

    /// <summary>
    /// control_tokens = { alice = "...", night-shift = "..." }: the names go to the audit trail,
    /// so a write can be traced to whoever holds the token.
    /// </summary>
    private static List<KeyValuePair<string, string>> ControlTokenTable(ConfigSection s)
    {
        const string key = "control_tokens";
        var tokens = s.GetStringMap(key);
        // Each problem is reported at its token's line.
        var table = s.GetSection(key);
        var others = new HashSet<string>(s.GetStringArray("read_tokens").Concat(s.GetStringArray("write_tokens")), StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, token) in tokens)
        {
            table.GetOptionalString(name);
            if (token.Length < 16) table.Error(name, "a control token must be at least 16 characters (make one with: head -c 24 /dev/urandom | base64)");
            else if (!seen.Add(token)) table.Error(name, "the same token as another holder's: give each their own, so the audit trail can tell them apart");
            else if (others.Contains(token)) table.Error(name, "a control token must not also be a read or write token");
        }
        return tokens;
    }

    private static List<string> Tokens(ConfigSection s, string key)
    {
        var tokens = s.GetStringArray(key);
        foreach (var t in tokens)
        {
            if (t.Length < 16) s.Error(key, "tokens must be at least 16 characters (make one with: head -c 24 /dev/urandom | base64)");
        }
        return tokens;
    }
}
