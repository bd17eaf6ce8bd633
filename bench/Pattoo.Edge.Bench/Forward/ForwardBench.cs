using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.Bench.Forward;

/// <summary>
/// Backlog replay after an outage of the central store (issue 17): an hour of 10,000 series at
/// 10 s (3.6 M samples; PATTOO_FORWARD_SERIES=1000 for the issue's 1,000) waits while Debian's VictoriaMetrics is down, then VictoriaMetrics
/// starts and the backlog is sent. Measured the same way for both senders, in the same run, to
/// the same VictoriaMetrics (a fresh data folder each): Debian's <c>vmagent</c>, given the
/// samples through its import API (they wait in its disk queue), and the published pattoo-edge
/// binary, given them through its Prometheus import (they wait in its store; its
/// <c>[[forward.remote_write]]</c> cursor is behind) while its Linux poller polls every 2 s.
/// The replay is timed from the first sample VictoriaMetrics receives to the last
/// (<c>vm_rows_inserted_total{type="promremotewrite"}</c>); CPU is the sender's utime+stime over
/// that window. Also printed: how long after VictoriaMetrics came back the first sample came
/// (the sender's retry backoff), and the box's largest gap between polls during the replay.
/// </summary>
public static class ForwardBench
{
    private const int Points = 360;
    private const long StepMs = 10_000;
    private static readonly int Series = int.TryParse(Environment.GetEnvironmentVariable("PATTOO_FORWARD_SERIES"), out int n) && n >= 10 ? n : 10_000;
    private static readonly long Total = (long)Series * Points;
    private const string VictoriaMetrics = "/usr/bin/victoria-metrics", VmAgent = "/usr/bin/vmagent";

    private sealed record Replay(double Rate, double CpuMicros, double FirstAfter, double Seconds, double RssMiB)
    {
        /// <summary>Samples over the seconds from VictoriaMetrics answering to the last sample.</summary>
        public double DeliveredRate { get; init; }

        /// <summary>CPU µs per sample taking it in (parse; vmagent also compresses and queues it then), before the outage ends.</summary>
        public double IntakeCpuMicros { get; init; }
    }

    public static async Task RunAsync(TextWriter output)
    {
        var binary = Environment.GetEnvironmentVariable("PATTOO_EDGE_BINARY");
        if (string.IsNullOrEmpty(binary) || !File.Exists(binary)) { output.WriteLine("== forward: skipped: PATTOO_EDGE_BINARY not set (./build.sh bench sets it)"); return; }
        foreach (var tool in new[] { VictoriaMetrics, VmAgent })
        {
            if (!File.Exists(tool)) { output.WriteLine($"== forward: skipped: {tool} is missing (apt-get install victoria-metrics)"); return; }
        }
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-bench-forward-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        long end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / StepMs * StepMs - StepMs;
        var bodies = BuildBodies(end);
        output.WriteLine($"== forward: backlog replay of {Total:N0} samples ({Series:N0} series x {Points} points at 10 s, an hour's outage) to VictoriaMetrics 1.79");
        try
        {
            int vmPort = BenchProcess.FreePort();
            var agent = await VmAgentReplay(http, dir, vmPort, bodies);
            var (edge, pollGap) = await EdgeReplay(http, binary, dir, vmPort, bodies);
            output.WriteLine($"{"",-28} {"all delivered s",16} {"samples/s",10} {"1st sample after",17} {"sending samples/s",18} {"CPU µs/sample",14} {"intake+replay µs",17} {"VmHWM MiB",10}");
            foreach (var (name, r) in new[] { ("vmagent (disk queue)", agent), ("pattoo-edge (store cursor)", edge) })
                output.WriteLine($"{name,-28} {r.Seconds,16:F2} {r.DeliveredRate,10:N0} {r.FirstAfter,15:F2} s {(double.IsNaN(r.Rate) ? "at once" : r.Rate.ToString("N0", CultureInfo.InvariantCulture)),18} {r.CpuMicros,14:F3} {r.IntakeCpuMicros + r.CpuMicros,17:F2} {r.RssMiB,10:F1}");
            output.WriteLine($"ratio pattoo-edge/vmagent: delivered rate {edge.DeliveredRate / agent.DeliveredRate:F2}x (goal >= 1), sending rate {(double.IsNaN(edge.Rate) || double.IsNaN(agent.Rate) ? "n/a (one side sent at once)" : $"{edge.Rate / agent.Rate:F2}x")}");
            // What forwarding costs each: the box stores every sample whether or not it forwards
            // (its intake is its own job), so forwarding adds its replay; vmagent exists only to
            // forward, so all it spends (taking the samples in, queueing, replaying) is forwarding.
            output.WriteLine($"CPU per sample that forwarding adds: pattoo-edge's replay {edge.CpuMicros:F3} µs, vmagent's intake+replay {agent.IntakeCpuMicros + agent.CpuMicros:F3} µs: {edge.CpuMicros / (agent.IntakeCpuMicros + agent.CpuMicros):F2}x (goal <= 1)");
            output.WriteLine($"  replay alone {edge.CpuMicros / agent.CpuMicros:F2}x (vmagent compressed its samples when it took them in), intake+replay of both {(edge.IntakeCpuMicros + edge.CpuMicros) / (agent.IntakeCpuMicros + agent.CpuMicros):F2}x (pattoo-edge's intake stores and indexes them for its own queries)");
            output.WriteLine($"pattoo-edge VmRSS before the replay {rssBefore:F1} MiB (VmHWM is the peak of the whole run, the import included)");
            output.WriteLine($"pattoo-edge's Linux poller (2 s interval) during the replay: largest gap between polls {pollGap:F1} s");
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("PATTOO_BENCH_KEEP") != "1") { try { Directory.Delete(dir, true); } catch (IOException) { } }
        }
    }

    private static List<byte[]> BuildBodies(long end)
    {
        var rng = new Random(17);
        var value = new double[Series];
        for (int s = 0; s < Series; s++) value[s] = s % 2 == 0 ? Math.Round(rng.NextDouble() * 100, 1) : rng.Next(0, 1_000_000);
        long start = end - (Points - 1) * StepMs;
        var bodies = new List<byte[]>();
        var sb = new StringBuilder(4 << 20);
        int perBody = Math.Max(1, 100_000 / Series); // the box takes 100,000 samples a request
        for (int p0 = 0; p0 < Points; p0 += perBody)
        {
            sb.Clear().Append("# TYPE replay_gauge gauge\n# TYPE replay_counter counter\n");
            for (int p = p0; p < Math.Min(Points, p0 + perBody); p++)
            {
                for (int s = 0; s < Series; s++)
                {
                    value[s] = s % 2 == 0 ? Math.Round(value[s] + Math.Round((rng.NextDouble() - 0.5) * 2, 1), 1) : value[s] + rng.Next(0, 5001);
                    sb.Append(s % 2 == 0 ? "replay_gauge" : "replay_counter").Append("{job=\"replay\",device=\"d").Append(s / 100).Append("\",point=\"p").Append(s % 100).Append("\"} ")
                      .Append(value[s].ToString("R", CultureInfo.InvariantCulture)).Append(' ').Append(start + p * StepMs).Append('\n');
                }
            }
            bodies.Add(Encoding.UTF8.GetBytes(sb.ToString()));
        }
        return bodies;
    }

    private static async Task<Replay> VmAgentReplay(HttpClient http, string dir, int vmPort, List<byte[]> bodies)
    {
        string home = Path.Combine(dir, "vmagent");
        Directory.CreateDirectory(home);
        int port = BenchProcess.FreePort();
        using var agent = BenchProcess.Start(VmAgent, [$"-httpListenAddr=127.0.0.1:{port}", $"-remoteWrite.url=http://127.0.0.1:{vmPort}/api/v1/write",
            $"-remoteWrite.tmpDataPath={home}/queue", "-loggerLevel=ERROR"], home);
        try
        {
            await BenchProcess.WaitHttp(http, $"http://127.0.0.1:{port}/health");
            double cpu0 = BenchProcess.CpuSeconds(agent.Id);
            foreach (var body in bodies) await Post(http, $"http://127.0.0.1:{port}/api/v1/import/prometheus", body);
            await Task.Delay(TimeSpan.FromSeconds(3)); // into its queue, its sends failing
            double intake = (BenchProcess.CpuSeconds(agent.Id) - cpu0) / Total * 1e6;
            return await Measure(http, Path.Combine(dir, "vm-agent"), vmPort, agent) with { IntakeCpuMicros = intake };
        }
        finally
        {
            agent.Kill();
            await agent.WaitForExitAsync();
        }
    }

    private static double rssBefore;

    private static async Task<(Replay, double PollGap)> EdgeReplay(HttpClient http, string binary, string dir, int vmPort, List<byte[]> bodies)
    {
        string home = Path.Combine(dir, "edge");
        Directory.CreateDirectory(home);
        int port = BenchProcess.FreePort();
        File.WriteAllText(Path.Combine(home, "edge.toml"), $"""
            [server]
            listen = "127.0.0.1:{port}"
            [storage]
            path = "{home}/data"
            [api]
            max_body = 268435456
            [log]
            level = "warning"
            [linux]
            interval = "2s"
            [[forward.remote_write]]
            name = "central"
            url = "http://127.0.0.1:{vmPort}/api/v1/write"
            programs = ["replay"]
            start = "oldest"
            """);
        using var edge = BenchProcess.Start(binary, ["run", "--config", Path.Combine(home, "edge.toml")], home);
        try
        {
            await BenchProcess.WaitHttp(http, $"http://127.0.0.1:{port}/api/v1/health");
            double cpu0 = BenchProcess.CpuSeconds(edge.Id);
            foreach (var body in bodies) await Post(http, $"http://127.0.0.1:{port}/api/v1/import/prometheus?interval=10s", body);
            await Task.Delay(TimeSpan.FromSeconds(3)); // stored, its sends failing
            double intake = (BenchProcess.CpuSeconds(edge.Id) - cpu0) / Total * 1e6; // the Linux poller's polls included
            rssBefore = BenchProcess.StatusMiB(edge.Id, "VmRSS");
            long from = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var replay = await Measure(http, Path.Combine(dir, "vm-edge"), vmPort, edge) with { IntakeCpuMicros = intake };
            long to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await Task.Delay(TimeSpan.FromSeconds(5)); // the polls after it, so a late one shows
            return (replay, await LargestPollGap(http, port, from, to));
        }
        finally
        {
            edge.Kill();
            await edge.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Starts VictoriaMetrics and times the sender's replay into it: from VictoriaMetrics answering
    /// to the last sample (what a user waits, the sender's retry wait included) and from the
    /// first sample to the last (the sending itself; a small backlog can land within one look).
    /// CPU: the sender's, from VictoriaMetrics answering to the last sample (it idles while it waits).
    /// </summary>
    private static async Task<Replay> Measure(HttpClient http, string vmHome, int vmPort, Process sender)
    {
        Directory.CreateDirectory(vmHome);
        using var vm = BenchProcess.Start(VictoriaMetrics, [$"-httpListenAddr=127.0.0.1:{vmPort}", $"-storageDataPath={vmHome}", "-retentionPeriod=100y", "-loggerLevel=ERROR"], vmHome);
        try
        {
            await BenchProcess.WaitHttp(http, $"http://127.0.0.1:{vmPort}/health");
            double cpu0 = BenchProcess.CpuSeconds(sender.Id);
            var back = Stopwatch.StartNew();
            double firstAfter = -1;
            long rows, first = 0;
            while ((rows = await RemoteWriteRows(http, vmPort)) < Total)
            {
                if (rows > 0 && firstAfter < 0) { firstAfter = back.Elapsed.TotalSeconds; first = rows; }
                if (back.Elapsed > TimeSpan.FromMinutes(10)) throw new TimeoutException($"{rows:N0} of {Total:N0} samples reached VictoriaMetrics in 10 minutes");
                await Task.Delay(5);
            }
            double done = back.Elapsed.TotalSeconds;
            double cpu = BenchProcess.CpuSeconds(sender.Id) - cpu0;
            if (firstAfter < 0) firstAfter = done;
            double sending = done - firstAfter;
            // Sent within one look: the rate of the sending itself is beyond what is seen from here.
            double rate = sending > 0.05 ? (Total - first) / sending : double.NaN;
            return new Replay(rate, cpu / Total * 1e6, firstAfter, done, BenchProcess.StatusMiB(sender.Id, "VmHWM")) { DeliveredRate = Total / done };
        }
        finally
        {
            vm.Kill();
            await vm.WaitForExitAsync();
        }
    }

    private static async Task<long> RemoteWriteRows(HttpClient http, int vmPort)
    {
        string metrics = await http.GetStringAsync($"http://127.0.0.1:{vmPort}/metrics");
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith("vm_rows_inserted_total{type=\"promremotewrite\"} ", StringComparison.Ordinal))
                return long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
        return 0;
    }

    /// <summary>The largest gap between consecutive samples of the Linux poller's first series from 5 s before <paramref name="from"/> to 5 s after <paramref name="to"/>.</summary>
    private static async Task<double> LargestPollGap(HttpClient http, int port, long from, long to)
    {
        var series = await BenchProcess.GraphQL(http, port, "{ series { idxDatapoint agentProgram } }");
        string idx = series.GetProperty("series").EnumerateArray().First(s => s.GetProperty("agentProgram").GetString() != "replay").GetProperty("idxDatapoint").GetString()!;
        var data = await BenchProcess.GraphQL(http, port, $"{{ timeseries(idxDatapoint: \"{idx}\", from: {from - 5_000}, to: {to + 5_000}) {{ timestamps }} }}");
        var ts = data.GetProperty("timeseries").GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()).ToList();
        if (ts.Count < 2) return double.NaN;
        return ts.Zip(ts.Skip(1), (a, b) => (b - a) / 1000.0).Max();
    }


    private static async Task Post(HttpClient http, string url, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("text/plain");
        using var r = await http.PostAsync(url, content);
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"{url} answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
    }
}
