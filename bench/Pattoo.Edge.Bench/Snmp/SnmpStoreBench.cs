using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.Bench.Snmp;

/// <summary>
/// Issue 15's poll-to-store benchmark, through the published binary as a box runs it: one snmpd
/// on 127.0.0.1 (started here), the appliance walking all of MIB-2 (1.3.6.1.2.1) every 10 s,
/// v2c, max-repetitions 25, storing every value; over <c>PATTOO_SNMP_STORE_WALKS</c> walks (6
/// by default, a minute) after two walks of warm-up (the first creates every series), the
/// appliance's CPU (utime+stime of the whole process, its idle work between polls included) and
/// snmpd's. Then, on the same snmpd, Net-SNMP's snmpbulkwalk makes as many walks of the same
/// subtree with the same max-repetitions, at the same 10 s cadence (one process per walk, its
/// output to /dev/null; CPU from bash's <c>times</c>), and snmpd's CPU while it answers them.
/// Ratios per varbind walked.
/// </summary>
public static class SnmpStoreBench
{
    private const int IntervalSeconds = 10;

    public static async Task RunAsync(TextWriter output)
    {
        var binary = Environment.GetEnvironmentVariable("PATTOO_EDGE_BINARY");
        if (string.IsNullOrEmpty(binary) || !File.Exists(binary)) { output.WriteLine("== snmp-store: skipped: PATTOO_EDGE_BINARY not set (./build.sh bench sets it)"); return; }
        if (!File.Exists(SnmpBench.Snmpd) || !File.Exists(SnmpBench.BulkWalk)) { output.WriteLine("== snmp-store: skipped: snmpd or snmpbulkwalk missing (apt-get install snmpd snmp)"); return; }
        int walks = int.TryParse(Environment.GetEnvironmentVariable("PATTOO_SNMP_STORE_WALKS"), NumberStyles.None, CultureInfo.InvariantCulture, out int w) && w > 0 ? w : 6;
        await SnmpBench.StopSystemServicesAsync(output);
        string dir = Directory.CreateTempSubdirectory("pattoo-bench-snmp-store-").FullName;
        int snmpPort = SnmpBench.FreeUdpPort(), httpPort = BenchProcess.FreePort();
        using var snmpd = SnmpBench.StartSnmpd(dir, snmpPort);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
        Process? edge = null;
        try
        {
            string walk = $"{SnmpBench.BulkWalk} -On -Cr{SnmpBench.Repetitions} -v2c -c {SnmpBench.Community} 127.0.0.1:{snmpPort} {SnmpBench.Subtree}";
            long perWalk = await VarbindsPerWalk(walk, dir);
            File.WriteAllText(Path.Combine(dir, "edge.toml"), $"""
                [server]
                listen = "127.0.0.1:{httpPort}"
                [storage]
                path = "{dir}/data"
                [log]
                level = "warning"
                [linux]
                enabled = false
                [[snmp.targets]]
                name = "bench"
                address = "127.0.0.1:{snmpPort}"
                community = "{SnmpBench.Community}"
                interval = "{IntervalSeconds}s"
                timeout = "5s"
                max_repetitions = {SnmpBench.Repetitions}
                  [[snmp.targets.oids]]
                  oid = "{SnmpBench.Subtree}"
                  key = "mib2"
                  walk = true
                """);
            edge = BenchProcess.Start(binary, ["run", "--config", Path.Combine(dir, "edge.toml")], dir);
            await BenchProcess.WaitHttp(http, $"http://127.0.0.1:{httpPort}/api/v1/health");
            output.WriteLine($"== snmp-store: the published binary walking MIB-2 ({perWalk:N0} varbinds) from snmpd every {IntervalSeconds} s and storing it, {walks} walks after 2 of warm-up, beside snmpbulkwalk making as many walks");

            // The window holds no request to the appliance (an API request costs more CPU than a
            // walk's share of a second): it opens a second after a poll and closes as many
            // intervals later, a second after the last of its polls.
            long polls = await WaitPolls(http, httpPort, 2, TimeSpan.FromSeconds(60));
            await Task.Delay(1000);
            long written0 = await SamplesWritten(http, httpPort);
            double edgeCpu0 = BenchProcess.CpuSeconds(edge.Id), snmpdCpu0 = BenchProcess.CpuSeconds(snmpd.Id);
            await Task.Delay(TimeSpan.FromSeconds(IntervalSeconds * walks));
            double edgeCpu = BenchProcess.CpuSeconds(edge.Id) - edgeCpu0, snmpdForEdge = BenchProcess.CpuSeconds(snmpd.Id) - snmpdCpu0;
            long stored = await SamplesWritten(http, httpPort) - written0;
            long done = await WaitPolls(http, httpPort, 0, TimeSpan.Zero);
            if (done != polls + walks) throw new InvalidOperationException($"{done - polls} polls in the window of {walks} intervals (a poll took longer than a second more than the others?)");
            double rss = BenchProcess.StatusMiB(edge.Id, "VmRSS");
            edge.Kill();
            await edge.WaitForExitAsync();

            double snmpd1 = BenchProcess.CpuSeconds(snmpd.Id);
            // At the appliance's cadence: snmpd keeps some tables (the installed software, the
            // processes) in caches of a few seconds, and walks back to back would find them warm.
            string loop = $"for i in $(seq {walks}); do s=$(date +%s%3N); {walk} >/dev/null || exit 1; "
                + $"e=$(( {IntervalSeconds * 1000} - ($(date +%s%3N) - s) )); [ $e -gt 0 ] && sleep $(printf '%d.%03d' $((e / 1000)) $((e % 1000))); done; times";
            string times = await SnmpBench.RunToEndAsync("/bin/bash", ["-c", loop], dir);
            double bulkCpu = SnmpBench.ParseChildTimes(times), snmpdForBulk = BenchProcess.CpuSeconds(snmpd.Id) - snmpd1;

            long varbinds = perWalk * walks;
            double Us(double seconds) => seconds / varbinds * 1e6;
            output.WriteLine($"{"",-34} {"CPU µs/varbind",15} {"snmpd's CPU µs/varbind answering",33}");
            output.WriteLine($"{"pattoo-edge (poll, store)",-34} {Us(edgeCpu),15:F2} {Us(snmpdForEdge),33:F2}   ({stored:N0} samples stored, {edgeCpu / Math.Max(1, stored) * 1e6:F2} µs each; VmRSS {rss:F1} MiB)");
            output.WriteLine($"{$"snmpbulkwalk (net-snmp {SnmpBench.VersionOf(await SnmpBench.RunToEndAsync(SnmpBench.BulkWalk, ["-V"], dir))})",-34} {Us(bulkCpu),15:F2} {Us(snmpdForBulk),33:F2}");
            output.WriteLine($"ratio pattoo-edge/snmpbulkwalk: CPU per varbind {edgeCpu / bulkCpu:F2}x (goal <= 1), snmpd's CPU per varbind {snmpdForEdge / snmpdForBulk:F2}x (goal <= 1)");
        }
        finally
        {
            foreach (var p in new[] { edge, snmpd })
            {
                if (p is null) continue;
                try { if (!p.HasExited) { p.Kill(entireProcessTree: true); await p.WaitForExitAsync(); } }
                catch (InvalidOperationException) { }
            }
            edge?.Dispose();
            if (Environment.GetEnvironmentVariable("PATTOO_BENCH_KEEP") != "1") { try { Directory.Delete(dir, true); } catch (IOException) { } }
        }
    }

    /// <summary>Varbinds one walk of the subtree returns (waiting for snmpd to answer).</summary>
    private static async Task<long> VarbindsPerWalk(string walk, string dir)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            string count = await SnmpBench.RunToEndAsync("/bin/bash", ["-c", $"{walk} 2>/dev/null | grep -c '^\\.{SnmpBench.Subtree.Replace(".", "\\.", StringComparison.Ordinal)}\\.'"], dir);
            if (long.TryParse(count.Trim(), CultureInfo.InvariantCulture, out long n) && n > 0) return n;
            if (DateTime.UtcNow > until) throw new TimeoutException("snmpd did not answer a walk within 20 s");
            await Task.Delay(200);
        }
    }

    /// <summary>Waits until the SNMP target has completed at least <paramref name="atLeast"/> polls; returns how many it has.</summary>
    private static async Task<long> WaitPolls(HttpClient http, int port, long atLeast, TimeSpan within)
    {
        var until = DateTime.UtcNow + within;
        while (true)
        {
            var data = await BenchProcess.GraphQL(http, port, "{ pollers(program: \"snmp\") { polls ok lastError } }");
            var target = data.GetProperty("pollers")[0];
            long polls = target.GetProperty("polls").GetInt64();
            if (polls >= atLeast)
            {
                if (!target.GetProperty("ok").GetBoolean()) throw new InvalidOperationException($"the SNMP poll failed: {target.GetProperty("lastError")}");
                return polls;
            }
            if (DateTime.UtcNow > until) throw new TimeoutException($"{polls} of {atLeast} polls within {within.TotalSeconds:F0} s");
            await Task.Delay(20); // before the window only: it ends a second after the poll
        }
    }

    private static async Task<long> SamplesWritten(HttpClient http, int port)
        => (await BenchProcess.GraphQL(http, port, "{ appliance { samplesWritten } }")).GetProperty("appliance").GetProperty("samplesWritten").GetInt64();
}
