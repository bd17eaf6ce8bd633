using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Modbus;

/// <summary>
/// A Modbus peer from tests/peers/modbus/peer.js (modbus-serial, jsmodbus, or our own fault
/// peers) run by node. Starting it waits for its "READY" line and throws, failing the test,
/// when it cannot start.
/// </summary>
internal sealed class ModbusNodePeer : IAsyncDisposable
{
    private readonly PeerProcess _process;

    private ModbusNodePeer(PeerProcess process) => _process = process;

    /// <summary>Runs peer.js with <paramref name="args"/>: the peer kind ("tcp", "rtu", "faulty-tcp", ...) and where it listens.</summary>
    public static async Task<ModbusNodePeer> StartAsync(params string[] args)
        => new(await PeerProcess.StartNodeAsync(Path.Combine("modbus", "peer.js"), "modbus-serial", args,
            $"modbus peer '{string.Join(' ', args)}'", TimeSpan.FromSeconds(15)));

    public string Stderr => _process.Stderr;

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

/// <summary>A virtual serial line: two ptys joined by socat, reached through symlinks in a temp directory.</summary>
internal sealed class PtyPair : IAsyncDisposable
{
    private readonly PeerProcess _socat;
    private readonly string _dir;

    private PtyPair(PeerProcess socat, string dir, string a, string b)
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
        var socat = PeerProcess.Start("socat", ["-d", "-d", $"pty,raw,echo=0,link={a}", $"pty,raw,echo=0,link={b}"],
            "socat", "apt-get install socat; ./build.sh test does");
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!(File.Exists(a) && File.Exists(b)))
        {
            if (socat.HasExited || started.Elapsed > TimeSpan.FromSeconds(10))
            {
                string why = socat.HasExited ? socat.ExitState : "timed out";
                await socat.DisposeAsync();
                throw new InvalidOperationException($"socat did not create the pty pair ({why})");
            }
            await Task.Delay(20);
        }
        return new PtyPair(socat, dir, a, b);
    }

    public async ValueTask DisposeAsync()
    {
        await _socat.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
