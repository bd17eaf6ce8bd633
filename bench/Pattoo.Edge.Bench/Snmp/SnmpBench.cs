using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Snmp;
using Pattoo.Edge.Protocols.Snmp;

namespace Pattoo.Edge.Bench.Snmp;

/// <summary>
/// Issue 4's benchmark. One snmpd, started here on 127.0.0.1 and a free high port, is walked
/// over the same subtree (all of MIB-2) with the same community and max-repetitions by three
/// clients, interleaved in each trial:
/// <list type="bullet">
/// <item>our poller (one walked OID, types "auto": decode, store, turn every value into a
/// sample, exactly what a poll does; no text the poller would not make);</item>
/// <item>net-snmp's snmpbulkwalk (one process per walk, output to /dev/null; CPU from bash's
/// `times` for its children);</item>
/// <item>Debian's prometheus-snmp-exporter, run here on 127.0.0.1 with a module generated from
/// the walk so that every varbind becomes a sample (one metric per column with gauge index
/// labels), scraped over HTTP; CPU from /proc/PID/stat utime+stime, varbinds from its own
/// snmp_scrape_pdus_returned.</item>
/// </list>
/// Prints wall and client CPU seconds per 100k varbinds for each, the ratios, and their spread
/// over the trials; then the codec alone on the captured responses. snmpd's own time is in
/// every wall figure. Nothing but 127.0.0.1 is contacted; every process started is stopped.
/// PATTOO_SNMP_BENCH_TRIALS sets the number of trials (default 3).
/// </summary>
public static class SnmpBench
{
    private const int Rounds = 20;
    internal const int Repetitions = 25;
    internal const string Community = "bench";
    internal const string Subtree = "1.3.6.1.2.1";
    internal const string Snmpd = "/usr/sbin/snmpd";
    internal const string BulkWalk = "/usr/bin/snmpbulkwalk";
    private const string Exporter = "/usr/bin/prometheus-snmp-exporter";

    private sealed record Figures(long Varbinds, double Wall, double Cpu)
    {
        public double WallPer100k => Wall / Varbinds * 100_000;
        public double CpuPer100k => Cpu / Varbinds * 100_000;
    }

    public static async Task RunAsync(TextWriter output)
    {
        if (!File.Exists(Snmpd) || !File.Exists(BulkWalk))
        {
            output.WriteLine("snmp: snmpd or snmpbulkwalk missing (apt-get install snmpd snmp)");
            return;
        }
        bool haveExporter = File.Exists(Exporter);
        if (!haveExporter) output.WriteLine("snmp: prometheus-snmp-exporter missing (apt-get install prometheus-snmp-exporter): measuring without it");
        int trials = int.TryParse(Environment.GetEnvironmentVariable("PATTOO_SNMP_BENCH_TRIALS"), NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t > 0 ? t : 3;
        await StopSystemServicesAsync(output);

        var dir = Directory.CreateTempSubdirectory("pattoo-snmp-bench-").FullName;
        var started = new List<Process>();
        int snmpPort = FreeUdpPort();
        try
        {
            started.Add(StartSnmpd(dir, snmpPort));

            // Our codec on a raw socket: waits for snmpd, captures one walk's responses (for the
            // codec figures) and the walk's OIDs and types (for the exporter's module).
            var capture = await CaptureWalkAsync(snmpPort);

            Process? exporter = null;
            string? scrapeUrl = null;
            string exporterVersion = "";
            if (haveExporter)
            {
                exporterVersion = VersionOf(await RunToEndAsync(Exporter, ["--version"], dir));
                int httpPort = FreeTcpPort();
                bool authsFormat = IsAtLeast(exporterVersion, 0, 23);
                File.WriteAllText(Path.Combine(dir, "snmp.yml"), ExporterConfig(capture.Varbinds, authsFormat));
                var e = new ProcessStartInfo(Exporter) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[] { $"--config.file={Path.Combine(dir, "snmp.yml")}", $"--web.listen-address=127.0.0.1:{httpPort}", "--log.level=warn" }) e.ArgumentList.Add(a);
                exporter = Process.Start(e)!;
                started.Add(exporter);
                _ = exporter.StandardOutput.ReadToEndAsync();
                var exporterErrors = exporter.StandardError.ReadToEndAsync();
                scrapeUrl = $"http://127.0.0.1:{httpPort}/snmp?target=127.0.0.1:{snmpPort}&module=bench" + (authsFormat ? "&auth=bench" : "");
                await WaitHttpAsync($"http://127.0.0.1:{httpPort}/", exporter, exporterErrors);
            }

            var errors = new ConfigErrors();
            var toml = $"""
                [[snmp.targets]]
                name = "bench"
                address = "127.0.0.1:{snmpPort}"
                community = "{Community}"
                timeout = "5s"
                max_repetitions = {Repetitions}
                  [[snmp.targets.oids]]
                  oid = "{Subtree}"
                  key = "mib2"
                  walk = true
                """;
            var root = new ConfigSection("bench.toml", "", TomlTree.Parse(toml, "bench.toml", errors), errors);
            var options = SnmpOptions.Bind(root.GetSection("snmp"));
            if (errors.Count > 0) throw new ConfigException(errors);
            await using var target = options.CreateTargets(new PollerContext("bench", "/nonexistent")).Single();
            var batch = new SampleBatch(16384);
            var report = new PollReport();
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(60) };

            // Warm-up: the JIT (tiering up the hot path), series keys, page cache of the tools.
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed < TimeSpan.FromSeconds(2))
            {
                batch.Clear();
                report.Clear();
                await target.PollAsync(batch, report, CancellationToken.None);
            }
            await MeasureBulkWalkAsync(dir, snmpPort, 1);
            if (exporter is not null) await MeasureExporterAsync(http, scrapeUrl!, exporter.Id, 1);

            output.WriteLine($"snmp: walk of {Subtree} (MIB-2) on one snmpd at 127.0.0.1:{snmpPort}, v2c, max-repetitions {Repetitions}, {Rounds} walks per tool per trial, {trials} trials interleaved");
            var ours = new List<Figures>();
            var bulk = new List<Figures>();
            var prom = new List<Figures>();
            long allocated = 0, allocatedVarbinds = 0;
            for (int trial = 1; trial <= trials; trial++)
            {
                var (o, bytes) = await MeasureOursAsync(target, batch, report);
                ours.Add(o);
                allocated += bytes;
                allocatedVarbinds += o.Varbinds;
                bulk.Add(await MeasureBulkWalkAsync(dir, snmpPort, Rounds));
                if (exporter is not null) prom.Add(await MeasureExporterAsync(http, scrapeUrl!, exporter.Id, Rounds));
                var line = new StringBuilder().Append(CultureInfo.InvariantCulture, $"  trial {trial}: pattoo-edge {o.WallPer100k:F3}/{o.CpuPer100k:F3}  snmpbulkwalk {bulk[^1].WallPer100k:F3}/{bulk[^1].CpuPer100k:F3}");
                if (prom.Count > 0) line.Append(CultureInfo.InvariantCulture, $"  snmp_exporter {prom[^1].WallPer100k:F3}/{prom[^1].CpuPer100k:F3}");
                output.WriteLine(line.Append("  (wall/cpu s per 100k varbinds)"));
            }

            output.WriteLine($"per 100k varbinds, median [min-max] of {trials} trials:");
            output.WriteLine("  tool                              varbinds/walk   wall s                  cpu s");
            Row(output, "pattoo-edge", ours);
            Row(output, $"snmpbulkwalk (net-snmp {VersionOf(await RunToEndAsync(BulkWalk, ["-V"], dir))})", bulk);
            if (prom.Count > 0) Row(output, $"snmp_exporter {exporterVersion}", prom);
            output.WriteLine("ratios ours/theirs, median [min-max] of the per-trial ratios:");
            Ratio(output, "vs snmpbulkwalk", ours, bulk);
            if (prom.Count > 0)
            {
                Ratio(output, "vs snmp_exporter", ours, prom);
                int met = Enumerable.Range(0, trials).Count(i => ours[i].CpuPer100k <= prom[i].CpuPer100k);
                output.WriteLine($"goal (our CPU per varbind at most snmp_exporter's): {(met == trials ? "met" : "NOT met")} in {met} of {trials} trials");
            }
            output.WriteLine($"pattoo-edge allocations: {(double)allocated / allocatedVarbinds:F1} bytes per varbind over the measured polls (whole process)");
            Codec(output, capture);
        }
        finally
        {
            foreach (var p in started)
            {
                try
                {
                    if (!p.HasExited) p.Kill(entireProcessTree: true);
                    await p.WaitForExitAsync();
                }
                catch (InvalidOperationException) { }
                p.Dispose();
            }
            try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static async Task<(Figures, long)> MeasureOursAsync(IPollTarget target, SampleBatch batch, PollReport report)
    {
        long varbinds = 0;
        var me = Process.GetCurrentProcess();
        me.Refresh();
        var cpu0 = me.TotalProcessorTime;
        long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < Rounds; i++)
        {
            batch.Clear();
            report.Clear();
            await target.PollAsync(batch, report, CancellationToken.None);
            // Every value of MIB-2 here is a number, string, address or OID: each is a sample;
            // anything skipped (e.g. an Opaque) still was a varbind decoded.
            varbinds += batch.Count + report.Problems.Count;
        }
        double w = wall.Elapsed.TotalSeconds;
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        me.Refresh();
        return (new Figures(varbinds, w, (me.TotalProcessorTime - cpu0).TotalSeconds), bytes);
    }

    /// <summary>snmpbulkwalk: CPU from the shell's `times` (children's user and system time); varbinds counted from one walk's lines.</summary>
    private static async Task<Figures> MeasureBulkWalkAsync(string dir, int port, int rounds)
    {
        string walk = $"{BulkWalk} -On -Cr{Repetitions} -v2c -c {Community} 127.0.0.1:{port} {Subtree}";
        string count = await RunToEndAsync("/bin/bash", ["-c", $"{walk} | grep -c '^\\.{Subtree.Replace(".", "\\.", StringComparison.Ordinal)}\\.'"], dir);
        long perWalk = long.Parse(count.Trim(), CultureInfo.InvariantCulture);
        var wall = Stopwatch.StartNew();
        string times = await RunToEndAsync("/bin/bash", ["-c", $"for i in $(seq {rounds}); do {walk} >/dev/null || exit 1; done; times"], dir);
        return new Figures(perWalk * rounds, wall.Elapsed.TotalSeconds, ParseChildTimes(times));
    }

    /// <summary>snmp_exporter: CPU from /proc/PID/stat utime+stime; varbinds as it reports them (snmp_scrape_pdus_returned).</summary>
    private static async Task<Figures> MeasureExporterAsync(HttpClient http, string url, int pid, int rounds)
    {
        long varbinds = 0;
        double cpu0 = ProcessCpuSeconds(pid);
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < rounds; i++)
        {
            using var response = await http.GetAsync(url);
            string body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"snmp_exporter answered {(int)response.StatusCode}: {body[..Math.Min(body.Length, 500)]}");
            varbinds += PdusReturned(body);
        }
        double w = wall.Elapsed.TotalSeconds;
        return new Figures(varbinds, w, ProcessCpuSeconds(pid) - cpu0);
    }

    private static long PdusReturned(string exposition)
    {
        foreach (var range in exposition.AsSpan().Split('\n'))
        {
            var line = exposition.AsSpan()[range];
            const string name = "snmp_scrape_pdus_returned ";
            if (line.StartsWith(name, StringComparison.Ordinal))
                return (long)double.Parse(line[name.Length..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException("snmp_exporter's answer has no snmp_scrape_pdus_returned");
    }

    private static double? _clockTicks;

    /// <summary>utime + stime of every thread of a process, from /proc/PID/stat (fields 14 and 15, in clock ticks).</summary>
    private static double ProcessCpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        _clockTicks ??= double.TryParse(RunToEndAsync("/usr/bin/getconf", ["CLK_TCK"], "/").GetAwaiter().GetResult().Trim(), CultureInfo.InvariantCulture, out double hz) && hz > 0 ? hz : 100;
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / _clockTicks.Value;
    }

    /// <summary>The responses of one walk, and each varbind's OID with the snmp_exporter type that reads it (null: none).</summary>
    private sealed record Capture(List<byte[]> Responses, List<(string Oid, string? Type)> Varbinds);

    /// <summary>Walks the subtree with GetBulk over a raw socket, keeping each response datagram and each varbind's OID and type.</summary>
    private static async Task<Capture> CaptureWalkAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var agent = new IPEndPoint(IPAddress.Loopback, port);
        var encoder = new SnmpEncoder();
        var send = new byte[1500];
        var recv = new byte[65536];
        var prefix = Oid.Parse(Subtree);
        byte[] next = prefix;
        var capture = new Capture([], []);
        int requestId = 1;
        var ready = Stopwatch.StartNew();
        while (true)
        {
            encoder.TryWriteCommunityRequest(send, SnmpVersion.V2c, Encoding.ASCII.GetBytes(Community), PduType.GetBulkRequest, ++requestId, 0, Repetitions, [next], out int n);
            await socket.SendToAsync(send.AsMemory(0, n), agent);
            int got;
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
            {
                try { got = (await socket.ReceiveFromAsync(recv, new IPEndPoint(IPAddress.Any, 0), timeout.Token)).ReceivedBytes; }
                catch (OperationCanceledException) when (ready.Elapsed < TimeSpan.FromSeconds(15) && capture.Responses.Count == 0) { continue; } // snmpd still starting
            }
            var datagram = recv.AsSpan(0, got).ToArray();
            var m = SnmpDecoder.ReadMessage(datagram);
            var h = SnmpDecoder.ReadPduHeader(datagram, m.Pdu);
            if (h.RequestId != requestId) continue; // a late answer to a try made while snmpd started
            if (h.ErrorStatus != 0) throw new InvalidOperationException($"snmpd answered with error-status {h.ErrorStatus}");
            capture.Responses.Add(datagram);
            var reader = new VarbindReader(datagram, h.Varbinds);
            bool end = false;
            while (reader.TryRead(out var vb))
            {
                if (vb.Type == SnmpValueType.EndOfMibView || !Oid.IsUnder(vb.Oid, prefix)) { end = true; break; }
                capture.Varbinds.Add((Oid.Format(vb.Oid), ExporterType(vb)));
                next = vb.Oid.ToArray();
            }
            if (end) return capture;
        }
    }

    /// <summary>
    /// An snmp.yml module that walks the subtree and makes a sample of every varbind, as the
    /// generator would from MIBs (none are installed here): the OID tree is cut into nodes
    /// whose varbinds share one type (in practice a table column, or a group of scalars), each
    /// a metric with as many gauge index labels as its deepest suffix.
    /// </summary>
    private static string ExporterConfig(List<(string Oid, string? Type)> varbinds, bool authsFormat)
    {
        var items = new List<(uint[] Arcs, string Type)>();
        foreach (var (oid, type) in varbinds)
            if (type is not null) items.Add((oid.Split('.').Select(a => uint.Parse(a, CultureInfo.InvariantCulture)).ToArray(), type));
        var metrics = new List<(uint[] Prefix, string Type, int Indexes)>();
        int rootDepth = Subtree.Split('.').Length;
        void Partition(uint[] prefix, List<(uint[] Arcs, string Type)> under)
        {
            int depth = prefix.Length;
            int k = under.Max(v => v.Arcs.Length - depth);
            bool oneType = under.All(v => v.Type == under[0].Type);
            bool unique = under.Select(v => string.Join('.', v.Arcs.Skip(depth).Concat(Enumerable.Repeat(0u, k - (v.Arcs.Length - depth))))).Distinct().Count() == under.Count;
            if (depth > rootDepth && oneType && unique)
            {
                metrics.Add((prefix, under[0].Type, k));
                return;
            }
            foreach (var g in under.Where(v => v.Arcs.Length > depth).GroupBy(v => v.Arcs[depth]).OrderBy(g => g.Key))
                Partition([.. prefix, g.Key], g.ToList());
        }
        Partition(Subtree.Split('.').Select(a => uint.Parse(a, CultureInfo.InvariantCulture)).ToArray(), items);

        var y = new StringBuilder();
        string indent = authsFormat ? "    " : "  ";
        if (authsFormat) y.Append(CultureInfo.InvariantCulture, $"auths:\n  bench:\n    community: {Community}\n    version: 2\nmodules:\n  bench:\n");
        else y.Append("bench:\n");
        y.Append(CultureInfo.InvariantCulture, $"{indent}walk: [{Subtree}]\n");
        if (!authsFormat) y.Append(CultureInfo.InvariantCulture, $"{indent}version: 2\n{indent}auth:\n{indent}  community: {Community}\n");
        y.Append(CultureInfo.InvariantCulture, $"{indent}max_repetitions: {Repetitions}\n{indent}retries: 0\n{indent}timeout: 10s\n{indent}metrics:\n");
        foreach (var (prefix, type, indexes) in metrics)
        {
            string oid = string.Join('.', prefix);
            y.Append(CultureInfo.InvariantCulture, $"{indent}- name: m_{oid.Replace('.', '_')}\n{indent}  oid: {oid}\n{indent}  type: {type}\n");
            if (indexes == 0) continue;
            y.Append(CultureInfo.InvariantCulture, $"{indent}  indexes:\n");
            for (int i = 1; i <= indexes; i++) y.Append(CultureInfo.InvariantCulture, $"{indent}  - labelname: i{i}\n{indent}    type: gauge\n");
        }
        return y.ToString();
    }

    /// <summary>
    /// How snmp_exporter is told to read a value, as the generator would from the MIB:
    /// counters, gauges, text (DisplayString: label value; it must be valid UTF-8), octets
    /// (OctetString: hex label value).
    /// </summary>
    private static string? ExporterType(in Varbind vb) => vb.Type switch
    {
        SnmpValueType.Counter32 or SnmpValueType.Counter64 => "counter",
        SnmpValueType.Integer or SnmpValueType.Gauge32 or SnmpValueType.TimeTicks => "gauge",
        SnmpValueType.OctetString => System.Text.Unicode.Utf8.IsValid(vb.Value) && !vb.Value.ContainsAnyInRange((byte)0, (byte)0x1F) && !vb.Value.Contains((byte)0x7F) ? "DisplayString" : "OctetString",
        SnmpValueType.IpAddress or SnmpValueType.ObjectIdentifier => "DisplayString",
        _ => null,
    };

    /// <summary>The codec alone on the captured responses: message, PDU header, every varbind's name and value read.</summary>
    private static void Codec(TextWriter output, Capture capture)
    {
        long varbinds = 0;
        double sink = 0;
        void Once()
        {
            foreach (var d in capture.Responses)
            {
                var m = SnmpDecoder.ReadMessage(d);
                var h = SnmpDecoder.ReadPduHeader(d, m.Pdu);
                var reader = new VarbindReader(d, h.Varbinds);
                while (reader.TryRead(out var vb))
                {
                    varbinds++;
                    sink += vb.IsNumber ? vb.ToDouble() : vb.Value.Length + vb.Oid.Length;
                }
            }
        }
        for (int i = 0; i < 50; i++) Once();
        varbinds = 0;
        long alloc0 = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        int rounds = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(1) || rounds < 10) { Once(); rounds++; }
        double ns = clock.Elapsed.TotalNanoseconds / varbinds;
        long bytes = GC.GetAllocatedBytesForCurrentThread() - alloc0;
        output.WriteLine($"codec alone (ReadMessage + ReadPduHeader + VarbindReader on {capture.Responses.Count} captured responses): {ns:F0} ns per varbind, {bytes} bytes allocated in {varbinds} varbinds");
        Sink = sink;
    }

    /// <summary>Keeps the codec loop's results alive.</summary>
    public static double Sink { get; private set; }

    private static void Row(TextWriter output, string name, List<Figures> f)
        => output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {name,-33} {f.Average(x => (double)x.Varbinds) / Rounds,8:F0}        {Spread(f.Select(x => x.WallPer100k))}   {Spread(f.Select(x => x.CpuPer100k))}"));

    private static void Ratio(TextWriter output, string name, List<Figures> ours, List<Figures> theirs)
    {
        var wall = ours.Zip(theirs, (o, t) => o.WallPer100k / t.WallPer100k);
        var cpu = ours.Zip(theirs, (o, t) => o.CpuPer100k / t.CpuPer100k);
        output.WriteLine($"  {name,-18} wall {Spread(wall)}   cpu {Spread(cpu)}");
    }

    private static string Spread(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        double median = v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
        return string.Create(CultureInfo.InvariantCulture, $"{median,6:F3} [{v[0]:F3}-{v[^1]:F3}]");
    }

    /// <summary>Debian's snmpd on 127.0.0.1:<paramref name="port"/>, read-only community <c>bench</c>, its files in <paramref name="dir"/>.</summary>
    internal static Process StartSnmpd(string dir, int port)
    {
        File.WriteAllLines(Path.Combine(dir, "snmpd.conf"), [$"rocommunity {Community} 127.0.0.1", "dontLogTCPWrappersConnects yes"]);
        var psi = new ProcessStartInfo(Snmpd) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-f", "-Lf", Path.Combine(dir, "log"), "-C", "-c", Path.Combine(dir, "snmpd.conf"), "-I", "-smux", $"udp:127.0.0.1:{port}" }) psi.ArgumentList.Add(a);
        NoMibs(psi, dir);
        psi.Environment["SNMP_PERSISTENT_DIR"] = dir;
        return Process.Start(psi)!;
    }

    /// <summary>
    /// Debian starts snmpd and prometheus-snmp-exporter as system services on install (on
    /// 0.0.0.0:161 and :9116); they would add noise, so they are stopped and disabled where
    /// systemd runs. Without systemd nothing was started and nothing is done.
    /// </summary>
    internal static async Task StopSystemServicesAsync(TextWriter output)
    {
        if (!Directory.Exists("/run/systemd/system")) return;
        string systemctl = File.Exists("/usr/bin/systemctl") ? "/usr/bin/systemctl" : "/bin/systemctl";
        if (!File.Exists(systemctl)) return;
        var psi = new ProcessStartInfo(systemctl) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "disable", "--now", "prometheus-snmp-exporter", "snmpd" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string err = await p.StandardError.ReadToEndAsync();
        await stdout;
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) output.WriteLine($"snmp: systemctl disable --now prometheus-snmp-exporter snmpd: exit {p.ExitCode}: {err.Trim()}");
    }

    private static async Task WaitHttpAsync(string url, Process process, Task<string> errors)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"prometheus-snmp-exporter exited: {await errors}");
            try
            {
                using var r = await http.GetAsync(url);
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (clock.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException($"prometheus-snmp-exporter did not answer on {url}");
            await Task.Delay(100);
        }
    }

    /// <summary>Runs a program to its end with net-snmp's MIB loading off; returns stdout then stderr.</summary>
    internal static async Task<string> RunToEndAsync(string file, string[] args, string dir)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        NoMibs(psi, dir);
        using var p = Process.Start(psi)!;
        try
        {
            var err = p.StandardError.ReadToEndAsync();
            string text = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            return text + await err;
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }

    internal static void NoMibs(ProcessStartInfo psi, string dir)
    {
        psi.Environment["MIBDIRS"] = Path.Combine(dir, "none");
        psi.Environment["MIBS"] = "";
    }

    /// <summary>The first dotted version number in a tool's version text ("0.21.0", "5.9.3").</summary>
    internal static string VersionOf(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, @"\d+\.\d+(\.\d+)?");
        return m.Success ? m.Value : "?";
    }

    private static bool IsAtLeast(string version, int major, int minor)
    {
        var parts = version.Split('.');
        return parts.Length >= 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out int a) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out int b)
            && (a > major || (a == major && b >= minor));
    }

    internal static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static int FreeTcpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>bash `times` prints the shell's then the children's "user system" as "0m0.123s 0m0.045s".</summary>
    internal static double ParseChildTimes(string text)
    {
        var last = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\d+m[\d.]+s \d+m[\d.]+s$"));
        double total = 0;
        foreach (var part in last.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int m = part.IndexOf('m');
            total += double.Parse(part[..m], CultureInfo.InvariantCulture) * 60 + double.Parse(part[(m + 1)..^1], CultureInfo.InvariantCulture);
        }
        return total;
    }
}
