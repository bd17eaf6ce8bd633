using System.Globalization;
using System.Text;

namespace Pattoo.Edge.EndToEnd;

/// <summary>
/// <c>pattoo-edge backup</c> during heavy ingest (the appliance running: its writer makes the
/// backup) and <c>restore</c> into another storage directory: every sample acknowledged before
/// the backup started is in the restored store, from chunks and from the head log (the head is
/// sealed every 10,000 samples, so seals run all through the ingest). Restore refuses while an appliance runs.
/// </summary>
public class BackupTests
{
    private const int Series = 200;

    [Fact]
    public async Task ABackupDuringHeavyIngestRestoresEverySampleAcknowledgedBeforeIt()
    {
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-backup-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int port = EdgeProcess.FreePort(), port2 = EdgeProcess.FreePort();
        string Config(string data, int listen) => $"""
            [appliance]
            name = "backup-box"
            [server]
            listen = "127.0.0.1:{listen}"
            [storage]
            path = "{dir}/{data}"
            retention = "36500d"
            max_head_samples = 10000
            [linux]
            enabled = false
            """;
        string config = Path.Combine(dir, "edge.toml"), restored = Path.Combine(dir, "restored.toml"), backup = Path.Combine(dir, "box.backup");
        await File.WriteAllTextAsync(config, Config("data", port));
        await File.WriteAllTextAsync(restored, Config("restored", port2));
        long start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000 - 3600) * 1000;
        EdgeProcess? edge = null, again = null;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            int acknowledged = -1;
            using var stop = new CancellationTokenSource();
            var ingest = Task.Run(async () =>
            {
                for (int p = 0; !stop.IsCancellationRequested && p < 3000; p++)
                {
                    var sb = new StringBuilder("# TYPE bk gauge\n");
                    for (int s = 0; s < Series; s++) sb.Append("bk{s=\"").Append(s).Append("\"} ").Append(p).Append(' ').Append(start + p * 1000L).Append('\n');
                    using var r = await http.PostAsync("/api/v1/import/prometheus", new StringContent(sb.ToString(), Encoding.UTF8, "text/plain"));
                    Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
                    Volatile.Write(ref acknowledged, p);
                }
            });
            while (Volatile.Read(ref acknowledged) < 100) await Task.Delay(50);

            int before = Volatile.Read(ref acknowledged);
            var (code, stdout, stderr) = await EdgeProcess.RunAsync("backup", backup, "--config", config);
            Assert.True(code == 0, stdout + stderr);
            Assert.Contains("the appliance runs on", stdout);
            Assert.Contains($"backup: {backup}: ", stdout);
            Assert.Contains($"{Series} series", stdout);
            await Task.Delay(500);
            stop.Cancel();
            await ingest;
            Assert.True(Volatile.Read(ref acknowledged) > before, "ingest went on during the backup");

            // Restore refuses while an appliance runs on the directory.
            (code, _, stderr) = await EdgeProcess.RunAsync("restore", backup, "--config", config);
            Assert.Equal(1, code);
            Assert.Contains("stop it first", stderr);

            edge.Signal(EdgeProcess.SIGTERM);
            Assert.Equal(0, await edge.WaitForExitAsync(TimeSpan.FromSeconds(30)));

            (code, stdout, stderr) = await EdgeProcess.RunAsync("restore", backup, "--config", restored);
            Assert.True(code == 0, stdout + stderr);
            Assert.Contains("is now the database in", stdout);
            again = new EdgeProcess(dir, "run", "--config", restored);
            await again.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            using var http2 = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port2}"), Timeout = TimeSpan.FromSeconds(30) };
            var series = (await EndToEndSupport.GraphQLAsync(http2, "{ series { idxDatapoint } }")).GetProperty("series").EnumerateArray().Select(s => s.GetProperty("idxDatapoint").GetString()!).ToList();
            Assert.Equal(Series, series.Count);
            foreach (var idx in series)
            {
                var data = await EndToEndSupport.GraphQLAsync(http2, $"{{ timeseries(idxDatapoint: \"{idx}\", from: {start}, to: {start + 3_000_000L}, maxPoints: 20000) {{ timestamps }} }}");
                var timestamps = data.GetProperty("timeseries").GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()).ToHashSet();
                for (int p = 0; p <= before; p++)
                    Assert.True(timestamps.Contains(start + p * 1000L), $"series {idx}: point {p} of {before} acknowledged before the backup is missing after the restore");
            }

            // A backup of a stopped appliance: made by this process, the same data.
            await again.DisposeAsync();
            again = null;
            (code, stdout, stderr) = await EdgeProcess.RunAsync("backup", Path.Combine(dir, "stopped.backup"), "--config", restored);
            Assert.True(code == 0, stdout + stderr);
            Assert.DoesNotContain("the appliance runs on", stdout);
            Assert.Contains($"{Series} series", stdout);

            (code, _, stderr) = await EdgeProcess.RunAsync("restore", Path.Combine(dir, "edge.toml"), "--config", restored);
            Assert.Equal(1, code);
            Assert.Contains("not a readable SQLite backup", stderr);
        }
        finally
        {
            if (edge is not null) await edge.DisposeAsync();
            if (again is not null) await again.DisposeAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
