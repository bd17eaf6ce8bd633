using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Snmp;

namespace Pattoo.Edge.Bench.Snmp;

/// <summary>
/// Walks all of MIB-2 of one local snmpd with our poller and with net-snmp's snmpbulkwalk
/// (same max-repetitions), in one run, and prints wall and client CPU time per 100k varbinds
/// and their ratios. snmpd's own time is in the wall figures of both.
/// </summary>
public static class SnmpBench
{
    private const int Rounds = 20;
    private const int Repetitions = 25;

    public static async Task RunAsync(TextWriter output)
    {
        if (!File.Exists("/usr/sbin/snmpd") || !File.Exists("/usr/bin/snmpbulkwalk"))
        {
            output.WriteLine("snmp: snmpd or snmpbulkwalk missing (apt-get install snmpd snmp)");
            return;
        }
        var dir = Directory.CreateTempSubdirectory("pattoo-snmp-bench-").FullName;
        int port;
        using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)s.LocalEndPoint!).Port;
        }
        File.WriteAllLines(Path.Combine(dir, "snmpd.conf"), ["rocommunity bench 127.0.0.1", "dontLogTCPWrappersConnects yes"]);
        var psi = new ProcessStartInfo("/usr/sbin/snmpd") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-f", "-Lf", Path.Combine(dir, "log"), "-C", "-c", Path.Combine(dir, "snmpd.conf"), "-I", "-smux", $"udp:127.0.0.1:{port}" }) psi.ArgumentList.Add(a);
        psi.Environment["SNMP_PERSISTENT_DIR"] = dir;
        psi.Environment["MIBDIRS"] = Path.Combine(dir, "none");
        psi.Environment["MIBS"] = "";
        using var snmpd = Process.Start(psi)!;
        try
        {
            await Task.Delay(1000);
            var toml = $"""
                [[snmp.targets]]
                name = "bench"
                address = "127.0.0.1:{port}"
                community = "bench"
                timeout = "5s"
                max_repetitions = {Repetitions}
                  [[snmp.targets.oids]]
                  oid = "1.3.6.1.2.1"
                  key = "mib2"
                  walk = true
                  type = "string"
                """;
            var errors = new ConfigErrors();
            var root = new ConfigSection("bench.toml", "", TomlTree.Parse(toml, "bench.toml", errors), errors);
            var options = SnmpOptions.Bind(root.GetSection("snmp"));
            if (errors.Count > 0) throw new ConfigException(errors);
            var target = options.CreateTargets("bench").Single();
            var batch = new SampleBatch(8192);
            var report = new PollReport();
            await target.PollAsync(batch, report, CancellationToken.None); // warm-up: JIT, series keys
            long ours = 0;
            var me = Process.GetCurrentProcess();
            var cpu0 = me.TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            for (int i = 0; i < Rounds; i++)
            {
                batch.Clear();
                await target.PollAsync(batch, report, CancellationToken.None);
                ours += batch.Count;
            }
            double ourWall = wall.Elapsed.TotalSeconds;
            me.Refresh();
            double ourCpu = (me.TotalProcessorTime - cpu0).TotalSeconds;
            await target.DisposeAsync();

            // snmpbulkwalk: its CPU from the shell's `times` (children's user and system time).
            var script = $"for i in $(seq {Rounds}); do snmpbulkwalk -On -Cr{Repetitions} -v2c -c bench 127.0.0.1:{port} 1.3.6.1.2.1 >/dev/null; done; times";
            var sh = new ProcessStartInfo("/bin/bash") { UseShellExecute = false, RedirectStandardOutput = true };
            sh.ArgumentList.Add("-c");
            sh.ArgumentList.Add(script);
            sh.Environment["MIBDIRS"] = Path.Combine(dir, "none");
            sh.Environment["MIBS"] = "";
            wall.Restart();
            using var p = Process.Start(sh)!;
            string times = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            double theirWall = wall.Elapsed.TotalSeconds;
            double theirCpu = ParseChildTimes(times);
            var lines = new ProcessStartInfo("/bin/bash") { UseShellExecute = false, RedirectStandardOutput = true };
            lines.ArgumentList.Add("-c");
            lines.ArgumentList.Add($"snmpbulkwalk -On -Cr{Repetitions} -v2c -c bench 127.0.0.1:{port} 1.3.6.1.2.1 | wc -l");
            lines.Environment["MIBDIRS"] = Path.Combine(dir, "none");
            lines.Environment["MIBS"] = "";
            using var c = Process.Start(lines)!;
            long theirs = long.Parse((await c.StandardOutput.ReadToEndAsync()).Trim(), CultureInfo.InvariantCulture) * Rounds;
            await c.WaitForExitAsync();

            double Per100k(double seconds, long varbinds) => seconds / varbinds * 100_000;
            output.WriteLine($"snmp walk of MIB-2, {Rounds} rounds, max-repetitions {Repetitions}, {ours / Rounds} varbinds a walk:");
            output.WriteLine($"  pattoo-edge   wall {Per100k(ourWall, ours),7:F3} s  cpu {Per100k(ourCpu, ours),7:F3} s  per 100k varbinds");
            output.WriteLine($"  snmpbulkwalk  wall {Per100k(theirWall, theirs),7:F3} s  cpu {Per100k(theirCpu, theirs),7:F3} s  per 100k varbinds");
            output.WriteLine($"  ratio (ours/theirs): wall {Per100k(ourWall, ours) / Per100k(theirWall, theirs):F2}, cpu {Per100k(ourCpu, ours) / Per100k(theirCpu, theirs):F2}");
        }
        finally
        {
            snmpd.Kill();
            await snmpd.WaitForExitAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>bash `times` prints the shell's then the children's "user system" as "0m0.123s 0m0.045s".</summary>
    private static double ParseChildTimes(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        double total = 0;
        foreach (var part in lines[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int m = part.IndexOf('m');
            total += double.Parse(part[..m], CultureInfo.InvariantCulture) * 60 + double.Parse(part[(m + 1)..^1], CultureInfo.InvariantCulture);
        }
        return total;
    }
}
