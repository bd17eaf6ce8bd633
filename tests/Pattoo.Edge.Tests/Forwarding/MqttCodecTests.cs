using System.Buffers;
using System.Text;
using System.Text.Json;
using Pattoo.Edge.Common;
using Pattoo.Edge.Forwarding;
using Pattoo.Edge.Forwarding.Mqtt;
using Pattoo.Edge.Forwarding.Mqtt.Sparkplug;
using Pattoo.Edge.Storage;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Forwarding;

public class MqttPacketsTests
{
    private static byte[] Bytes(Action<ArrayBufferWriter<byte>> write)
    {
        var w = new ArrayBufferWriter<byte>();
        write(w);
        return w.WrittenSpan.ToArray();
    }

    [Fact]
    public void ConnectIsWrittenAsMqtt311Says()
    {
        var packet = Bytes(w => MqttPackets.WriteConnect(w, new MqttConnect("pe", TimeSpan.FromSeconds(30), true, "u", "p", new MqttWill("t", "d"u8.ToArray(), 1, false))));
        byte[] expected =
        [
            0x10, 26, 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4,
            0xCE, // user name, password, will QoS 1, will, clean session (3.1.2.3)
            0, 30, 0, 2, (byte)'p', (byte)'e', 0, 1, (byte)'t', 0, 1, (byte)'d', 0, 1, (byte)'u', 0, 1, (byte)'p',
        ];
        Assert.Equal(expected, packet);
        var bare = Bytes(w => MqttPackets.WriteConnect(w, new MqttConnect("x", TimeSpan.Zero, false, null, null, null)));
        Assert.Equal([0x10, 13, 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0, 0, 0, 0, 1, (byte)'x'], bare);
    }

    [Fact]
    public void PublishesCarryTheirQosPacketIdAndLength()
    {
        Assert.Equal([0x32, 9, 0, 3, (byte)'a', (byte)'/', (byte)'b', 0, 10, (byte)'h', (byte)'i'], Bytes(w => MqttPackets.WritePublish(w, "a/b", "hi"u8, 1, 10)));
        Assert.Equal([0x31, 5, 0, 1, (byte)'a', (byte)'h', (byte)'i'], Bytes(w => MqttPackets.WritePublish(w, "a", "hi"u8, 0, 99, retain: true)));
        var big = Bytes(w => MqttPackets.WritePublish(w, "a", new byte[318], 0, 0));
        Assert.Equal([0x30, 0xC1, 0x02], big[..3]); // 321 as a two-byte remaining length (2.2.3)
        Assert.Equal(3 + 321, big.Length);
        Assert.Equal([0xC0, 0], Bytes(MqttPackets.WritePingReq));
        Assert.Equal([0xE0, 0], Bytes(MqttPackets.WriteDisconnect));
        Assert.Equal([0x82, 6, 0, 7, 0, 1, (byte)'#', 1], Bytes(w => MqttPackets.WriteSubscribe(w, 7, "#", 1)));
    }

    [Fact]
    public void PacketsAreFoundWholeOrNotAtAll()
    {
        var two = Bytes(w => { MqttPackets.WritePublish(w, "x/y", new byte[200], 1, 513); MqttPackets.WritePubAck(w, 513); });
        for (int cut = 0; cut < 205; cut++) Assert.False(MqttPackets.TryReadPacket(two.AsSpan(0, cut), out _, out _, out _, out _, out _));
        Assert.True(MqttPackets.TryReadPacket(two, out var type, out byte flags, out int start, out int length, out int consumed));
        Assert.Equal(MqttPacketType.Publish, type);
        var publish = MqttPackets.ReadPublish(flags, two.AsMemory(start, length));
        Assert.Equal(("x/y", 1, (ushort)513, 200), (publish.Topic, publish.Qos, publish.PacketId, publish.Payload.Length));
        Assert.True(MqttPackets.TryReadPacket(two.AsSpan(consumed), out type, out _, out start, out length, out _));
        Assert.Equal(MqttPacketType.PubAck, type);
        Assert.Equal(513, MqttPackets.ReadPacketId(two.AsSpan(consumed + start, length), type));
    }

    [Fact]
    public void RefusedConnectionsSayWhy()
    {
        Assert.Equal(0, MqttPackets.ReadConnAck([0, 0]));
        Assert.Equal(5, MqttPackets.ReadConnAck([0, 5]));
        Assert.Contains("user name or password", MqttPackets.DescribeConnAck(4));
        Assert.Contains("not authorized", MqttPackets.DescribeConnAck(5));
        Assert.Contains("CONNACK of 3 bytes", Assert.Throws<MqttProtocolException>(() => MqttPackets.ReadConnAck([0, 0, 0])).Message);
        Assert.Contains("more than four bytes", Assert.Throws<MqttProtocolException>(() => MqttPackets.TryReadPacket([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], out _, out _, out _, out _, out _)).Message);
        Assert.Contains("reserved", Assert.Throws<MqttProtocolException>(() => MqttPackets.TryReadPacket([0xF0, 0], out _, out _, out _, out _, out _)).Message);
    }

    [Fact]
    public void BrokerBytesOfAnyShapeAreNamedNeverACrash()
    {
        var rng = new Random(17);
        var valid = Bytes(w => { MqttPackets.WritePublish(w, "spBv1.0/g/NCMD/n", new byte[40], 1, 3); MqttPackets.WritePubAck(w, 4); });
        for (int i = 0; i < 20_000; i++)
        {
            var bytes = (byte[])valid.Clone();
            for (int m = rng.Next(1, 4); m > 0; m--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            if (rng.Next(3) == 0) bytes = bytes[..rng.Next(bytes.Length)];
            try
            {
                int at = 0;
                while (MqttPackets.TryReadPacket(bytes.AsSpan(at), out var type, out byte flags, out int start, out int length, out int consumed))
                {
                    var body = bytes.AsMemory(at + start, length);
                    switch (type)
                    {
                        case MqttPacketType.Publish: MqttPackets.ReadPublish(flags, body); break;
                        case MqttPacketType.PubAck: MqttPackets.ReadPacketId(body.Span, type); break;
                        case MqttPacketType.SubAck: MqttPackets.ReadSubAckCode(body.Span); break;
                        case MqttPacketType.ConnAck: MqttPackets.ReadConnAck(body.Span); break;
                    }
                    at += consumed;
                }
            }
            catch (MqttProtocolException e) { Assert.False(string.IsNullOrEmpty(e.Message)); }
        }
    }
}

public class MqttJsonMessageTests
{
    private static readonly DatapointInfo Info = new(7, 1, "c", DataType.Float, 0, 10_000, "agent-1", "pattoo_agent_modbustcpd", "host", "plc/1:502", "room+temp",
        [new("units", "degreesCelsius"), new("site", "north")]);

    [Fact]
    public void TopicsFollowTheTemplateOneLevelPerField()
    {
        Assert.Equal("pattoo/box-1/pattoo_agent_modbustcpd/plc_1:502/room_temp", MqttJsonMessage.Topic(MqttJsonMessage.DefaultTopic, "box-1", Info));
        Assert.Equal("site/agent-1/host/x", MqttJsonMessage.Topic("site/{agent_id}/{hostname}/x", "box-1", Info));
    }

    [Theory]
    [InlineData("a/{nope}", "{nope} is not a placeholder")]
    [InlineData("a/+/b", "wildcards")]
    [InlineData("a/{key", "is not closed")]
    [InlineData("", "empty")]
    public void BadTemplatesAreNamed(string template, string problem) => Assert.Contains(problem, MqttJsonMessage.CheckTemplate(template));

    [Fact]
    public void PayloadsCarryTimestampValueUnitAndLabels()
    {
        var w = new ArrayBufferWriter<byte>();
        using var json = new Utf8JsonWriter(w);
        MqttJsonMessage.WritePayload(json, Info, 1_700_000_000_000, 21.5);
        var root = JsonDocument.Parse(w.WrittenMemory).RootElement;
        Assert.Equal(1_700_000_000_000, root.GetProperty("timestamp").GetInt64());
        Assert.Equal(21.5, root.GetProperty("value").GetDouble());
        Assert.Equal("degreesCelsius", root.GetProperty("unit").GetString());
        Assert.Equal("""{"site":"north"}""", root.GetProperty("labels").GetRawText());
        w.ResetWrittenCount();
        json.Reset(w); // one writer for every payload, as the forwarder does
        MqttJsonMessage.WritePayload(json, Info with { Metadata = [] }, 1, double.NaN);
        Assert.Equal("""{"timestamp":1,"value":"NaN","unit":null,"labels":{}}""", Encoding.UTF8.GetString(w.WrittenSpan));
        w.ResetWrittenCount();
        json.Reset(w);
        MqttJsonMessage.WritePayload(json, Info with { Metadata = [], DataType = DataType.String }, 2, double.NaN, "on \"auto\"");
        Assert.Equal("""{"timestamp":2,"value":"on \u0022auto\u0022","unit":null,"labels":{}}""", Encoding.UTF8.GetString(w.WrittenSpan));
    }
}

public class SparkplugTests
{
    private static DatapointInfo Info(long idx, string target, string key, params KeyValuePair<string, string>[] metadata)
        => new(idx, 1, "c", DataType.Float, 0, 10_000, "agent", "pattoo_agent_snmpd", "host", target, key, metadata);

    private sealed record Message(string Topic, ulong Timestamp, ulong? Seq, List<List<ProtobufField>> Metrics);

    private static Message Decode(string topic, byte[] payload)
    {
        var fields = ProtobufFields.Read(payload);
        ulong? seq = fields.FirstOrDefault(f => f.Number == 3)?.Value;
        return new Message(topic, fields.Single(f => f.Number == 1).Value, seq, [.. fields.Where(f => f.Number == 2).Select(f => ProtobufFields.Read(f.Bytes))]);
    }

    private static string Name(List<ProtobufField> metric) => Encoding.UTF8.GetString(metric.Single(f => f.Number == 1).Bytes);
    private static ulong Field(List<ProtobufField> metric, int number) => metric.Single(f => f.Number == number).Value;

    [Theory]
    [InlineData(null, 0UL, 1UL)]
    [InlineData((byte)41, 42UL, 43UL)]
    [InlineData((byte)255, 0UL, 1UL)]
    public void BdSeqFollowsTheLastOneUsedAndWrapsAt256(byte? last, ulong first, ulong second)
    {
        var node = new SparkplugEdgeNode("g", "n", last);
        node.NextSession(1000);
        Assert.Equal(first, node.BdSeq);
        var will = node.NextSession(2000);
        Assert.Equal(second, node.BdSeq);
        Assert.Equal(second, Field(Decode(will.Topic, will.Payload).Metrics[0], 11));
    }

    [Fact]
    public void BirthsDataAndDeathFollowSparkplug3()
    {
        var node = new SparkplugEdgeNode("plant", "box-1");
        var will = node.NextSession(1000);
        Assert.Equal("spBv1.0/plant/NDEATH/box-1", will.Topic);
        var death = Decode(will.Topic, will.Payload);
        Assert.Null(death.Seq); // NDEATH has no seq
        Assert.Equal(("bdSeq", 0UL, 8UL), (Name(death.Metrics[0]), Field(death.Metrics[0], 11), Field(death.Metrics[0], 4)));

        var a = Info(11, "switch-1", "ifInOctets", new KeyValuePair<string, string>("ifName", "eth0"));
        var b = Info(12, "switch-1", "ifOutOctets", new KeyValuePair<string, string>("ifName", "eth0"));
        var c = Info(20, "10.0.0.5", "temp");
        var sent = new List<Message>();
        void Publish(string topic, ReadOnlySpan<byte> payload) => sent.Add(Decode(topic, payload.ToArray()));
        Assert.False(node.IsBorn);
        node.QueueBirths(Publish, [a, b, c], d => d.IdxDatapoint == 20 ? null : (5000, d.IdxDatapoint * 1.5, null), 6000);
        Assert.Equal(["spBv1.0/plant/NBIRTH/box-1", "spBv1.0/plant/DBIRTH/box-1/10.0.0.5", "spBv1.0/plant/DBIRTH/box-1/switch-1"], sent.Select(m => m.Topic));
        Assert.Equal([0UL, 1UL, 2UL], sent.Select(m => m.Seq!.Value));
        Assert.Equal(["bdSeq", "Node Control/Rebirth"], sent[0].Metrics.Select(Name));
        Assert.Equal(11UL, Field(sent[0].Metrics[1], 4)); // Boolean
        Assert.Equal(0UL, Field(sent[0].Metrics[1], 14));
        var nullMetric = Assert.Single(sent[1].Metrics);
        Assert.Equal(1UL, Field(nullMetric, 7)); // is_null: nothing stored yet
        Assert.Equal(["pattoo_agent_snmpd/ifInOctets/ifName=eth0", "pattoo_agent_snmpd/ifOutOctets/ifName=eth0"], sent[2].Metrics.Select(Name));
        Assert.Equal([11UL, 12UL], sent[2].Metrics.Select(m => Field(m, 2))); // aliases
        Assert.Equal(16.5, BitConverter.UInt64BitsToDouble(Field(sent[2].Metrics[0], 13)));
        Assert.True(node.IsBorn);

        // The catalog changes: only the devices it touches are born again.
        sent.Clear();
        node.QueueDeviceChanges(Publish, [a, b, c], _ => null, 6500);
        Assert.Empty(sent);
        node.QueueDeviceChanges(Publish, [a, b, c, Info(21, "10.0.0.5", "humidity"), Info(30, "ups-1", "load")], _ => null, 6500);
        Assert.Equal(["spBv1.0/plant/DDEATH/box-1/10.0.0.5", "spBv1.0/plant/DBIRTH/box-1/10.0.0.5", "spBv1.0/plant/DBIRTH/box-1/ups-1"], sent.Select(m => m.Topic));
        Assert.Equal([3UL, 4UL, 5UL], sent.Select(m => m.Seq!.Value));
        Assert.Empty(sent[0].Metrics);
        Assert.Equal([20UL, 21UL], sent[1].Metrics.Select(m => Field(m, 2)));

        sent.Clear();
        var points = new SeriesPoints();
        points.Timestamps.AddRange([4000, 5000, 7000]);
        points.Values.AddRange([1, 2, 3]);
        node.QueueData(Publish, [new SeriesBatch(a, points, 3)], 8000);
        var data = Assert.Single(sent);
        Assert.Equal(("spBv1.0/plant/DDATA/box-1/switch-1", 6UL), (data.Topic, data.Seq!.Value));
        Assert.All(data.Metrics, m => Assert.DoesNotContain(m, f => f.Number == 1)); // by alias, no names
        Assert.Equal([4000UL, 5000UL, 7000UL], data.Metrics.Select(m => Field(m, 3)));
        // Replayed from before the birth's value: historical, so a host keeps the born value as current.
        Assert.Equal([true, true, false], data.Metrics.Select(m => m.Any(f => f.Number == 5 && f.Value == 1)));

        Assert.Equal(1UL, Field(Decode("", node.NextSession(9000).Payload).Metrics[0], 11));
        for (int i = 0; i < 255; i++) node.NextSession(0);
        Assert.Equal(0UL, node.BdSeq); // modulo 256
    }

    [Fact]
    public void StringDatapointsAreStringMetrics()
    {
        var node = new SparkplugEdgeNode("g", "n");
        node.NextSession(0);
        var state = Info(5, "pump-1", "state") with { DataType = DataType.String };
        var sent = new List<List<List<ProtobufField>>>();
        void Publish(string topic, ReadOnlySpan<byte> payload) => sent.Add([.. ProtobufFields.Read(payload).Where(f => f.Number == 2).Select(f => ProtobufFields.Read(f.Bytes))]);
        node.QueueBirths(Publish, [state], _ => (100, double.NaN, "running"), 200);
        var born = Assert.Single(sent[1]);
        Assert.Equal(12UL, Field(born, 4)); // String
        Assert.Equal("running", Encoding.UTF8.GetString(born.Single(f => f.Number == 15).Bytes));
        var points = new SeriesPoints();
        points.Timestamps.AddRange([300, 400]);
        points.Values.AddRange([double.NaN, double.NaN]);
        node.QueueData(Publish, [new SeriesBatch(state, points, 2, ["stopped", "fault: überlast"])], 500);
        Assert.Equal(["stopped", "fault: überlast"], sent[2].Select(m => Encoding.UTF8.GetString(m.Single(f => f.Number == 15).Bytes)));
        Assert.All(sent[2], m => Assert.Equal(12UL, Field(m, 4)));
    }

    [Fact]
    public void DataOfABacklogIsSplitIntoModerateMessages()
    {
        var node = new SparkplugEdgeNode("g", "n");
        node.NextSession(0);
        var d = Info(1, "t", "k");
        node.QueueBirths((_, _) => { }, [d], _ => null, 0);
        var points = new SeriesPoints();
        for (int i = 0; i < 2500; i++) { points.Timestamps.Add(i); points.Values.Add(i); }
        var seqs = new List<ulong>();
        node.QueueData((_, p) => seqs.Add(ProtobufFields.Read(p).Single(f => f.Number == 3).Value), [new SeriesBatch(d, points, 2500)], 0);
        Assert.Equal([2UL, 3UL, 4UL], seqs); // NBIRTH 0, DBIRTH 1, then 1,000 metrics a message
    }

    [Fact]
    public void OnlyARebirthCommandSetToTrueIsARebirthRequest()
    {
        byte[] Payload(string name, bool value)
        {
            var w = new ArrayBufferWriter<byte>();
            SparkplugPayload.Write(w, 1, 0, [new SparkplugMetric(name, null, 1, SparkplugDataType.Boolean, 0, value ? 1UL : 0)]);
            return w.WrittenSpan.ToArray();
        }
        Assert.True(SparkplugPayload.IsRebirthRequest(Payload(SparkplugPayload.RebirthMetric, true)));
        Assert.False(SparkplugPayload.IsRebirthRequest(Payload(SparkplugPayload.RebirthMetric, false)));
        Assert.False(SparkplugPayload.IsRebirthRequest(Payload("Node Control/Reboot", true)));
        var rng = new Random(3);
        var valid = Payload(SparkplugPayload.RebirthMetric, true);
        for (int i = 0; i < 20_000; i++)
        {
            var bytes = (byte[])valid.Clone();
            for (int m = rng.Next(1, 3); m > 0; m--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            if (rng.Next(3) == 0) bytes = bytes[..rng.Next(bytes.Length)];
            SparkplugPayload.IsRebirthRequest(bytes); // never throws
        }
    }
}

public class MqttForwardConfigTests
{
    [Fact]
    public void TheConfigNamesEveryProblemOfAnMqttForwarder()
    {
        var e = Assert.Throws<Pattoo.Edge.Config.ConfigException>(() => Pattoo.Edge.Host.EdgeOptions.Parse("""
            [[forward.mqtt]]
            name = "a"
            url = "http://broker:1883"
            bearer_token = "t"
            topic = "pattoo/{nope}"
            qos = 2
            [[forward.mqtt]]
            name = "b"
            url = "mqtt://broker"
            format = "sparkplug_b"
            group_id = "a/b"
            topic = "x"
            batch_samples = 60000
            """, "edge.toml"));
        string all = string.Join("\n", e.Errors.Select(x => x.ToString()));
        Assert.Contains("forward.mqtt[0].url", all);
        Assert.Contains("expected an mqtt:// or mqtts:// URL", all);
        Assert.Contains("MQTT has no bearer tokens", all);
        Assert.Contains("{nope} is not a placeholder", all);
        Assert.Contains("forward.mqtt[0].qos", all);
        Assert.Contains("forward.mqtt[1].group_id", all);
        Assert.Contains("Sparkplug B fixes its topics", all);
        Assert.Contains("at most 50,000 for MQTT", all);
    }

    [Fact]
    public void ForwardersDescribeThemselvesForConfigCheck()
    {
        var o = Pattoo.Edge.Host.EdgeOptions.Parse("""
            [appliance]
            name = "box-1"
            [[forward.mqtt]]
            name = "scada"
            url = "mqtts://broker:8883"
            username = "u"
            password = "p"
            format = "sparkplug_b"
            group_id = "plant"
            keys = ["temp*"]
            [[forward.remote_write]]
            name = "vm"
            url = "http://vm:8428/api/v1/write"
            start = "oldest"
            max_samples_per_second = 5000
            """, "edge.toml");
        var lines = o.Forward.All.Select(f => f.Describe()).ToList();
        Assert.Equal("forward vm (remote_write, external labels appliance=box-1) to http://vm:8428/api/v1/write: every numeric datapoint, everything stored, batches of 50,000, at most 5,000 samples/s", lines[0]);
        Assert.Equal("forward scada (mqtt, Sparkplug B edge node plant/box-1) to mqtts://broker:8883/, user u: keys temp*, from when it was added, batches of 10,000", lines[1]);
        var mqtt = o.Forward.Mqtt.Single();
        Assert.Equal("pattoo-edge-box-1-scada", mqtt.ClientId);
        Assert.Equal(TimeSpan.FromSeconds(30), mqtt.KeepAlive);
    }
}
