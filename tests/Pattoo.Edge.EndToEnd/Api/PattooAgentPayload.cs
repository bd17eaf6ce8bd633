using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Api;

/// <summary>
/// Builds the JSON a pattoo agent posts, the way pattoo-shared builds it (docs/pattoo-compat.md
/// sections 1 and 4): checksum chained over key, data type, metadata in order, then the
/// agent's hostname, id, polled target and program; pairs numbered in first-seen order.
/// Written independently of the appliance's own code so the test can catch a mismatch.
/// </summary>
public sealed class PattooAgentPayload(string agentId, string program, string hostname, long pollingIntervalMs)
{
    public sealed record Point(string Target, string Key, int? DataType, object Value, long Timestamp, (string Key, string Value)[] Metadata);

    private readonly List<Point> _points = new();

    public PattooAgentPayload Add(string target, string key, int? dataType, object value, long timestamp, params (string, string)[] metadata)
    {
        _points.Add(new Point(target, key, dataType, value, timestamp, metadata));
        return this;
    }

    public static string Sha256(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));
    public static string Sha512(string s) => Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes(s)));

    public string AgentChecksum(Point p)
    {
        string c = Sha256(p.Key.ToLowerInvariant() + (p.DataType?.ToString(CultureInfo.InvariantCulture) ?? "None"));
        foreach (var (k, v) in p.Metadata) c = Sha256(c + k + v);
        c = Sha256(c + "pattoo_agent_hostname" + hostname);
        c = Sha256(c + "pattoo_agent_id" + agentId);
        c = Sha256(c + "pattoo_agent_polled_target" + p.Target);
        c = Sha256(c + "pattoo_agent_program" + program);
        return c;
    }

    /// <summary>The checksum the server stores: SHA-512 of agent id + polled target + agent checksum.</summary>
    public string StoredChecksum(Point p) => Sha512(agentId + p.Target + AgentChecksum(p));

    public IReadOnlyList<Point> Points => _points;

    public string ToJson(long agentTimestamp)
    {
        var ids = new Dictionary<string, int>();
        var pairs = new List<(string Key, object? Value)>();
        var datapointPairs = new List<List<int>>();
        int Id(string key, object? value)
        {
            string identity = key + "\u0000" + JsonSerializer.Serialize(value, PayloadJson.Default.Object);
            if (!ids.TryGetValue(identity, out int id)) { id = pairs.Count; ids[identity] = id; pairs.Add((key, value)); }
            return id;
        }
        foreach (var p in _points)
        {
            var list = new List<int>();
            foreach (var (k, v) in p.Metadata) list.Add(Id(k, v));
            list.Add(Id("pattoo_agent_polling_interval", pollingIntervalMs.ToString(CultureInfo.InvariantCulture)));
            list.Add(Id("pattoo_agent_hostname", hostname));
            list.Add(Id("pattoo_agent_id", agentId));
            list.Add(Id("pattoo_agent_polled_target", p.Target));
            list.Add(Id("pattoo_agent_program", program));
            list.Add(Id("pattoo_key", p.Key));
            list.Add(Id("pattoo_data_type", p.DataType));
            list.Add(Id("pattoo_value", p.Value));
            list.Add(Id("pattoo_timestamp", p.Timestamp));
            list.Add(Id("pattoo_checksum", AgentChecksum(p)));
            datapointPairs.Add(list);
        }
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("pattoo_agent_timestamp", agentTimestamp);
            w.WriteString("pattoo_agent_id", agentId);
            w.WriteNumber("pattoo_agent_polling_interval", pollingIntervalMs);
            w.WriteStartObject("pattoo_datapoints");
            w.WriteStartObject("key_value_pairs");
            for (int i = 0; i < pairs.Count; i++)
            {
                w.WriteStartArray(i.ToString(CultureInfo.InvariantCulture));
                w.WriteStringValue(pairs[i].Key);
                switch (pairs[i].Value)
                {
                    case null: w.WriteNullValue(); break;
                    case string s: w.WriteStringValue(s); break;
                    case int n: w.WriteNumberValue(n); break;
                    case long n: w.WriteNumberValue(n); break;
                    case double d: w.WriteNumberValue(d); break;
                    default: throw new ArgumentException($"unsupported value {pairs[i].Value}");
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteStartArray("datapoint_pairs");
            foreach (var list in datapointPairs)
            {
                w.WriteStartArray();
                foreach (var id in list) w.WriteNumberValue(id);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(object))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
[System.Text.Json.Serialization.JsonSerializable(typeof(long))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double))]
internal sealed partial class PayloadJson : System.Text.Json.Serialization.JsonSerializerContext;
