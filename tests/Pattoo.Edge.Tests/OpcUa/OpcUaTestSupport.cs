using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.OpcUa;

namespace Pattoo.Edge.Tests.OpcUa;

internal static class OpcUaTestSupport
{
    public const string Appliance = "test-appliance";

    /// <summary>Binds an [opcua] table; throws ConfigException listing every error.</summary>
    public static OpcUaOptions Bind(string toml, string file = "config.toml")
    {
        var errors = new ConfigErrors();
        var tree = TomlTree.Parse(toml, file, errors);
        if (errors.Count > 0) throw new ConfigException(errors);
        var root = new ConfigSection(file, "", tree, errors);
        var options = OpcUaOptions.Bind(root.GetSection("opcua"));
        if (errors.Count > 0)
        {
            errors.Sort((a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : a.Column.CompareTo(b.Column));
            throw new ConfigException(errors);
        }
        return options;
    }

    public static OpcUaPoller Poller(string toml, string state)
        => Bind(toml).CreateTargets(Appliance, state).Cast<OpcUaPoller>().Single();

    /// <summary>"key{index=1,node_id=ns=1;s=X} integer 42", as the testcases' expected.out lists samples.</summary>
    public static string Describe(in Sample s)
    {
        string labels = string.Join(",", s.Series.Metadata.Select(m => $"{m.Key}={m.Value}"));
        string value = s.Series.DataType == DataType.String ? "\"" + s.Text + "\"" : s.Value.ToString("R", CultureInfo.InvariantCulture);
        return $"{s.Series.Key}{{{labels}}} {s.Series.DataType.Name()} {value}";
    }

    public static async Task<(SampleBatch Batch, PollReport Report)> PollAsync(IPollTarget target, TimeSpan? limit = null)
    {
        var batch = new SampleBatch();
        var report = new PollReport();
        using var cts = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(30));
        await target.PollAsync(batch, report, cts.Token);
        return (batch, report);
    }

    public static Dictionary<string, Sample> ByKey(SampleBatch batch)
    {
        var d = new Dictionary<string, Sample>(StringComparer.Ordinal);
        foreach (var s in batch.Items)
        {
            string index = s.Series.Metadata.FirstOrDefault(m => m.Key == "index").Value ?? "";
            d.Add(index.Length > 0 ? $"{s.Series.Key}[{index}]" : s.Series.Key, s);
        }
        return d;
    }

    /// <summary>Polls until <paramref name="done"/> holds for the samples gathered so far, or the time runs out.</summary>
    public static async Task<List<Sample>> PollUntilAsync(IPollTarget target, Func<List<Sample>, bool> done, TimeSpan limit)
    {
        var all = new List<Sample>();
        var until = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < until)
        {
            try
            {
                var (batch, _) = await PollAsync(target);
                all.AddRange(batch.Items.ToArray());
                if (done(all)) return all;
            }
            catch (Exception e) when (e is OpcUaConnectionException or OpcUaServiceException or TimeoutException or OpcUaCertificateException)
            {
                // not connected yet
            }
            await Task.Delay(200);
        }
        return all;
    }
}
