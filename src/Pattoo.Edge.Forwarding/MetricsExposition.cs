using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Forwarding.RemoteWrite;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Forwarding;

/// <summary>
/// <c>GET /metrics</c>: the latest sample of every numeric datapoint, named and labelled as
/// remote_write sends it (<see cref="RemoteWriteLabels"/>, with <c>appliance</c>), and the
/// appliance's own metrics (<c>pattoo_edge_*</c>: polls per target, store, forwarders), so a
/// central Prometheus can scrape the box. Prometheus text 0.0.4, or OpenMetrics 1.0 when asked.
/// A datapoint with nothing stored for <see cref="StaleAfter"/> is left out: Prometheus refuses
/// samples that old.
/// </summary>
public static class MetricsExposition
{
    public static readonly TimeSpan StaleAfter = TimeSpan.FromHours(1);
    public const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    public static string Write(TimeSeriesStore store, string applianceName, IReadOnlyList<TargetState> targets, IReadOnlyList<ForwarderStatus> forwarders, bool openMetrics,
        IReadOnlyList<IListenerStatus>? listeners = null, IReadOnlyList<KeyValuePair<string, long>>? writes = null)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        KeyValuePair<string, string>[] appliance = [new("appliance", applianceName)];
        var families = new SortedDictionary<string, Family>(StringComparer.Ordinal);
        foreach (var d in store.ListDatapoints())
        {
            if (d.DataType == DataType.String || d.LastTimestamp < now - (long)StaleAfter.TotalMilliseconds) continue;
            var points = store.ReadRaw(d.IdxDatapoint, d.LastTimestamp, d.LastTimestamp);
            if (points.Count == 0) continue;
            var labels = RemoteWriteLabels.For(d, appliance);
            string name = labels[0].Value; // __name__ sorts first
            if (!families.TryGetValue(name, out var family)) families[name] = family = new Family(d.DataType.IsCounter() ? "counter" : "gauge");
            else if (family.Type != (d.DataType.IsCounter() ? "counter" : "gauge")) family.Type = "unknown";
            family.Samples.Add((labels[1..], points.Values[^1], points.Timestamps[^1]));
        }

        var own = new List<(string Name, string Type, string Help, KeyValuePair<string, string>[] Labels, double Value)>();
        var stats = store.Statistics;
        own.Add(("pattoo_edge_series", "gauge", "Datapoints stored", appliance, stats.Series));
        own.Add(("pattoo_edge_samples_written", "counter", "Samples stored since the start", appliance, stats.SamplesWritten));
        own.Add(("pattoo_edge_samples_rejected", "counter", "Samples refused as duplicates or out of order since the start", appliance, stats.SamplesRejected));
        own.Add(("pattoo_edge_storage_syncs", "counter", "Syncs of stored samples to the disk since the start (each rewrites at least one flash page)", appliance, stats.Syncs));
        own.Add(("pattoo_edge_database_bytes", "gauge", "Size of the database file", appliance, store.DatabaseBytes()));
        foreach (var t in targets)
        {
            KeyValuePair<string, string>[] l = [new("appliance", applianceName), new("program", t.Program), new("target", t.Name)];
            own.Add(("pattoo_edge_target_up", "gauge", "1 when the target's last poll succeeded", l, t.Failing ? 0 : 1));
            own.Add(("pattoo_edge_target_poll_seconds", "gauge", "Duration of the target's last poll", l, t.RoundTrip.TotalSeconds));
            own.Add(("pattoo_edge_target_polls", "counter", "Polls since the start", l, t.Polls));
            own.Add(("pattoo_edge_target_poll_failures", "counter", "Failed polls since the start", l, t.Failures));
        }
        foreach (var f in forwarders)
        {
            KeyValuePair<string, string>[] l = [new("appliance", applianceName), new("forwarder", f.Name), new("kind", f.Kind)];
            own.Add(("pattoo_edge_forward_connected", "gauge", "1 when the destination acknowledged the last request", l, f.Connected ? 1 : 0));
            own.Add(("pattoo_edge_forward_backlog_samples", "gauge", "Samples stored and not yet acknowledged", l, f.BacklogSamples));
            own.Add(("pattoo_edge_forward_samples_sent", "counter", "Samples acknowledged since the start", l, f.SamplesSent));
        }

        foreach (var l in listeners ?? [])
        {
            foreach (var (counter, value) in l.Counters)
            {
                KeyValuePair<string, string>[] labels = [new("appliance", applianceName), new("listener", l.Name), new("counter", counter)];
                own.Add(("pattoo_edge_listener_datagrams", "counter", "What each receiver (SNMP traps) received, took and dropped, by counter", labels, value));
            }
        }

        foreach (var (result, count) in writes ?? [])
        {
            KeyValuePair<string, string>[] labels = [new("appliance", applianceName), new("result", result)];
            own.Add(("pattoo_edge_writes", "counter", "Write-back requests since the start, by result (written, mismatch, refused, failed; unaudited: refusals without a valid token over one per client per second)", labels, count));
        }

        var sb = new StringBuilder();
        foreach (var (name, family) in families)
        {
            string type = openMetrics || family.Type != "unknown" ? family.Type : "untyped";
            // OpenMetrics names a counter's family without _total and its samples with it.
            string familyName = openMetrics && family.Type == "counter" && name.EndsWith("_total", StringComparison.Ordinal) ? name[..^6] : name;
            sb.Append("# TYPE ").Append(familyName).Append(' ').Append(type).Append('\n');
            string sampleName = openMetrics && family.Type == "counter" ? familyName + "_total" : name;
            foreach (var (labels, value, ts) in family.Samples) Sample(sb, sampleName, labels, value, ts, openMetrics);
        }
        string? previous = null;
        foreach (var (name, type, help, labels, value) in own)
        {
            string familyName = type == "counter" && !openMetrics ? name + "_total" : name;
            if (name != previous)
            {
                sb.Append("# HELP ").Append(familyName).Append(' ').Append(help).Append('\n');
                sb.Append("# TYPE ").Append(familyName).Append(' ').Append(type).Append('\n');
                previous = name;
            }
            Sample(sb, type == "counter" ? name + "_total" : name, labels, value, null, openMetrics);
        }
        if (openMetrics) sb.Append("# EOF\n");
        return sb.ToString();
    }

    private sealed class Family(string type)
    {
        public string Type = type;
        public readonly List<(KeyValuePair<string, string>[] Labels, double Value, long Timestamp)> Samples = [];
    }

    private static void Sample(StringBuilder sb, string name, KeyValuePair<string, string>[] labels, double value, long? timestampMs, bool openMetrics)
    {
        sb.Append(name);
        if (labels.Length > 0)
        {
            sb.Append('{');
            for (int i = 0; i < labels.Length; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(labels[i].Key).Append("=\"");
                foreach (char c in labels[i].Value)
                {
                    sb.Append(c switch { '\\' => "\\\\", '"' => "\\\"", '\n' => "\\n", _ => c.ToString() });
                }
                sb.Append('"');
            }
            sb.Append('}');
        }
        sb.Append(' ').Append(double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : value.ToString("R", CultureInfo.InvariantCulture));
        if (timestampMs is { } ts)
        {
            // Prometheus text: milliseconds; OpenMetrics: seconds.
            sb.Append(' ').Append(openMetrics ? (ts / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) : ts.ToString(CultureInfo.InvariantCulture));
        }
        sb.Append('\n');
    }
}
