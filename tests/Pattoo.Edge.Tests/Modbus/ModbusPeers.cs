using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Modbus;

/// <summary>
/// A Modbus peer from tests/peers/modbus/peer.js (modbus-serial, jsmodbus, or our own fault
/// peers) run by node. Starting it waits for its "READY" line and throws, failing the test,
/// when it cannot start.
/// </summary>
internal sealed class NodePeer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private NodePeer(Process process) => _process = process;

    public static string PeersDirectory => RepoPaths.Combine("tests", "peers");

    public static async Task<NodePeer> StartAsync(params string[] args)
    {
        string script = Path.Combine(PeersDirectory, "modbus", "peer.js");
        if (!Directory.Exists(Path.Combine(PeersDirectory, "node_modules", "modbus-serial")))
            throw new InvalidOperationException($"tests/peers/node_modules has no modbus-serial: run npm ci --prefix tests/peers (./build.sh test does)");
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = PeersDirectory,
        };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("node did not start");
        var peer = new NodePeer(process);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (peer._stderr) peer._stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            while (true)
            {
                string? line = await process.StandardOutput.ReadLineAsync(cts.Token);
                if (line is null) throw new InvalidOperationException($"modbus peer '{string.Join(' ', args)}' exited ({Exit(process)}): {peer.Stderr}");
                if (line == "READY") break;
            }
        }
        catch (OperationCanceledException)
        {
            await peer.DisposeAsync();
            throw new InvalidOperationException($"modbus peer '{string.Join(' ', args)}' did not get ready in 15 s: {peer.Stderr}");
        }
        _ = DrainAsync(process);
        return peer;
    }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    private static string Exit(Process p) => p.WaitForExit(2000) ? $"exit code {p.ExitCode}" : "still running";

    private static async Task DrainAsync(Process p)
    {
        try { while (await p.StandardOutput.ReadLineAsync() is not null) { } }
        catch (Exception) { /* the process is gone */ }
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

    /// <summary>A port free on 127.0.0.1 now (the OS's ephemeral range: high ports).</summary>
    public static int FreePort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}

/// <summary>A virtual serial line: two ptys joined by socat, reached through symlinks in a temp directory.</summary>
internal sealed class PtyPair : IAsyncDisposable
{
    private readonly Process _socat;
    private readonly string _dir;

    private PtyPair(Process socat, string dir, string a, string b)
    {
        _socat = socat;
        _dir = dir;
        A = a;
        B = b;
    }

    /// <summary>The end the poller opens.</summary>
    public string A { get; }

    /// <summary>The end the peer opens.</summary>
    public string B { get; }

    public static async Task<PtyPair> StartAsync()
    {
        string dir = Directory.CreateTempSubdirectory("pattoo-modbus-pty-").FullName;
        string a = Path.Combine(dir, "A"), b = Path.Combine(dir, "B");
        var psi = new ProcessStartInfo("socat") { UseShellExecute = false, RedirectStandardError = true };
        foreach (string arg in (string[])["-d", "-d", $"pty,raw,echo=0,link={a}", $"pty,raw,echo=0,link={b}"]) psi.ArgumentList.Add(arg);
        Process socat;
        try
        {
            socat = Process.Start(psi) ?? throw new InvalidOperationException("socat did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("socat is not installed (apt-get install socat; ./build.sh test does)", e);
        }
        socat.ErrorDataReceived += (_, _) => { };
        socat.BeginErrorReadLine();
        var started = Stopwatch.StartNew();
        while (!(File.Exists(a) && File.Exists(b)))
        {
            if (socat.HasExited || started.Elapsed > TimeSpan.FromSeconds(10))
                throw new InvalidOperationException($"socat did not create the pty pair ({(socat.HasExited ? "exit code " + socat.ExitCode : "timed out")})");
            await Task.Delay(20);
        }
        return new PtyPair(socat, dir, a, b);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_socat.HasExited) _socat.Kill();
            await _socat.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception) { /* gone */ }
        _socat.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
