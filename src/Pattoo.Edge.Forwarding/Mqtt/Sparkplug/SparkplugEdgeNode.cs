using System.Buffers;
using System.Globalization;
using System.Text;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Forwarding.Mqtt.Sparkplug;

/// <summary>Takes a message to publish (the payload's bytes are reused after the call).</summary>
public delegate void MqttPublish(string topic, ReadOnlySpan<byte> payload);

/// <summary>
/// The box as a Sparkplug B 3.0 edge node: topics, the birth/death sequence (bdSeq, one per MQTT
/// session, in NBIRTH and in the NDEATH will), the message sequence (seq, 0 at NBIRTH, +1 per
/// message, modulo 256), a device per polled target, a metric per datapoint with the datapoint's
/// index as its alias (a Double, or a String for a string datapoint). Data replayed from before a metric's birth is marked historical, so a host
/// application does not take a backlog for the current value. Builds payloads; the forwarder sends
/// them (at QoS 0, as Sparkplug says, confirmed by a PINGREQ barrier). Pure.
/// </summary>
public sealed class SparkplugEdgeNode(string groupId, string edgeNodeId, byte? lastBdSeq = null)
{
    /// <summary>Metrics in one DDATA at most, so a backlog is many moderate messages, not one huge one.</summary>
    public const int MaxMetricsPerMessage = 1000;
    public const string BdSeqMetric = "bdSeq";

    private readonly Dictionary<long, (string Device, string Name, long BirthTimestamp)> _born = new();
    private readonly ArrayBufferWriter<byte> _payload = new(16 * 1024);
    // The first session's bdSeq follows the last one this node used (kept across restarts), or is 0.
    private ulong _bdSeq = lastBdSeq ?? 255;
    private int _seq;

    public string GroupId { get; } = groupId;
    public string EdgeNodeId { get; } = edgeNodeId;

    /// <summary>The bdSeq of the current session.</summary>
    public ulong BdSeq => _bdSeq;

    public string Topic(string messageType, string? device = null)
        => device is null ? $"spBv1.0/{GroupId}/{messageType}/{EdgeNodeId}" : $"spBv1.0/{GroupId}/{messageType}/{EdgeNodeId}/{device}";

    /// <summary>For a new session: the next bdSeq and the NDEATH that carries it, to register as the will.</summary>
    public MqttWill NextSession(long now)
    {
        _bdSeq = (_bdSeq + 1) % 256;
        _born.Clear();
        return new MqttWill(Topic("NDEATH"), Death(now), Qos: 1, Retain: false);
    }

    /// <summary>The NDEATH payload of the current session (a clean stop publishes it before DISCONNECT).</summary>
    public byte[] Death(long now)
    {
        var w = new ArrayBufferWriter<byte>(64);
        SparkplugPayload.Write(w, now, seq: null, [new SparkplugMetric(BdSeqMetric, null, now, SparkplugDataType.UInt64, 0, _bdSeq)]);
        return w.WrittenSpan.ToArray();
    }

    /// <summary>Whether NBIRTH went out in this session (else <see cref="QueueBirths"/> comes first).</summary>
    public bool IsBorn => _born.Count > 0;

    /// <summary>
    /// Queues NBIRTH (seq 0, bdSeq, the rebirth control) and a DBIRTH per device with every
    /// metric's name, alias and latest value (<paramref name="latest"/>).
    /// </summary>
    public void QueueBirths(MqttPublish publish, IEnumerable<DatapointInfo> datapoints, Func<DatapointInfo, (long Timestamp, double Value, string? Text)?> latest, long now)
    {
        _born.Clear();
        _seq = 0;
        Queue(publish, Topic("NBIRTH"), now, [
            new SparkplugMetric(BdSeqMetric, null, now, SparkplugDataType.UInt64, 0, _bdSeq),
            new SparkplugMetric(SparkplugPayload.RebirthMetric, null, now, SparkplugDataType.Boolean, 0, 0),
        ]);
        foreach (var device in datapoints.GroupBy(DeviceId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            QueueDeviceBirth(publish, device.Key, device, latest, now);
    }

    /// <summary>
    /// After the catalog changed: a DBIRTH for each new device, and for a device whose metrics
    /// changed a DDEATH and a new DBIRTH, so a host application always knows every alias it
    /// receives. Devices that did not change are left alone.
    /// </summary>
    public void QueueDeviceChanges(MqttPublish publish, IEnumerable<DatapointInfo> datapoints, Func<DatapointInfo, (long Timestamp, double Value, string? Text)?> latest, long now)
    {
        var bornDevices = _born.Values.Select(b => b.Device).ToHashSet(StringComparer.Ordinal);
        foreach (var device in datapoints.GroupBy(DeviceId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            bool changed = device.Any(d => !_born.TryGetValue(d.IdxDatapoint, out var b) || b.Device != device.Key || b.Name != MetricName(d));
            if (!changed) continue;
            if (bornDevices.Contains(device.Key)) Queue(publish, Topic("DDEATH", device.Key), now, []);
            QueueDeviceBirth(publish, device.Key, device, latest, now);
        }
    }

    private void QueueDeviceBirth(MqttPublish publish, string device, IEnumerable<DatapointInfo> datapoints, Func<DatapointInfo, (long Timestamp, double Value, string? Text)?> latest, long now)
    {
        var metrics = new List<SparkplugMetric>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in datapoints.OrderBy(d => d.IdxDatapoint))
        {
            string name = MetricName(d);
            // Two agents polling one target under one program and key: the index keeps them apart.
            if (!names.Add(name)) name = $"{name}#{d.IdxDatapoint.ToString(CultureInfo.InvariantCulture)}";
            var value = latest(d);
            var type = TypeOf(d);
            metrics.Add(value is { } v
                ? new SparkplugMetric(name, (ulong)d.IdxDatapoint, v.Timestamp, type, v.Value, 0, Text: v.Text)
                : new SparkplugMetric(name, (ulong)d.IdxDatapoint, now, type, 0, 0, IsNull: true));
            _born[d.IdxDatapoint] = (device, MetricName(d), value?.Timestamp ?? long.MinValue);
        }
        Queue(publish, Topic("DBIRTH", device), now, [.. metrics]);
    }

    /// <summary>Queues <paramref name="batch"/> as DDATA per device, by alias, each sample with its own timestamp.</summary>
    public void QueueData(MqttPublish publish, IReadOnlyList<SeriesBatch> batch, long now)
    {
        var metrics = new List<SparkplugMetric>(MaxMetricsPerMessage);
        foreach (var device in batch.GroupBy(b => _born[b.Info.IdxDatapoint].Device, StringComparer.Ordinal))
        {
            string topic = Topic("DDATA", device.Key);
            foreach (var (info, points, take, texts) in device)
            {
                long born = _born[info.IdxDatapoint].BirthTimestamp;
                var type = TypeOf(info);
                for (int i = 0; i < take; i++)
                {
                    long ts = points.Timestamps[i];
                    metrics.Add(new SparkplugMetric(null, (ulong)info.IdxDatapoint, ts, type, points.Values[i], 0, IsHistorical: ts <= born, Text: texts?[i]));
                    if (metrics.Count == MaxMetricsPerMessage)
                    {
                        Queue(publish, topic, now, [.. metrics]);
                        metrics.Clear();
                    }
                }
            }
            if (metrics.Count > 0)
            {
                Queue(publish, topic, now, [.. metrics]);
                metrics.Clear();
            }
        }
    }

    private void Queue(MqttPublish publish, string topic, long now, ReadOnlySpan<SparkplugMetric> metrics)
    {
        _payload.ResetWrittenCount();
        SparkplugPayload.Write(_payload, now, (ulong)_seq, metrics);
        _seq = (_seq + 1) % 256;
        publish(topic, _payload.WrittenSpan);
    }

    /// <summary>A string datapoint is a String metric, every other one a Double (counters with their raw counts).</summary>
    private static SparkplugDataType TypeOf(DatapointInfo d) => d.DataType == Common.DataType.String ? SparkplugDataType.String : SparkplugDataType.Double;

    /// <summary>A device id: the polled target, without the characters a topic level cannot hold.</summary>
    public static string DeviceId(DatapointInfo d) => MqttTopic.Level(d.AgentPolledTarget);

    /// <summary>A metric name: program/key, then each metadata pair as a further level (name=value), all of a datapoint's identity.</summary>
    public static string MetricName(DatapointInfo d)
    {
        var sb = new StringBuilder(d.AgentProgram).Append('/').Append(d.Key);
        foreach (var (name, value) in d.Metadata) sb.Append('/').Append(name).Append('=').Append(value);
        return sb.ToString();
    }
}
