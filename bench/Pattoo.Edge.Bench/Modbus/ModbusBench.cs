using System.Diagnostics;
using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Modbus;

namespace Pattoo.Edge.Bench.Modbus;

/// <summary>
/// Issue 5's benchmark: the same 60 holding-register values from the same modbus-serial TCP
/// server (tests/peers/modbus/peer.js), read by our poller (planned requests) and by
/// modbus-serial's own client, one request per value and batched, in one run.
/// </summary>
public static class ModbusBench
{
    private const int Cycles = 1000;

    public static async Task RunAsync(TextWriter output)
    {
        string root = FindRoot();
        string peers = Path.Combine(root, "tests", "peers");
        int port = BenchProcess.FreePort();
        using var server = StartNode(peers, ["modbus/peer.js", "tcp", port.ToString(CultureInfo.InvariantCulture)]);
        await WaitReadyAsync(server);
        try
        {
            // 60 values: uint16 and float32 alternating, packed from 1000 up, plus a few strays.
            var values = new List<(int Address, int Count, string Type)>();
            int at = 1000;
            for (int i = 0; i < 56; i++) { bool f = i % 2 == 1; values.Add((at, f ? 2 : 1, f ? "float32" : "uint16")); at += f ? 2 : 1; }
            foreach (int a in new[] { 2000, 2001, 3000, 3002 }) values.Add((a, 1, "uint16"));

            var toml = new StringBuilder($"[[modbus.devices]]\nname = \"bench\"\naddress = \"127.0.0.1:{port}\"\ninterval = \"10s\"\ntimeout = \"2s\"\nmax_gap = 2\n");
            for (int i = 0; i < values.Count; i++)
                toml.Append(CultureInfo.InvariantCulture, $"[[modbus.devices.values]]\nkey = \"v{i}\"\naddress = {values[i].Address}\ntype = \"{values[i].Type}\"\n");
            var errors = new ConfigErrors();
            var tree = TomlTree.Parse(toml.ToString(), "bench.toml", errors);
            var options = ModbusOptions.Bind(new ConfigSection("bench.toml", "", tree, errors).GetSection("modbus"));
            if (errors.Count > 0) throw new ConfigException(errors);
            var target = (ModbusPoller)options.CreateTargets(new PollerContext("bench", "/nonexistent")).Single();
            await using (target)
            {
                var batch = new SampleBatch(128);
                var report = new PollReport();
                for (int w = 0; w < 200; w++) { batch.Clear(); await target.PollAsync(batch, report, CancellationToken.None); } // connect, let the JIT settle
                long allocated = GC.GetAllocatedBytesForCurrentThread();
                var clock = Stopwatch.StartNew();
                for (int c = 0; c < Cycles; c++)
                {
                    batch.Clear();
                    await target.PollAsync(batch, report, CancellationToken.None);
                }
                double ours = values.Count * Cycles / clock.Elapsed.TotalSeconds;
                long bytesPerCycle = (GC.GetAllocatedBytesForCurrentThread() - allocated) / Cycles;
                if (batch.Count != values.Count) throw new InvalidOperationException($"read {batch.Count} of {values.Count} values");

                string spec = string.Join(",", values.Select(v => $"{v.Address}:{v.Count}"));
                var single = await RivalAsync(peers, port, "single", spec);
                var batched = await RivalAsync(peers, port, "batched", spec);
                output.WriteLine("modbus: 60 holding-register values from modbus-serial's ServerTCP on 127.0.0.1, {0} cycles", Cycles);
                output.WriteLine("  pattoo-edge poller      {0,6} requests/cycle  {1,9:F0} values/s  (~{2} B allocated per cycle on the calling thread)", target.RequestsPerCycle, ours, bytesPerCycle);
                output.WriteLine("  modbus-serial single    {0,6} requests/cycle  {1,9:F0} values/s  ratio {2:F1}x", single.Requests, single.ValuesPerSecond, ours / single.ValuesPerSecond);
                output.WriteLine("  modbus-serial batched   {0,6} requests/cycle  {1,9:F0} values/s  ratio {2:F1}x", batched.Requests, batched.ValuesPerSecond, ours / batched.ValuesPerSecond);
            }
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static async Task<(int Requests, double ValuesPerSecond)> RivalAsync(string peers, int port, string mode, string spec)
    {
        using var p = StartNode(peers, ["modbus/bench-client.js", port.ToString(CultureInfo.InvariantCulture), Cycles.ToString(CultureInfo.InvariantCulture), mode, spec]);
        string line = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"bench-client.js {mode} failed: {await p.StandardError.ReadToEndAsync()}");
        int requests = int.Parse(Field(line, "requests_per_cycle"), CultureInfo.InvariantCulture);
        double vps = double.Parse(Field(line, "values_per_second"), CultureInfo.InvariantCulture);
        return (requests, vps);
    }

    private static string Field(string json, string name)
    {
        int i = json.IndexOf($"\"{name}\":", StringComparison.Ordinal) + name.Length + 3;
        int end = json.IndexOfAny([',', '}'], i);
        return json[i..end];
    }

    private static Process StartNode(string dir, string[] args)
    {
        var psi = new ProcessStartInfo("node") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
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
        throw new InvalidOperationException("the Modbus peer did not start: " + await p.StandardError.ReadToEndAsync());
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
