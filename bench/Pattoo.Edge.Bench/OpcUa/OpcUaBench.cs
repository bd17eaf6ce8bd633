using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.OpcUa;

namespace Pattoo.Edge.Bench.OpcUa;

/// <summary>
/// Issue 7's benchmark: the same 200 changing nodes (Double, Int32, Boolean, UInt32) of the
/// same node-opcua server (tests/peers/opcua/server.js --bench 200), read in one run by our
/// poller (in this process) and by node-opcua's own client (tests/peers/opcua/bench-client.js):
/// back-to-back Reads of every node over None/anonymous and over Basic256Sha256/SignAndEncrypt
/// with a user name, and a subscription (publishing 100 ms, sampling 20 ms, queue 1) over
/// None and over Basic256Sha256/SignAndEncrypt. Figures: values per second and CPU time of the client's
/// process per value (the server's CPU is not counted). Reads are bound by the server (it
/// answers one Read of 200 nodes in tens of ms), subscriptions by the publishing rate, so the
/// values per second come out close and CPU per value is the figure that tells the clients apart.
/// </summary>
public static class OpcUaBench
{
    private const int Nodes = 200;
    private const int PollCycles = 300;
    private const int WarmupCycles = 300;
    private static readonly TimeSpan SubscribeWarmup = TimeSpan.FromSeconds(4);
    private const double SubscribeSeconds = 10;
    private const int PublishMs = 100;
    private const int SamplingMs = 20;

    private sealed record Figures(long Values, double Seconds, double CpuUs)
    {
        public double ValuesPerSecond => Values / Seconds;
        public double CpuUsPerValue => Values > 0 ? CpuUs / Values : double.NaN;
    }

    public static async Task RunAsync(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        string root = FindRoot();
        string peers = Path.Combine(root, "tests", "peers");
        string scratch = Directory.CreateTempSubdirectory("pattoo-opcua-bench-").FullName;
        int port = BenchProcess.FreePort();
        string endpoint = $"opc.tcp://127.0.0.1:{port}";
        using var server = StartNode(peers, [Path.Combine("opcua", "server.js"), "--port", port.ToString(CultureInfo.InvariantCulture),
            "--pki", Path.Combine(scratch, "server-pki"), "--bench", Nodes.ToString(CultureInfo.InvariantCulture)], stdin: true);
        try
        {
            await WaitReadyAsync(server);
            output.WriteLine("opcua: {0} changing nodes (Double, Int32, Boolean, UInt32) of node-opcua's server on 127.0.0.1, one run", Nodes);
            output.WriteLine("  {0,-38} {1,-12} {2,10} {3,14}   {4}", "scenario", "client", "values/s", "CPU us/value", "ratio (ours vs node-opcua)");
            var scenarios = new (string Title, bool Subscribe, bool Secure)[]
            {
                ($"poll, None, {PollCycles} Reads x {Nodes}", false, false),
                ($"poll, B256Sha256/SignAndEncrypt+user", false, true),
                ($"subscribe {PublishMs}/{SamplingMs} ms, None, {SubscribeSeconds:F0} s", true, false),
                ($"subscribe, B256Sha256/SignAndEncrypt+user", true, true),
            };
            // The appliance runs this code AOT-compiled: one unmeasured pass of our Read and
            // Publish paths first, so the JIT's tier-up (10 publishes a second take a while to
            // reach it) is not billed to whichever scenario comes first.
            await OursPollAsync(endpoint, secure: false, scratch, server);
            await OursSubscribeAsync(endpoint, secure: false, scratch, server);
            foreach (var (title, subscribe, secure) in scenarios)
            {
                var ours = subscribe
                    ? await OursSubscribeAsync(endpoint, secure, scratch, server)
                    : await OursPollAsync(endpoint, secure, scratch, server);
                var node = await RivalAsync(peers, endpoint, subscribe, secure, scratch);
                output.WriteLine("  {0,-38} {1,-12} {2,10:F0} {3,14:F1}", title, "pattoo-edge", ours.ValuesPerSecond, ours.CpuUsPerValue);
                output.WriteLine("  {0,-38} {1,-12} {2,10:F0} {3,14:F1}   {4:F2}x values/s, {5:F1}x less CPU per value",
                    "", "node-opcua", node.ValuesPerSecond, node.CpuUsPerValue, ours.ValuesPerSecond / node.ValuesPerSecond, node.CpuUsPerValue / ours.CpuUsPerValue);
            }
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Our poller (as the appliance runs it) for one server entry over the bench nodes.</summary>
    private static OpcUaPoller Poller(string endpoint, bool subscribe, bool secure, string scratch)
    {
        var toml = new StringBuilder().Append(CultureInfo.InvariantCulture, $"[[opcua.servers]]\nname = \"bench\"\nendpoint = \"{endpoint}\"\n");
        toml.Append(secure
            ? "security_policy = \"Basic256Sha256\"\nsecurity_mode = \"SignAndEncrypt\"\nusername = \"operator\"\npassword = \"secret\"\n"
            : "security_policy = \"None\"\n");
        toml.Append(subscribe
            ? $"mode = \"subscribe\"\ninterval = \"{PublishMs}ms\"\nsampling_interval = \"{SamplingMs}ms\"\nqueue_size = 1\n"
            : "mode = \"poll\"\ninterval = \"10s\"\ntimeout = \"5s\"\n");
        for (int i = 0; i < Nodes; i++)
            toml.Append(CultureInfo.InvariantCulture, $"[[opcua.servers.nodes]]\nnode_id = \"ns=1;s=Bench.{i}\"\nkey = \"b{i}\"\n");
        var errors = new ConfigErrors();
        var tree = TomlTree.Parse(toml.ToString(), "bench.toml", errors);
        var options = OpcUaOptions.Bind(new ConfigSection("bench.toml", "", tree, errors).GetSection("opcua"));
        if (errors.Count > 0) throw new ConfigException(errors);

        // A fresh state directory that trusts the server's certificate (README: trusted/ folder).
        string state = Directory.CreateDirectory(Path.Combine(scratch, "state-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        string trusted = Directory.CreateDirectory(Path.Combine(state, "opcua", "pki", "trusted")).FullName;
        string pem = File.ReadAllText(Path.Combine(scratch, "server-pki", "server", "own", "certs", "certificate.pem"));
        using (var cert = X509Certificate2.CreateFromPem(pem))
            File.WriteAllBytes(Path.Combine(trusted, "bench-server.der"), cert.RawData);
        return (OpcUaPoller)options.CreateTargets(new PollerContext("bench", state)).Single();
    }

    private static async Task<Figures> OursPollAsync(string endpoint, bool secure, string scratch, Process server)
    {
        await using var target = Poller(endpoint, subscribe: false, secure, scratch);
        var batch = new SampleBatch(Nodes * 2);
        var report = new PollReport();
        for (int w = 0; w < WarmupCycles; w++) { batch.Clear(); report.Clear(); await target.PollAsync(batch, report, CancellationToken.None); } // connect, let the JIT settle
        if (batch.Count != Nodes) throw new InvalidOperationException($"read {batch.Count} of {Nodes} values: {string.Join("; ", report.Problems)}");
        long values = 0;
        var cpu = Environment.CpuUsage.TotalTime;
        var clock = Stopwatch.StartNew();
        for (int c = 0; c < PollCycles; c++)
        {
            batch.Clear();
            await target.PollAsync(batch, report, CancellationToken.None);
            values += batch.Count;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        double cpuUs = (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds;
        if (server.HasExited) throw new InvalidOperationException("the OPC UA server exited");
        return new Figures(values, seconds, cpuUs);
    }

    /// <summary>
    /// Our subscription, handed over every publishing interval as the scheduler would; counts
    /// the data changes received (the poller keeps the newest per node between hand-overs).
    /// </summary>
    private static async Task<Figures> OursSubscribeAsync(string endpoint, bool secure, string scratch, Process server)
    {
        await using var target = Poller(endpoint, subscribe: true, secure, scratch);
        var batch = new SampleBatch(Nodes * 2);
        var report = new PollReport();
        var ready = Stopwatch.StartNew();
        while (!(target.Subscribed && target.Counters[OpcUaCounter.Notifications] > 0))
        {
            if (ready.Elapsed > TimeSpan.FromSeconds(30)) throw new InvalidOperationException("our subscription did not start in 30 s");
            batch.Clear();
            try { await target.PollAsync(batch, report, CancellationToken.None); }
            catch (Exception e) when (e is OpcUaConnectionException) { /* connecting */ }
            await Task.Delay(PublishMs);
        }
        await HandOverForAsync(target, batch, report, SubscribeWarmup); // initial values, a steady rate, the JIT settled
        long n0 = target.Counters[OpcUaCounter.Notifications];
        var cpu = Environment.CpuUsage.TotalTime;
        var clock = Stopwatch.StartNew();
        await HandOverForAsync(target, batch, report, TimeSpan.FromSeconds(SubscribeSeconds));
        double seconds = clock.Elapsed.TotalSeconds;
        double cpuUs = (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds;
        long values = target.Counters[OpcUaCounter.Notifications] - n0;
        if (server.HasExited) throw new InvalidOperationException("the OPC UA server exited");
        return new Figures(values, seconds, cpuUs);
    }

    private static async Task HandOverForAsync(OpcUaPoller target, SampleBatch batch, PollReport report, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        var next = TimeSpan.Zero;
        while (clock.Elapsed < duration)
        {
            next += TimeSpan.FromMilliseconds(PublishMs);
            batch.Clear();
            report.Clear();
            await target.PollAsync(batch, report, CancellationToken.None);
            var wait = next - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
        }
    }

    private static async Task<Figures> RivalAsync(string peers, string endpoint, bool subscribe, bool secure, string scratch)
    {
        string amount = subscribe ? SubscribeSeconds.ToString(CultureInfo.InvariantCulture) : PollCycles.ToString(CultureInfo.InvariantCulture);
        using var p = StartNode(peers, [Path.Combine("opcua", "bench-client.js"), endpoint, subscribe ? "subscribe" : "poll", secure ? "Basic256Sha256" : "None",
            Nodes.ToString(CultureInfo.InvariantCulture), amount, scratch, PublishMs.ToString(CultureInfo.InvariantCulture), SamplingMs.ToString(CultureInfo.InvariantCulture)], stdin: false);
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = await p.StandardOutput.ReadToEndAsync();
        using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3))) await p.WaitForExitAsync(limit.Token);
        string? line = stdout.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        if (p.ExitCode != 0 || line is null) throw new InvalidOperationException($"bench-client.js failed ({p.ExitCode}): {await stderr}");
        using var json = JsonDocument.Parse(line);
        var r = json.RootElement;
        return new Figures(r.GetProperty("values").GetInt64(), r.GetProperty("seconds").GetDouble(), r.GetProperty("cpu_us").GetDouble());
    }

    private static Process StartNode(string dir, string[] args, bool stdin)
    {
        // The server stops when its stdin closes: keep it open (redirected) while it serves.
        var psi = new ProcessStartInfo("node") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException("node did not start");
    }

    private static async Task WaitReadyAsync(Process p)
    {
        var stderr = new StringBuilder();
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) { if (stderr.Length < 10000) stderr.AppendLine(e.Data); } };
        p.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // node-opcua makes its certificate on first start
        while (await p.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("READY", StringComparison.Ordinal))
            {
                _ = Task.Run(async () => { try { while (await p.StandardOutput.ReadLineAsync() is not null) { } } catch (IOException) { } });
                return;
            }
        }
        lock (stderr) throw new InvalidOperationException("the OPC UA server did not start: " + stderr);
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
