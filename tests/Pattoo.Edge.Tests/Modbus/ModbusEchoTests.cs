using Pattoo.Edge.Pollers.Modbus;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Modbus;

/// <summary>
/// RS-485 adapters that echo what they send (echo = true on a serial port): modbus-serial's
/// ServerSerial behind an <see cref="EchoingSerialLine"/>, or on a plain socat pty pair.
/// </summary>
[Collection(TimingSensitive.Name)] // timeouts against real peers
public sealed class ModbusEchoTests
{
    private static string Device(string name, string port, int unit, string extra = "", string timeout = "1s")
        => $"[[modbus.devices]]\nname = \"{name}\"\ntransport = \"rtu\"\nserial_port = \"{port}\"\nunit_id = {unit}\ninterval = \"5s\"\ntimeout = \"{timeout}\"\n{extra}\n";

    private static string Value(string key, string table, int address, string type = "")
        => $"  [[modbus.devices.values]]\n  key = \"{key}\"\n  table = \"{table}\"\n  address = {address}\n{(type.Length > 0 ? $"  type = \"{type}\"\n" : "")}\n";

    /// <summary>Register n of the peer holds n (input n: 1000 + n), coil n is on when n % 3 == 0, discrete n when odd.</summary>
    private static string SomeValues()
        => Value("holding_20", "holding", 20) + Value("holding_7", "holding", 7) + Value("input_20", "input", 20)
         + Value("coil_3", "coil", 3) + Value("coil_4", "coil", 4) + Value("discrete_5", "discrete", 5);

    private static void AssertSomeValues(Common.SampleBatch batch)
    {
        var got = PollerTestSupport.ByKey(batch);
        Assert.Equal(20, got["holding_20"].Value);
        Assert.Equal(7, got["holding_7"].Value);
        Assert.Equal(1020, got["input_20"].Value);
        Assert.Equal(1, got["coil_3"].Value);
        Assert.Equal(0, got["coil_4"].Value);
        Assert.Equal(1, got["discrete_5"].Value);
    }

    private static long Figure(ModbusPoller poller, string name) => poller.Diagnostics.Single(d => d.Key == name).Value;

    [Fact]
    public async Task EchoTrueOverAnEchoingLineReadsEveryValue()
    {
        await using var line = await EchoingSerialLine.StartAsync();
        await using var peer = await ModbusNodePeer.StartAsync("rtu", line.PeerEnd, "1");
        var options = ModbusTestSupport.Bind(Device("meter", line.PollerEnd, 1, "echo = true") + SomeValues());
        Assert.True(Assert.Single(options.Devices).Serial!.Echo);
        await using var poller = Assert.Single(ModbusTestSupport.Pollers(options));
        for (int cycle = 0; cycle < 2; cycle++)
        {
            var (batch, report) = await PollerTestSupport.PollAsync(poller);
            Assert.Empty(report.Problems);
            AssertSomeValues(batch);
        }
        var stats = poller.LinkStatistics;
        Assert.Equal(2 * poller.RequestsPerCycle, stats[ModbusLinkCounter.Requests]);
        Assert.Equal(stats[ModbusLinkCounter.Requests], stats[ModbusLinkCounter.EchoesChecked]);
        Assert.True(stats[ModbusLinkCounter.EchoMismatches] + stats[ModbusLinkCounter.CrcErrors] + stats[ModbusLinkCounter.GarbledFrames] + stats[ModbusLinkCounter.Timeouts] + stats[ModbusLinkCounter.Retries] == 0, stats.ToString());
        Assert.Equal(8 * stats[ModbusLinkCounter.Requests], line.Echoed);
        Assert.Equal(stats[ModbusLinkCounter.Requests], Figure(poller, "link.echoesChecked"));
        Assert.Equal(0, Figure(poller, "link.echoMismatches"));
    }

    [Fact]
    public async Task EchoFalseOverAnEchoingLineFailsAndSuggestsEchoTrue()
    {
        await using var line = await EchoingSerialLine.StartAsync();
        await using var peer = await ModbusNodePeer.StartAsync("rtu", line.PeerEnd, "1");
        // Address 20: the echo reads as a 5-byte frame with a bad CRC. Address 40000 (0x9C40): as a
        // 161-byte frame that never completes, so the poll would otherwise time out.
        var options = ModbusTestSupport.Bind(Device("short", line.PollerEnd, 1, "retries = 1", timeout: "300ms") + Value("x", "holding", 20)
            + Device("long", line.PollerEnd, 1, "retries = 0", timeout: "300ms") + Value("y", "holding", 40000));
        var pollers = ModbusTestSupport.Pollers(options);
        var stats = pollers[0].LinkStatistics;

        var e = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(pollers[0]));
        Assert.Equal(ModbusFailure.Garbled, e.Failure);
        Assert.Equal($"device short unit 1: read holding registers (3) at 20, 1 register: {line.PollerEnd}: received our own 8-byte request back "
            + "before the answer: the adapter echoes what it sends, set echo = true (2 attempts)", e.Message);
        Assert.Equal(2, stats[ModbusLinkCounter.UnexpectedEchoes]);
        Assert.Equal(0, stats[ModbusLinkCounter.CrcErrors]);

        var longer = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(pollers[1]));
        Assert.Equal(ModbusFailure.Garbled, longer.Failure);
        Assert.Contains("set echo = true (1 attempt)", longer.Message, StringComparison.Ordinal);
        Assert.Equal(3, stats[ModbusLinkCounter.UnexpectedEchoes]);
        Assert.Equal(0, stats[ModbusLinkCounter.Timeouts]);
        Assert.Equal(3, Figure(pollers[0], "link.unexpectedEchoes"));
        Assert.Equal(0, stats[ModbusLinkCounter.EchoesChecked]);
        foreach (var p in pollers) await p.DisposeAsync();
    }

    [Fact]
    public async Task EchoTrueOnALineThatDoesNotEchoFailsClearly()
    {
        await using var pty = await PtyPair.StartAsync();
        await using var peer = await ModbusNodePeer.StartAsync("rtu", pty.B, "1");
        var options = ModbusTestSupport.Bind(Device("live", pty.A, 1, "echo = true\nretries = 1", timeout: "300ms") + Value("x", "holding", 20)
            + Device("dead", pty.A, 3, "echo = true\nretries = 0", timeout: "300ms") + Value("x", "holding", 20));
        var pollers = ModbusTestSupport.Pollers(options);
        var stats = pollers[0].LinkStatistics;

        // The unit answers, and its answer is read in place of the echo.
        var live = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(pollers[0]));
        Assert.Equal(ModbusFailure.Garbled, live.Failure);
        Assert.Equal($"device live unit 1: read holding registers (3) at 20, 1 register: {pty.A}: the answer came without the echo of our request: "
            + "the adapter does not echo, set echo = false (2 attempts)", live.Message);
        Assert.Equal(2, stats[ModbusLinkCounter.EchoMismatches]);

        // Nothing comes back at all.
        var dead = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(pollers[1]));
        Assert.Equal(ModbusFailure.Garbled, dead.Failure);
        Assert.Equal($"device dead unit 3: read holding registers (3) at 20, 1 register: {pty.A}: expected the echo of our 8-byte request, got 0 bytes "
            + "(does this adapter echo? if not, set echo = false) (1 attempt)", dead.Message);
        Assert.Equal(3, stats[ModbusLinkCounter.EchoesChecked]);
        Assert.Equal(3, stats[ModbusLinkCounter.EchoMismatches]);
        Assert.Equal(0, stats[ModbusLinkCounter.Timeouts]);
        Assert.Equal(3, Figure(pollers[1], "link.echoMismatches"));
        foreach (var p in pollers) await p.DisposeAsync();
    }

    [Fact]
    public async Task ACorruptedEchoIsCountedAndRetried()
    {
        await using var line = await EchoingSerialLine.StartAsync();
        await using var peer = await ModbusNodePeer.StartAsync("rtu", line.PeerEnd, "1");
        var options = ModbusTestSupport.Bind(Device("meter", line.PollerEnd, 1, "echo = true\nretries = 1", timeout: "500ms") + Value("x", "holding", 20));
        await using var poller = Assert.Single(ModbusTestSupport.Pollers(options));
        var stats = poller.LinkStatistics;

        line.CorruptEchoes = 1; // the retry gets a clean echo, and the answer of the first try is not taken for its own
        Assert.Equal(20, (await PollerTestSupport.PollAsync(poller)).Batch[0].Value);
        Assert.Equal(1, stats[ModbusLinkCounter.EchoMismatches]);
        Assert.Equal(1, stats[ModbusLinkCounter.Retries]);
        Assert.Equal(2, stats[ModbusLinkCounter.EchoesChecked]);

        line.CorruptEchoes = 2; // every attempt
        var e = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(poller));
        Assert.Equal(ModbusFailure.Garbled, e.Failure);
        Assert.Contains($": {line.PollerEnd}: the echo differs from the request at byte ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith(" (line noise or echo = true on an adapter that does not echo) (2 attempts)", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, stats[ModbusLinkCounter.EchoMismatches]);

        // The line is back in step: the next polls read the right values without a retry.
        for (int i = 0; i < 3; i++) Assert.Equal(20, (await PollerTestSupport.PollAsync(poller)).Batch[0].Value);
        Assert.Equal(3, stats[ModbusLinkCounter.EchoMismatches]);
        Assert.Equal(2, stats[ModbusLinkCounter.Retries]);
        Assert.Equal(0, stats[ModbusLinkCounter.CrcErrors] + stats[ModbusLinkCounter.GarbledFrames] + stats[ModbusLinkCounter.WrongUnitIds] + stats[ModbusLinkCounter.Timeouts]);
        Assert.Equal(3, Figure(poller, "link.echoMismatches"));
    }
}
