using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Bacnet;

namespace Pattoo.Edge.Bench.Bacnet;

/// <summary>
/// Issue 6's benchmark: the present value and status flags of the same 150 objects (analog-input,
/// binary-input and multi-state-value in turn) of the same device (tests/peers/bacnet/device.js,
/// @bacnet-js/client, on 127.0.0.1), read by our poller with ReadPropertyMultiple, by our poller
/// with one ReadProperty per property (read_multiple = false), and by @bacnet-js/client's own
/// client both ways (tests/peers/bacnet/bench-client.js), in one run. Each way runs for
/// <see cref="Seconds"/> after a warm-up, in PATTOO_BACNET_BENCH_TRIALS (default 3) interleaved
/// trials; the figure is properties read per second, medians and per-trial ratios printed.
/// </summary>
public static class BacnetBench
{
    private const int Objects = 150;
    private const int DeviceInstance = 5000;
    private const double Seconds = 2;
    private static readonly string[] Types = ["analog-input", "binary-input", "multi-state-value"];
    private static readonly int[] TypeNumbers = [0, 3, 19];

    public static async Task RunAsync(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        string root = FindRoot();
        string peers = Path.Combine(root, "tests", "peers");
        int devicePort = FreeUdpPort();
        using var device = StartNode(peers, ["bacnet/device.js", string.Create(CultureInfo.InvariantCulture, $"bench:{devicePort}:{DeviceInstance}:normal:{Objects}")]);
        await WaitReadyAsync(device);
        try
        {
            int localPort = FreeUdpPort();
            var toml = new StringBuilder().Append(CultureInfo.InvariantCulture, $"[bacnet]\nlocal_address = \"127.0.0.1\"\nlocal_port = {localPort}\n");
            foreach (var (name, multiple) in new[] { ("rpm", true), ("rp", false) })
            {
                toml.Append(CultureInfo.InvariantCulture, $"[[bacnet.devices]]\nname = \"{name}\"\naddress = \"127.0.0.1:{devicePort}\"\ndevice_instance = {DeviceInstance}\ninterval = \"1m\"\ntimeout = \"2s\"\nread_multiple = {(multiple ? "true" : "false")}\n");
                for (int i = 0; i < Objects; i++)
                    toml.Append(CultureInfo.InvariantCulture, $"[[bacnet.devices.objects]]\nobject = \"{Types[i % 3]}:{1000 + i}\"\nkey = \"v{i}\"\n");
            }
            var errors = new ConfigErrors();
            var tree = TomlTree.Parse(toml.ToString(), "bench.toml", errors);
            var options = BacnetOptions.Bind(new ConfigSection("bench.toml", "", tree, errors).GetSection("bacnet"));
            if (errors.Count > 0) throw new ConfigException(errors);
            var targets = options.CreateTargets(new PollerContext("bench", "/nonexistent")).Cast<BacnetPoller>().ToList();
            try
            {
                int trials = Trials();
                string spec = string.Join(",", Enumerable.Range(0, Objects).Select(i => string.Create(CultureInfo.InvariantCulture, $"{TypeNumbers[i % 3]}:{1000 + i}")));
                output.WriteLine("bacnet: present-value + status-flags of {0} objects ({1} properties) of one device.js device (@bacnet-js/client) on 127.0.0.1; {2} trials of {3} s per reader, the four interleaved",
                    Objects, 2 * Objects, trials, Seconds);
                var ours = new List<Measure>[] { [], [] };
                var theirs = new List<Measure>[] { [], [] };
                for (int t = 0; t < trials; t++)
                {
                    ours[0].Add(await MeasureAsync(targets[0], warm: t == 0));
                    if (!targets[0].UsesReadPropertyMultiple) throw new InvalidOperationException("the device refused ReadPropertyMultiple");
                    theirs[0].Add(await RivalAsync(peers, devicePort, "rpm", ours[0][^1].Requests, spec));
                    ours[1].Add(await MeasureAsync(targets[1], warm: t == 0));
                    theirs[1].Add(await RivalAsync(peers, devicePort, "rp", ours[0][^1].Requests, spec));
                    output.WriteLine("  trial {0}: ours RPM {1:F0}, bacnet-js RPM {2:F0}, ours RP {3:F0}, bacnet-js RP {4:F0} properties/s",
                        t + 1, ours[0][^1].PropertiesPerSecond, theirs[0][^1].PropertiesPerSecond, ours[1][^1].PropertiesPerSecond, theirs[1][^1].PropertiesPerSecond);
                }
                output.WriteLine("  {0,-40} {1,8} {2,30}", "reader", "requests", "properties/s median [min-max]");
                Row(output, "pattoo-edge read-property-multiple", ours[0]);
                Row(output, "@bacnet-js/client readPropertyMultiple", theirs[0]);
                Row(output, "pattoo-edge read-property", ours[1]);
                Row(output, "@bacnet-js/client readProperty", theirs[1]);
                output.WriteLine("  bytes allocated per cycle (whole process): read-property-multiple ~{0}, read-property ~{1}",
                    Median(ours[0].Select(m => (double)m.BytesPerCycle)), Median(ours[1].Select(m => (double)m.BytesPerCycle)));
                Ratio(output, "ours RPM / ours RP", ours[0], ours[1]);
                Ratio(output, "ours RPM / bacnet-js RPM", ours[0], theirs[0]);
                Ratio(output, "ours RP / bacnet-js RP", ours[1], theirs[1]);
                Ratio(output, "bacnet-js RPM / bacnet-js RP", theirs[0], theirs[1]);
            }
            finally
            {
                foreach (var t in targets) await t.DisposeAsync();
            }
        }
        finally
        {
            if (!device.HasExited) device.Kill(entireProcessTree: true);
            await device.WaitForExitAsync();
        }
    }

    private readonly record struct Measure(int Requests, double PropertiesPerSecond, long BytesPerCycle);

    private static int Trials()
        => int.TryParse(Environment.GetEnvironmentVariable("PATTOO_BACNET_BENCH_TRIALS"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 3;

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToList();
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
    }

    private static void Row(TextWriter output, string name, List<Measure> m)
        => output.WriteLine("  {0,-40} {1,8} {2,12:F0} [{3:F0}-{4:F0}]", name, m[0].Requests, Median(m.Select(x => x.PropertiesPerSecond)),
            m.Min(x => x.PropertiesPerSecond), m.Max(x => x.PropertiesPerSecond));

    /// <summary>The ratio of medians, and each trial's ratio (the two were measured seconds apart).</summary>
    private static void Ratio(TextWriter output, string name, List<Measure> a, List<Measure> b)
        => output.WriteLine("  {0,-30} {1,6:F2}x  (trials: {2})", name,
            Median(a.Select(x => x.PropertiesPerSecond)) / Median(b.Select(x => x.PropertiesPerSecond)),
            string.Join(", ", a.Zip(b, (x, y) => (x.PropertiesPerSecond / y.PropertiesPerSecond).ToString("F2", CultureInfo.InvariantCulture))));

    private static async Task<Measure> MeasureAsync(BacnetPoller target, bool warm)
    {
        var batch = new SampleBatch(2 * Objects + 8);
        var report = new PollReport();
        // The first poll sends the directed Who-Is and reads units; the rest let the JIT settle.
        for (int w = 0; w < (warm ? 20 : 2); w++) await PollOnceAsync(target, batch, report);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long read = 0;
        int cycles = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < Seconds)
        {
            read += await PollOnceAsync(target, batch, report);
            cycles++;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return new(target.RequestsLastPoll, read / seconds, (GC.GetTotalAllocatedBytes(precise: true) - allocated) / cycles);
    }

    private static async Task<int> PollOnceAsync(BacnetPoller target, SampleBatch batch, PollReport report)
    {
        batch.Clear();
        report.Clear();
        await target.PollAsync(batch, report, CancellationToken.None);
        if (batch.Count != 2 * Objects)
            throw new InvalidOperationException($"{target.Name}: read {batch.Count} of {2 * Objects} properties: {string.Join("; ", report.Problems)}");
        return batch.Count;
    }

    private static async Task<Measure> RivalAsync(string peers, int devicePort, string mode, int requests, string spec)
    {
        using var p = StartNode(peers, ["bacnet/bench-client.js", devicePort.ToString(CultureInfo.InvariantCulture), FreeUdpPort().ToString(CultureInfo.InvariantCulture),
            Seconds.ToString(CultureInfo.InvariantCulture), mode, requests.ToString(CultureInfo.InvariantCulture), spec]);
        var stderr = p.StandardError.ReadToEndAsync();
        string line = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"bench-client.js {mode} failed: {await stderr}");
        return new(int.Parse(Field(line, "requests_per_cycle"), CultureInfo.InvariantCulture), double.Parse(Field(line, "properties_per_second"), CultureInfo.InvariantCulture), 0);
    }

    private static string Field(string json, string name)
    {
        int i = json.IndexOf($"\"{name}\":", StringComparison.Ordinal) + name.Length + 3;
        int end = json.IndexOfAny([',', '}'], i);
        return json[i..end];
    }

    private static Process StartNode(string dir, string[] args)
    {
        var psi = new ProcessStartInfo("node") { WorkingDirectory = dir, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException("node did not start");
    }

    private static async Task WaitReadyAsync(Process p)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (await p.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            if (line == "READY") return;
        }
        throw new InvalidOperationException("the BACnet device did not start: " + await p.StandardError.ReadToEndAsync());
    }

    private static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static string FindRoot()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Pattoo.Edge.sln"))) return d.FullName;
        }
        throw new InvalidOperationException("Pattoo.Edge.sln not found");
    }
}
