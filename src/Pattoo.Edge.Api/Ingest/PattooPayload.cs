using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Api.Ingest;

/// <summary>A posted payload that cannot be stored, with a message naming where the problem is.</summary>
public sealed class PayloadException(string message) : Exception(message);

/// <summary>
/// Reads the JSON pattoo agents post to /pattoo/api/v1/agent/receive/&lt;source&gt;
/// (docs/pattoo-compat.md section 4) into samples. Strict where pattoo is strict (exactly
/// four top-level keys, every reserved key present, known data types); every problem
/// names the datapoint and key, and a payload with any problem is refused whole, so
/// nothing of it is stored.
/// </summary>
public static partial class PattooPayload
{
    private static readonly string[] TopLevelKeys = ["pattoo_agent_id", "pattoo_agent_polling_interval", "pattoo_agent_timestamp", "pattoo_datapoints"];

    /// <summary>Keys that describe the datapoint itself; all others are metadata.</summary>
    private static readonly string[] ReservedKeys =
    [
        "pattoo_checksum", "pattoo_data_type", "pattoo_key", "pattoo_value", "pattoo_timestamp",
        "pattoo_agent_id", "pattoo_agent_polled_target", "pattoo_agent_program", "pattoo_agent_hostname", "pattoo_agent_polling_interval",
    ];

    /// <summary>pattoo cuts metadata keys and values to this many characters.</summary>
    public const int MaxPairLength = 512;

    public sealed record Result(int Datapoints, int Skipped);

    /// <summary>Parses <paramref name="json"/> into the empty <paramref name="batch"/>.</summary>
    /// <exception cref="PayloadException">the payload is malformed; the batch is left empty.</exception>
    public static Result Parse(ReadOnlySpan<byte> json, SampleBatch batch)
    {
        if (batch.Count != 0) throw new ArgumentException("the batch must be empty", nameof(batch));
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new PayloadException("the body is not valid UTF-8");
        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            doc = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new PayloadException($"the body is not valid JSON: {Common.SystemMessages.DescribeJson(e)}");
        }
        using (doc)
        {
            try
            {
                return Read(doc.RootElement, batch);
            }
            catch (PayloadException)
            {
                batch.Clear();
                throw;
            }
        }
    }

    private static Result Read(JsonElement root, SampleBatch batch)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new PayloadException($"the body must be a JSON object, got {Kind(root)}");
        foreach (var p in root.EnumerateObject())
        {
            if (Array.IndexOf(TopLevelKeys, p.Name) < 0)
                throw new PayloadException($"unknown top-level key \"{p.Name}\"; a pattoo agent posts exactly {string.Join(", ", TopLevelKeys)}");
        }
        foreach (var key in TopLevelKeys)
        {
            if (!root.TryGetProperty(key, out _)) throw new PayloadException($"missing top-level key \"{key}\"");
        }
        var dps = root.GetProperty("pattoo_datapoints");
        if (dps.ValueKind != JsonValueKind.Object) throw new PayloadException($"pattoo_datapoints must be an object, got {Kind(dps)}");
        if (!dps.TryGetProperty("key_value_pairs", out var kvp) || kvp.ValueKind != JsonValueKind.Object)
            throw new PayloadException("pattoo_datapoints.key_value_pairs must be an object of id: [key, value]");
        if (!dps.TryGetProperty("datapoint_pairs", out var pairsList) || pairsList.ValueKind != JsonValueKind.Array)
            throw new PayloadException("pattoo_datapoints.datapoint_pairs must be an array of arrays of pair ids");
        foreach (var p in dps.EnumerateObject())
        {
            if (p.Name is not ("key_value_pairs" or "datapoint_pairs"))
                throw new PayloadException($"unknown key \"pattoo_datapoints.{p.Name}\"; expected key_value_pairs and datapoint_pairs");
        }

        // Pairs by id. Agents number them 0..n-1, so a list indexed by id serves; any other
        // id text falls back to a dictionary. Key strings are read once per pair, not per use.
        var dense = new List<(string Key, JsonElement Value)?>();
        Dictionary<string, (string Key, JsonElement Value)>? sparse = null;
        foreach (var p in kvp.EnumerateObject())
        {
            var v = p.Value;
            if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != 2 || v[0].ValueKind != JsonValueKind.String)
                throw new PayloadException($"key_value_pairs[\"{p.Name}\"] must be [key, value] with a string key, got {Short(v)}");
            var entry = (v[0].GetString()!, v[1]);
            if (int.TryParse(p.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id) && id < 1_000_000 && id.ToString(System.Globalization.CultureInfo.InvariantCulture) == p.Name)
            {
                while (dense.Count <= id) dense.Add(null);
                dense[id] = entry;
            }
            else
            {
                (sparse ??= new(StringComparer.Ordinal))[p.Name] = entry;
            }
        }

        int index = 0, skipped = 0, stored = 0;
        var fields = new Dictionary<string, JsonElement>(16, StringComparer.Ordinal);
        var metadata = new List<KeyValuePair<string, string>>();
        foreach (var ids in pairsList.EnumerateArray())
        {
            string where = $"datapoint_pairs[{index}]";
            if (ids.ValueKind != JsonValueKind.Array) throw new PayloadException($"{where} must be an array of pair ids, got {Kind(ids)}");
            fields.Clear();
            foreach (var id in ids.EnumerateArray())
            {
                (string Key, JsonElement Value)? pair = null;
                if (id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out int n) && n >= 0)
                {
                    pair = n < dense.Count ? dense[n] : null;
                    if (pair is null && sparse is not null && sparse.TryGetValue(n.ToString(System.Globalization.CultureInfo.InvariantCulture), out var sp)) pair = sp;
                }
                else if (id.ValueKind == JsonValueKind.String)
                {
                    var text = id.GetString()!;
                    if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int m) && m < dense.Count) pair = dense[m];
                    if (pair is null && sparse is not null && sparse.TryGetValue(text, out var sp)) pair = sp;
                }
                else if (id.ValueKind != JsonValueKind.Number)
                {
                    throw new PayloadException($"{where}: pair id {Short(id)} is not an integer");
                }
                if (pair is not { } found) throw new PayloadException($"{where}: pair id {Short(id)} is not in key_value_pairs");
                fields[found.Key] = found.Value; // a later duplicate wins, as in pattoo
            }
            foreach (var key in ReservedKeys)
            {
                if (!fields.ContainsKey(key)) throw new PayloadException($"{where}: missing \"{key}\"");
            }
            string key0 = Text(fields["pattoo_key"], where, "pattoo_key");
            var typeElement = fields["pattoo_data_type"];
            if (typeElement.ValueKind == JsonValueKind.Null) { skipped++; index++; continue; } // pattoo stores no data for DATA_NONE
            if (typeElement.ValueKind != JsonValueKind.Number || !typeElement.TryGetInt32(out int code) || !DataTypes.TryFromCode(code, out var type) || type == DataType.None)
                throw new PayloadException($"{Where(where, key0)}: pattoo_data_type must be 99, 101, 32, 64, 2 or null, got {Short(typeElement)}");
            long timestamp = Integer(fields["pattoo_timestamp"], where, key0, "pattoo_timestamp");
            if (timestamp <= 0) throw new PayloadException($"{Where(where, key0)}: pattoo_timestamp must be milliseconds since 1970, got {timestamp}");
            var series = Series(fields, where, key0, type, metadata);
            var valueElement = fields["pattoo_value"];
            if (type == DataType.String)
            {
                string text = valueElement.ValueKind switch
                {
                    JsonValueKind.String => valueElement.GetString()!,
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => valueElement.GetRawText(),
                    _ => throw new PayloadException($"{Where(where, key0)}: pattoo_value must be a string for data type 2, got {Short(valueElement)}"),
                };
                batch.AddText(series, timestamp, text);
            }
            else
            {
                double value = Number(valueElement, Where(where, key0), code);
                if (type.IsCounter() && value < 0) throw new PayloadException($"{Where(where, key0)}: pattoo_value of a counter cannot be negative, got {Short(valueElement)}");
                batch.Add(series, timestamp, value);
            }
            stored++;
            index++;
        }
        return new Result(stored, skipped);
    }

    private static string Where(string where, string key) => $"{where} (pattoo_key \"{key}\")";

    /// <summary>
    /// The series of a datapoint. A datapoint is identified by agent id, polled target and the
    /// agent's checksum (as in pattoo, which also takes its labels from the first post only),
    /// so a series seen before is reused: repeated posts skip the SHA-512 and label work.
    /// </summary>
    private static SeriesKey Series(Dictionary<string, JsonElement> fields, string where, string key0, DataType type, List<KeyValuePair<string, string>> metadata)
    {
        string at = Where(where, key0);
        string agentId = Text(fields["pattoo_agent_id"], at, "pattoo_agent_id");
        string target = Text(fields["pattoo_agent_polled_target"], at, "pattoo_agent_polled_target");
        string checksum = Text(fields["pattoo_checksum"], at, "pattoo_checksum");
        string program = Text(fields["pattoo_agent_program"], at, "pattoo_agent_program");
        string hostname = Text(fields["pattoo_agent_hostname"], at, "pattoo_agent_hostname");
        long interval = Integer(fields["pattoo_agent_polling_interval"], where, key0, "pattoo_agent_polling_interval");
        if (interval <= 0) throw new PayloadException($"{at}: pattoo_agent_polling_interval must be positive milliseconds, got {interval}");
        var id = (agentId, target, checksum);
        if (Known.TryGetValue(id, out var known) && known.DataType == type && known.Key == key0 && known.Agent.Program == program) return known;

        metadata.Clear();
        foreach (var (name, value) in fields)
        {
            if (Array.IndexOf(ReservedKeys, name) >= 0 || name == "pattoo_metadata") continue;
            // pattoo keeps only string metadata, keys normalised to [\w']+ words joined by '_'.
            if (value.ValueKind != JsonValueKind.String) continue;
            string normal = NormaliseKey(name);
            if (normal.Length == 0) continue;
            metadata.Add(new(Cut(normal), Cut(value.GetString()!)));
        }
        metadata.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        for (int i = metadata.Count - 1; i > 0; i--)
        {
            if (metadata[i].Key == metadata[i - 1].Key) metadata.RemoveAt(i);
        }
        var series = new SeriesKey(new AgentIdentity(agentId, program, hostname, target), key0, type, interval, metadata.ToArray(), checksum);
        if (Known.Count >= MaxKnownSeries) Known.Clear(); // bounded: a cache, not a registry
        Known[id] = series;
        return series;
    }

    private const int MaxKnownSeries = 200_000;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string, string), SeriesKey> Known = new();

    private static string Text(JsonElement e, string where, string key)
    {
        if (e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } s) return s;
        if (e.ValueKind == JsonValueKind.Number) return e.GetRawText();
        throw new PayloadException($"{where}: {key} must be a non-empty string, got {Short(e)}");
    }

    private static long Integer(JsonElement e, string where, string key0, string key)
    {
        where = Where(where, key0);
        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long n)) return n;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < 9e15) return (long)d;
        if (e.ValueKind == JsonValueKind.String && long.TryParse(e.GetString(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out n)) return n;
        throw new PayloadException($"{where}: {key} must be an integer, got {Short(e)}");
    }

    private static double Number(JsonElement e, string where, int code)
    {
        double v;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out v) && double.IsFinite(v)) return v;
        // pattoo-shared turns numeric strings into numbers for numeric types.
        if (e.ValueKind == JsonValueKind.String && double.TryParse(e.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out v) && double.IsFinite(v)) return v;
        if (e.ValueKind == JsonValueKind.True) return 1;
        if (e.ValueKind == JsonValueKind.False) return 0;
        throw new PayloadException($"{where}: pattoo_value must be a number for data type {code}, got {Short(e)}");
    }

    /// <summary>pattoo's key normalisation: the [\w']+ words of the key, joined by '_', lower case.</summary>
    public static string NormaliseKey(string key)
    {
        var sb = new StringBuilder(key.Length);
        foreach (Match m in WordRegex().Matches(key))
        {
            if (sb.Length > 0) sb.Append('_');
            sb.Append(m.Value);
        }
        return sb.ToString().ToLowerInvariant();
    }

    [GeneratedRegex(@"[\w']+")]
    private static partial Regex WordRegex();

    private static string Cut(string s) => s.Length <= MaxPairLength ? s : s[..MaxPairLength];

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Short(JsonElement e)
    {
        var raw = e.GetRawText();
        return raw.Length <= 60 ? raw : raw[..57] + "...";
    }
}
