using System.Diagnostics;

namespace Pattoo.Edge.EndToEnd;

/// <summary>
/// A virtual RS-485 line for a test: a socat pty pair in <c>dir</c>, the appliance opening
/// <see cref="Port"/> (ttyA) and modbus-serial's RTU server (tests/peers/modbus/peer.js) answering
/// the given unit ids on ttyB, silent for every other. Disposing stops both.
/// </summary>
public sealed class ModbusSerialLine : IDisposable
{
    private readonly Process _socat;
    private Process? _server;

    private ModbusSerialLine(string dir)
    {
        Port = Path.Combine(dir, "ttyA");
        _socat = PollersEndToEndTests.Start("socat", dir, ["-d", "-d", $"pty,raw,echo=0,link={dir}/ttyA", $"pty,raw,echo=0,link={dir}/ttyB"], new());
    }

    /// <summary>The serial device the appliance opens.</summary>
    public string Port { get; }

    /// <summary>Starts the line and the server answering <paramref name="units"/> ("7", "3,7"); returns once it is ready.</summary>
    public static async Task<ModbusSerialLine> StartAsync(string dir, string units)
    {
        var line = new ModbusSerialLine(dir);
        try
        {
            for (int i = 0; i < 100 && !(File.Exists($"{dir}/ttyA") && File.Exists($"{dir}/ttyB")); i++) await Task.Delay(50);
            line._server = PollersEndToEndTests.Start("node", dir, [Path.Combine(EndToEndSupport.RepoRoot, "tests", "peers", "modbus", "peer.js"), "rtu", $"{dir}/ttyB", units], new());
            await PollersEndToEndTests.WaitForLine(line._server, "READY");
            return line;
        }
        catch
        {
            line.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var p in new[] { _server, _socat })
        {
            if (p is null) continue;
            try { p.Kill(true); } catch (InvalidOperationException) { }
            p.Dispose();
        }
    }
}
