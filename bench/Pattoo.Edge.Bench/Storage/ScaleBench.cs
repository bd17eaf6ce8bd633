using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Pattoo.Edge.Bench.Storage;

/// <summary>
/// The storage engine at a gateway's scale, through the published binary's HTTP entry points,
/// beside Debian's VictoriaMetrics in the same run: 10,000 series (100 devices x 100 points)
/// x PATTOO_SCALE_POINTS points (default 360: an hour at 10 s) in the mix a box polls (40%
/// gauges random-walking at 0.1 resolution, 30% integer counters rising 0..5000 a step, 20%
/// status integers changing rarely, 10% full float64 noise), plus one series of 8,640 points
/// (24 h). Prints, each beside the peer:
/// <list type="bullet">
/// <item>Prometheus-text import: the same 100,000-sample bodies over 2 connections (each owns
///   half the series, so no body overtakes an older one of its series): samples/s and server
///   CPU per sample (utime+stime of the process);</item>
/// <item>memory after a restart with the head full (VmRSS, VmHWM);</item>
/// <item>the cheapest GraphQL request on this store against the same binary empty; 24 h of
///   one series at 1,440 points against query_range at a 60 s step; the dashboard's browse
///   and overview requests;</item>
/// <item>bytes on disk per sample (du) once both have settled: the heads sealed, VictoriaMetrics flushed and merged.</item>
/// </list>
/// Runs with exact 10 s timestamps, then with 0-250 ms jitter (a poller's read jitter);
/// PATTOO_SCALE_JITTER=0 or 1 runs one of them; PATTOO_BENCH_KEEP=1 keeps the data directories.
/// </summary>
public static class ScaleBench
{
    private const int Devices = 100, PointsPerDevice = 100, Series = Devices * PointsPerDevice;
    private const long StepMs = 10_000;
    private const int Connections = 2, PointsPerBody = 20; // 5,000 series x 20 points = 100,000 samples a body
    private const int DayPoints = 8_640, Requests = 300;
    private static readonly TimeSpan ChunkSpan = TimeSpan.FromMinutes(1); // the config's chunk_span
    private const string VictoriaMetrics = "/usr/bin/victoria-metrics";

    public static async Task RunAsync(TextWriter output)
    {
        var binary = Environment.GetEnvironmentVariable("PATTOO_EDGE_BINARY");
        if (string.IsNullOrEmpty(binary) || !File.Exists(binary)) { output.WriteLine("== scale: skipped: PATTOO_EDGE_BINARY not set (./build.sh bench sets it)"); return; }
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("PATTOO_SCALE_POINTS"), out int r) && r >= PointsPerBody ? r / PointsPerBody * PointsPerBody : 360;
        var jitterRuns = Environment.GetEnvironmentVariable("PATTOO_SCALE_JITTER") switch { "0" => new[] { false }, "1" => [true], _ => [false, true] };
        foreach (bool jitter in jitterRuns) await RunOnceAsync(output, binary, rounds, jitter);
    }

    private sealed record Peer(string Name, Process Process, string Dir, int Port);

    private static async Task RunOnceAsync(TextWriter output, string binary, int rounds, bool jitter)
    {
        long samples = (long)Series * rounds;
        output.WriteLine($"== scale: {Series:N0} series x {rounds} points ({samples:N0} samples) + one of {DayPoints:N0} points, {(jitter ? "0-250 ms jitter" : "exact 10 s timestamps")}, beside VictoriaMetrics");
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-bench-scale-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        // The data ends a step before today (UTC): it lies in a day that is over, as almost all of
        // a box's data does, so both engines settle as they would (VictoriaMetrics merges its
        // parts, pattoo-edge writes day blocks). Near midnight the day blocks may not be due yet.
        long end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 86_400_000 * 86_400_000 - StepMs;
        var bodies = BuildBodies(rounds, end, jitter, out long bytes);
        string dayBody = BuildDaySeries(end);
        output.WriteLine($"bodies: {bodies.Sum(b => b.Count)} of {Series / Connections * PointsPerBody:N0} samples over {Connections} connections, {bytes / (double)samples:F0} bytes/sample; the same to both");

        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var edge = await StartEdge(binary, dir, http);
        Peer? vm = File.Exists(VictoriaMetrics) ? await StartVm(dir, http) : null;
        try
        {
            var emptyCheap = await Latencies(() => Graphql(http, edge, "{ appliance { name } }"));

            var (edgeRate, edgeCpu) = await Import(http, edge, "/api/v1/import/prometheus", bodies);
            await Post(http, edge, "/api/v1/import/prometheus", dayBody);
            long edgeStored = await EdgeSampleCount(http, edge);
            output.WriteLine($"pattoo-edge       import {edgeRate,12:N0} samples/s, {edgeCpu,5:F2} µs CPU/sample; stores {edgeStored:N0} of {samples + DayPoints:N0}");
            double vmRate = double.NaN, vmCpu = double.NaN;
            if (vm is not null)
            {
                (vmRate, vmCpu) = await Import(http, vm, "/api/v1/import/prometheus", bodies);
                await Post(http, vm, "/api/v1/import/prometheus", dayBody);
                (await http.GetAsync($"http://127.0.0.1:{vm.Port}/internal/force_flush")).Dispose();
                long vmStored = await VmSampleCount(http, vm, end);
                output.WriteLine($"VictoriaMetrics   import {vmRate,12:N0} samples/s, {vmCpu,5:F2} µs CPU/sample; stores {vmStored:N0}");
                output.WriteLine($"ratio: import rate {edgeRate / vmRate:F2}x VictoriaMetrics', CPU per sample {edgeCpu / vmCpu:F2}x");
            }
            if (edgeStored != samples + DayPoints) throw new InvalidOperationException($"pattoo-edge stored {edgeStored:N0} of {samples + DayPoints:N0} samples");

            // Memory: a restart replays the head (every sample above is unsealed: chunk_span is
            // 1 min from the start, and the restart begins it anew).
            edge = await RestartEdge(binary, edge, http);
            var sinceRestart = Stopwatch.StartNew();
            await Graphql(http, edge, "{ appliance { sampleCount } }");
            await Task.Delay(3000); // the store trims the heap a second after replaying a big head
            double rss = BenchProcess.StatusMiB(edge.Process.Id, "VmRSS"), hwm = BenchProcess.StatusMiB(edge.Process.Id, "VmHWM");
            long head = await HeadSamples(http, edge);
            output.WriteLine($"pattoo-edge       after a restart with {head:N0} samples in the head: VmRSS {rss:F1} MiB, VmHWM {hwm:F1} MiB" +
                (vm is null ? "" : $"; VictoriaMetrics holding the same: VmRSS {BenchProcess.StatusMiB(vm.Process.Id, "VmRSS"):F1} MiB"));
            // Again once the start is over: the host's first heap trim, 20 s after ready, also gives
            // back the executable's pages only the start used. The head is still full (chunk_span 1 min).
            await Task.Delay(TimeSpan.FromSeconds(30) - sinceRestart.Elapsed);
            double settledRss = BenchProcess.StatusMiB(edge.Process.Id, "VmRSS");
            output.WriteLine($"pattoo-edge       30 s after the restart, {await HeadSamples(http, edge):N0} samples in the head: VmRSS {settledRss:F1} MiB, VmHWM {BenchProcess.StatusMiB(edge.Process.Id, "VmHWM"):F1} MiB");

            // Reads on the full store, once the restarted store has sealed its head (chunk_span
            // 1 min): a seal of 1.6 million samples during the reads set their p99, not the reads.
            await WaitSealed(http, edge);
            var cheap = await Latencies(() => Graphql(http, edge, "{ appliance { name } }"));
            output.WriteLine($"pattoo-edge       {{ appliance {{ name }} }} p50 {P(cheap, 50):F2} ms p99 {P(cheap, 99):F2} ms; on the empty store p50 {P(emptyCheap, 50):F2} ms p99 {P(emptyCheap, 99):F2} ms: {P(cheap, 50) / P(emptyCheap, 50):F2}x");
            string idx = await DayIndex(http, edge);
            long from = end - (DayPoints - 1) * StepMs;
            // Both 24 h queries go over a lean keep-alive client (RawHttpClient): on 2 cores
            // HttpClient's own work was a fifth of a millisecond of each figure, for both systems.
            string dayQuery = "{\"query\":\"" + JsonEncodedText.Encode($"{{ timeseries(idxDatapoint: \"{idx}\", from: {from}, to: {end}, maxPoints: 1440) {{ timestamps values }} }}") + "\"}";
            var day = await RawLatencies(RawHttpClient.Request(new Uri($"http://127.0.0.1:{edge.Port}/graphql"), "application/json", Encoding.UTF8.GetBytes(dayQuery)), edge.Port, "\"values\":[", "pattoo-edge");
            string dayLine = $"pattoo-edge       24 h of one series as 1,440 points: p50 {P(day, 50):F2} ms p99 {P(day, 99):F2} ms";
            if (vm is not null)
            {
                string url = $"http://127.0.0.1:{vm.Port}/api/v1/query_range?query={Uri.EscapeDataString("avg_over_time(scale_day[60s])")}&start={from / 1000}&end={end / 1000}&step=60s";
                var vmDay = await RawLatencies(RawHttpClient.Get(new Uri(url)), vm.Port, "\"values\":[[", "VictoriaMetrics query_range");
                dayLine += $"; VictoriaMetrics query_range step 60 s: p50 {P(vmDay, 50):F2} ms p99 {P(vmDay, 99):F2} ms: {P(day, 50) / P(vmDay, 50):F2}x its time";
            }
            output.WriteLine(dayLine);
            var browse = await Latencies(() => Graphql(http, edge, "{ series(first: 201) { idxDatapoint key agentProgram agentPolledTarget dataType counter lastTimestamp pollingInterval name(language: \"en\") unit(language: \"en\") lastValue lastText labels { key value } } }", "\"series\":[{"), 50);
            var browseSearch = await Latencies(() => Graphql(http, edge, "{ series(first: 201, search: \"d42 p7\") { idxDatapoint key agentPolledTarget name(language: \"en\") unit(language: \"en\") lastValue lastText labels { key value } } }", "\"series\":[{"), 50);
            var overview = await Latencies(() => Graphql(http, edge, """
                { appliance { name version uptimeSeconds databaseBytes sampleCount seriesCount samplesWritten }
                  pollers { program name ok }
                  allAgent { edges { node { idxAgent agentProgram agentPolledTarget datapointAgent { totalCount } } } } }
                """, "\"allAgent\""), 50);
            output.WriteLine($"pattoo-edge       dashboard: browse p50 {P(browse, 50):F2} ms, browse search p50 {P(browseSearch, 50):F2} ms, overview p50 {P(overview, 50):F2} ms (p99 {P(browse, 99):F2} / {P(browseSearch, 99):F2} / {P(overview, 99):F2} ms)");

            // Size once settled: the heads sealed into chunks, VictoriaMetrics' parts flushed and merged.
            long stored = samples + DayPoints;
            var yearQuery = await YearChart(output, http, edge, vm, end);
            var sinceLastWrite = Stopwatch.StartNew();
            // Settled as a box whose data is at rest: its days compacted, and a chunk span (1 min
            // here) without samples, after which the head log gives back the room of the last burst.
            // du alone does not say compaction is over: a day of the year series changes it little.
            await WaitCompacted(Path.Combine(edge.Dir, "data", "pattoo-edge.db"), end + StepMs);
            long edgeDisk = await SettledDiskUsage(Path.Combine(edge.Dir, "data"));
            if (sinceLastWrite.Elapsed < ChunkSpan + TimeSpan.FromSeconds(5))
            {
                await Task.Delay(ChunkSpan + TimeSpan.FromSeconds(5) - sinceLastWrite.Elapsed);
                edgeDisk = await SettledDiskUsage(Path.Combine(edge.Dir, "data"));
            }
            // Again once the year is in day blocks: what a box that lived through the year answers.
            var settledYear = await Latencies(yearQuery, 50);
            output.WriteLine($"pattoo-edge       the same once its days are compacted (du settled): p50 {P(settledYear, 50):F2} ms p99 {P(settledYear, 99):F2} ms");
            // The cheapest request again, on the store at rest: the first figure shares the 2 cores with
            // the compaction of the imported days, which is background work, not a cost of the catalog.
            // Beside a second appliance on an empty store, one request to each in turn: the machine's
            // drift over the bench's minutes (0.11-0.27 ms for the same request) moves both alike.
            var empty = await StartEdge(binary, Path.Combine(dir, "empty"), http);
            try
            {
                var (full, none) = await AlternateLatencies(() => Graphql(http, edge, "{ appliance { name } }"), () => Graphql(http, empty, "{ appliance { name } }"));
                output.WriteLine($"pattoo-edge       {{ appliance {{ name }} }} on the store at rest: p50 {P(full, 50):F2} ms p99 {P(full, 99):F2} ms; an empty store's, asked in turn: p50 {P(none, 50):F2} ms p99 {P(none, 99):F2} ms: {P(full, 50) / P(none, 50):F2}x");
            }
            finally
            {
                empty.Process.Kill();
                await empty.Process.WaitForExitAsync();
                empty.Process.Dispose();
            }
            stored += YearPoints;
            // The head log is reused from the front after every seal: while samples come, its size is a recent head's, a constant, not a cost per sample.
            var files = Directory.GetFiles(Path.Combine(edge.Dir, "data")).ToDictionary(f => Path.GetFileName(f)!, BenchProcess.DiskUsage);
            long headLog = files.GetValueOrDefault("head.log") + files.GetValueOrDefault("head.2.log"); // the two take turns
            string sizeLine = $"bytes on disk per sample (du, settled): pattoo-edge {edgeDisk / (double)stored:F2} ({string.Join(", ", files.Where(f => f.Value > 0).Select(f => $"{f.Key} {f.Value / 1048576.0:F1} MiB"))}; without the head log {(edgeDisk - headLog) / (double)stored:F2})";
            if (vm is not null)
            {
                (await http.GetAsync($"http://127.0.0.1:{vm.Port}/internal/force_flush")).Dispose();
                long vmDisk = await SettledDiskUsage(vm.Dir);
                sizeLine += $", VictoriaMetrics {vmDisk / (double)stored:F2}: {edgeDisk / (double)vmDisk:F2}x";
            }
            output.WriteLine(sizeLine);
            // What grows with time: the samples' own bytes. Per series (catalog, VictoriaMetrics'
            // indexdb) and reused (head log) bytes are constants an hour of data makes look large.
            long chunkBytes = ChunkBytes(Path.Combine(edge.Dir, "data", "pattoo-edge.db"));
            string growLine = $"bytes per sample that grow with time: pattoo-edge's encoded chunks {chunkBytes / (double)stored:F2} (plus SQLite's page and row overhead)";
            if (vm is not null)
            {
                long vmData = BenchProcess.DiskUsage(Path.Combine(vm.Dir, "data"));
                growLine += $", VictoriaMetrics data/ {vmData / (double)stored:F2} (indexdb/ {BenchProcess.DiskUsage(Path.Combine(vm.Dir, "indexdb")) / 1048576.0:F1} MiB): {chunkBytes / (double)vmData:F2}x";
            }
            output.WriteLine(growLine);
        }
        finally
        {
            foreach (var p in new[] { edge.Process, vm?.Process })
            {
                if (p is null) continue;
                try { p.Kill(); await p.WaitForExitAsync(); } catch (InvalidOperationException) { }
                p.Dispose();
            }
            if (Environment.GetEnvironmentVariable("PATTOO_BENCH_KEEP") == "1") output.WriteLine($"kept {dir} (PATTOO_BENCH_KEEP=1)");
            else try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private const int YearPoints = 365 * 8_640;

    /// <summary>
    /// One year of one series at 10 s (3,153,600 points), posted oldest first to both, then
    /// charted at 1,000 points over the whole year (the store reads its rollups).
    /// </summary>
    private static async Task<Func<Task>> YearChart(TextWriter output, HttpClient http, Peer edge, Peer? vm, long end)
    {
        long start = end - (YearPoints - 1) * StepMs;
        var bodies = new List<byte[]>();
        var sb = new StringBuilder(8 << 20);
        var rng = new Random(365);
        double x = 20;
        for (int i = 0; i < YearPoints; i++)
        {
            if (i % 100_000 == 0)
            {
                if (sb.Length > 0) bodies.Add(Encoding.UTF8.GetBytes(sb.ToString()));
                sb.Clear().Append("# TYPE scale_year gauge\n");
            }
            x = Math.Round(x + (rng.NextDouble() - 0.5), 1);
            sb.Append("scale_year{device=\"d0\"} ").Append(x.ToString("R", CultureInfo.InvariantCulture)).Append(' ').Append(start + i * StepMs).Append('\n');
        }
        bodies.Add(Encoding.UTF8.GetBytes(sb.ToString()));
        foreach (var peer in vm is null ? [edge] : new[] { edge, vm })
        {
            foreach (var body in bodies)
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("text/plain");
                using var r = await http.PostAsync($"http://127.0.0.1:{peer.Port}/api/v1/import/prometheus", content);
                if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"{peer.Name} answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
            }
        }
        await WaitSealed(http, edge);
        using var doc = JsonDocument.Parse(await Graphql(http, edge, "{ series(key: \"scale_year\") { idxDatapoint } }"));
        string idx = doc.RootElement.GetProperty("data").GetProperty("series")[0].GetProperty("idxDatapoint").GetString()!;
        Func<Task> query = () => Graphql(http, edge, $"{{ timeseries(idxDatapoint: \"{idx}\", from: {start}, to: {end}, maxPoints: 1000) {{ timestamps values }} }}", "\"values\":[");
        var year = await Latencies(query, 50);
        string line = $"pattoo-edge       a year of one series ({YearPoints:N0} points) as 1,000 points, sealed, its 365 days being compacted meanwhile: p50 {P(year, 50):F2} ms p99 {P(year, 99):F2} ms";
        if (vm is not null)
        {
            (await http.GetAsync($"http://127.0.0.1:{vm.Port}/internal/force_flush")).Dispose();
            long step = (end - start) / 1000 / 1000 + 1;
            string url = $"http://127.0.0.1:{vm.Port}/api/v1/query_range?query={Uri.EscapeDataString($"avg_over_time(scale_year[{step}s])")}&start={start / 1000}&end={end / 1000}&step={step}s";
            var vmYear = await Latencies(async () => { var t = await http.GetStringAsync(url); Require(t, "\"values\":[[", "VictoriaMetrics query_range"); }, 50);
            line += $"; VictoriaMetrics query_range step {step} s: p50 {P(vmYear, 50):F2} ms p99 {P(vmYear, 99):F2} ms";
        }
        output.WriteLine(line);
        return query;
    }

    /// <summary>
    /// The samples as Prometheus text: for each connection, the series it owns (every other
    /// one), <see cref="PointsPerBody"/> points of each per body, oldest body first.
    /// </summary>
    private static List<List<byte[]>> BuildBodies(int rounds, long end, bool jitter, out long bytes)
    {
        var rng = new Random(15);
        var value = new double[Series];
        for (int s = 0; s < Series; s++) value[s] = Kind(s) switch { 0 => Math.Round(rng.NextDouble() * 100, 1), 1 => rng.Next(0, 1_000_000), 2 => rng.Next(0, 8), _ => 0 };
        var values = new double[rounds, Series];
        var stamps = new long[rounds, Series];
        long start = end - (rounds - 1) * StepMs;
        for (int p = 0; p < rounds; p++)
        {
            for (int s = 0; s < Series; s++)
            {
                value[s] = Kind(s) switch
                {
                    0 => Math.Round(value[s] + Math.Round((rng.NextDouble() - 0.5) * 2, 1), 1),
                    1 => value[s] + rng.Next(0, 5001),
                    2 => rng.Next(200) == 0 ? rng.Next(0, 8) : value[s],
                    _ => rng.NextDouble() * 1000,
                };
                values[p, s] = value[s];
                stamps[p, s] = start + p * StepMs + (jitter ? rng.Next(0, 250) : 0);
            }
        }
        var result = new List<List<byte[]>>();
        bytes = 0;
        var sb = new StringBuilder(8 << 20);
        for (int c = 0; c < Connections; c++)
        {
            var list = new List<byte[]>();
            for (int p0 = 0; p0 < rounds; p0 += PointsPerBody)
            {
                sb.Clear();
                sb.Append("# TYPE scale_counter counter\n# TYPE scale_gauge gauge\n# TYPE scale_status gauge\n# TYPE scale_noise gauge\n");
                for (int p = p0; p < p0 + PointsPerBody; p++)
                {
                    for (int s = c; s < Series; s += Connections)
                    {
                        sb.Append(Kind(s) switch { 0 => "scale_gauge", 1 => "scale_counter", 2 => "scale_status", _ => "scale_noise" })
                          .Append("{device=\"d").Append(s / PointsPerDevice).Append("\",point=\"p").Append(s % PointsPerDevice).Append("\"} ")
                          .Append(values[p, s].ToString("R", CultureInfo.InvariantCulture)).Append(' ').Append(stamps[p, s]).Append('\n');
                    }
                }
                var body = Encoding.UTF8.GetBytes(sb.ToString());
                bytes += body.Length;
                list.Add(body);
            }
            result.Add(list);
        }
        return result;
    }

    /// <summary>0 gauge (40%), 1 counter (30%), 2 status (20%), 3 noise (10%).</summary>
    private static int Kind(int series) => (series % 10) switch { < 4 => 0, < 7 => 1, < 9 => 2, _ => 3 };

    private static string BuildDaySeries(long end)
    {
        var sb = new StringBuilder("# TYPE scale_day gauge\n");
        double x = 20;
        var rng = new Random(24);
        for (int i = 0; i < DayPoints; i++)
        {
            x = Math.Round(x + (rng.NextDouble() - 0.5), 1);
            sb.Append("scale_day{device=\"d0\"} ").Append(x.ToString("R", CultureInfo.InvariantCulture)).Append(' ').Append(end - (DayPoints - 1 - i) * StepMs).Append('\n');
        }
        return sb.ToString();
    }

    private static async Task<Peer> StartEdge(string binary, string dir, HttpClient http)
    {
        var home = Path.Combine(dir, "edge");
        Directory.CreateDirectory(home);
        int port = BenchProcess.FreePort();
        // chunk_span 1 min: the heads are sealed soon after the import, so the size is measured
        // on chunks (the default seals every 2 h); everything else is the default.
        File.WriteAllText(Path.Combine(home, "edge.toml"),
            $"[server]\nlisten = \"127.0.0.1:{port}\"\n[storage]\npath = \"{home}/data\"\nchunk_span = \"{ChunkSpan.TotalMinutes:F0}m\"\n[api]\nmax_body = 268435456\n[log]\nlevel = \"warning\"\n[linux]\nenabled = false\n");
        var peer = new Peer("pattoo-edge", BenchProcess.Start(binary, ["run", "--config", Path.Combine(home, "edge.toml")], home), home, port);
        await BenchProcess.WaitHttp(http, $"http://127.0.0.1:{port}/api/v1/health");
        return peer;
    }

    private static async Task<Peer> RestartEdge(string binary, Peer edge, HttpClient http)
    {
        Process.Start("kill", ["-TERM", edge.Process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        await edge.Process.WaitForExitAsync();
        edge.Process.Dispose();
        var p = BenchProcess.Start(binary, ["run", "--config", Path.Combine(edge.Dir, "edge.toml")], edge.Dir);
        var restarted = edge with { Process = p };
        await BenchProcess.WaitHttp(http, $"http://127.0.0.1:{edge.Port}/api/v1/health", 120);
        return restarted;
    }

    private static async Task<Peer> StartVm(string dir, HttpClient http)
    {
        var home = Path.Combine(dir, "vm");
        Directory.CreateDirectory(home);
        int port = BenchProcess.FreePort();
        var peer = new Peer("VictoriaMetrics", BenchProcess.Start(VictoriaMetrics,
            [$"-httpListenAddr=127.0.0.1:{port}", $"-storageDataPath={home}", "-retentionPeriod=100y", "-search.latencyOffset=0s", "-loggerLevel=ERROR"], home), home, port);
        await BenchProcess.WaitHttp(http, $"http://127.0.0.1:{port}/health");
        return peer;
    }

    /// <summary>Posts every connection's bodies in order, the connections at once; returns samples/s and server µs CPU per sample.</summary>
    private static async Task<(double Rate, double CpuMicros)> Import(HttpClient http, Peer peer, string path, List<List<byte[]>> bodies)
    {
        long samples = (long)Series * bodies[0].Count * PointsPerBody;
        double cpu0 = BenchProcess.CpuSeconds(peer.Process.Id);
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(bodies.Select(async list =>
        {
            foreach (var body in list)
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("text/plain");
                using var r = await http.PostAsync($"http://127.0.0.1:{peer.Port}{path}", content);
                if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"{peer.Name} answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
            }
        }));
        double seconds = sw.Elapsed.TotalSeconds;
        double cpu = BenchProcess.CpuSeconds(peer.Process.Id) - cpu0;
        return (samples / seconds, cpu / samples * 1e6);
    }

    private static async Task Post(HttpClient http, Peer peer, string path, string body)
    {
        using var r = await http.PostAsync($"http://127.0.0.1:{peer.Port}{path}", new StringContent(body, Encoding.UTF8, "text/plain"));
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"{peer.Name} answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
    }

    private static async Task<string> Graphql(HttpClient http, Peer edge, string query, string? expect = null)
    {
        using var r = await http.PostAsync($"http://127.0.0.1:{edge.Port}/graphql", new StringContent("{\"query\":\"" + JsonEncodedText.Encode(query) + "\"}", Encoding.UTF8, "application/json"));
        var text = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode || text.Contains("\"errors\"")) throw new InvalidOperationException($"pattoo-edge answered {(int)r.StatusCode}: {text[..Math.Min(400, text.Length)]}");
        if (expect is not null) Require(text, expect, "pattoo-edge");
        return text;
    }

    private static void Require(string text, string expect, string who)
    {
        if (!text.Contains(expect, StringComparison.Ordinal)) throw new InvalidOperationException($"{who} answered without {expect}: {text[..Math.Min(400, text.Length)]}");
    }

    /// <summary>Milliseconds of <paramref name="n"/> calls after 20 warm-up calls, one at a time on a kept-alive connection.</summary>
    /// <summary><see cref="Latencies"/> of two calls made in turn, so that both see the machine in the same state.</summary>
    private static async Task<(List<double> A, List<double> B)> AlternateLatencies(Func<Task> a, Func<Task> b, int n = Requests, int warmup = 20)
    {
        for (int i = 0; i < warmup; i++) { await a(); await b(); }
        var ra = new List<double>(n);
        var rb = new List<double>(n);
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await a();
            ra.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            t0 = Stopwatch.GetTimestamp();
            await b();
            rb.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        return (ra, rb);
    }

    private static async Task<List<double>> Latencies(Func<Task> call, int n = Requests, int warmup = 20)
    {
        for (int i = 0; i < warmup; i++) await call();
        var result = new List<double>(n);
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await call();
            result.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        return result;
    }

    /// <summary><see cref="Latencies"/> of one request sent again and again on a keep-alive connection of <see cref="RawHttpClient"/>.</summary>
    private static async Task<List<double>> RawLatencies(byte[] request, int port, string expect, string who)
    {
        using var client = await RawHttpClient.ConnectAsync(port, default);
        // Steady state, for both: a server's first thousand requests of this size also pay for
        // the memory they allocate being faulted in (pattoo-edge's p50 halves over them).
        return await Latencies(async () =>
        {
            var (status, text) = await client.SendAsync(request);
            if (status != 200 || text.Contains("\"errors\"")) throw new InvalidOperationException($"{who} answered {status}: {text[..Math.Min(400, text.Length)]}");
            Require(text, expect, who);
        }, warmup: 1000);
    }

    private static double P(List<double> v, int percentile) => BenchProcess.Percentile(v, percentile);

    private static async Task<long> EdgeSampleCount(HttpClient http, Peer edge)
    {
        using var doc = JsonDocument.Parse(await Graphql(http, edge, "{ appliance { sampleCount } }"));
        return doc.RootElement.GetProperty("data").GetProperty("appliance").GetProperty("sampleCount").GetInt64();
    }

    private static async Task<long> HeadSamples(HttpClient http, Peer edge)
    {
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{edge.Port}/api/v1/health"));
        return doc.RootElement.GetProperty("head_samples").GetInt64();
    }

    private static async Task<string> DayIndex(HttpClient http, Peer edge)
    {
        using var doc = JsonDocument.Parse(await Graphql(http, edge, "{ series(key: \"scale_day\") { idxDatapoint } }"));
        return doc.RootElement.GetProperty("data").GetProperty("series")[0].GetProperty("idxDatapoint").GetString()!;
    }

    /// <summary>Every sample VictoriaMetrics holds of the bench's metrics, by a count over two days up to <paramref name="end"/>.</summary>
    private static async Task<long> VmSampleCount(HttpClient http, Peer vm, long end)
    {
        var url = $"http://127.0.0.1:{vm.Port}/api/v1/query?query={Uri.EscapeDataString("sum(count_over_time({__name__=~\"scale_.+\"}[2d]))")}&time={end / 1000 + 1}";
        using var doc = JsonDocument.Parse(await http.GetStringAsync(url));
        var result = doc.RootElement.GetProperty("data").GetProperty("result");
        return result.GetArrayLength() == 0 ? 0 : long.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    /// <summary>The bytes of the encoded chunks (read-only; the SQLite linked in has no dbstat for the pages).</summary>
    private static long ChunkBytes(string database)
    {
        using var db = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT sum(length(data)) FROM chunk";
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>
    /// Waits until every day before <paramref name="dayEnd"/> is compacted, at most 10 min: the
    /// year's import and the restart's seal send compaction back to the days they wrote.
    /// </summary>
    private static async Task WaitCompacted(string database, long dayEnd)
    {
        var until = DateTime.UtcNow.AddMinutes(10);
        while (true)
        {
            using (var db = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False"))
            {
                db.Open();
                using var cmd = db.CreateCommand();
                cmd.CommandText = "SELECT day_end FROM compaction WHERE id = 1";
                if (cmd.ExecuteScalar() is long through && through >= dayEnd) return;
            }
            if (DateTime.UtcNow > until) throw new TimeoutException("pattoo-edge did not compact the bench's days within 10 minutes");
            await Task.Delay(2000);
        }
    }

    /// <summary>Waits until the heads are sealed (chunk_span 1 min after the restart).</summary>
    private static async Task WaitSealed(HttpClient http, Peer edge)
    {
        var until = DateTime.UtcNow.AddMinutes(4);
        while (await HeadSamples(http, edge) > 0)
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("pattoo-edge did not seal its heads within 4 minutes");
            await Task.Delay(1000);
        }
    }

    /// <summary>du of a directory once it stops changing (VictoriaMetrics merges parts in the background), at most 2 min.</summary>
    private static async Task<long> SettledDiskUsage(string dir)
    {
        long last = BenchProcess.DiskUsage(dir);
        for (int i = 0; i < 24; i++)
        {
            await Task.Delay(5000);
            long now = BenchProcess.DiskUsage(dir);
            if (now == last) return now;
            last = now;
        }
        return last;
    }
}
