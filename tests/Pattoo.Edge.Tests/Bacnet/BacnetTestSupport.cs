using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Bacnet;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Bacnet;

internal static class BacnetTestSupport
{
    public const string Appliance = "test-appliance";

    /// <summary>Binds a [bacnet] table; throws ConfigException listing every error, sorted by position.</summary>
    public static BacnetOptions Bind(string toml, string file = "config.toml")
    {
        var errors = new ConfigErrors();
        var tree = TomlTree.Parse(toml, file, errors);
        if (errors.Count > 0) throw new ConfigException(errors);
        var root = new ConfigSection(file, "", tree, errors);
        var options = BacnetOptions.Bind(root.GetSection("bacnet"));
        if (errors.Count > 0)
        {
            errors.Sort((a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : a.Column.CompareTo(b.Column));
            throw new ConfigException(errors);
        }
        return options;
    }

    public static List<BacnetPoller> Pollers(BacnetOptions options, BacnetTransportRegistry registry)
        => options.CreateTargets(Appliance, registry).Cast<BacnetPoller>().ToList();

    /// <summary>"key{object=analog-input:0,units=degrees-celsius} float 13.5", as expected.out lists samples.</summary>
    public static string Describe(in Sample s)
    {
        string labels = string.Join(",", s.Series.Metadata.Select(m => $"{m.Key}={m.Value}"));
        string value = s.Series.DataType == DataType.String ? "\"" + s.Text + "\"" : s.Value.ToString("R", CultureInfo.InvariantCulture);
        return $"{s.Series.Key}{{{labels}}} {s.Series.DataType.Name()} {value}";
    }

    public static async Task<(SampleBatch Batch, PollReport Report)> PollAsync(IPollTarget target, TimeSpan? limit = null)
    {
        var batch = new SampleBatch();
        var report = new PollReport();
        using var cts = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(20));
        await target.PollAsync(batch, report, cts.Token);
        return (batch, report);
    }

    public static Dictionary<string, Sample> ByKey(SampleBatch batch)
    {
        var d = new Dictionary<string, Sample>(StringComparer.Ordinal);
        foreach (var s in batch.Items) d.Add(s.Series.Key, s);
        return d;
    }

    /// <summary>A UDP port free on 127.0.0.1 now.</summary>
    public static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}

/// <summary>
/// BACnet devices from tests/peers/bacnet/device.js (@bacnet-js/client) run by node on 127.0.0.1.
/// Starting waits for "READY" and throws, failing the test, when node or the peer cannot start.
/// </summary>
internal sealed class BacnetDevicePeer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private BacnetDevicePeer(Process process, Dictionary<string, int> ports)
    {
        _process = process;
        Ports = ports;
    }

    /// <summary>Each device's UDP port, by its name.</summary>
    public IReadOnlyDictionary<string, int> Ports { get; }

    public static string PeersDirectory => RepoPaths.Combine("tests", "peers");

    /// <summary>Starts devices given as (name, instance, mode); each gets a free port.</summary>
    public static async Task<BacnetDevicePeer> StartAsync(params (string Name, int Instance, string Mode)[] devices)
    {
        string script = Path.Combine(PeersDirectory, "bacnet", "device.js");
        if (!Directory.Exists(Path.Combine(PeersDirectory, "node_modules", "@bacnet-js", "client")))
            throw new InvalidOperationException("tests/peers/node_modules has no @bacnet-js/client: run npm ci --prefix tests/peers (./build.sh test does)");
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = PeersDirectory,
        };
        psi.ArgumentList.Add(script);
        var ports = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, instance, mode) in devices)
        {
            int port = BacnetTestSupport.FreeUdpPort();
            ports[name] = port;
            psi.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"{name}:{port}:{instance}:{mode}"));
        }
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("node did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("node is not installed (./build.sh test installs it)", e);
        }
        var peer = new BacnetDevicePeer(process, ports);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (peer._stderr) peer._stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            while (true)
            {
                string? line = await process.StandardOutput.ReadLineAsync(cts.Token);
                if (line is null) throw new InvalidOperationException($"bacnet device peer exited ({(process.WaitForExit(2000) ? "exit code " + process.ExitCode : "still running")}): {peer.Stderr}");
                if (line == "READY") break;
            }
        }
        catch (OperationCanceledException)
        {
            await peer.DisposeAsync();
            throw new InvalidOperationException($"bacnet device peer did not get ready in 15 s: {peer.Stderr}");
        }
        return peer;
    }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>"mute NAME" / "unmute NAME": the device stops (or resumes) answering; waits for the peer's "OK".</summary>
    public async Task CommandAsync(string command, string device)
    {
        await _process.StandardInput.WriteLineAsync($"{command} {device}");
        await _process.StandardInput.FlushAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (true)
        {
            string? line = await _process.StandardOutput.ReadLineAsync(cts.Token);
            if (line is null) throw new InvalidOperationException("bacnet device peer exited: " + Stderr);
            if (line == $"OK {command} {device}") return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception) { /* already gone */ }
        _process.Dispose();
    }
}
