using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Forward;

/// <summary>
/// Debian's Prometheus on 127.0.0.1, both ways: the box forwards to it (remote_write, with
/// <c>--web.enable-remote-write-receiver</c>) and it scrapes the box's <c>/metrics</c>.
/// </summary>
public class PrometheusForwardEndToEndTests
{
    private const string Prometheus = "/usr/bin/prometheus";
    private const int Series = 10, Points = 60, Step = 10_000;

    [Fact]
    public async Task PrometheusReceivesEverySampleAndScrapesTheBox()
    {
        Assert.True(File.Exists(Prometheus), $"{Prometheus} is missing: apt-get install prometheus (./build.sh test installs it)");
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-fwprom-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int promPort = EdgeProcess.FreePort(), edgePort = EdgeProcess.FreePort();
        string config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"""
            [appliance]
            name = "prom-box"
            [server]
            listen = "127.0.0.1:{edgePort}"
            [storage]
            path = "{dir}/data"
            [linux]
            enabled = false
            [[forward.remote_write]]
            name = "prometheus"
            url = "http://127.0.0.1:{promPort}/api/v1/write"
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: edge
                static_configs:
                  - targets: ["127.0.0.1:{edgePort}"]
            """);
        Process? prometheus = null;
        EdgeProcess? edge = null;
        try
        {
            edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            var psi = new ProcessStartInfo(Prometheus) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { $"--config.file={dir}/prometheus.yml", $"--storage.tsdb.path={dir}/prom", $"--web.listen-address=127.0.0.1:{promPort}", "--web.enable-remote-write-receiver", "--log.level=error" })
                psi.ArgumentList.Add(a);
            prometheus = Process.Start(psi)!;
            prometheus.OutputDataReceived += (_, _) => { };
            prometheus.ErrorDataReceived += (_, _) => { };
            prometheus.BeginOutputReadLine();
            prometheus.BeginErrorReadLine();

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{edgePort}") };
            long start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Step - Points - 2) * Step;
            for (int p = 0; p < Points; p++)
            {
                var sb = new StringBuilder("# TYPE fwp_gauge gauge\n");
                for (int s = 0; s < Series; s++)
                    sb.Append("fwp_gauge{s=\"").Append(s).Append("\"} ").Append((s + p * 0.25).ToString("R", CultureInfo.InvariantCulture)).Append(' ').Append(start + (long)p * Step).Append('\n');
                using var r = await http.PostAsync("/api/v1/import/prometheus?interval=10s", new StringContent(sb.ToString(), Encoding.UTF8, "text/plain"));
                Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
            }

            using var prom = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{promPort}"), Timeout = TimeSpan.FromSeconds(10) };
            // Remote-written series carry job = the agent program; scraped ones job = "edge".
            double received = await WaitForValue(prom, "sum(count_over_time(fwp_gauge{job!=\"edge\"}[1h]))", Series * Points);
            Assert.Equal(Series * Points, received);
            double exact = await WaitForValue(prom, $"fwp_gauge{{job!=\"edge\",s=\"7\",appliance=\"prom-box\"}} @ {(start + (long)(Points - 1) * Step) / 1000}", 7 + (Points - 1) * 0.25);
            Assert.Equal(7 + (Points - 1) * 0.25, exact);
            // And Prometheus scrapes the box: its own metrics, and the forwarder's count of what it sent.
            double sent = await WaitForValue(prom, "pattoo_edge_forward_samples_sent_total{job=\"edge\",forwarder=\"prometheus\"}", Series * Points);
            Assert.Equal(Series * Points, sent);
        }
        finally
        {
            if (edge is not null) await edge.DisposeAsync();
            if (prometheus is not null) { try { prometheus.Kill(); prometheus.WaitForExit(10_000); } catch (InvalidOperationException) { } prometheus.Dispose(); }
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>Polls an instant query until it answers <paramref name="expected"/> (or a minute passes); returns the last value.</summary>
    private static async Task<double> WaitForValue(HttpClient prom, string query, double expected)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        double last = double.NaN;
        string answer = "";
        while (DateTime.UtcNow < until)
        {
            try
            {
                answer = await prom.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString(query));
                var result = JsonDocument.Parse(answer).RootElement.GetProperty("data").GetProperty("result");
                if (result.GetArrayLength() > 0)
                {
                    last = double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
                    if (last == expected) return last;
                }
            }
            catch (HttpRequestException) { }
            await Task.Delay(500);
        }
        throw new Xunit.Sdk.XunitException($"Prometheus never answered {expected} to {query}; last {last}: {answer}");
    }
}
