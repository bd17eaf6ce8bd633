using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Forward;

/// <summary>
/// The published binary forwarding to Debian's VictoriaMetrics (remote_write) on 127.0.0.1:
/// samples stored while VictoriaMetrics is down for two minutes (the Linux poller polling every
/// 2 s, and posts), and across a restart of the box during the outage, all arrive once it is
/// back, each exactly once with its value and timestamp.
/// </summary>
public class RemoteWriteEndToEndTests
{
    private const string VictoriaMetrics = "/usr/bin/victoria-metrics";
    private const int Series = 20, Points = 180, Step = 10_000;
    private static readonly TimeSpan Outage = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task EverySampleArrivesOnceAcrossAnOutageOfTheReceiverAndARestartOfTheBox()
    {
        Assert.True(File.Exists(VictoriaMetrics), $"{VictoriaMetrics} is missing: apt-get install victoria-metrics (./build.sh test installs it)");
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-fw-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int vmPort = EdgeProcess.FreePort(), edgePort = EdgeProcess.FreePort();
        string config = Path.Combine(dir, "edge.toml");
        string Config(bool polling) => $"""
            [appliance]
            name = "fw-box"
            [server]
            listen = "127.0.0.1:{edgePort}"
            [storage]
            path = "{dir}/data"
            retention = "36500d"
            [linux]
            enabled = {(polling ? "true" : "false")}
            interval = "2s"
            [[forward.remote_write]]
            name = "central"
            url = "http://127.0.0.1:{vmPort}/api/v1/write"
            batch_samples = 500
            """;
        await File.WriteAllTextAsync(config, Config(polling: true));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{edgePort}"), Timeout = TimeSpan.FromSeconds(30) };
        long start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Step - Points - 10) * Step;
        Process? vm = null;
        EdgeProcess? edge = null;
        try
        {
            vm = StartVictoriaMetrics(dir, vmPort);
            edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            await Post(http, start, 0, 60);
            await WaitFor(() => VmSampleCount(vmPort), Series * 60, "the first 60 points of each series to reach VictoriaMetrics");

            // VictoriaMetrics goes down; the box keeps polling and storing, and says what is wrong.
            await Stop(vm);
            var down = DateTime.UtcNow;
            await Post(http, start, 60, 120);
            var status = await WaitForForwarder(http, s => !s.GetProperty("connected").GetBoolean() && s.GetProperty("backlogSamples").GetInt64() > 0);
            Assert.Contains($"127.0.0.1:{vmPort}", status.GetProperty("lastError").GetString());

            // And the box restarts during the outage.
            edge.Signal(EdgeProcess.SIGTERM);
            Assert.Equal(0, await edge.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            await edge.DisposeAsync();
            edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            Assert.Contains("forward central: resuming from its cursor", edge.Output);
            await Post(http, start, 120, Points);
            var rest = Outage - (DateTime.UtcNow - down);
            if (rest > TimeSpan.Zero) await Task.Delay(rest);

            vm = StartVictoriaMetrics(dir, vmPort);
            await WaitFor(() => VmSampleCount(vmPort), Series * Points, "every sample to reach VictoriaMetrics after the outage", TimeSpan.FromSeconds(120));
            // Polling stops (a reload), so that what is stored stops growing; then everything stored
            // is in VictoriaMetrics once: the same count, and no series with a timestamp twice.
            await File.WriteAllTextAsync(config, Config(polling: false));
            edge.Signal(EdgeProcess.SIGHUP);
            await edge.WaitForOutputAsync("config: reloaded", TimeSpan.FromSeconds(20));
            await Task.Delay(TimeSpan.FromSeconds(3)); // a poll under way when the reload came
            await WaitForForwarder(http, s => s.GetProperty("connected").GetBoolean() && s.GetProperty("backlogSamples").GetInt64() == 0);
            long stored = (await EndToEndSupport.GraphQLAsync(http, "{ appliance { sampleCount } }")).GetProperty("appliance").GetProperty("sampleCount").GetInt64();
            Assert.True(stored > Series * Points + 1000, $"{stored} samples stored: the Linux poller should have added thousands during the outage");
            await WaitFor(() => VmSampleCount(vmPort, "{__name__=~\".+\"}"), stored, "every stored sample, polled and posted, to reach VictoriaMetrics", TimeSpan.FromSeconds(120));
            foreach (var (labels, timestamps) in await VmTimestamps(vmPort, "{__name__=~\".+\"}"))
                Assert.True(timestamps.Distinct().Count() == timestamps.Count, $"{labels}: a sample arrived twice");

            // Exactly once, with its value and timestamp: series by series.
            var exported = await VmExport(vmPort);
            Assert.Equal(Series, exported.Count);
            for (int s = 0; s < Series; s++)
            {
                var (timestamps, values) = exported[s];
                Assert.Equal(Enumerable.Range(0, Points).Select(p => start + (long)p * Step), timestamps);
                Assert.Equal(Enumerable.Range(0, Points).Select(p => Value(s, p)), values);
            }

            // /metrics: the same names and labels, each series' latest sample, and the box's own.
            string metrics = await http.GetStringAsync("/metrics");
            Assert.Contains("# TYPE fw_gauge gauge\n", metrics);
            Assert.Contains("# TYPE fw_total counter\n", metrics);
            long lastTs = start + (long)(Points - 1) * Step;
            var line = metrics.Split('\n').Single(l => l.StartsWith("fw_total{", StringComparison.Ordinal) && l.Contains("s=\"3\""));
            Assert.Contains("appliance=\"fw-box\"", line);
            Assert.EndsWith($" {Value(3, Points - 1).ToString("R", CultureInfo.InvariantCulture)} {lastTs}", line);
            Assert.Contains("pattoo_edge_forward_samples_sent_total{appliance=\"fw-box\",forwarder=\"central\",kind=\"remote_write\"}", metrics);
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            request.Headers.Accept.ParseAdd("application/openmetrics-text; version=1.0.0");
            using var open = await http.SendAsync(request);
            Assert.StartsWith("application/openmetrics-text", open.Content.Headers.ContentType!.ToString());
            string openText = await open.Content.ReadAsStringAsync();
            Assert.EndsWith("# EOF\n", openText);
            Assert.Contains("# TYPE fw counter\n", openText); // OpenMetrics: the family without _total
        }
        finally
        {
            if (edge is not null) await edge.DisposeAsync();
            if (vm is not null) { try { vm.Kill(); vm.WaitForExit(10_000); } catch (InvalidOperationException) { } vm.Dispose(); }
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static double Value(int series, int point) => series % 2 == 0 ? Math.Round(20 + series + 0.1 * (point % 37), 1) : series * 1000 + point * 7;

    /// <summary>Points [from, to) of every series as one Prometheus text post per point (even series gauges, odd ones counters).</summary>
    private static async Task Post(HttpClient http, long start, int from, int to)
    {
        for (int p = from; p < to; p++)
        {
            var sb = new StringBuilder();
            sb.Append("# TYPE fw_gauge gauge\n# TYPE fw_total counter\n");
            for (int s = 0; s < Series; s++)
            {
                sb.Append(s % 2 == 0 ? "fw_gauge" : "fw_total").Append("{s=\"").Append(s).Append("\"} ")
                  .Append(Value(s, p).ToString("R", CultureInfo.InvariantCulture)).Append(' ').Append(start + (long)p * Step).Append('\n');
            }
            using var response = await http.PostAsync("/api/v1/import/prometheus?interval=10s", new StringContent(sb.ToString(), Encoding.UTF8, "text/plain"));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
    }

    private static Process StartVictoriaMetrics(string dir, int port)
    {
        var psi = new ProcessStartInfo(VictoriaMetrics) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { $"-httpListenAddr=127.0.0.1:{port}", $"-storageDataPath={dir}/vm", "-retentionPeriod=100y", "-search.latencyOffset=0s", "-loggerLevel=ERROR" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>A clean stop (SIGTERM): VictoriaMetrics flushes what it acknowledged.</summary>
    private static async Task Stop(Process p)
    {
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(timeout.Token);
        p.Dispose();
    }

    private static async Task<long> VmSampleCount(int port)
        => (await VmExport(port)).Values.Sum(s => (long)s.Timestamps.Count);

    private static async Task<long> VmSampleCount(int port, string match)
        => (await VmTimestamps(port, match)).Sum(s => (long)s.Timestamps.Count);

    /// <summary>Every series matching <paramref name="match"/>: its labels as text and its timestamps.</summary>
    private static async Task<List<(string Labels, List<long> Timestamps)>> VmTimestamps(int port, string match)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            (await http.GetAsync($"http://127.0.0.1:{port}/internal/force_flush")).Dispose();
            var text = await http.GetStringAsync($"http://127.0.0.1:{port}/api/v1/export?match[]={Uri.EscapeDataString(match)}");
            return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
            {
                var root = JsonDocument.Parse(line).RootElement;
                return (root.GetProperty("metric").GetRawText(), root.GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()).ToList());
            })];
        }
        catch (HttpRequestException)
        {
            return [];
        }
    }

    /// <summary>Every series VictoriaMetrics holds, by its <c>s</c> label.</summary>
    private static async Task<Dictionary<int, (List<long> Timestamps, List<double> Values)>> VmExport(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            (await http.GetAsync($"http://127.0.0.1:{port}/internal/force_flush")).Dispose();
            var text = await http.GetStringAsync($"http://127.0.0.1:{port}/api/v1/export?match[]={Uri.EscapeDataString("{__name__=~\"fw_.*\"}")}");
            var result = new Dictionary<int, (List<long>, List<double>)>();
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var root = JsonDocument.Parse(line).RootElement;
                var metric = root.GetProperty("metric");
                Assert.Equal("fw-box", metric.GetProperty("appliance").GetString());
                int s = int.Parse(metric.GetProperty("s").GetString()!, CultureInfo.InvariantCulture);
                var ts = root.GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()).ToList();
                var values = root.GetProperty("values").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.Parse(v.GetString()!, CultureInfo.InvariantCulture)).ToList();
                result[s] = (ts, values);
            }
            return result;
        }
        catch (HttpRequestException)
        {
            return [];
        }
    }

    private static async Task WaitFor(Func<Task<long>> count, long expected, string what, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        long last = -1;
        while (DateTime.UtcNow < until)
        {
            last = await count();
            if (last >= expected) break;
            await Task.Delay(500);
        }
        Assert.True(last == expected, $"waited for {what}: {last} samples, expected {expected}");
    }

    private static async Task<JsonElement> WaitForForwarder(HttpClient http, Func<JsonElement, bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        JsonElement status = default;
        while (DateTime.UtcNow < until)
        {
            var data = await EndToEndSupport.GraphQLAsync(http, "{ forwarders { name kind connected backlogSamples oldestUnsentAge lastError samplesPerSecond samplesSent } }");
            status = data.GetProperty("forwarders").EnumerateArray().Single();
            Assert.Equal("central", status.GetProperty("name").GetString());
            Assert.Equal("remote_write", status.GetProperty("kind").GetString());
            if (condition(status)) return status;
            await Task.Delay(500);
        }
        throw new Xunit.Sdk.XunitException($"the forwarder never reached the state waited for: {status}");
    }
}
