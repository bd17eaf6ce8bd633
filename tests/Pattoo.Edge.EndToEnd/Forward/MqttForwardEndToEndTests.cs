using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Forward;

/// <summary>
/// The published binary forwarding to Debian's mosquitto on 127.0.0.1 as JSON at QoS 1: a
/// subscriber receives every stored sample across a restart of the broker; over TLS with the
/// broker's certificate as ca_file; and the bad destinations (a wrong password, a certificate
/// the box does not trust) are shown as configuration errors, sending nothing.
/// </summary>
public class MqttForwardEndToEndTests
{
    private const int Series = 10, Points = 60, Step = 10_000;

    [Fact]
    public async Task EverySampleReachesASubscriberAcrossABrokerRestart()
    {
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-mqtt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        using var broker = new Mosquitto(dir, tls: true);
        int edgePort = EdgeProcess.FreePort();
        string config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"""
            [appliance]
            name = "mq-box"
            [server]
            listen = "127.0.0.1:{edgePort}"
            [storage]
            path = "{dir}/data"
            retention = "36500d"
            [linux]
            enabled = false
            [[forward.mqtt]]
            name = "broker"
            url = "mqtt://127.0.0.1:{broker.Port}"
            username = "{Mosquitto.User}"
            password = "{Mosquitto.Password}"
            batch_samples = 150
            [[forward.mqtt]]
            name = "broker-tls"
            url = "mqtts://127.0.0.1:{broker.TlsPort}"
            ca_file = "{broker.CertificateFile}"
            username = "{Mosquitto.User}"
            password = "{Mosquitto.Password}"
            topic = "tls/{"{target}"}/{"{key}"}"
            [[forward.mqtt]]
            name = "wrong-password"
            url = "mqtt://127.0.0.1:{broker.Port}"
            username = "{Mosquitto.User}"
            password = "wrong"
            [[forward.mqtt]]
            name = "untrusted"
            url = "mqtts://127.0.0.1:{broker.TlsPort}"
            username = "{Mosquitto.User}"
            password = "{Mosquitto.Password}"
            """);
        using var subscriber = new MosquittoSubscriber(broker.Port, "#", hex: false);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{edgePort}"), Timeout = TimeSpan.FromSeconds(30) };
        long start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Step - Points - 10) * Step;
        EdgeProcess? edge = null;
        try
        {
            edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            await Post(http, start, 0, 20);
            await WaitForSamples(subscriber, "pattoo/", Series * 20);

            // The broker goes down; the box keeps storing and says what is wrong.
            await broker.StopAsync();
            await Post(http, start, 20, 40);
            var down = await WaitForForwarder(http, "broker", s => !s.GetProperty("connected").GetBoolean() && s.GetProperty("backlogSamples").GetInt64() > 0);
            Assert.Contains($"127.0.0.1:{broker.Port}", down.GetProperty("lastError").GetString());
            broker.Start();
            await Post(http, start, 40, Points);
            await WaitForForwarder(http, "broker", s => s.GetProperty("connected").GetBoolean() && s.GetProperty("backlogSamples").GetInt64() == 0);

            // QoS 1 is at least once: every sample is there with its value and timestamp.
            var received = await WaitForSamples(subscriber, "pattoo/", Series * Points);
            var expected = Enumerable.Range(0, Series).SelectMany(s => Enumerable.Range(0, Points).Select(p => (s, start + (long)p * Step, Value(s, p)))).ToHashSet();
            Assert.Equal(expected.OrderBy(e => e), received.Select(r => (r.Series, r.Timestamp, r.Value)).Distinct().OrderBy(e => e));
            var (topic, payload) = subscriber.Messages.First(m => m.Topic.StartsWith("pattoo/", StringComparison.Ordinal));
            Assert.StartsWith("pattoo/mq-box/", topic);
            Assert.EndsWith("/plc-1/mq_temp", topic);
            Assert.Equal("degreesCelsius", JsonDocument.Parse(payload).RootElement.GetProperty("unit").GetString());

            // Over TLS, trusting the broker's certificate through ca_file.
            var overTls = await WaitForSamples(subscriber, "tls/", Series * Points);
            Assert.Equal(expected.OrderBy(e => e), overTls.Select(r => (r.Series, r.Timestamp, r.Value)).Distinct().OrderBy(e => e));

            // Bad destinations: a clear error, nothing sent, no busy loop.
            var wrong = await WaitForForwarder(http, "wrong-password", s => s.GetProperty("lastError").ValueKind == JsonValueKind.String);
            Assert.Matches("return code [45]", wrong.GetProperty("lastError").GetString()); // mosquitto says 5, not authorized
            Assert.Contains("configuration error", wrong.GetProperty("lastError").GetString());
            Assert.Equal(0, wrong.GetProperty("samplesSent").GetInt64());
            var untrusted = await WaitForForwarder(http, "untrusted", s => s.GetProperty("lastError").ValueKind == JsonValueKind.String);
            Assert.Contains("TLS failed", untrusted.GetProperty("lastError").GetString());
            Assert.Equal(0, untrusted.GetProperty("samplesSent").GetInt64());
            Assert.True(CountOccurrences(edge.Output, "forward wrong-password:") <= 3, edge.Output); // said when it changes, not at every retry
        }
        finally
        {
            if (edge is not null) await edge.DisposeAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    internal static double Value(int series, int point) => Math.Round(20 + series + 0.1 * (point % 37), 1);

    private static int CountOccurrences(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    /// <summary>Points [from, to) of every series, one Prometheus text post per point, from target plc-1.</summary>
    internal static async Task Post(HttpClient http, long start, int from, int to, string metric = "mq_temp", string instance = "plc-1", int series = Series)
    {
        for (int p = from; p < to; p++)
        {
            var sb = new StringBuilder($"# TYPE {metric} gauge\n");
            for (int s = 0; s < series; s++)
            {
                sb.Append(metric).Append("{instance=\"").Append(instance).Append("\",units=\"degreesCelsius\",s=\"").Append(s).Append("\"} ")
                  .Append(Value(s, p).ToString("R", CultureInfo.InvariantCulture)).Append(' ').Append(start + (long)p * Step).Append('\n');
            }
            using var response = await http.PostAsync("/api/v1/import/prometheus?interval=10s", new StringContent(sb.ToString(), Encoding.UTF8, "text/plain"));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
    }

    private static async Task<List<(int Series, long Timestamp, double Value)>> WaitForSamples(MosquittoSubscriber subscriber, string prefix, int expected)
    {
        var until = DateTime.UtcNow.AddSeconds(90);
        List<(int, long, double)> samples = [];
        while (DateTime.UtcNow < until)
        {
            subscriber.ResumeIfEnded();
            samples = [.. subscriber.Messages.Where(m => m.Topic.StartsWith(prefix, StringComparison.Ordinal)).Select(m =>
            {
                var root = JsonDocument.Parse(m.Payload).RootElement;
                return (int.Parse(root.GetProperty("labels").GetProperty("s").GetString()!, CultureInfo.InvariantCulture), root.GetProperty("timestamp").GetInt64(), root.GetProperty("value").GetDouble());
            })];
            if (samples.Distinct().Count() >= expected) break;
            await Task.Delay(300);
        }
        Assert.True(samples.Distinct().Count() == expected, $"waited for {expected} samples under {prefix}: {samples.Distinct().Count()} arrived");
        return samples;
    }

    internal static async Task<JsonElement> WaitForForwarder(HttpClient http, string name, Func<JsonElement, bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        JsonElement status = default;
        while (DateTime.UtcNow < until)
        {
            var data = await EndToEndSupport.GraphQLAsync(http, "{ forwarders { name kind connected backlogSamples oldestUnsentAge lastError samplesPerSecond samplesSent } }");
            status = data.GetProperty("forwarders").EnumerateArray().Single(f => f.GetProperty("name").GetString() == name);
            Assert.Equal("mqtt", status.GetProperty("kind").GetString());
            if (condition(status)) return status;
            await Task.Delay(300);
        }
        Assert.Fail($"forwarder {name} never reached the state waited for: {status}");
        return status;
    }
}
