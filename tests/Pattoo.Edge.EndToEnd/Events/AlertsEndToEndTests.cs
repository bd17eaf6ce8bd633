using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Events;

/// <summary>
/// Alert rules on values a Modbus peer serves, changed through the protocol (FC6 writes to the
/// npm modbus-serial server): the rule fires, resolves and is damped while it flaps; each
/// notification reaches a webhook (a test HTTP server on 127.0.0.1) in Alertmanager's format
/// with the configured token; states are events; the firing alert is listed by GraphQL.
/// </summary>
public class AlertsEndToEndTests
{
    private const int Register = 50; // the peer serves its address (50) until written

    [Fact]
    public async Task ARuleFiresResolvesAndIsDampedWhileItsValueFlaps()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-e2e-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int port = EdgeProcess.FreePort(), modbusPort = EdgeProcess.FreePort(), hookPort = EdgeProcess.FreePort();
        using var peer = PollersEndToEndTests.Start("node", EndToEndSupport.RepoRoot,
            [Path.Combine(EndToEndSupport.RepoRoot, "tests", "peers", "modbus", "peer.js"), "tcp", modbusPort.ToString(CultureInfo.InvariantCulture)], new());
        using var hook = new WebhookServer(hookPort);
        try
        {
            await PollersEndToEndTests.WaitForLine(peer, "READY");
            var config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, EndToEndSupport.BoxConfig("alert-box", port, dir, $"""
                [[modbus.devices]]
                  name = "boiler-plc"
                  address = "127.0.0.1:{modbusPort}"
                  interval = "500ms"
                  timeout = "400ms"
                  [[modbus.devices.values]]
                    key = "flow_temperature"
                    table = "holding"
                    address = {Register}
                    type = "uint16"
                [[alerts.rules]]
                  name = "boiler-too-hot"
                  program = "modbus"
                  target = "boiler-plc"
                  key = "flow_temperature"
                  above = 100
                  severity = "critical"
                  min_notify_interval = "4s"
                  message = "{"{target}"} flow at {"{value}"} °C"
                [[alerts.webhooks]]
                  name = "ops"
                  url = "http://127.0.0.1:{hookPort}/hook/"
                  token = "hook-secret"
                """));
            var (checkCode, _, checkErr) = await EdgeProcess.RunAsync("config", "check", config);
            Assert.True(checkCode == 0, checkErr);
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await WaitFor(async () => (await Alerts(http)).GetArrayLength() == 0 && await Value(http) == 50, "the first poll");

            // Above the line: fires at once (no "for"), one notification.
            await WriteRegister(modbusPort, 150);
            var firing = await hook.Next(TimeSpan.FromSeconds(10));
            Assert.Equal("Bearer hook-secret", firing.Authorization);
            var body = firing.Body;
            Assert.Equal("firing", body.GetProperty("status").GetString());
            var alert = body.GetProperty("alerts")[0];
            Assert.Equal("boiler-too-hot", alert.GetProperty("labels").GetProperty("alertname").GetString());
            Assert.Equal("critical", alert.GetProperty("labels").GetProperty("severity").GetString());
            Assert.Equal("boiler-plc flow at 150 °C", alert.GetProperty("annotations").GetProperty("summary").GetString());
            var active = await Alerts(http);
            Assert.Equal("firing", active[0].GetProperty("state").GetString());
            Assert.Equal(150, active[0].GetProperty("value").GetDouble());

            // Back below at once: the resolution waits for min_notify_interval after the firing.
            await WriteRegister(modbusPort, 50);
            var resolved = await hook.Next(TimeSpan.FromSeconds(10));
            Assert.Equal("resolved", resolved.Body.GetProperty("status").GetString());
            Assert.True(resolved.At - firing.At >= TimeSpan.FromSeconds(3.5), $"resolved {(resolved.At - firing.At).TotalSeconds:F1} s after firing");
            Assert.NotEqual("0001-01-01T00:00:00Z", resolved.Body.GetProperty("alerts")[0].GetProperty("endsAt").GetString());

            // Flapping within the interval: nothing is sent until it is up, then one firing with the flaps counted.
            foreach (var v in new[] { 150, 50, 150, 50, 150 })
            {
                await WriteRegister(modbusPort, (ushort)v);
                await Task.Delay(900);
            }
            var again = await hook.Next(TimeSpan.FromSeconds(10));
            Assert.Equal("firing", again.Body.GetProperty("status").GetString());
            Assert.True(again.At - resolved.At >= TimeSpan.FromSeconds(3.5), $"fired again {(again.At - resolved.At).TotalSeconds:F1} s after the resolution");
            Assert.True(int.Parse(again.Body.GetProperty("alerts")[0].GetProperty("annotations").GetProperty("flaps").GetString()!, CultureInfo.InvariantCulture) >= 2);
            Assert.Equal(3, hook.Count);

            // Every report is an event of the rule (stored in batches within a second).
            JsonElement events = default;
            await WaitFor(async () =>
            {
                events = (await EndToEndSupport.GraphQLAsync(http, """{ events(source: "alerts/boiler-too-hot") { totalCount edges { node { kind severity text } } } }""")).GetProperty("events");
                return events.GetProperty("totalCount").GetInt32() >= 3;
            }, "three alert events");
            Assert.Equal(3, events.GetProperty("totalCount").GetInt32());
            var texts = events.GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node").GetProperty("text").GetString()!).ToList();
            Assert.StartsWith("boiler-too-hot firing: boiler-plc flow at 150 °C (changed state", texts[0], StringComparison.Ordinal);
            Assert.StartsWith("boiler-too-hot resolved: ", texts[1], StringComparison.Ordinal);
            Assert.Equal("boiler-too-hot firing: boiler-plc flow at 150 °C", texts[2]);
            Assert.Equal("critical", events.GetProperty("edges")[2].GetProperty("node").GetProperty("severity").GetString());
        }
        finally
        {
            try { peer.Kill(true); } catch (InvalidOperationException) { }
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<JsonElement> Alerts(HttpClient http)
        => (await EndToEndSupport.GraphQLAsync(http, "{ alerts { rule state value since message } }")).GetProperty("alerts");

    private static async Task<double?> Value(HttpClient http)
    {
        var s = (await EndToEndSupport.GraphQLAsync(http, """{ series(key: "flow_temperature") { lastValue } }""")).GetProperty("series");
        return s.GetArrayLength() == 1 && s[0].GetProperty("lastValue").ValueKind == JsonValueKind.Number ? s[0].GetProperty("lastValue").GetDouble() : null;
    }

    private static async Task WaitFor(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail("timed out waiting for " + what);
            await Task.Delay(200);
        }
    }

    /// <summary>Modbus TCP write single register (FC6) to unit 1, as an operator panel would.</summary>
    private static async Task WriteRegister(int port, ushort value)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        var frame = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(frame, 1);        // transaction id
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(4), 6); // length: unit + PDU
        frame[6] = 1;
        frame[7] = 6;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(8), Register);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(10), value);
        await stream.WriteAsync(frame);
        var answer = new byte[12];
        int read = 0;
        while (read < answer.Length)
        {
            int n = await stream.ReadAsync(answer.AsMemory(read)).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            if (n == 0) break;
            read += n;
        }
        Assert.True(read == 12 && answer[7] == 6, $"the peer answered the write with {Convert.ToHexString(answer, 0, read)}");
    }

    /// <summary>An HTTP server on 127.0.0.1 that records every POST (body, Authorization, arrival time) and answers 200.</summary>
    private sealed class WebhookServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly BlockingCollection<(DateTime At, string? Authorization, JsonElement Body)> _received = new();
        private readonly Task _loop;
        private int _count;

        public WebhookServer(int port)
        {
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext c;
                    try { c = await _listener.GetContextAsync(); }
                    catch (Exception) { return; }
                    using var reader = new StreamReader(c.Request.InputStream);
                    var body = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.Clone();
                    Interlocked.Increment(ref _count);
                    _received.Add((DateTime.UtcNow, c.Request.Headers["Authorization"], body));
                    c.Response.StatusCode = 200;
                    c.Response.Close();
                }
            });
        }

        public int Count => Volatile.Read(ref _count);

        public async Task<(DateTime At, string? Authorization, JsonElement Body)> Next(TimeSpan timeout)
        {
            return await Task.Run(() => _received.TryTake(out var item, timeout) ? item : throw new TimeoutException("no webhook post within " + timeout));
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
        }
    }
}
