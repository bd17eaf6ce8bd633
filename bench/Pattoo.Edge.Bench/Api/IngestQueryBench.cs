using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Bench.Api;

/// <summary>
/// HTTP ingest and 24 h queries of the published binary beside Debian's VictoriaMetrics,
/// same data, same run: 200 series x 8,640 points (24 h at 10 s). pattoo-edge gets pattoo
/// agent payloads (its compatibility format, verbose JSON); VictoriaMetrics gets its own
/// JSON-lines import. Then 200 queries of one series over 24 h: GraphQL timeseries with
/// 1,000 points against query_range with the same step.
/// </summary>
public static class IngestQueryBench
{
    private const int Series = 200, Points = 8640, PointsPerPost = 60, Posters = 4, Queries = 200;
    private const long StepMs = 10_000;
    private const string VictoriaMetrics = "/usr/bin/victoria-metrics";

    public static async Task RunAsync(TextWriter output)
    {
        var binary = Environment.GetEnvironmentVariable("PATTOO_EDGE_BINARY");
        if (string.IsNullOrEmpty(binary) || !File.Exists(binary)) { output.WriteLine("== api: skipped: PATTOO_EDGE_BINARY not set (./build.sh bench sets it)"); return; }
        output.WriteLine($"== api: HTTP ingest of {Series} series x {Points} points and {Queries} 24 h queries, beside VictoriaMetrics");
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-bench-api-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        long end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / StepMs * StepMs;
        long start = end - (Points - 1) * StepMs;
        var values = MakeValues();

        int edgePort = FreePort();
        File.WriteAllText(Path.Combine(dir, "edge.toml"), $"[server]\nlisten = \"127.0.0.1:{edgePort}\"\n[storage]\npath = \"{dir}/edge\"\n[api]\nmax_body = 268435456\n[log]\nlevel = \"warning\"\n[linux]\nenabled = false\n");
        using var edge = Start(binary, ["run", "--config", Path.Combine(dir, "edge.toml")], dir);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        await WaitHttp(http, $"http://127.0.0.1:{edgePort}/api/v1/health");
        var posts = BuildPattooPosts(values, start);
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(posts, new ParallelOptions { MaxDegreeOfParallelism = Posters }, async (body, ct) =>
        {
            using var r = await http.PostAsync($"http://127.0.0.1:{edgePort}/pattoo/api/v1/agent/receive/bench", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), ct);
            if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"pattoo-edge ingest answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync(ct)}");
        });
        double edgeRate = (double)Series * Points / sw.Elapsed.TotalSeconds;
        long edgeBytes = posts.Sum(p => (long)p.Length);

        bool vm = File.Exists(VictoriaMetrics);
        double vmRate = double.NaN;
        Process? vmProcess = null;
        int vmPort = FreePort();
        if (vm)
        {
            vmProcess = Start(VictoriaMetrics, [$"-httpListenAddr=127.0.0.1:{vmPort}", $"-storageDataPath={dir}/vm", "-retentionPeriod=100y", "-search.latencyOffset=0s", "-loggerLevel=ERROR"], dir);
            await WaitHttp(http, $"http://127.0.0.1:{vmPort}/health");
            var lines = BuildVmImport(values, start);
            sw.Restart();
            await Parallel.ForEachAsync(lines, new ParallelOptions { MaxDegreeOfParallelism = Posters }, async (body, ct) =>
            {
                using var r = await http.PostAsync($"http://127.0.0.1:{vmPort}/api/v1/import", new StringContent(body, System.Text.Encoding.UTF8), ct);
                if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"VictoriaMetrics import answered {(int)r.StatusCode}");
            });
            vmRate = (double)Series * Points / sw.Elapsed.TotalSeconds;
            await http.GetAsync($"http://127.0.0.1:{vmPort}/internal/force_flush");
        }

        // Queries: the same series, 24 h, ~1,000 points.
        long stepQuery = (end - start + 999) / 1000;
        var edgeLatency = new List<double>();
        for (int i = 0; i < Queries; i++)
        {
            int s = 1 + i % Series;
            var q = "{\"query\":\"{ timeseries(idxDatapoint: \\\"" + s + "\\\", from: " + start + ", to: " + end + ", maxPoints: 1000) { points { timestamp value } } }\"}";
            var t0 = Stopwatch.GetTimestamp();
            using var r = await http.PostAsync($"http://127.0.0.1:{edgePort}/graphql", new StringContent(q, System.Text.Encoding.UTF8, "application/json"));
            var text = await r.Content.ReadAsStringAsync();
            edgeLatency.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            if (i == 0 && !text.Contains("\"points\":[{")) throw new InvalidOperationException("pattoo-edge answered no points: " + text[..Math.Min(300, text.Length)]);
        }
        var vmLatency = new List<double>();
        if (vm)
        {
            for (int i = 0; i < Queries; i++)
            {
                int s = i % Series;
                var url = $"http://127.0.0.1:{vmPort}/api/v1/query_range?query=avg_over_time(bench_value%7Bseries%3D%22{s}%22%7D%5B{stepQuery}ms%5D)&start={start / 1000.0:F3}&end={end / 1000.0:F3}&step={stepQuery}ms";
                var t0 = Stopwatch.GetTimestamp();
                var text = await http.GetStringAsync(url);
                vmLatency.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (i == 0 && !text.Contains("\"values\":[[")) throw new InvalidOperationException("VictoriaMetrics answered no points: " + text[..Math.Min(300, text.Length)]);
            }
        }
        output.WriteLine($"pattoo-edge       ingest {edgeRate,10:N0} samples/s (pattoo JSON, {edgeBytes / (double)(Series * Points):F0} bytes/sample on the wire); 24 h query p50 {P(edgeLatency, 50):F2} ms p99 {P(edgeLatency, 99):F2} ms");
        if (vm)
        {
            output.WriteLine($"VictoriaMetrics   ingest {vmRate,10:N0} samples/s (its JSON lines import);                    24 h query p50 {P(vmLatency, 50):F2} ms p99 {P(vmLatency, 99):F2} ms");
            output.WriteLine($"ratio: ingest {edgeRate / vmRate:F2}x VictoriaMetrics; query p50 {P(vmLatency, 50) / P(edgeLatency, 50):F2}x as fast, p99 {P(vmLatency, 99) / P(edgeLatency, 99):F2}x as fast");
        }
        else output.WriteLine("VictoriaMetrics not installed (apt-get install victoria-metrics): no ratio");
        edge.Kill();
        vmProcess?.Kill();
        await edge.WaitForExitAsync();
        if (vmProcess is not null) { await vmProcess.WaitForExitAsync(); vmProcess.Dispose(); }
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }

    internal static double[,] MakeValues()
    {
        var rng = new Random(1);
        var v = new double[Series, Points];
        for (int s = 0; s < Series; s++)
        {
            double x = rng.Next(0, 100);
            for (int p = 0; p < Points; p++) { x = Math.Round(x + (rng.NextDouble() - 0.5), 2); v[s, p] = x; }
        }
        return v;
    }

    internal static List<string> BuildPattooPosts(double[,] values, long start)
    {
        var agent = new AgentIdentity(PattooChecksum.Sha256Hex("bench"), "pattoo_agent_bench", "bench-host", "bench-host");
        var checksums = new string[Series];
        for (int s = 0; s < Series; s++)
            checksums[s] = PattooChecksum.ForDatapoint(agent, $"metric_{s:D4}", DataType.Float, [new("series", s.ToString(CultureInfo.InvariantCulture))]);
        var posts = new List<string>();
        for (int p0 = 0; p0 < Points; p0 += PointsPerPost)
        {
            var sb = new StringBuilder(1 << 20);
            var kv = new StringBuilder(1 << 20);
            int id = 0;
            int Pair(string key, string jsonValue) { kv.Append(id == 0 ? "" : ",").Append('"').Append(id).Append("\":[\"").Append(key).Append("\",").Append(jsonValue).Append(']'); return id++; }
            int[] shared = [Pair("pattoo_agent_polling_interval", "\"10000\""), Pair("pattoo_agent_hostname", "\"bench-host\""), Pair("pattoo_agent_id", $"\"{agent.AgentId}\""),
                Pair("pattoo_agent_polled_target", "\"bench-host\""), Pair("pattoo_agent_program", "\"pattoo_agent_bench\""), Pair("pattoo_data_type", "101")];
            var dps = new StringBuilder();
            for (int s = 0; s < Series; s++)
            {
                int key = Pair("pattoo_key", $"\"metric_{s:D4}\""), meta = Pair("series", $"\"{s}\""), sum = Pair("pattoo_checksum", $"\"{checksums[s]}\"");
                for (int p = p0; p < Math.Min(Points, p0 + PointsPerPost); p++)
                {
                    int ts = Pair("pattoo_timestamp", (start + p * StepMs).ToString(CultureInfo.InvariantCulture));
                    int val = Pair("pattoo_value", values[s, p].ToString("R", CultureInfo.InvariantCulture));
                    dps.Append(dps.Length == 0 ? "" : ",").Append('[').Append(meta).Append(',').Append(string.Join(',', shared)).Append(',').Append(key).Append(',').Append(val).Append(',').Append(ts).Append(',').Append(sum).Append(']');
                }
            }
            sb.Append("{\"pattoo_agent_timestamp\":").Append(start).Append(",\"pattoo_agent_id\":\"").Append(agent.AgentId).Append("\",\"pattoo_agent_polling_interval\":10000,\"pattoo_datapoints\":{\"key_value_pairs\":{")
              .Append(kv).Append("},\"datapoint_pairs\":[").Append(dps).Append("]}}");
            posts.Add(sb.ToString());
        }
        return posts;
    }

    private static List<string> BuildVmImport(double[,] values, long start)
    {
        var bodies = new List<string>();
        for (int p0 = 0; p0 < Points; p0 += PointsPerPost)
        {
            var sb = new StringBuilder();
            for (int s = 0; s < Series; s++)
            {
                sb.Append("{\"metric\":{\"__name__\":\"bench_value\",\"series\":\"").Append(s).Append("\"},\"values\":[");
                int end = Math.Min(Points, p0 + PointsPerPost);
                for (int p = p0; p < end; p++) sb.Append(p == p0 ? "" : ",").Append(values[s, p].ToString("R", CultureInfo.InvariantCulture));
                sb.Append("],\"timestamps\":[");
                for (int p = p0; p < end; p++) sb.Append(p == p0 ? "" : ",").Append(start + p * StepMs);
                sb.Append("]}\n");
            }
            bodies.Add(sb.ToString());
        }
        return bodies;
    }

    private static double P(List<double> v, int percentile)
    {
        var sorted = v.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
    }

    private static Process Start(string file, string[] args, string dir)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        return p;
    }

    private static async Task WaitHttp(HttpClient http, string url)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            try { using var r = await http.GetAsync(url); if (r.IsSuccessStatusCode) return; }
            catch (HttpRequestException) { }
            await Task.Delay(50);
        }
        throw new TimeoutException($"{url} did not answer within 30 s");
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

/// <summary>Where ingest time goes: parsing pattoo payloads alone, and parsing plus storing, in process.</summary>
public static class IngestParseBench
{
    public static async Task RunAsync(TextWriter output)
    {
        var posts = IngestQueryBenchData.Posts();
        var bytes = posts.Select(p => System.Text.Encoding.UTF8.GetBytes(p)).ToList();
        int samples = 0;
        var sw = Stopwatch.StartNew();
        foreach (var b in bytes)
        {
            var batch = new SampleBatch(16384);
            samples += Pattoo.Edge.Api.Ingest.PattooPayload.Parse(b, batch).Datapoints;
        }
        output.WriteLine($"parse only:       {samples / sw.Elapsed.TotalSeconds,12:N0} samples/s");
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-bench-parse-" + Guid.NewGuid().ToString("N")[..8]);
        await using (var store = Pattoo.Edge.Storage.TimeSeriesStore.Open(new Pattoo.Edge.Storage.StorageOptions { Path = dir }))
        {
            sw.Restart();
            samples = 0;
            foreach (var b in bytes)
            {
                var batch = new SampleBatch(16384);
                samples += Pattoo.Edge.Api.Ingest.PattooPayload.Parse(b, batch).Datapoints;
                await store.WriteAsync(batch, default);
            }
            output.WriteLine($"parse and store:  {samples / sw.Elapsed.TotalSeconds,12:N0} samples/s");
        }
        Directory.Delete(dir, true);
    }
}

internal static class IngestQueryBenchData
{
    public static List<string> Posts() => IngestQueryBench.BuildPattooPosts(IngestQueryBench.MakeValues(), 1_700_000_000_000).Take(20).ToList();
}
