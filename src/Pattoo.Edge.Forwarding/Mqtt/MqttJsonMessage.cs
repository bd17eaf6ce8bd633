using System.Text;
using System.Text.Json;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Forwarding.Mqtt;

/// <summary>
/// <c>format = "json"</c>: a message per sample, to a topic from the configured template, with
/// <c>{"timestamp": ms, "value": v, "unit": "..." or null, "labels": {metadata}}</c> (a string
/// datapoint's value as a JSON string). Pure.
/// </summary>
public static class MqttJsonMessage
{
    public const string DefaultTopic = "pattoo/{appliance}/{program}/{target}/{key}";

    /// <summary>The placeholders a topic template may use.</summary>
    public static readonly string[] Placeholders = ["appliance", "program", "target", "key", "agent_id", "hostname"];

    private const string UnitsLabel = "units";

    /// <summary>What is wrong with <paramref name="template"/>, null when it is usable.</summary>
    public static string? CheckTemplate(string template)
    {
        if (template.Length == 0) return "the topic is empty";
        if (template.AsSpan().IndexOfAny("+#\0") >= 0) return $"\"{template}\": a topic to publish to cannot hold the wildcards '+' and '#'";
        int at = 0;
        while ((at = template.IndexOf('{', at)) >= 0)
        {
            int end = template.IndexOf('}', at);
            if (end < 0) return $"\"{template}\": '{{' at {at + 1} is not closed";
            string name = template[(at + 1)..end];
            if (Array.IndexOf(Placeholders, name) < 0)
                return $"\"{template}\": {{{name}}} is not a placeholder; use {string.Join(", ", Placeholders.Select(p => "{" + p + "}"))}";
            at = end + 1;
        }
        return null;
    }

    /// <summary>The topic of <paramref name="d"/>'s samples: each placeholder replaced by one topic level.</summary>
    public static string Topic(string template, string appliance, DatapointInfo d)
    {
        var sb = new StringBuilder(template.Length + 64);
        int at = 0;
        while (at < template.Length)
        {
            int open = template.IndexOf('{', at);
            if (open < 0) { sb.Append(template, at, template.Length - at); break; }
            sb.Append(template, at, open - at);
            int end = template.IndexOf('}', open);
            string value = template[(open + 1)..end] switch
            {
                "appliance" => appliance,
                "program" => d.AgentProgram,
                "target" => d.AgentPolledTarget,
                "key" => d.Key,
                "agent_id" => d.AgentId,
                _ => d.AgentHostname,
            };
            sb.Append(MqttTopic.Level(value));
            at = end + 1;
        }
        return sb.ToString();
    }

    /// <summary>
    /// Writes one sample's payload with <paramref name="w"/> and flushes it: <paramref name="text"/> for a
    /// string datapoint, else <paramref name="value"/>. The caller resets the writer between payloads,
    /// so a replay of millions of samples makes no writer per sample.
    /// </summary>
    public static void WritePayload(Utf8JsonWriter w, DatapointInfo d, long timestamp, double value, string? text = null)
    {
        w.WriteStartObject();
        w.WriteNumber("timestamp", timestamp);
        // JSON has no NaN or infinities: written as Prometheus' JSON writes them, as strings.
        if (text is not null) w.WriteString("value", text);
        else if (double.IsFinite(value)) w.WriteNumber("value", value);
        else w.WriteString("value", double.IsNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf");
        string? unit = null;
        foreach (var (name, v) in d.Metadata)
        {
            if (name == UnitsLabel) unit = v;
        }
        if (unit is null) w.WriteNull("unit");
        else w.WriteString("unit", unit);
        w.WriteStartObject("labels");
        foreach (var (name, v) in d.Metadata)
        {
            if (name != UnitsLabel) w.WriteString(name, v);
        }
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();
    }
}
