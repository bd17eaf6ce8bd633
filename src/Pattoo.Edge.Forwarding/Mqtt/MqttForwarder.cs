using System.Buffers;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using Pattoo.Edge.Common;
using Pattoo.Edge.Forwarding.Mqtt.Sparkplug;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Forwarding.Mqtt;

/// <summary>
/// Feeds an MQTT broker from the store (<see cref="CursorForwarder"/>). JSON: a message per
/// sample at the configured QoS; the cursor moves when every PUBACK of a batch is in (QoS 0:
/// when the broker answered a PINGREQ sent after the batch). Sparkplug B: the box is an edge
/// node (<see cref="SparkplugEdgeNode"/>); each new session registers NDEATH as the will,
/// subscribes to NCMD (rebirth requests) and publishes the births before any data. A lost
/// session fails the batch: it is sent again, in full, on the next one.
/// </summary>
public sealed class MqttForwarder : CursorForwarder
{
    /// <summary>Queued bytes written to the socket at once.</summary>
    private const int FlushBytes = 256 * 1024;

    private readonly MqttForwardOptions _options;
    private readonly SparkplugEdgeNode? _node;
    private readonly ArrayBufferWriter<byte> _payload = new(512);
    private Utf8JsonWriter? _json;
    private readonly Dictionary<long, string> _topics = new();
    private readonly List<Task> _acks = new();
    private MqttConnection? _connection;
    private volatile bool _rebirthRequested;
    private bool _catalogChanged;

    public MqttForwarder(MqttForwardOptions options, TimeSeriesStore store) : base(options, store)
    {
        _options = options;
        if (options.Format == MqttFormat.SparkplugB)
            _node = new SparkplugEdgeNode(options.GroupId, options.EdgeNodeId, store.LoadForwardCursor(BdSeqKey) is [byte last] ? last : null);
    }

    /// <summary>
    /// Where the last bdSeq is kept beside the forwarder's cursor: a host application matches an
    /// NDEATH to its NBIRTH by bdSeq, so a restarted box must not reuse the one its last will carries.
    /// </summary>
    private string BdSeqKey => Options.Name + "/sparkplug-bdseq";

    /// <summary>JSON carries text as the value, Sparkplug as String metrics.</summary>
    protected override bool SendsStrings => true;

    protected override void CatalogChanged()
    {
        _topics.Clear();
        _catalogChanged = true;
    }

    protected override async Task<string?> SendAsync(IReadOnlyList<SeriesBatch> batch, CancellationToken stop)
    {
        try
        {
            if (_connection is null || _connection.ClosedBecause is not null)
            {
                if (await ConnectAsync(stop).ConfigureAwait(false) is { } error) return error;
            }
            var c = _connection!;
            void Publish(string topic, ReadOnlySpan<byte> payload) => c.QueuePublish(topic, payload, qos: 0);
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (_node is not null)
            {
                if (_rebirthRequested || !_node.IsBorn)
                {
                    _rebirthRequested = false;
                    _node.QueueBirths(Publish, Forwarded, Latest, now);
                }
                else if (_catalogChanged) _node.QueueDeviceChanges(Publish, Forwarded, Latest, now);
                _catalogChanged = false;
                _node.QueueData(Publish, batch, now);
                await c.BarrierAsync(Options.Timeout, stop).ConfigureAwait(false);
                return null;
            }
            _acks.Clear();
            foreach (var (info, points, take, texts) in batch)
            {
                if (!_topics.TryGetValue(info.IdxDatapoint, out var topic))
                    _topics[info.IdxDatapoint] = topic = MqttJsonMessage.Topic(_options.Topic, _options.Appliance, info);
                for (int i = 0; i < take; i++)
                {
                    _payload.ResetWrittenCount();
                    if (_json is null) _json = new Utf8JsonWriter(_payload);
                    else _json.Reset(_payload);
                    MqttJsonMessage.WritePayload(_json, info, points.Timestamps[i], points.Values[i], texts?[i]);
                    var ack = c.QueuePublish(topic, _payload.WrittenSpan, _options.Qos);
                    if (_options.Qos > 0) _acks.Add(ack);
                    if (c.QueuedBytes >= FlushBytes) await c.FlushAsync(stop).ConfigureAwait(false);
                }
            }
            if (_options.Qos == 0) await c.BarrierAsync(Options.Timeout, stop).ConfigureAwait(false);
            else
            {
                await c.FlushAsync(stop).ConfigureAwait(false);
                await c.WaitAsync(Task.WhenAll(_acks), Options.Timeout, "PUBACK", stop).ConfigureAwait(false);
            }
            return null;
        }
        catch (MqttConnectionLostException e)
        {
            return Fail($"{Options.Url}: {e.Message}");
        }
    }

    /// <summary>The newest stored sample, raw (a counter's count, not its rate; a string's text), for a birth.</summary>
    private (long Timestamp, double Value, string? Text)? Latest(DatapointInfo d)
    {
        // The info's last timestamp is as of the catalog read; the newest is at or after it.
        if (d.DataType == DataType.String)
            return Store.ReadStrings(d.IdxDatapoint, d.LastTimestamp, long.MaxValue) is { Count: > 0 } texts ? (texts[^1].Timestamp, double.NaN, texts[^1].Value) : null;
        var points = Store.ReadRaw(d.IdxDatapoint, d.LastTimestamp, long.MaxValue);
        return points.Count == 0 ? null : (points.Timestamps[^1], points.Values[^1], null);
    }

    /// <summary>Opens a session; null when it is open, else what went wrong.</summary>
    private async Task<string?> ConnectAsync(CancellationToken stop)
    {
        if (_connection is not null) await _connection.DisposeAsync().ConfigureAwait(false);
        _connection = null;
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var will = _node?.NextSession(now);
        // Kept before the session opens: a box killed while connected comes back with the next one.
        if (_node is not null) await Store.SaveForwardCursorAsync(BdSeqKey, [(byte)_node.BdSeq]).ConfigureAwait(false);
        var connect = new MqttConnect(_options.ClientId, _options.KeepAlive, CleanSession: true, Options.Username, Options.Password, will);
        try
        {
            _connection = await MqttConnection.ConnectAsync(Options.Url, connect, TlsTrust.For(Options), Options.Timeout, OnPublish, stop).ConfigureAwait(false);
            if (_node is not null)
            {
                string commands = _node.Topic("NCMD");
                await _connection.SubscribeAsync(commands, 1, Options.Timeout, stop).ConfigureAwait(false);
            }
        }
        catch (MqttRefusedException e)
        {
            return ConfigurationError($"{Options.Url}: {e.Message}");
        }
        catch (AuthenticationException e)
        {
            return ConfigurationError($"{Options.Url}: TLS failed: {SystemMessages.Describe(e.InnerException ?? e)}");
        }
        catch (Exception e) when (e is IOException or SocketException or MqttProtocolException)
        {
            return Fail($"{Options.Url}: {SystemMessages.Describe(e)}");
        }
        Log.Info(_node is null
            ? $"forward {Options.Name}: connected to {Options.Url} as \"{_options.ClientId}\""
            : $"forward {Options.Name}: connected to {Options.Url} as Sparkplug B edge node {_node.GroupId}/{_node.EdgeNodeId} (bdSeq {_node.BdSeq})");
        return null;
    }

    private void OnPublish(MqttIncomingPublish message)
    {
        if (_node is not null && message.Topic == _node.Topic("NCMD") && SparkplugPayload.IsRebirthRequest(message.Payload.Span))
        {
            Log.Info($"forward {Options.Name}: a host application asked for a rebirth; births go out with the next batch");
            _rebirthRequested = true;
        }
    }

    protected override async ValueTask CloseAsync()
    {
        if (_json is not null) await _json.DisposeAsync().ConfigureAwait(false);
        _json = null;
        if (_connection is not { } c) return;
        if (_node is not null && c.ClosedBecause is null)
        {
            // A clean DISCONNECT drops the will, so Sparkplug wants the NDEATH published first.
            try
            {
                _ = c.QueuePublish(_node.Topic("NDEATH"), _node.Death(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), 0);
                await c.BarrierAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            }
            catch (MqttConnectionLostException) { }
        }
        await c.DisconnectAsync(CancellationToken.None).ConfigureAwait(false);
        await c.DisposeAsync().ConfigureAwait(false);
    }
}
