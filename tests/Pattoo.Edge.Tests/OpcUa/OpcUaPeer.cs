using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>
/// The node-opcua server of tests/peers/opcua/server.js on 127.0.0.1. Starting waits for its
/// "READY" line (node-opcua makes its certificate on first start: allow 60 s) and throws, failing
/// the test, when node or the script cannot start.
/// </summary>
internal sealed class OpcUaPeer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private OpcUaPeer(Process process, int port, string pki)
    {
        _process = process;
        Port = port;
        PkiDirectory = pki;
    }

    public int Port { get; }
    public string PkiDirectory { get; }
    public string Endpoint => $"opc.tcp://127.0.0.1:{Port}";
    public string NamespaceUri { get; private set; } = "";

    /// <summary>The server's certificate (DER), as node-opcua stored it.</summary>
    public byte[] Certificate
    {
        get
        {
            string pem = File.ReadAllText(Path.Combine(PkiDirectory, "server", "own", "certs", "certificate.pem"));
            using var cert = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(pem);
            return cert.RawData;
        }
    }

    public static string PeersDirectory => RepoPaths.Combine("tests", "peers");

    public static async Task<OpcUaPeer> StartAsync(string pkiDirectory, int? port = null)
    {
        if (!Directory.Exists(Path.Combine(PeersDirectory, "node_modules", "node-opcua")))
            throw new InvalidOperationException("tests/peers/node_modules has no node-opcua: run npm ci --prefix tests/peers (./build.sh test does)");
        int p = port ?? FreePort();
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = PeersDirectory,
        };
        foreach (var a in (string[])[Path.Combine(PeersDirectory, "opcua", "server.js"), "--port", p.ToString(System.Globalization.CultureInfo.InvariantCulture), "--pki", pkiDirectory])
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("node did not start");
        var peer = new OpcUaPeer(process, p, pkiDirectory);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (peer._stderr) { if (peer._stderr.Length < 20000) peer._stderr.AppendLine(e.Data); } };
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (true)
            {
                string? line = await process.StandardOutput.ReadLineAsync(cts.Token);
                if (line is null) throw new InvalidOperationException($"the OPC UA peer exited ({(process.WaitForExit(2000) ? "exit code " + process.ExitCode : "running")}): {peer.Stderr}");
                if (line.StartsWith("namespace ", StringComparison.Ordinal)) peer.NamespaceUri = line["namespace ".Length..];
                if (line.StartsWith("READY", StringComparison.Ordinal)) break;
            }
        }
        catch (OperationCanceledException)
        {
            await peer.DisposeAsync();
            throw new InvalidOperationException($"the OPC UA peer did not get ready in 60 s: {peer.Stderr}");
        }
        _ = DrainAsync(process);
        return peer;
    }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    private static async Task DrainAsync(Process p)
    {
        try { while (await p.StandardOutput.ReadLineAsync() is not null) { } }
        catch (Exception) { /* gone */ }
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

    public static int FreePort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}

/// <summary>One server for a whole test class: node-opcua takes seconds to start.</summary>
public sealed class OpcUaServerFixture : IAsyncLifetime
{
    private OpcUaPeer? _peer;

    internal OpcUaPeer Peer => _peer ?? throw new InvalidOperationException("the OPC UA peer did not start");

    /// <summary>A scratch directory for the test's pki folders (state directories).</summary>
    public string Scratch { get; } = Directory.CreateTempSubdirectory("pattoo-opcua-").FullName;

    public async Task InitializeAsync() => _peer = await OpcUaPeer.StartAsync(Path.Combine(Scratch, "server-pki"));

    public async Task DisposeAsync()
    {
        if (_peer is not null) await _peer.DisposeAsync();
        try { Directory.Delete(Scratch, recursive: true); } catch (IOException) { }
    }

    /// <summary>A fresh state directory whose trusted/ folder already holds the server's certificate.</summary>
    public string StateTrustingServer()
    {
        string state = EmptyState();
        string trusted = Path.Combine(state, "opcua", "pki", "trusted");
        Directory.CreateDirectory(trusted);
        File.WriteAllBytes(Path.Combine(trusted, "test-server.der"), Peer.Certificate);
        return state;
    }

    /// <summary>A fresh state directory inside <see cref="Scratch"/> (deleted with it).</summary>
    public string EmptyState() => Directory.CreateDirectory(Path.Combine(Scratch, "state-" + Guid.NewGuid().ToString("N")[..12])).FullName;
}
