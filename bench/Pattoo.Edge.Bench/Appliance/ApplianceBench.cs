using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Pattoo.Edge.Bench.Appliance;

/// <summary>
/// The published binary (PATTOO_EDGE_BINARY) beside Debian's prometheus-node-exporter, the
/// tool a technician would otherwise install for host metrics: file size, start-to-ready
/// time (first HTTP answer) and resident memory after idling. Set PATTOO_BENCH_IDLE_SECONDS
/// (default 60) for the idle time; the figure is taken with 300.
/// </summary>
public static class ApplianceBench
{
    private const string NodeExporter = "/usr/bin/prometheus-node-exporter";

    public static async Task RunAsync(TextWriter output)
    {
        var binary = Environment.GetEnvironmentVariable("PATTOO_EDGE_BINARY");
        if (string.IsNullOrEmpty(binary) || !File.Exists(binary))
        {
            output.WriteLine("== appliance: skipped: PATTOO_EDGE_BINARY not set (./build.sh bench sets it)");
            return;
        }
        int idle = int.TryParse(Environment.GetEnvironmentVariable("PATTOO_BENCH_IDLE_SECONDS"), out var s) ? s : 60;
        bool peer = File.Exists(NodeExporter);
        output.WriteLine($"== appliance: start-to-ready (median of 5) and RSS after {idle} s idle");
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-bench-app-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);

        var ours = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            int port = BenchProcess.FreePort();
            var config = WriteConfig(dir, port, $"run{i}");
            ours.Add(await TimeToReady(binary, ["run", "--config", config], port, "/api/v1/health", dir, keep: false));
        }
        // From "/", where systemd starts a unit that sets no WorkingDirectory (it once cost 3-13 s).
        var fromRoot = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            int port = BenchProcess.FreePort();
            var config = WriteConfig(dir, port, $"root{i}");
            fromRoot.Add(await TimeToReady(binary, ["run", "--config", config], port, "/api/v1/health", "/", keep: false));
        }
        var theirs = new List<double>();
        if (peer)
        {
            for (int i = 0; i < 5; i++)
            {
                int port = BenchProcess.FreePort();
                theirs.Add(await TimeToReady(NodeExporter, [$"--web.listen-address=127.0.0.1:{port}"], port, "/metrics", dir, keep: false));
            }
        }
        double oursReady = Median(ours);
        output.WriteLine($"pattoo-edge     ready in {oursReady,7:F1} ms from its state directory, {Median(fromRoot),7:F1} ms from /, binary {new FileInfo(binary).Length / 1048576.0:F1} MiB");
        if (peer)
        {
            double theirReady = Median(theirs);
            output.WriteLine($"node_exporter   ready in {theirReady,7:F1} ms, binary {new FileInfo(NodeExporter).Length / 1048576.0:F1} MiB");
            output.WriteLine($"ratio: pattoo-edge takes {oursReady / theirReady:F2}x (state directory) and {Median(fromRoot) / theirReady:F2}x (from /) node_exporter's time to answer HTTP");
        }

        // Idle memory: both running at once, each polled as it would be (pattoo-edge polls itself every 10 s;
        // node_exporter is scraped every 10 s, as Prometheus would).
        int p1 = BenchProcess.FreePort(), p2 = BenchProcess.FreePort();
        using var a = BenchProcess.Start(binary, ["run", "--config", WriteConfig(dir, p1, "idle")], dir);
        using var b = peer ? BenchProcess.Start(NodeExporter, [$"--web.listen-address=127.0.0.1:{p2}"], dir) : null;
        using var http = new HttpClient();
        var until = DateTime.UtcNow.AddSeconds(idle);
        while (DateTime.UtcNow < until)
        {
            if (b is not null) { try { await http.GetStringAsync($"http://127.0.0.1:{p2}/metrics"); } catch (HttpRequestException) { } }
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, Math.Max(1, (until - DateTime.UtcNow).TotalSeconds))));
        }
        double rssOurs = RssMiB(a.Id);
        output.WriteLine($"pattoo-edge     RSS {rssOurs,6:F1} MiB after {idle} s (polling Linux metrics, storing them, serving HTTP)");
        if (b is not null)
        {
            double rssTheirs = RssMiB(b.Id);
            output.WriteLine($"node_exporter   RSS {rssTheirs,6:F1} MiB after {idle} s (exporting only; stores nothing)");
            output.WriteLine($"ratio: RSS {rssOurs / rssTheirs:F2}x node_exporter's");
            b.Kill();
        }
        a.Kill();
        await a.WaitForExitAsync();
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }

    private static string WriteConfig(string dir, int port, string name)
    {
        var file = Path.Combine(dir, name + ".toml");
        File.WriteAllText(file, $"[appliance]\nname = \"bench\"\n[server]\nlisten = \"127.0.0.1:{port}\"\n[storage]\npath = \"{dir}/{name}-data\"\n[log]\nlevel = \"warning\"\n");
        return file;
    }

    private static async Task<double> TimeToReady(string file, string[] args, int port, string path, string dir, bool keep)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var sw = Stopwatch.StartNew();
        using var p = BenchProcess.Start(file, args, dir);
        while (sw.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                var resp = await http.GetAsync($"http://127.0.0.1:{port}{path}");
                if (resp.IsSuccessStatusCode) break;
            }
            catch (SocketException) { await Task.Delay(2); }
            catch (HttpRequestException) { await Task.Delay(2); }
        }
        double ms = sw.Elapsed.TotalMilliseconds;
        if (!keep) { p.Kill(); await p.WaitForExitAsync(); }
        return ms;
    }

    private static double RssMiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        }
        return double.NaN;
    }

    private static double Median(List<double> v)
    {
        v.Sort();
        return v[v.Count / 2];
    }
}
