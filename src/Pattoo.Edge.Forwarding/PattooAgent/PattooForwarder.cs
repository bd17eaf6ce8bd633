using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Forwarding.PattooAgent;

/// <summary>
/// Feeds a central pattoo server (or another Pattoo.Edge) from the store
/// (<see cref="CursorForwarder"/>): posts exactly what pattoo agents post, to pattoo's agent
/// route, one post per agent id, with each datapoint's agent identity, key, data type, metadata
/// and pattoo's agent checksum, so the central server sees the box as it sees any agent. A sample
/// sent twice (after a crash) is stored once: pattoo keeps one row per datapoint and timestamp,
/// and Pattoo.Edge takes only samples newer than a series' newest.
/// </summary>
public sealed class PattooForwarder(PattooForwardOptions options, TimeSeriesStore store, HttpMessageHandler? handler = null)
    : HttpForwarder(options, store, handler)
{
    /// <summary>pattoo's agent route, after the server's base URL.</summary>
    public const string ReceivePath = "/pattoo/api/v1/agent/receive/";

    private readonly Dictionary<long, string> _checksums = new();
    private readonly HashSet<long> _reported = new();

    protected override bool SendsStrings => true;

    protected override void CatalogChanged() => _checksums.Clear();

    protected override async Task<string?> SendAsync(IReadOnlyList<SeriesBatch> batch, CancellationToken stop)
    {
        foreach (var group in batch.GroupBy(b => b.Info.AgentId, StringComparer.Ordinal))
        {
            byte[] body = Encode(group.Key, group, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var url = new Uri(Options.Url.ToString().TrimEnd('/') + ReceivePath + Uri.EscapeDataString(group.Key));
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            // All of a batch or nothing: its cursor moves only when every post was acknowledged
            // (a post repeated after a later one failed is stored once, see above).
            if (await PostAsync(request, stop).ConfigureAwait(false) is { } error) return error;
        }
        return null;
    }

    /// <summary>The agent checksum pattoo-shared computes for the datapoint (pattoo_checksum).</summary>
    private string Checksum(DatapointInfo d)
    {
        if (_checksums.TryGetValue(d.IdxDatapoint, out var known)) return known;
        var agent = new AgentIdentity(d.AgentId, d.AgentProgram, d.AgentHostname, d.AgentPolledTarget);
        string checksum = PattooChecksum.ForDatapoint(agent, d.Key, d.DataType, d.Metadata);
        // A datapoint a pattoo agent posted carries the agent's own checksum, over its metadata
        // as it sent them; this store keeps them normalised. When the two differ the central
        // server files it under a checksum of its own: said once per datapoint.
        if (PattooChecksum.ForStoredDatapoint(d.AgentId, d.AgentPolledTarget, checksum) != d.Checksum && _reported.Add(d.IdxDatapoint))
            Log.Warning($"forward {Options.Name}: datapoint {d.IdxDatapoint} ({d.AgentProgram} {d.Key}) was posted by an agent whose checksum cannot be computed again here; the central server stores it under a new checksum");
        _checksums[d.IdxDatapoint] = checksum;
        return checksum;
    }

    /// <summary>A pattoo agent's post (docs/pattoo-compat.md section 4) of <paramref name="series"/>: pairs shared by datapoints are written once.</summary>
    internal byte[] Encode(string agentId, IEnumerable<SeriesBatch> series, long now)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        var pairs = new Dictionary<(string Key, string Json), int>();
        var pairOrder = new List<(string Key, string Json)>();
        var datapoints = new List<List<int>>();
        long interval = 0;
        int Pair(string key, string json)
        {
            if (pairs.TryGetValue((key, json), out int id)) return id;
            pairs[(key, json)] = id = pairOrder.Count;
            pairOrder.Add((key, json));
            return id;
        }
        foreach (var (d, points, take, texts) in series)
        {
            interval = Math.Max(interval, d.PollingInterval);
            var shared = new List<int>
            {
                Pair("pattoo_agent_id", Json(d.AgentId)),
                Pair("pattoo_agent_program", Json(d.AgentProgram)),
                Pair("pattoo_agent_hostname", Json(d.AgentHostname)),
                Pair("pattoo_agent_polled_target", Json(d.AgentPolledTarget)),
                Pair("pattoo_agent_polling_interval", Json(d.PollingInterval.ToString(CultureInfo.InvariantCulture))),
                Pair("pattoo_key", Json(d.Key)),
                Pair("pattoo_data_type", ((int)d.DataType).ToString(CultureInfo.InvariantCulture)),
                Pair("pattoo_checksum", Json(Checksum(d))),
            };
            foreach (var (name, value) in d.Metadata) shared.Add(Pair(name, Json(value)));
            for (int i = 0; i < take; i++)
            {
                var ids = new List<int>(shared)
                {
                    Pair("pattoo_value", texts is null ? points.Values[i].ToString("R", CultureInfo.InvariantCulture) : Json(texts[i])),
                    Pair("pattoo_timestamp", points.Timestamps[i].ToString(CultureInfo.InvariantCulture)),
                };
                datapoints.Add(ids);
            }
        }
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("pattoo_agent_id", agentId);
            w.WriteNumber("pattoo_agent_polling_interval", interval);
            w.WriteNumber("pattoo_agent_timestamp", now);
            w.WriteStartObject("pattoo_datapoints");
            w.WriteStartObject("key_value_pairs");
            for (int id = 0; id < pairOrder.Count; id++)
            {
                w.WriteStartArray(id.ToString(CultureInfo.InvariantCulture));
                w.WriteStringValue(pairOrder[id].Key);
                w.WriteRawValue(pairOrder[id].Json, skipInputValidation: true);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteStartArray("datapoint_pairs");
            foreach (var ids in datapoints)
            {
                w.WriteStartArray();
                foreach (int id in ids) w.WriteNumberValue(id);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static string Json(string text) => JsonSerializer.Serialize(text, ForwardingJson.Default.String);
}
