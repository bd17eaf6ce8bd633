using System.Globalization;
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
/// <remarks>
/// The body is read in two passes over its bytes, without a document tree: the first
/// (<see cref="PattooPayloadLayout"/>) records where each pair's key and value are and the
/// pair ids of each datapoint; the second turns datapoints into samples, decoding a pair's
/// text once however many datapoints share it and parsing numbers straight from UTF-8.
/// pattoo payloads spend ~120 bytes of JSON per sample; a tree of them cost 1.6 KB of
/// garbage per sample and most of an ingest's CPU.
/// </remarks>
public static partial class PattooPayload
{
    internal static readonly string[] TopLevelKeys = ["pattoo_agent_id", "pattoo_agent_polling_interval", "pattoo_agent_timestamp", "pattoo_datapoints"];

    /// <summary>Keys that describe the datapoint itself; all others are metadata. The order is the order of the checks.</summary>
    internal static readonly string[] ReservedKeys =
    [
        "pattoo_checksum", "pattoo_data_type", "pattoo_key", "pattoo_value", "pattoo_timestamp",
        "pattoo_agent_id", "pattoo_agent_polled_target", "pattoo_agent_program", "pattoo_agent_hostname", "pattoo_agent_polling_interval",
    ];

    // Indexes into ReservedKeys.
    private const int Checksum = 0, DataTypeField = 1, KeyField = 2, Value = 3, Timestamp = 4, AgentId = 5, Target = 6, Program = 7, Hostname = 8, Interval = 9;

    /// <summary>pattoo cuts metadata keys and values to this many characters.</summary>
    public const int MaxPairLength = 512;

    public sealed record Result(int Datapoints, int Skipped);

    [ThreadStatic] private static PattooPayloadLayout? _layout;

    /// <summary>Parses <paramref name="json"/> into the empty <paramref name="batch"/>.</summary>
    /// <exception cref="PayloadException">the payload is malformed; the batch is left empty.</exception>
    public static Result Parse(ReadOnlySpan<byte> json, SampleBatch batch)
    {
        if (batch.Count != 0) throw new ArgumentException("the batch must be empty", nameof(batch));
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new PayloadException("the body is not valid UTF-8");
        // Parse is synchronous, so one layout per thread is reused: its arrays grow to the
        // largest body seen rather than being allocated for every request.
        var layout = _layout ?? new PattooPayloadLayout();
        _layout = null;
        try
        {
            layout.Read(json);
            batch.EnsureCapacity(layout.DatapointCount);
            return Emit(json, layout, batch);
        }
        catch (JsonException e)
        {
            batch.Clear();
            throw new PayloadException($"the body is not valid JSON: {SystemMessages.DescribeJson(e)}");
        }
        catch (PayloadException)
        {
            batch.Clear();
            throw;
        }
        finally
        {
            if (layout.Reset()) _layout = layout;
        }
    }

    /// <summary>The second pass: each datapoint's pairs into one sample.</summary>
    private static Result Emit(ReadOnlySpan<byte> json, PattooPayloadLayout layout, SampleBatch batch)
    {
        int skipped = 0, stored = 0;
        Span<int> fields = stackalloc int[ReservedKeys.Length];
        Span<int> previous = stackalloc int[ReservedKeys.Length];
        previous.Fill(-1);
        SeriesKey? previousSeries = null;
        var metadata = new List<KeyValuePair<string, string>>();
        // The data type and polling interval pairs are shared by many datapoints: read once per pair.
        int typeOf = -1, code = 0, intervalOf = -1;
        DataType type = DataType.None;
        long interval = 0;
        for (int index = 0; index < layout.DatapointCount; index++)
        {
            fields.Fill(-1);
            layout.MetadataPairs.Clear();
            foreach (int id in layout.IdsOf(index))
            {
                int pair = layout.Resolve(json, id);
                if (pair < 0) throw new PayloadException($"{Where(index)}: pair id {layout.ShowId(json, id)} is not in key_value_pairs");
                int key = layout.Pairs[pair].Key;
                if (key >= 0) fields[key] = pair; // a later duplicate wins, as in pattoo
                else if (key == PattooPayloadLayout.MetadataKey) layout.MetadataPairs.Add(pair);
            }
            for (int k = 0; k < ReservedKeys.Length; k++)
            {
                if (fields[k] < 0) throw new PayloadException($"{Where(index)}: missing \"{ReservedKeys[k]}\"");
            }
            string key0 = Text(json, layout, fields[KeyField], index, null, "pattoo_key");
            ref readonly var typePair = ref layout.Pairs[fields[DataTypeField]];
            if (typePair.Kind == JsonTokenType.Null) { skipped++; continue; } // pattoo stores no data for DATA_NONE
            if (fields[DataTypeField] != typeOf)
            {
                if (typePair.Kind != JsonTokenType.Number || !int.TryParse(typePair.Raw(json), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out code)
                    || !DataTypes.TryFromCode(code, out type) || type == DataType.None)
                    throw new PayloadException($"{Where(index, key0)}: pattoo_data_type must be 99, 101, 32, 64, 2 or null, got {Short(typePair.Raw(json))}");
                typeOf = fields[DataTypeField];
            }
            long timestamp = Integer(json, layout, fields[Timestamp], index, key0, "pattoo_timestamp");
            if (timestamp <= 0) throw new PayloadException($"{Where(index, key0)}: pattoo_timestamp must be milliseconds since 1970, got {timestamp}");
            if (fields[Interval] != intervalOf)
            {
                interval = Integer(json, layout, fields[Interval], index, key0, "pattoo_agent_polling_interval");
                if (interval <= 0) throw new PayloadException($"{Where(index, key0)}: pattoo_agent_polling_interval must be positive milliseconds, got {interval}");
                intervalOf = fields[Interval];
            }

            // Datapoints of one series often follow each other (an agent's backlog): the same
            // identity pairs are the same series, with no string hashed.
            SeriesKey series;
            if (previousSeries is not null && previousSeries.DataType == type && SameIdentity(fields, previous)) series = previousSeries;
            else
            {
                series = Series(json, layout, fields, index, key0, type, interval, metadata);
                fields.CopyTo(previous);
                previousSeries = series;
            }

            ref readonly var valuePair = ref layout.Pairs[fields[Value]];
            if (type == DataType.String)
            {
                string text = valuePair.Kind switch
                {
                    JsonTokenType.String => layout.String(json, fields[Value]),
                    JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False => Encoding.UTF8.GetString(valuePair.Raw(json)),
                    _ => throw new PayloadException($"{Where(index, key0)}: pattoo_value must be a string for data type 2, got {Short(valuePair.Raw(json))}"),
                };
                batch.AddText(series, timestamp, text);
            }
            else
            {
                double value = Number(json, layout, fields[Value], index, key0, code);
                if (type.IsCounter() && value < 0) throw new PayloadException($"{Where(index, key0)}: pattoo_value of a counter cannot be negative, got {Short(valuePair.Raw(json))}");
                batch.Add(series, timestamp, value);
            }
            stored++;
        }
        return new Result(stored, skipped);
    }

    /// <summary>The fields that make a datapoint's identity (and its labels) come from the same pairs.</summary>
    private static bool SameIdentity(ReadOnlySpan<int> fields, ReadOnlySpan<int> previous)
        => fields[Checksum] == previous[Checksum] && fields[KeyField] == previous[KeyField] && fields[AgentId] == previous[AgentId]
            && fields[Target] == previous[Target] && fields[Program] == previous[Program] && fields[Hostname] == previous[Hostname]
            && fields[Interval] == previous[Interval];

    private static string Where(int index) => $"datapoint_pairs[{index}]";

    private static string Where(int index, string? key) => key is null ? Where(index) : $"{Where(index)} (pattoo_key \"{key}\")";

    /// <summary>
    /// The series of a datapoint. A datapoint is identified by agent id, polled target and the
    /// agent's checksum (as in pattoo, which also takes its labels from the first post only),
    /// so a series seen before is reused: repeated posts skip the SHA-512 and label work.
    /// </summary>
    private static SeriesKey Series(ReadOnlySpan<byte> json, PattooPayloadLayout layout, ReadOnlySpan<int> fields, int index, string key0, DataType type, long interval,
        List<KeyValuePair<string, string>> metadata)
    {
        string agentId = Text(json, layout, fields[AgentId], index, key0, "pattoo_agent_id");
        string target = Text(json, layout, fields[Target], index, key0, "pattoo_agent_polled_target");
        string checksum = Text(json, layout, fields[Checksum], index, key0, "pattoo_checksum");
        string program = Text(json, layout, fields[Program], index, key0, "pattoo_agent_program");
        string hostname = Text(json, layout, fields[Hostname], index, key0, "pattoo_agent_hostname");
        var id = (agentId, target, checksum);
        if (Known.TryGetValue(id, out var known) && known.DataType == type && known.Key == key0 && known.Agent.Program == program) return known;

        // pattoo keeps only string metadata, keys normalised to [\w']+ words joined by '_'; of
        // two pairs with the same key the later wins (even when its value is not a string).
        metadata.Clear();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = layout.MetadataPairs.Count - 1; i >= 0; i--)
        {
            int pair = layout.MetadataPairs[i];
            string name = layout.KeyString(json, pair);
            if (!seen.Add(name) || layout.Pairs[pair].Kind != JsonTokenType.String) continue;
            string normal = NormaliseKey(name);
            if (normal.Length == 0) continue;
            metadata.Add(new(Cut(normal), Cut(layout.String(json, pair))));
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

    /// <summary>A non-empty string field (a number's digits are taken as its text, as pattoo does).</summary>
    private static string Text(ReadOnlySpan<byte> json, PattooPayloadLayout layout, int pair, int index, string? key0, string key)
    {
        ref readonly var p = ref layout.Pairs[pair];
        if (p.Kind == JsonTokenType.String && p.End - p.Start > 2) return layout.String(json, pair);
        if (p.Kind == JsonTokenType.Number) return layout.String(json, pair);
        throw new PayloadException($"{Where(index, key0)}: {key} must be a non-empty string, got {Short(p.Raw(json))}");
    }

    private static long Integer(ReadOnlySpan<byte> json, PattooPayloadLayout layout, int pair, int index, string key0, string key)
    {
        ref readonly var p = ref layout.Pairs[pair];
        var raw = p.Raw(json);
        if (p.Kind == JsonTokenType.Number)
        {
            if (NumberText.TryParseMilliseconds(raw, out long n)) return n;
            if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d == Math.Floor(d) && Math.Abs(d) < 9e15) return (long)d;
        }
        else if (p.Kind == JsonTokenType.String)
        {
            if (!p.Escaped && NumberText.TryParseMilliseconds(raw[1..^1], out long n)) return n;
            if (p.Escaped && long.TryParse(layout.String(json, pair), NumberStyles.Integer, CultureInfo.InvariantCulture, out n)) return n;
        }
        throw new PayloadException($"{Where(index, key0)}: {key} must be an integer, got {Short(raw)}");
    }

    private static double Number(ReadOnlySpan<byte> json, PattooPayloadLayout layout, int pair, int index, string key0, int code)
    {
        ref readonly var p = ref layout.Pairs[pair];
        var raw = p.Raw(json);
        double v;
        switch (p.Kind)
        {
            case JsonTokenType.Number:
                if (NumberText.TryParsePlainDecimal(raw, out v)) return v;
                if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out v) && double.IsFinite(v)) return v;
                break;
            case JsonTokenType.String:
                // pattoo-shared turns numeric strings into numbers for numeric types.
                if (double.TryParse(layout.String(json, pair), NumberStyles.Float, CultureInfo.InvariantCulture, out v) && double.IsFinite(v)) return v;
                break;
            case JsonTokenType.True: return 1;
            case JsonTokenType.False: return 0;
        }
        throw new PayloadException($"{Where(index, key0)}: pattoo_value must be a number for data type {code}, got {Short(raw)}");
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

    internal static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => "null",
    };

    /// <summary>A value's JSON text for a message, cut to 60 characters.</summary>
    internal static string Short(ReadOnlySpan<byte> raw)
    {
        var text = Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, 240)]);
        return text.Length <= 60 ? text : text[..57] + "...";
    }
}
