using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Discover;

/// <summary>
/// `pattoo-edge discover modbus` against the npm Modbus peers: discover, the printed TOML passes
/// `config check`, the binary polls it, and the stored values are what the peer serves
/// (tests/peers/modbus/meter.json and layout.json).
/// </summary>
public sealed class ModbusDiscoverTests
{
    private static readonly string Peer = Path.Combine(EndToEndSupport.RepoRoot, "tests", "peers", "modbus", "peer.js");

    [Fact]
    public async Task AMeterDiscoveredWithPlausibleValuesPollsWhatItServes()
    {
        string dir = DiscoverSupport.NewDir("meter");
        int modbusPort = EdgeProcess.FreePort();
        using var peer = PollersEndToEndTests.Start("node", dir, [Peer, "meter-tcp", modbusPort.ToString(CultureInfo.InvariantCulture)], new());
        try
        {
            await PollersEndToEndTests.WaitForLine(peer, "READY");
            var (code, toml, log) = await EdgeProcess.RunAsync("discover", "modbus", $"127.0.0.1:{modbusPort}", "--emit-plausible", "--name", "meter", "--request-timeout", "300ms");
            Assert.True(code == 0, log);
            // progress on stderr: the blocks found, and the table the meter does not serve
            Assert.Contains("unit 1: holding 0-199: 0-11, 100-103", log, StringComparison.Ordinal);
            Assert.Contains("unit 1: input 0-199: 0-4", log, StringComparison.Ordinal);
            Assert.Contains("unit 1: coil 0-199: 0-7", log, StringComparison.Ordinal);
            Assert.Contains("unit 1: discrete 0-199: silent from 0 on", log, StringComparison.Ordinal);

            var values = Values(await DiscoverSupport.PollAsync(dir, toml, "modbus", "meter"));
            Assert.Equal(230.1f, (float)values["holding_40001"]!.Value);
            Assert.Equal(12.5, values["holding_40003"]);
            Assert.Equal(2876.25, values["holding_40005"]);
            Assert.Equal(49.98f, (float)values["holding_40007"]!.Value);
            // the energy counter's two words (uint32 CDAB 123456): --emit-plausible proposes words, --pick tells
            Assert.Equal(57920, values["holding_40009"]);
            Assert.Equal(1, values["holding_40010"]);
            Assert.Equal(3, values["holding_40011"]);
            Assert.True(values.ContainsKey("holding_40101")); // "PE-00042", a string
            Assert.Equal(21.5, values["input_30001"]);
            Assert.Equal(45.25, values["input_30003"]);
            Assert.Equal(-40, values["input_30005"]);
        }
        finally
        {
            Stop(peer);
        }
    }

    [Fact]
    public async Task PickedValuesInEveryByteOrderPollAsTheyAreServed()
    {
        string dir = DiscoverSupport.NewDir("orders");
        int modbusPort = EdgeProcess.FreePort();
        using var peer = PollersEndToEndTests.Start("node", dir, [Peer, "tcp", modbusPort.ToString(CultureInfo.InvariantCulture)], new());
        try
        {
            await PollersEndToEndTests.WaitForLine(peer, "READY");
            // layout.json: number k in order j (ABCD, DCBA, BADC, CDAB) at holding 1000 + 40k + 10j;
            // int32 -123456789 is k = 2 (1080...), float32 -1234.5678 is k = 6 (1240...)
            string picks = "41241:float32:f_abcd,41251:float32:DCBA:f_dcba,41261:float32:BADC:f_badc,41271:float32:CDAB:f_cdab:0.001," +
                           "41081:int32:i_abcd,41091:int32:DCBA:i_dcba,41101:int32:BADC:i_badc,41111:int32:CDAB:i_cdab,41401:string:label:6";
            var (code, toml, log) = await EdgeProcess.RunAsync("discover", "modbus", $"127.0.0.1:{modbusPort}", "--range", "1000-1409", "--tables", "holding", "--pick", picks);
            Assert.True(code == 0, log);
            Assert.Contains("# 41241-41242 read -1234.5677\n", toml, StringComparison.Ordinal);
            Assert.Contains("# 41401-41406 read \"Pattoo Edge\"\n", toml, StringComparison.Ordinal);

            var values = Values(await DiscoverSupport.PollAsync(dir, toml, "modbus", "modbus-127.0.0.1-" + modbusPort.ToString(CultureInfo.InvariantCulture)));
            foreach (string key in (string[])["f_abcd", "f_dcba", "f_badc"]) Assert.Equal(-1234.5678f, (float)values[key]!.Value);
            Assert.Equal(-1.2345677, values["f_cdab"]!.Value, 6);
            foreach (string key in (string[])["i_abcd", "i_dcba", "i_badc", "i_cdab"]) Assert.Equal(-123456789, values[key]);
            Assert.True(values.ContainsKey("label"));
        }
        finally
        {
            Stop(peer);
        }
    }

    [Fact]
    public async Task ASerialScanFindsTheUnitsOnTheLine()
    {
        string dir = DiscoverSupport.NewDir("rtu");
        using (await ModbusSerialLine.StartAsync(dir, "3,7"))
        {
            var (code, toml, log) = await EdgeProcess.RunAsync("discover", "modbus", $"{dir}/ttyA", "--scan-units", "1-8", "--range", "40-43",
                "--tables", "holding", "--request-timeout", "500ms", "--emit-plausible", "--name", "line");
            Assert.True(code == 0, log);
            Assert.Contains("unit 3 answers", log, StringComparison.Ordinal);
            Assert.Contains("unit 7 answers", log, StringComparison.Ordinal);
            Assert.DoesNotContain("unit 5 answers", log, StringComparison.Ordinal);
            Assert.Contains("name = \"line-unit3\"", toml, StringComparison.Ordinal);
            Assert.Contains("name = \"line-unit7\"", toml, StringComparison.Ordinal);
            Assert.Contains("transport = \"rtu\"", toml, StringComparison.Ordinal);

            // the other units stay silent: asked directly, discovery says so and fails
            var (silentCode, _, silentLog) = await EdgeProcess.RunAsync("discover", "modbus", $"{dir}/ttyA", "--unit", "5", "--request-timeout", "300ms");
            Assert.Equal(1, silentCode);
            Assert.Contains("unit 5 did not answer on rtu", silentLog, StringComparison.Ordinal);

            var values = Values(await DiscoverSupport.PollAsync(dir, toml, "modbus", "line-unit7"));
            for (int a = 40; a <= 43; a++) Assert.Equal(a, values[$"holding_4{a + 1:D4}"]); // holding n holds n
        }
    }

    [Fact]
    public async Task FromTheDashboardDiscoveryTakesTurnsOnThePollersSerialLink()
    {
        string dir = DiscoverSupport.NewDir("shared");
        using (await ModbusSerialLine.StartAsync(dir, "7"))
        {
            int port = EdgeProcess.FreePort();
            string config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, EndToEndSupport.BoxConfig("discover-shared", port, dir, $"""
                [[modbus.devices]]
                name = "line"
                transport = "rtu"
                serial_port = "{dir}/ttyA"
                baud_rate = 19200
                unit_id = 7
                interval = "1h"
                  [[modbus.devices.values]]
                  key = "register_42"
                  table = "holding"
                  address = 42
                  type = "uint16"
                """));
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("modbus/line: polling OK", TimeSpan.FromSeconds(30));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

            // The same port and line settings: discovery's requests go through the poller's link.
            var args = new Dictionary<string, string[]> { ["args"] = ["modbus", $"{dir}/ttyA", "--unit", "7", "--baud", "19200", "--range", "40-43", "--tables", "holding"] };
            using var answer = await http.PostAsync("/api/v1/discover", new StringContent(JsonSerializer.Serialize(args, DiscoverJson.Default.DictionaryStringStringArray), System.Text.Encoding.UTF8, "application/json"));
            string text = await answer.Content.ReadAsStringAsync();
            Assert.Contains("\"toml\"", text, StringComparison.Ordinal);
            Assert.Contains("unit 7: holding 40-43: 40-43", text, StringComparison.Ordinal);

            var data = await EndToEndSupport.GraphQLAsync(http, "{ pollers { name diagnostics { name value } } }");
            var figures = data.GetProperty("pollers").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "line")
                .GetProperty("diagnostics").EnumerateArray().ToDictionary(d => d.GetProperty("name").GetString()!, d => d.GetProperty("value").GetInt64());
            // one poll is one request; discovery's (a unit check and the block) counted on the same link, opened once
            Assert.True(figures["link.requests"] >= 3, string.Join(", ", figures));
            Assert.Equal(1, figures["link.connects"]);
            Assert.Equal(0, figures["link.crcErrors"]);
        }
    }

    [Fact]
    public async Task UnreachableDevicesBadArgumentsAndTimeoutsSaySoWithTheirExitCodes()
    {
        int closed = EdgeProcess.FreePort();
        var (code, stdout, log) = await EdgeProcess.RunAsync("discover", "modbus", $"127.0.0.1:{closed}");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Contains($"cannot open tcp 127.0.0.1:{closed}", log, StringComparison.Ordinal);

        (code, _, log) = await EdgeProcess.RunAsync("discover", "modbus", "127.0.0.1", "--range", "9-1");
        Assert.Equal(2, code);
        Assert.Contains("--range 9-1: the end is before the start", log, StringComparison.Ordinal);
        (code, _, log) = await EdgeProcess.RunAsync("discover", "modbus", "127.0.0.1", "--pick", "40001:real:k");
        Assert.Equal(2, code);
        Assert.Contains("pick \"40001:real:k\": unknown type \"real\"", log, StringComparison.Ordinal);

        // a device that accepts the connection and never answers: the whole run's limit ends it
        string dir = DiscoverSupport.NewDir("silent");
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        try
        {
            var sw = Stopwatch.StartNew();
            (code, _, log) = await EdgeProcess.RunAsync("discover", "modbus", $"127.0.0.1:{port}", "--scan-units", "1-247", "--request-timeout", "1s", "--timeout", "2s");
            Assert.Equal(1, code);
            Assert.Contains("discovery did not finish within 2s", log, StringComparison.Ordinal);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"{sw.Elapsed}");
        }
        finally
        {
            listener.Stop();
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task TheApiStreamsProgressAndTheTomlAndRunsOneDiscoveryAtATime()
    {
        string dir = DiscoverSupport.NewDir("api");
        int modbusPort = EdgeProcess.FreePort();
        using var peer = PollersEndToEndTests.Start("node", dir, [Peer, "meter-tcp", modbusPort.ToString(CultureInfo.InvariantCulture)], new());
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int silent = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        try
        {
            await PollersEndToEndTests.WaitForLine(peer, "READY");
            var (edge, http) = await EndToEndSupport.StartIngestBoxAsync(dir, EdgeProcess.FreePort(), "discover-api", "discover-api-token-0123");
            await using var _ = edge;
            using var __ = http;
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "discover-api-token-0123");

            using var ok = await http.PostAsync("/api/v1/discover", Body("modbus", $"127.0.0.1:{modbusPort}", "--tables", "holding", "--emit-plausible"));
            Assert.Equal(System.Net.HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("application/x-ndjson", ok.Content.Headers.ContentType!.MediaType);
            var lines = (await ok.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Contains(lines, l => l.TryGetProperty("progress", out var p) && p.GetString() == "unit 1: holding 0-199: 0-11, 100-103");
            Assert.Contains("# 40001-40002 read 230.1", lines[^1].GetProperty("toml").GetString(), StringComparison.Ordinal);

            // a bad argument: 400 before anything is sent; no token: 403
            using var bad = await http.PostAsync("/api/v1/discover", Body("modbus", "127.0.0.1", "--range", "9-1"));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("the end is before the start", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var anonymous = new HttpClient { BaseAddress = http.BaseAddress };
            using var refused = await anonymous.PostAsync("/api/v1/discover", Body("modbus", "127.0.0.1"));
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);

            // one at a time: a slow discovery (a device that never answers) holds the box, a second is refused
            var slow = http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/v1/discover") { Content = Body("modbus", $"127.0.0.1:{silent}", "--request-timeout", "2s", "--timeout", "3s") });
            await Task.Delay(500);
            using var busy = await http.PostAsync("/api/v1/discover", Body("modbus", $"127.0.0.1:{modbusPort}"));
            Assert.Equal(System.Net.HttpStatusCode.Conflict, busy.StatusCode);
            using var slowAnswer = await slow;
            string slowText = await slowAnswer.Content.ReadAsStringAsync();
            Assert.Contains("\"error\"", slowText, StringComparison.Ordinal);
            Assert.Matches("did not (answer|finish)", slowText);
        }
        finally
        {
            listener.Stop();
            Stop(peer);
        }

        static StringContent Body(params string[] args) => new(JsonSerializer.Serialize(new Dictionary<string, string[]> { ["args"] = args }, DiscoverJson.Default.DictionaryStringStringArray), System.Text.Encoding.UTF8, "application/json");
    }



    private static Dictionary<string, double?> Values(List<JsonElement> series)
        => series.ToDictionary(s => s.GetProperty("key").GetString()!, s => double.IsNaN(DiscoverSupport.Value(s)) ? (double?)null : DiscoverSupport.Value(s));

    private static void Stop(Process p)
    {
        try { p.Kill(true); } catch (InvalidOperationException) { }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string[]>))]
internal sealed partial class DiscoverJson : System.Text.Json.Serialization.JsonSerializerContext;
