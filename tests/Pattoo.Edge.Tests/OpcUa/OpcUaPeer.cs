using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>
/// The node-opcua server of tests/peers/opcua/server.js on 127.0.0.1. Starting waits for its
/// "READY" line (node-opcua makes its certificate on first start: allow 60 s) and throws, failing
/// the test, when node or the script cannot start.
/// </summary>
internal sealed class OpcUaPeer : IAsyncDisposable
{
    private readonly PeerProcess _process;

    private OpcUaPeer(PeerProcess process, int port, string pki, string namespaceUri)
    {
        _process = process;
        Port = port;
        PkiDirectory = pki;
        NamespaceUri = namespaceUri;
    }

    public int Port { get; }
    public string PkiDirectory { get; }
    public string Endpoint => $"opc.tcp://127.0.0.1:{Port}";
    public string NamespaceUri { get; }

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

    /// <param name="extraArgs">more options of server.js (e.g. "--max-nodes-per-read", "3", "--many", "25").</param>
    public static async Task<OpcUaPeer> StartAsync(string pkiDirectory, int? port = null, IEnumerable<string>? extraArgs = null)
    {
        int p = port ?? FreePorts.Tcp();
        string namespaceUri = "";
        var process = await PeerProcess.StartNodeAsync(Path.Combine("opcua", "server.js"), "node-opcua",
            ["--port", p.ToString(System.Globalization.CultureInfo.InvariantCulture), "--pki", pkiDirectory, .. extraArgs ?? []],
            "the OPC UA peer", TimeSpan.FromSeconds(60),
            line => { if (line.StartsWith("namespace ", StringComparison.Ordinal)) namespaceUri = line["namespace ".Length..]; });
        return new OpcUaPeer(process, p, pkiDirectory, namespaceUri);
    }

    public string Stderr => _process.Stderr;

    public ValueTask DisposeAsync() => _process.DisposeAsync();
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
