using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Snmp;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Snmp;

internal static class SnmpTestSupport
{
    public const string Appliance = "test-appliance";

    /// <summary>Binds the [snmp] table of a TOML text; throws <see cref="ConfigException"/> listing errors.</summary>
    public static SnmpOptions Bind(string toml, string file = "edge.toml") => PollerTestSupport.Bind(toml, "snmp", SnmpOptions.Bind, file);

    public static List<string> BindErrors(string toml)
    {
        try
        {
            Bind(toml);
            return [];
        }
        catch (ConfigException e)
        {
            return e.Errors.Select(x => x.ToString()).ToList();
        }
    }

    public static SnmpPoller Poller(string toml) => (SnmpPoller)Assert.Single(Bind(toml).CreateTargets(new PollerContext(Appliance, "/nonexistent")));

    public static async Task<(SampleBatch Batch, PollReport Report)> PollOnceAsync(IPollTarget target, TimeSpan? limit = null)
    {
        var batch = new SampleBatch();
        var report = new PollReport();
        using var cts = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(30));
        await target.PollAsync(batch, report, cts.Token);
        return (batch, report);
    }

    /// <summary>key{meta=...} type [value]: one line per sample, sorted.</summary>
    public static List<string> Lines(SampleBatch batch, bool values = false)
    {
        var lines = new List<string>();
        foreach (var s in batch.Items) lines.Add(Describe(s, values));
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    public static string Describe(in Sample sample, bool value)
    {
        var sb = new StringBuilder(sample.Series.Key);
        var metadata = sample.Series.Metadata;
        if (metadata.Count > 0)
        {
            sb.Append('{');
            for (int i = 0; i < metadata.Count; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(metadata[i].Key).Append('=').Append(metadata[i].Value);
            }
            sb.Append('}');
        }
        sb.Append(' ').Append(sample.Series.DataType.Name());
        if (value) sb.Append(' ').Append(sample.Text ?? sample.Value.ToString("R", CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    public static Sample Find(SampleBatch batch, string key, string? index = null)
    {
        foreach (var s in batch.Items)
        {
            if (s.Series.Key != key) continue;
            if (index is null || s.Series.Metadata.Any(m => m.Key == "index" && m.Value == index)) return s;
        }
        throw new Xunit.Sdk.XunitException($"no sample {key}{(index is null ? "" : "." + index)} in:\n{string.Join("\n", Lines(batch, true))}");
    }
}
