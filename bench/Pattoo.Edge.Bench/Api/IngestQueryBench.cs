using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Bench.Api;

/// <summary>
/// HTTP ingest and 24 h queries of the published binary beside Debian's VictoriaMetrics,
/// same data, same run: 200 series x 8,640 points (24 h at 10 s). pattoo-edge gets pattoo
/// agent payloads (its compatibility format, verbose JSON); VictoriaMetrics gets its own
/// JSON-lines import. Then 200 queries of one series over 24 h: GraphQL timeseries with
/// 1,000 points against query_range with the same step. Then the same Prometheus text bodies
/// to /api/v1/import/prometheus of both, and the samples each holds afterwards.
/// </summary>
public static class IngestQueryBench
{
    internal const int Series = 200, Points = 8640, PointsPerPost = 60, Posters = 4, Queries = 200, SeriesPerFamily = 10;
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

        int edgePort = BenchProcess.FreePort();
        File.WriteAllText(Path.Combine(dir, "edge.toml"), $"[server]\nlisten = \"127.0.0.1:{edgePort}\"\n[storage]\npath = \"{dir}/edge\"\n[api]\nmax_body = 268435456\n[log]\nlevel = \"warning\"\n[linux]\nenabled = false\n");
        using var edge = BenchProcess.Start(binary, ["run", "--config", Path.Combine(dir, "edge.toml")], dir);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        await BenchProcess.WaitHttp(http, $"http://127.0.0.1:{edgePort}/api/v1/health");
        // Each poster owns a quarter of the series and sends them in time order: the store keeps
        // only samples newer than their series' newest, so two posters racing on one series would
        // lose samples (and flatter the rate).
        var streams = Enumerable.Range(0, Posters).Select(k => BuildPattooPosts(values, start, k, Posters)).ToList();
        long edgeBefore = await EdgeSampleCount(http, edgePort);
        var (edgeSeconds, edgeCpu) = await PostAll($"http://127.0.0.1:{edgePort}/pattoo/api/v1/agent/receive/bench", streams, "application/json", "pattoo-edge ingest", edge.Id);
        double edgeRate = Series * Points / edgeSeconds;
        long edgeStored = await EdgeSampleCount(http, edgePort) - edgeBefore;
        if (edgeStored != (long)Series * Points)
            throw new InvalidOperationException($"pattoo-edge stored {edgeStored:N0} of {(long)Series * Points:N0} samples posted as pattoo JSON");
        long edgeBytes = streams.Sum(st => st.Sum(p => (long)p.Length));

        bool vm = File.Exists(VictoriaMetrics);
        double vmRate = double.NaN, vmCpu = double.NaN;
        Process? vmProcess = null;
        int vmPort = BenchProcess.FreePort();
        if (vm)
        {
            vmProcess = BenchProcess.Start(VictoriaMetrics, [$"-httpListenAddr=127.0.0.1:{vmPort}", $"-storageDataPath={dir}/vm", "-retentionPeriod=100y", "-search.latencyOffset=0s", "-loggerLevel=ERROR"], dir);
            await BenchProcess.WaitHttp(http, $"http://127.0.0.1:{vmPort}/health");
            var lines = BuildVmImport(values, start);
            var (vmSeconds, cpu) = await PostAll($"http://127.0.0.1:{vmPort}/api/v1/import", lines.Select(l => (IReadOnlyList<string>)[l]), null, "VictoriaMetrics import", vmProcess.Id);
            vmRate = Series * Points / vmSeconds;
            vmCpu = cpu;
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
        double Micro(double cpu) => cpu * 1e6 / (Series * Points);
        output.WriteLine($"pattoo-edge       ingest {edgeRate,10:N0} samples/s, {Micro(edgeCpu):F2} µs CPU/sample (pattoo JSON, {edgeBytes / (double)(Series * Points):F0} bytes/sample on the wire); 24 h query p50 {P(edgeLatency, 50):F2} ms p99 {P(edgeLatency, 99):F2} ms");
        if (vm)
        {
            output.WriteLine($"VictoriaMetrics   ingest {vmRate,10:N0} samples/s, {Micro(vmCpu):F2} µs CPU/sample (its JSON lines import);                    24 h query p50 {P(vmLatency, 50):F2} ms p99 {P(vmLatency, 99):F2} ms");
            output.WriteLine($"ratio: ingest {edgeRate / vmRate:F2}x VictoriaMetrics' rate at {edgeCpu / vmCpu:F2}x its CPU per sample; query p50 {P(vmLatency, 50) / P(edgeLatency, 50):F2}x as fast, p99 {P(vmLatency, 99) / P(edgeLatency, 99):F2}x as fast");
        }
        else output.WriteLine("VictoriaMetrics not installed (apt-get install victoria-metrics): no ratio");
        await PrometheusImportAsync(output, http, (edgePort, edge.Id), vmProcess is null ? null : (vmPort, vmProcess.Id), values, start);
        edge.Kill();
        vmProcess?.Kill();
        await edge.WaitForExitAsync();
        if (vmProcess is not null) { await vmProcess.WaitForExitAsync(); vmProcess.Dispose(); }
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }

    /// <summary>
    /// The same Prometheus text bodies to both, as many samples as the JSON scenario: the
    /// <see cref="Series"/> series, half counters, half gauges, with explicit ms timestamps.
    /// Each poster owns a quarter of the series and posts their points in time order, as one
    /// exporter per poster would: the store drops a sample not newer than its series' newest,
    /// so bodies of one series must not overtake each other. Both must then hold every sample.
    /// </summary>
    private static async Task PrometheusImportAsync(TextWriter output, HttpClient http, (int Port, int Pid) edgeServer, (int Port, int Pid)? vmServer, double[,] values, long start)
    {
        var promValues = PrometheusValues(values);
        var streams = new List<IReadOnlyList<string>>();
        for (int g = 0; g < Posters; g++)
        {
            var mine = Enumerable.Range(0, Series).Where(s => s % Posters == g).ToList();
            var bodies = new List<string>();
            for (int p0 = 0; p0 < Points; p0 += PointsPerPost) bodies.Add(BuildPrometheusText(promValues, start, mine, p0, Math.Min(Points, p0 + PointsPerPost), counters: true));
            streams.Add(bodies);
        }
        const long expected = (long)Series * Points;
        long bytes = streams.Sum(b => b.Sum(t => (long)t.Length));
        output.WriteLine($"Prometheus text import: {Series} series ({Series / 2} counters, {Series / 2} gauges in families of {SeriesPerFamily}) x {Points} points, {Series / Posters * PointsPerPost:N0} samples per post, {Posters} posters, {bytes / (double)expected:F0} bytes/sample, the same bodies to both");

        int edgePort = edgeServer.Port;
        long before = await EdgeSampleCount(http, edgePort);
        var (edgeSeconds, edgeCpu) = await PostAll($"http://127.0.0.1:{edgePort}{Pattoo.Edge.Api.ApiEndpoints.PrometheusImportPath}", streams, "text/plain", "pattoo-edge Prometheus import", edgeServer.Pid);
        double edgeRate = expected / edgeSeconds;
        long edgeStored = await EdgeSampleCount(http, edgePort) - before;
        output.WriteLine($"pattoo-edge       import {edgeRate,10:N0} samples/s, {edgeCpu * 1e6 / expected:F2} µs CPU/sample; stored {edgeStored:N0} of {expected:N0}");
        long vmStored = -1;
        if (vmServer is { } vm)
        {
            var (vmSeconds, vmCpu) = await PostAll($"http://127.0.0.1:{vm.Port}/api/v1/import/prometheus", streams, "text/plain", "VictoriaMetrics Prometheus import", vm.Pid);
            double vmRate = expected / vmSeconds;
            vmStored = await VmSampleCount(http, vm.Port, "{__name__=~\"bench_prom_.*\"}", start, start + (Points - 1) * StepMs);
            output.WriteLine($"VictoriaMetrics   import {vmRate,10:N0} samples/s, {vmCpu * 1e6 / expected:F2} µs CPU/sample; stored {vmStored:N0} of {expected:N0}");
            output.WriteLine($"ratio: Prometheus text import {edgeRate / vmRate:F2}x VictoriaMetrics' rate at {edgeCpu / vmCpu:F2}x its CPU per sample");
        }
        else output.WriteLine("VictoriaMetrics not installed (apt-get install victoria-metrics): no ratio");
        if (edgeStored != expected || (vmServer is not null && vmStored != expected))
            throw new InvalidOperationException($"Prometheus import: expected {expected} samples stored, pattoo-edge holds {edgeStored}" + (vmServer is null ? "" : $", VictoriaMetrics {vmStored}"));
    }

    /// <summary><c>appliance { sampleCount }</c>: every sample the store holds.</summary>
    private static async Task<long> EdgeSampleCount(HttpClient http, int port)
    {
        using var r = await http.PostAsync($"http://127.0.0.1:{port}/graphql", new StringContent("{\"query\":\"{ appliance { sampleCount } }\"}", Encoding.UTF8, "application/json"));
        var text = await r.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        if (!doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
            throw new InvalidOperationException("pattoo-edge answered no sample count: " + text[..Math.Min(300, text.Length)]);
        return data.GetProperty("appliance").GetProperty("sampleCount").GetInt64();
    }

    /// <summary>Samples VictoriaMetrics holds for <paramref name="match"/> in [fromMs, toMs], counted from /api/v1/export after a flush.</summary>
    private static async Task<long> VmSampleCount(HttpClient http, int port, string match, long fromMs, long toMs)
    {
        (await http.GetAsync($"http://127.0.0.1:{port}/internal/force_flush")).Dispose();
        var url = $"http://127.0.0.1:{port}/api/v1/export?match[]={Uri.EscapeDataString(match)}&start={fromMs / 1000}&end={toMs / 1000 + 1}";
        using var reader = new StreamReader(await http.GetStreamAsync(url));
        long n = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            using var doc = JsonDocument.Parse(line);
            n += doc.RootElement.GetProperty("values").GetArrayLength();
        }
        return n;
    }

    /// <summary>Posts each stream's bodies in order, <see cref="Posters"/> streams at a time; returns the seconds it took.</summary>
    /// <summary>
    /// Posts every stream's bodies in order, <see cref="Posters"/> streams at a time, each on a
    /// keep-alive connection of its own, and returns the seconds it took and the CPU seconds the
    /// server (<paramref name="serverPid"/>) spent. The requests are encoded before the clock
    /// starts and sent as they are (<see cref="RawHttpClient"/>): on 2 cores HttpClient's work on
    /// pattoo's 112 bytes a sample (5x VictoriaMetrics' lines) took CPU from the server and held
    /// its rate to half what a plain client (Python's http.client) got.
    /// </summary>
    private static async Task<(double Seconds, double Cpu)> PostAll(string url, IEnumerable<IReadOnlyList<string>> streams, string? mediaType, string who, int serverPid)
    {
        var uri = new Uri(url);
        var requests = streams.Select(st => st.Select(body => RawHttpClient.Request(uri, mediaType, Encoding.UTF8.GetBytes(body))).ToList()).ToList();
        double cpu0 = BenchProcess.CpuSeconds(serverPid);
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = Posters }, async (bodies, ct) =>
        {
            using var poster = await RawHttpClient.ConnectAsync(uri.Port, ct);
            foreach (var request in bodies)
            {
                var (status, answer) = await poster.SendAsync(request, ct);
                if (status is < 200 or > 299) throw new InvalidOperationException($"{who} answered {status}: {answer}");
            }
        });
        return (sw.Elapsed.TotalSeconds, BenchProcess.CpuSeconds(serverPid) - cpu0);
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

    /// <summary>pattoo agent posts of the series <c>s % parts == part</c>, <see cref="PointsPerPost"/> points each, in time order.</summary>
    internal static List<string> BuildPattooPosts(double[,] values, long start, int part = 0, int parts = 1)
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
            for (int s = part; s < Series; s += parts)
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

    /// <summary>
    /// <paramref name="values"/> with the series of even families made counters: running sums of
    /// the walk's steps in hundredths, whole, never negative and never falling.
    /// </summary>
    private static double[,] PrometheusValues(double[,] values)
    {
        var v = (double[,])values.Clone();
        for (int s = 0; s < Series; s++)
        {
            if (s / SeriesPerFamily % 2 != 0) continue;
            double c = 0;
            for (int p = 0; p < Points; p++) { c += p == 0 ? 0 : Math.Round(Math.Abs(values[s, p] - values[s, p - 1]) * 100); v[s, p] = c; }
        }
        return v;
    }

    /// <summary>
    /// Prometheus text of points [p0, p1) of <paramref name="series"/> (ascending), one family of
    /// <see cref="SeriesPerFamily"/> series after another, each after its <c># TYPE</c> line: series s
    /// is <c>bench_prom_NN{series="s"}</c>; with <paramref name="counters"/>, even families are
    /// counters (named <c>bench_prom_NN_total</c>), the others gauges.
    /// </summary>
    internal static string BuildPrometheusText(double[,] values, long start, IReadOnlyList<int> series, int p0, int p1, bool counters)
    {
        var sb = new StringBuilder(series.Count * (p1 - p0) * 48);
        int family = -1;
        string name = "";
        foreach (int s in series)
        {
            if (s / SeriesPerFamily != family)
            {
                family = s / SeriesPerFamily;
                bool counter = counters && family % 2 == 0;
                name = counter ? $"bench_prom_{family:D2}_total" : $"bench_prom_{family:D2}";
                sb.Append("# TYPE ").Append(name).Append(counter ? " counter\n" : " gauge\n");
            }
            for (int p = p0; p < p1; p++)
            {
                sb.Append(name).Append("{series=\"").Append(s).Append("\"} ").Append(values[s, p].ToString("R", CultureInfo.InvariantCulture))
                  .Append(' ').Append(start + p * StepMs).Append('\n');
            }
        }
        return sb.ToString();
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
}

/// <summary>
/// Where ingest time goes: parsing alone, pattoo JSON beside Prometheus text of the same samples
/// (same series, values and timestamps; gauges, as the pattoo payloads carry floats), then
/// pattoo JSON parsed and stored, in process.
/// </summary>
public static class IngestParseBench
{
    private const int Rounds = 5;

    public static async Task RunAsync(TextWriter output)
    {
        var bytes = IngestQueryBenchData.Posts().Select(p => System.Text.Encoding.UTF8.GetBytes(p)).ToList();
        var promBytes = IngestQueryBenchData.PrometheusPosts().Select(p => System.Text.Encoding.UTF8.GetBytes(p)).ToList();
        var options = new Pattoo.Edge.Api.Ingest.PrometheusImportOptions { ApplianceName = "bench-host" };
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var json = ParseOnly(bytes, (b, batch) => Pattoo.Edge.Api.Ingest.PattooPayload.Parse(b, batch).Datapoints);
        var prom = ParseOnly(promBytes, (b, batch) => Pattoo.Edge.Api.Ingest.PrometheusText.Import(b, options, now, batch).Stored);
        if (json.Samples != prom.Samples) throw new InvalidOperationException($"the parsers read {json.Samples} and {prom.Samples} samples from the same data");
        output.WriteLine($"parse only, pattoo JSON:      {json.Rate,12:N0} samples/s, {json.Allocated,5:F0} bytes allocated/sample ({bytes.Sum(b => (long)b.Length) / (double)json.Samples:F0} bytes/sample of input; best of {Rounds})");
        output.WriteLine($"parse only, Prometheus text:  {prom.Rate,12:N0} samples/s, {prom.Allocated,5:F0} bytes allocated/sample ({promBytes.Sum(b => (long)b.Length) / (double)prom.Samples:F0} bytes/sample of input; best of {Rounds})");
        output.WriteLine($"ratio: Prometheus text parses {prom.Rate / json.Rate:F2}x the samples/s of pattoo JSON, allocating {prom.Allocated / json.Allocated:F2}x the bytes per sample");
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-bench-parse-" + Guid.NewGuid().ToString("N")[..8]);
        await using (var store = Pattoo.Edge.Storage.TimeSeriesStore.Open(new Pattoo.Edge.Storage.StorageOptions { Path = dir }))
        {
            var sw = Stopwatch.StartNew();
            int samples = 0;
            foreach (var b in bytes)
            {
                var batch = new SampleBatch(16384);
                samples += Pattoo.Edge.Api.Ingest.PattooPayload.Parse(b, batch).Datapoints;
                await store.WriteAsync(batch, default);
            }
            output.WriteLine($"parse and store, pattoo JSON: {samples / sw.Elapsed.TotalSeconds,12:N0} samples/s");
        }
        Directory.Delete(dir, true);
    }

    /// <summary>
    /// One untimed round (JIT, the parsers' series caches), then the fastest of <see cref="Rounds"/>
    /// rounds over every body, with the bytes this thread allocated per sample in that round.
    /// </summary>
    private static (int Samples, double Rate, double Allocated) ParseOnly(List<byte[]> bodies, Func<byte[], SampleBatch, int> parse)
    {
        int Round() { int n = 0; foreach (var b in bodies) n += parse(b, new SampleBatch(16384)); return n; }
        int samples = Round();
        double rate = 0, allocated = 0;
        for (int r = 0; r < Rounds; r++)
        {
            long bytes0 = GC.GetAllocatedBytesForCurrentThread();
            long t0 = Stopwatch.GetTimestamp();
            Round();
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (samples / seconds > rate) { rate = samples / seconds; allocated = (GC.GetAllocatedBytesForCurrentThread() - bytes0) / (double)samples; }
        }
        return (samples, rate, allocated);
    }
}

internal static class IngestQueryBenchData
{
    private const long Start = 1_700_000_000_000;

    public static List<string> Posts() => IngestQueryBench.BuildPattooPosts(IngestQueryBench.MakeValues(), Start).Take(20).ToList();

    /// <summary>The samples of <see cref="Posts"/> as Prometheus text, body for body.</summary>
    public static List<string> PrometheusPosts()
    {
        var values = IngestQueryBench.MakeValues();
        var all = Enumerable.Range(0, IngestQueryBench.Series).ToList();
        return Enumerable.Range(0, 20).Select(i => IngestQueryBench.BuildPrometheusText(values, Start, all, i * IngestQueryBench.PointsPerPost, (i + 1) * IngestQueryBench.PointsPerPost, counters: false)).ToList();
    }
}
