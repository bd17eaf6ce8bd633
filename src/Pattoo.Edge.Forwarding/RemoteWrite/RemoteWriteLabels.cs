using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Forwarding.RemoteWrite;

/// <summary>
/// A datapoint's Prometheus labels: <c>__name__</c> the key, <c>job</c> the agent program,
/// <c>instance</c> the polled target, its metadata, then the external labels; sorted by name as
/// remote_write requires. A metadata label that clashes with one of these keeps its value as
/// <c>exported_NAME</c> (Prometheus' own rule for a target's clashing labels); external labels
/// never override the datapoint's own.
/// </summary>
public static class RemoteWriteLabels
{
    public static KeyValuePair<string, string>[] For(DatapointInfo d, IReadOnlyList<KeyValuePair<string, string>> external)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["__name__"] = PrometheusNames.Metric(d.Key),
            ["job"] = d.AgentProgram,
            ["instance"] = d.AgentPolledTarget,
        };
        foreach (var (name, value) in d.Metadata)
        {
            if (value.Length == 0) continue; // an empty value is no label in Prometheus
            string label = PrometheusNames.Label(name);
            if (labels.ContainsKey(label)) label = "exported_" + label;
            labels.TryAdd(label, value);
        }
        foreach (var (name, value) in external) labels.TryAdd(name, value);
        var sorted = labels.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return sorted;
    }
}
