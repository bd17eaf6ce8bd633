using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;

namespace Pattoo.Edge.Tests.Support;

/// <summary>What every poller's tests need: binding a config table, polling once, and samples as text.</summary>
internal static class PollerTestSupport
{
    public const string Appliance = "test-appliance";

    /// <summary>
    /// Binds the [<paramref name="table"/>] table of a TOML text (other tables belong to other
    /// binders); throws ConfigException listing every error, sorted by position.
    /// </summary>
    public static T Bind<T>(string toml, string table, Func<ConfigSection, T> bind, string file = "config.toml")
    {
        var errors = new ConfigErrors();
        var tree = TomlTree.Parse(toml, file, errors);
        if (errors.Count > 0) throw new ConfigException(errors);
        var root = new ConfigSection(file, "", tree, errors);
        var options = bind(root.GetSection(table));
        if (errors.Count > 0)
        {
            errors.Sort((a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : a.Column.CompareTo(b.Column));
            throw new ConfigException(errors);
        }
        return options;
    }

    /// <summary>One poll; <paramref name="limit"/> (20 s unless given) keeps a hung peer from hanging the run.</summary>
    public static async Task<(SampleBatch Batch, PollReport Report)> PollAsync(IPollTarget target, TimeSpan? limit = null)
    {
        var batch = new SampleBatch();
        var report = new PollReport();
        using var cts = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(20));
        await target.PollAsync(batch, report, cts.Token);
        return (batch, report);
    }

    /// <summary>"key{unit_id=1} integer 42", as the testcases' expected.out lists samples.</summary>
    public static string Describe(in Sample s)
    {
        string labels = string.Join(",", s.Series.Metadata.Select(m => $"{m.Key}={m.Value}"));
        string value = s.Series.DataType == DataType.String ? "\"" + s.Text + "\"" : s.Value.ToString("R", CultureInfo.InvariantCulture);
        return $"{s.Series.Key}{{{labels}}} {s.Series.DataType.Name()} {value}";
    }

    /// <summary>The samples by series key; throws when a key repeats.</summary>
    public static Dictionary<string, Sample> ByKey(SampleBatch batch)
    {
        var d = new Dictionary<string, Sample>(StringComparer.Ordinal);
        foreach (var s in batch.Items) d.Add(s.Series.Key, s);
        return d;
    }
}
