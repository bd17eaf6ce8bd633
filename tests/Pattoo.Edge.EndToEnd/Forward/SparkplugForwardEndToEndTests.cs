using System.Globalization;
using System.Text;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.EndToEnd.Forward;

/// <summary>
/// The published binary as a Sparkplug B edge node on Debian's mosquitto: births with aliases,
/// every stored sample in DDATA by alias, sequence numbers, a rebirth asked for by NCMD, and the
/// death certificate the broker publishes when the box is killed. Payloads are read by a
/// protobuf reader of the tests' own.
/// </summary>
public class SparkplugForwardEndToEndTests
{
    private const int Points = 30, Step = 10_000;

    private sealed record Metric(string? Name, ulong? Alias, long Timestamp, ulong DataType, double Value, ulong Long, bool Historical);

    private sealed record Message(string Topic, ulong? Seq, List<Metric> Metrics)
    {
        public string Type => Topic.Split('/')[2];
        public string? Device => Topic.Split('/') is { Length: 5 } parts ? parts[4] : null;
    }

    [Fact]
    public async Task BirthsDataAliasesSequenceRebirthAndDeathFollowSparkplug()
    {
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-spb-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        using var broker = new Mosquitto(dir);
        int edgePort = EdgeProcess.FreePort();
        string config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"""
            [appliance]
            name = "spb-box"
            [server]
            listen = "127.0.0.1:{edgePort}"
            [storage]
            path = "{dir}/data"
            retention = "36500d"
            [linux]
            enabled = false
            [[forward.mqtt]]
            name = "scada"
            url = "mqtt://127.0.0.1:{broker.Port}"
            username = "{Mosquitto.User}"
            password = "{Mosquitto.Password}"
            format = "sparkplug_b"
            group_id = "plant"
            edge_node_id = "box-1"
            start = "oldest"
            """);
        using var subscriber = new MosquittoSubscriber(broker.Port, "spBv1.0/#", hex: true);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{edgePort}"), Timeout = TimeSpan.FromSeconds(30) };
        long start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Step - Points - 10) * Step;
        EdgeProcess? edge = null;
        try
        {
            // Stored before the forwarder connects (start = "oldest"), then live.
            edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            await MqttForwardEndToEndTests.Post(http, start, 0, Points, "spb_temp", "plc-1", series: 3);
            await MqttForwardEndToEndTests.Post(http, start, 0, Points, "spb_flow", "plc-2", series: 2);
            await WaitFor(subscriber, m => DataSamples(m).Count == 5 * Points, "every sample in DDATA");

            // A host application asks for a rebirth.
            int nbirths = subscriber.Messages.Count(m => m.Topic.Contains("/NBIRTH/", StringComparison.Ordinal));
            var rebirth = new List<byte>();
            rebirth.AddRange(Hex("08 01 12")); // timestamp 1, metrics
            byte[] metric = [.. Hex("0A 14"), .. "Node Control/Rebirth"u8.ToArray(), .. Hex("20 0B 70 01")];
            rebirth.Add((byte)metric.Length);
            rebirth.AddRange(metric);
            string command = Path.Combine(dir, "rebirth.bin");
            await File.WriteAllBytesAsync(command, [.. rebirth]);
            await Run("/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", broker.Port.ToString(CultureInfo.InvariantCulture), "-u", Mosquitto.User, "-P", Mosquitto.Password,
                "-q", "1", "-t", "spBv1.0/plant/NCMD/box-1", "-f", command);
            await MqttForwardEndToEndTests.Post(http, start, Points, Points + 1, "spb_temp", "plc-1", series: 3); // the births go out with the next batch
            await WaitFor(subscriber, m => m.Count(x => x.Type == "NBIRTH") == nbirths + 1, "a second NBIRTH after the rebirth command");

            // Killed: the broker publishes the will, NDEATH with the session's bdSeq.
            edge.Signal(9);
            await edge.WaitForExitAsync(TimeSpan.FromSeconds(10));
            var all = await WaitFor(subscriber, m => m.Any(x => x.Type == "NDEATH"), "NDEATH after the box was killed");

            var births = all.Where(m => m.Type == "NBIRTH").ToList();
            foreach (var b in births)
            {
                Assert.Equal("spBv1.0/plant/NBIRTH/box-1", b.Topic);
                Assert.Equal(0UL, b.Seq);
                Assert.Equal(0UL, b.Metrics.Single(x => x.Name == "bdSeq").Long);
                Assert.Equal(11UL, b.Metrics.Single(x => x.Name == "Node Control/Rebirth").DataType);
            }
            var death = all.Single(m => m.Type == "NDEATH");
            Assert.Null(death.Seq);
            Assert.Equal(0UL, death.Metrics.Single(x => x.Name == "bdSeq").Long); // matches the births' bdSeq

            // Sequence numbers: 0 at each NBIRTH, then one more per message.
            var sequenced = all.Where(m => m.Type is "NBIRTH" or "DBIRTH" or "NDATA" or "DDATA" or "DDEATH").ToList();
            Assert.Equal("NBIRTH", sequenced[0].Type);
            for (int i = 1; i < sequenced.Count; i++)
            {
                ulong want = sequenced[i].Type == "NBIRTH" ? 0 : (sequenced[i - 1].Seq!.Value + 1) % 256;
                Assert.True(want == sequenced[i].Seq, $"message {i} ({sequenced[i].Topic}) has seq {sequenced[i].Seq}, expected {want}");
            }

            // Births name each metric once per device with a unique alias; data uses only aliases born before it.
            var aliases = new Dictionary<ulong, (string Device, string Name)>();
            var dbirths = all.Where(m => m.Type == "DBIRTH").ToList();
            Assert.Equal(["plc-1", "plc-2"], dbirths.Select(m => m.Device).Distinct().Order());
            foreach (var b in dbirths)
                foreach (var m in b.Metrics) aliases[m.Alias!.Value] = (b.Device!, m.Name!);
            Assert.Equal(5, aliases.Count);
            Assert.Contains(aliases.Values, v => v.Device == "plc-1" && v.Name.Contains("/spb_temp/", StringComparison.Ordinal) && v.Name.Contains("/s=0", StringComparison.Ordinal));
            var samples = DataSamples(all);
            foreach (var (device, alias, _, _) in samples) Assert.Equal(aliases[alias].Device, device);
            var expected = new HashSet<(string, string, long, double)>();
            for (int p = 0; p < Points; p++)
            {
                for (int s = 0; s < 3; s++) expected.Add(("plc-1", $"s={s}", start + (long)p * Step, MqttForwardEndToEndTests.Value(s, p)));
                for (int s = 0; s < 2; s++) expected.Add(("plc-2", $"s={s}", start + (long)p * Step, MqttForwardEndToEndTests.Value(s, p)));
            }
            for (int s = 0; s < 3; s++) expected.Add(("plc-1", $"s={s}", start + (long)Points * Step, MqttForwardEndToEndTests.Value(s, Points)));
            var got = samples.Select(x => (x.Device, aliases[x.Alias].Name.Split('/').Single(part => part.StartsWith("s=", StringComparison.Ordinal)), x.Timestamp, x.Value)).ToHashSet();
            Assert.Equal(expected.OrderBy(e => e), got.OrderBy(e => e));

            // Restarted, the box's first session carries the next bdSeq: the last will's NDEATH (bdSeq 0)
            // must not match the new births.
            await edge.DisposeAsync();
            int before = subscriber.Messages.Count(m => m.Topic.Contains("/NBIRTH/", StringComparison.Ordinal));
            edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            await MqttForwardEndToEndTests.Post(http, start, Points + 1, Points + 2, "spb_temp", "plc-1", series: 3);
            var after = await WaitFor(subscriber, m => m.Count(x => x.Type == "NBIRTH") == before + 1, "an NBIRTH after the restart");
            Assert.Equal(1UL, after.Last(m => m.Type == "NBIRTH").Metrics.Single(x => x.Name == "bdSeq").Long);
            Assert.Contains("(bdSeq 1)", edge.Output, StringComparison.Ordinal);
        }
        finally
        {
            if (edge is not null) await edge.DisposeAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static List<(string Device, ulong Alias, long Timestamp, double Value)> DataSamples(List<Message> messages)
        => [.. messages.Where(m => m.Type == "DDATA").SelectMany(m => m.Metrics.Select(x =>
        {
            Assert.Null(x.Name); // data by alias only
            Assert.Equal(10UL, x.DataType);
            return (m.Device!, x.Alias!.Value, x.Timestamp, x.Value);
        }))];

    private static async Task<List<Message>> WaitFor(MosquittoSubscriber subscriber, Func<List<Message>, bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        List<Message> messages = [];
        while (DateTime.UtcNow < until)
        {
            messages = [.. subscriber.Messages.Select(m => Decode(m.Topic, m.Payload))];
            if (condition(messages)) return messages;
            await Task.Delay(300);
        }
        Assert.Fail($"waited for {what}; received: {string.Join(", ", messages.Select(m => $"{m.Topic} seq {m.Seq} ({m.Metrics.Count} metrics)"))}");
        return messages;
    }

    private static Message Decode(string topic, string hex)
    {
        var fields = ProtobufFields.Read(Convert.FromHexString(hex));
        var metrics = fields.Where(f => f.Number == 2).Select(f =>
        {
            var m = ProtobufFields.Read(f.Bytes);
            ProtobufField? Get(int n) => m.FirstOrDefault(x => x.Number == n);
            return new Metric(Get(1) is { } name ? Encoding.UTF8.GetString(name.Bytes) : null, Get(2)?.Value, (long)(Get(3)?.Value ?? 0), Get(4)?.Value ?? 0,
                Get(13) is { } d ? BitConverter.UInt64BitsToDouble(d.Value) : double.NaN, Get(11)?.Value ?? 0, Get(5)?.Value == 1);
        }).ToList();
        return new Message(topic, fields.FirstOrDefault(f => f.Number == 3)?.Value, metrics);
    }

    private static byte[] Hex(string text) => Convert.FromHexString(text.Replace(" ", "", StringComparison.Ordinal));

    private static async Task Run(string program, params string[] args)
    {
        var (code, _, errors) = await EdgeProcess.RunProgramAsync(program, TimeSpan.FromSeconds(30), args);
        Assert.True(code == 0, $"{program} failed: {errors}");
    }
}
