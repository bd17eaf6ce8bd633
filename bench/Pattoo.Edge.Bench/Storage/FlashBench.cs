using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pattoo.Edge.Bench.Storage;

/// <summary>
/// What an SD card sees: bytes the block device receives per stored sample, the ext4 journal
/// included. Each system gets a fresh ext4 file system on a loop device of its own, and the same
/// 1,000 series at 10 s: Prometheus scraping them (its WAL path); the published binary polling
/// them itself, 20 Modbus TCP devices of 50 registers each (the npm modbus-serial peer of the
/// tests), which is how a gateway gets its data; and the binary fed by HTTP ingest, once as one
/// 1,000-sample post per 10 s and once as 20 clients each posting 50 every 10 s, spread over
/// the 10 s as 20 agents on their own schedules post (each post acknowledged only once on the
/// disk; posts a second or so apart share a sync, storage.ingest_sync_window). After a warm-up, field 7 of
/// /sys/block/loopN/stat (sectors written) is read before and after the window.
/// Needs root (losetup, mount) and Debian's prometheus (./build.sh bench flash installs it).
/// PATTOO_FLASH_SECONDS sets the window (default 300), PATTOO_FLASH_WARMUP the warm-up (60),
/// PATTOO_FLASH_SERIES the number of series (1,000), PATTOO_FLASH_SYNC_WINDOW the boxes'
/// storage.ingest_sync_window (their default when unset).
/// </summary>
public static class FlashBench
{
    /// <summary>PATTOO_FLASH_SERIES (default 1,000; a multiple of 20).</summary>
    private static readonly int Series = int.TryParse(Environment.GetEnvironmentVariable("PATTOO_FLASH_SERIES"), out var n) && n >= 20 ? n / 20 * 20 : 1000;
    private const int StepSeconds = 10;
    /// <summary>PATTOO_FLASH_SYNC_WINDOW: storage.ingest_sync_window of the boxes ("3s"); the default when unset.</summary>
    private static readonly string? SyncWindow = Environment.GetEnvironmentVariable("PATTOO_FLASH_SYNC_WINDOW") is { Length: > 0 } w ? w : null;

    public static async Task RunAsync(TextWriter output)
    {
        var binary = Environment.GetEnvironmentVariable("PATTOO_EDGE_BINARY");
        const string prometheus = "/usr/bin/prometheus";
        if (string.IsNullOrEmpty(binary) || !File.Exists(binary) || !File.Exists(prometheus) || Environment.UserName != "root")
        {
            output.WriteLine("== flash: skipped: needs root, PATTOO_EDGE_BINARY and /usr/bin/prometheus (./build.sh bench flash)");
            return;
        }
        int window = int.TryParse(Environment.GetEnvironmentVariable("PATTOO_FLASH_SECONDS"), out var w) ? w : 300;
        int warmup = int.TryParse(Environment.GetEnvironmentVariable("PATTOO_FLASH_WARMUP"), out var u) ? u : 60;
        output.WriteLine($"== flash: bytes written to the block device per stored sample, {Series} series every {StepSeconds} s, {warmup} s warm-up, {window} s window, ext4 on loop devices (journal included){(SyncWindow is { } sw ? $", ingest_sync_window {sw}" : "")}");
        var root = Path.Combine("/var/tmp", "pattoo-flash-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var disks = new List<LoopDisk>();
        var processes = new List<Process>();
        using var stop = new CancellationTokenSource();
        try
        {
            var prom = await LoopDisk.CreateAsync(root, "prometheus");
            var one = await LoopDisk.CreateAsync(root, "edge-one-post");
            var twenty = await LoopDisk.CreateAsync(root, "edge-20-posts");
            var pollers = await LoopDisk.CreateAsync(root, "edge-20-pollers");
            disks.AddRange([prom, one, twenty, pollers]);

            var data = new SeriesData(Series, seed: 42);
            int exporterPort = BenchProcess.FreePort();
            var exporter = ServeMetricsAsync(exporterPort, data, stop.Token);

            int promPort = BenchProcess.FreePort();
            var promConfig = Path.Combine(root, "prometheus.yml");
            await File.WriteAllTextAsync(promConfig, $"""
                global:
                  scrape_interval: {StepSeconds}s
                scrape_configs:
                  - job_name: flash
                    static_configs:
                      - targets: ["127.0.0.1:{exporterPort}"]
                """);
            processes.Add(BenchProcess.Start(prometheus, [$"--config.file={promConfig}", $"--storage.tsdb.path={prom.Mount}/tsdb", $"--web.listen-address=127.0.0.1:{promPort}"], root));

            int onePort = BenchProcess.FreePort(), twentyPort = BenchProcess.FreePort(), pollersPort = BenchProcess.FreePort(), modbusPort = BenchProcess.FreePort();
            processes.Add(BenchProcess.Start(binary, ["run", "--config", await EdgeConfig(root, "one", onePort, one.Mount)], root));
            processes.Add(BenchProcess.Start(binary, ["run", "--config", await EdgeConfig(root, "twenty", twentyPort, twenty.Mount)], root));
            var peer = Path.Combine(RepoRoot(), "tests", "peers", "modbus", "peer.js");
            processes.Add(BenchProcess.Start("node", [peer, "tcp", modbusPort.ToString(CultureInfo.InvariantCulture)], Path.GetDirectoryName(peer)!));
            var devices = new StringBuilder();
            for (int d = 1; d <= 20; d++)
            {
                devices.Append(CultureInfo.InvariantCulture, $"[[modbus.devices]]\nname = \"plc-{d}\"\naddress = \"127.0.0.1:{modbusPort}\"\nunit_id = {d}\ninterval = \"{StepSeconds}s\"\n");
                for (int r = 0; r < Series / 20; r++)
                    devices.Append(CultureInfo.InvariantCulture, $"[[modbus.devices.values]]\nkey = \"r{r}\"\ntable = \"holding\"\naddress = {r}\ntype = \"uint16\"\n");
            }
            processes.Add(BenchProcess.Start(binary, ["run", "--config", await EdgeConfig(root, "pollers", pollersPort, pollers.Mount, devices.ToString())], root));
            using var http = new HttpClient();
            await WaitForHttp(http, $"http://127.0.0.1:{onePort}/api/v1/health");
            await WaitForHttp(http, $"http://127.0.0.1:{twentyPort}/api/v1/health");
            await WaitForHttp(http, $"http://127.0.0.1:{pollersPort}/api/v1/health");
            await WaitForHttp(http, $"http://127.0.0.1:{promPort}/-/ready");

            long oneStored = 0, twentyStored = 0;
            // One client posting everything every step, and 20 clients each posting its 20th of
            // the series every step, started a 20th of a step apart: independent schedules.
            var start = DateTime.UtcNow;
            var posters = new List<Task> { PostEvery(http, onePort, new SeriesData(Series, seed: 42), 0, Series, start, n => Interlocked.Add(ref oneStored, n), stop.Token) };
            for (int p = 0; p < 20; p++)
                posters.Add(PostEvery(http, twentyPort, new SeriesData(Series, seed: 42 + p), p * (Series / 20), Series / 20, start.AddSeconds(p * StepSeconds / 20.0), n => Interlocked.Add(ref twentyStored, n), stop.Token));
            var posting = Task.WhenAll(posters);

            await Task.Delay(TimeSpan.FromSeconds(warmup));
            var before = disks.Select(d => d.Written()).ToArray();
            long oneBefore = Interlocked.Read(ref oneStored), twentyBefore = Interlocked.Read(ref twentyStored);
            long promBefore = await PromSamples(http, promPort);
            long pollersBefore = await EdgeSamples(http, pollersPort);
            await Task.Delay(TimeSpan.FromSeconds(window));
            var after = disks.Select(d => d.Written()).ToArray();
            long oneSamples = Interlocked.Read(ref oneStored) - oneBefore, twentySamples = Interlocked.Read(ref twentyStored) - twentyBefore;
            long promSamples = await PromSamples(http, promPort) - promBefore;
            long pollerSamples = await EdgeSamples(http, pollersPort) - pollersBefore;
            stop.Cancel();
            await posting;

            double Per(int i, long samples) => samples == 0 ? double.NaN : (after[i].Sectors - before[i].Sectors) * 512.0 / samples;
            // What else an SD card's wear depends on: how many writes carried the bytes, and how many cache flushes forced them out.
            string Requests(int i) => $"{(after[i].Sectors - before[i].Sectors) * 512 / 1024} KiB in {after[i].Writes - before[i].Writes} writes, {after[i].Flushes - before[i].Flushes} flushes";
            double GbYear(double perSample) => perSample * Series / StepSeconds * 86400 * 365 / 1e9;
            double promPer = Per(0, promSamples), onePer = Per(1, oneSamples), twentyPer = Per(2, twentySamples), pollersPer = Per(3, pollerSamples);
            output.WriteLine($"prometheus 2.42 (scrape)        {promPer,8:F1} B/sample  {GbYear(promPer),7:F0} GB/year  ({promSamples} samples, {Requests(0)})");
            output.WriteLine($"pattoo-edge, 20 Modbus pollers  {pollersPer,8:F1} B/sample  {GbYear(pollersPer),7:F0} GB/year  ({pollerSamples} samples, {Requests(3)})");
            output.WriteLine($"pattoo-edge, 1 post per 10 s    {onePer,8:F1} B/sample  {GbYear(onePer),7:F0} GB/year  ({oneSamples} samples, {Requests(1)})");
            output.WriteLine($"pattoo-edge, 20 posts per 10 s  {twentyPer,8:F1} B/sample  {GbYear(twentyPer),7:F0} GB/year  ({twentySamples} samples, {Requests(2)})");
            output.WriteLine($"ratio: pattoo-edge writes {pollersPer / promPer:F2}x (20 pollers), {onePer / promPer:F2}x (one post) and {twentyPer / promPer:F2}x (20 posts) Prometheus's bytes per sample");
            await exporter.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        }
        finally
        {
            stop.Cancel();
            foreach (var p in processes)
            {
                try { if (!p.HasExited) { p.Kill(entireProcessTree: true); await p.WaitForExitAsync(); } } catch (InvalidOperationException) { }
                p.Dispose();
            }
            foreach (var d in disks) await d.DisposeAsync();
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    /// <summary>Samples Prometheus has ingested so far (its own counter).</summary>
    private static async Task<long> PromSamples(HttpClient http, int port)
    {
        var text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("prometheus_tsdb_head_samples_appended_total", StringComparison.Ordinal))
            {
                // One line per type label in newer releases; add them.
                long sum = 0;
                foreach (var l in text.Split('\n').Where(l => l.StartsWith("prometheus_tsdb_head_samples_appended_total", StringComparison.Ordinal)))
                    sum += (long)double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                return sum;
            }
        }
        throw new InvalidOperationException("prometheus_tsdb_head_samples_appended_total not found");
    }

    /// <summary>Posts series [from, from + count) every step from <paramref name="start"/> until stopped.</summary>
    private static async Task PostEvery(HttpClient http, int port, SeriesData data, int from, int count, DateTime start, Action<int> stored, CancellationToken stop)
    {
        var next = start;
        while (!stop.IsCancellationRequested)
        {
            var wait = next - DateTime.UtcNow;
            if (wait > TimeSpan.Zero) { try { await Task.Delay(wait, stop); } catch (OperationCanceledException) { return; } }
            var lines = data.Next(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), from, count);
            if (await Post(http, port, lines)) stored(lines.Length);
            next = next.AddSeconds(StepSeconds);
        }
    }

    private static async Task<bool> Post(HttpClient http, int port, string[] lines)
    {
        try
        {
            using var body = new StringContent(string.Join('\n', lines) + "\n", Encoding.UTF8, "text/plain");
            using var response = await http.PostAsync($"http://127.0.0.1:{port}/api/v1/import/prometheus", body);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Samples the appliance has written since it started (its health answer).</summary>
    private static async Task<long> EdgeSamples(HttpClient http, int port)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/api/v1/health"));
        return doc.RootElement.GetProperty("samples_written").GetInt64();
    }

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "Pattoo.Edge.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("Pattoo.Edge.sln not found");
    }

    private static async Task<string> EdgeConfig(string root, string name, int port, string mount, string extra = "")
    {
        var path = Path.Combine(root, name + ".toml");
        await File.WriteAllTextAsync(path, $"""
            [appliance]
            name = "flash-{name}"
            [server]
            listen = "127.0.0.1:{port}"
            [storage]
            path = "{mount}/edge"
            {(SyncWindow is { } w ? $"ingest_sync_window = \"{w}\"" : "")}
            [log]
            level = "warning"
            [linux]
            enabled = false
            {extra}
            """);
        return path;
    }

    /// <summary>The flash workload as Prometheus text: 500 gauges to 0.1, 250 integer counters, 250 status integers.</summary>
    private sealed class SeriesData(int count, int seed)
    {
        private readonly Random _rng = new(seed);
        private readonly double[] _values = new double[count];

        /// <summary>The next value of series [from, from + n) (all of them by default) as Prometheus text lines.</summary>
        public string[] Next(long timestampMs, int from = 0, int n = -1)
        {
            if (n < 0) n = count - from;
            var lines = new string[n];
            for (int i = from; i < from + n; i++)
            {
                if (i < count / 2) _values[i] = Math.Round(_values[i] == 0 ? 20 + _rng.NextDouble() * 10 : _values[i] + (_rng.NextDouble() - 0.5), 1);
                else if (i < count * 3 / 4) _values[i] += _rng.Next(0, 5000);
                else if (_rng.Next(100) == 0) _values[i] = _rng.Next(0, 4);
                string name = i < count / 2 ? "flash_gauge" : i < count * 3 / 4 ? "flash_counter_total" : "flash_status";
                lines[i - from] = string.Create(CultureInfo.InvariantCulture, $"{name}{{device=\"d{i / 50}\",point=\"p{i}\"}} {_values[i]} {timestampMs}");
            }
            return lines;
        }

        /// <summary>What a scrape sees: the same series, without timestamps.</summary>
        public string Exposition()
        {
            var text = new StringBuilder();
            foreach (var line in Next(0)) text.Append(line.AsSpan(0, line.LastIndexOf(' '))).Append('\n');
            return text.ToString();
        }
    }

    private static async Task ServeMetricsAsync(int port, SeriesData data, CancellationToken stop)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(stop);
                var stream = client.GetStream();
                var buffer = new byte[8192];
                int n = await stream.ReadAsync(buffer, stop); // one request per connection is all Prometheus needs here
                var body = Encoding.UTF8.GetBytes(data.Exposition());
                var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(head, stop);
                await stream.WriteAsync(body, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            listener.Stop();
        }
    }

    private static async Task WaitForHttp(HttpClient http, string url)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var r = await http.GetAsync(url);
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{url} did not answer within 30 s");
    }

    /// <summary>A 2 GiB sparse image with a fresh ext4, on a loop device of its own, mounted.</summary>
    private sealed class LoopDisk : IAsyncDisposable
    {
        public required string Image { get; init; }
        public required string Device { get; init; }
        public required string Mount { get; init; }

        public static async Task<LoopDisk> CreateAsync(string root, string name)
        {
            var image = Path.Combine(root, name + ".img");
            var mount = Path.Combine(root, name);
            Directory.CreateDirectory(mount);
            await Run("truncate", "-s", "2G", image);
            await Run("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image);
            var device = (await Run("losetup", "-f", "--show", image)).Trim();
            await Run("mount", "-o", "noinit_itable", device, mount);
            return new LoopDisk { Image = image, Device = device, Mount = mount };
        }

        /// <summary>
        /// From /sys/block/loopN/stat: field 7, sectors written (512 bytes); field 5, write
        /// requests; field 16, cache flushes (0 on kernels before 5.5, which lack the field).
        /// </summary>
        public (long Sectors, long Writes, long Flushes) Written()
        {
            var stat = File.ReadAllText($"/sys/block/{Path.GetFileName(Device)}/stat").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long Field(int n) => stat.Length >= n ? long.Parse(stat[n - 1], CultureInfo.InvariantCulture) : 0;
            return (Field(7), Field(5), Field(16));
        }

        public async ValueTask DisposeAsync()
        {
            try { await Run("umount", Mount); } catch (InvalidOperationException) { await Run("umount", "-l", Mount); }
            await Run("losetup", "-d", Device);
            File.Delete(Image);
        }
    }

    private static async Task<string> Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {p.ExitCode}: {await stderr}");
        return await stdout;
    }
}
