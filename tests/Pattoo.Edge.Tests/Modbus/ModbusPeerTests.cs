using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Modbus;
using Pattoo.Edge.Protocols.Modbus;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Modbus;

/// <summary>
/// The poller against real Modbus servers from npm (modbus-serial's ServerTCP and ServerSerial,
/// jsmodbus's RTU server over TCP) and against our own fault peers, on 127.0.0.1 and socat ptys.
/// The register content comes from tests/peers/modbus/layout.json, encoded by Node's Buffer writers.
/// </summary>
[Collection(Pattoo.Edge.Tests.Support.TimingSensitive.Name)] // asserts how long a dead unit may cost
public sealed class ModbusPeerTests
{
    private static readonly JsonElement Layout = JsonDocument.Parse(File.ReadAllText(Path.Combine(PeerProcess.PeersDirectory, "modbus", "layout.json"))).RootElement;

    private static IEnumerable<(string Key, string Type, string Order, int Address, string Value)> Numbers()
    {
        int k = 0, numbersBase = Layout.GetProperty("numbers_base").GetInt32();
        foreach (var n in Layout.GetProperty("numbers").EnumerateArray())
        {
            int j = 0;
            foreach (var o in Layout.GetProperty("orders").EnumerateArray())
            {
                string type = n.GetProperty("type").GetString()!, order = o.GetString()!;
                yield return ($"{type}_{order}", type, order, numbersBase + 40 * k + 10 * j, n.GetProperty("value").GetString()!);
                j++;
            }
            k++;
        }
    }

    private static double Expected(string type, string text) => type switch
    {
        "float32" => float.Parse(text, CultureInfo.InvariantCulture),
        "uint64" => ulong.Parse(text, CultureInfo.InvariantCulture),
        "int64" => long.Parse(text, CultureInfo.InvariantCulture),
        _ => double.Parse(text, CultureInfo.InvariantCulture),
    };

    private static string Device(string name, string transport, string where, int unit, string extra = "", string timeout = "1s")
    {
        string address = transport == "rtu" ? $"serial_port = \"{where}\"" : $"address = \"{where}\"";
        return $"[[modbus.devices]]\nname = \"{name}\"\ntransport = \"{transport}\"\n{address}\nunit_id = {unit}\ninterval = \"5s\"\ntimeout = \"{timeout}\"\n{extra}\n";
    }

    private static string Value(string key, string table, int address, string type = "", string more = "")
        => $"  [[modbus.devices.values]]\n  key = \"{key}\"\n  table = \"{table}\"\n  address = {address}\n{(type.Length > 0 ? $"  type = \"{type}\"\n" : "")}{more}\n";

    /// <summary>Every number type in every byte order from holding and input, strings, register bits, coils, discrete inputs.</summary>
    private static string EverythingValues(bool inputToo = true)
    {
        var sb = new StringBuilder();
        foreach (var n in Numbers())
        {
            sb.Append(Value("h_" + n.Key, "holding", n.Address, n.Type, $"  byte_order = \"{n.Order}\"\n"));
            if (inputToo) sb.Append(Value("i_" + n.Key, "input", n.Address, n.Type, $"  byte_order = \"{n.Order}\"\n"));
        }
        foreach (var s in Layout.GetProperty("strings").EnumerateArray())
            sb.Append(Value("s_" + s.GetProperty("order").GetString(), "holding", s.GetProperty("address").GetInt32(), "string",
                $"  length = {s.GetProperty("length").GetInt32()}\n  byte_order = \"{s.GetProperty("order").GetString()}\"\n"));
        int status = Layout.GetProperty("status_word").GetProperty("address").GetInt32();
        foreach (int bit in new[] { 0, 1, 2, 13, 15 }) sb.Append(Value($"status_bit_{bit}", "holding", status, "bool", $"  bit = {bit}\n"));
        for (int a = 0; a < 6; a++)
        {
            sb.Append(Value($"coil_{a}", "coil", a));
            sb.Append(Value($"discrete_{a}", "discrete", a));
        }
        sb.Append(Value("plain_holding_20", "holding", 20));
        sb.Append(Value("plain_input_20", "input", 20));
        return sb.ToString();
    }

    private static void AssertEverything(SampleBatch batch, bool inputToo = true)
    {
        var got = PollerTestSupport.ByKey(batch);
        foreach (var n in Numbers())
        {
            Assert.True(Expected(n.Type, n.Value) == got["h_" + n.Key].Value, $"h_{n.Key}: expected {n.Value}, got {got["h_" + n.Key].Value:R}");
            if (inputToo) Assert.Equal(Expected(n.Type, n.Value), got["i_" + n.Key].Value);
            Assert.Equal(n.Type.StartsWith("float", StringComparison.Ordinal) ? DataType.Float : DataType.Integer, got["h_" + n.Key].Series.DataType);
        }
        foreach (var s in Layout.GetProperty("strings").EnumerateArray())
            Assert.Equal(s.GetProperty("value").GetString(), got["s_" + s.GetProperty("order").GetString()].Text);
        Assert.Equal([1.0, 0, 1, 1, 1], new[] { 0, 1, 2, 13, 15 }.Select(b => got[$"status_bit_{b}"].Value));
        for (int a = 0; a < 6; a++)
        {
            Assert.Equal(a % 3 == 0 ? 1 : 0, got[$"coil_{a}"].Value);
            Assert.Equal(a % 2 == 1 ? 1 : 0, got[$"discrete_{a}"].Value);
        }
        Assert.Equal(20, got["plain_holding_20"].Value);
        Assert.Equal(1020, got["plain_input_20"].Value);
        foreach (var s in batch.Items)
        {
            Assert.Equal("modbus", s.Series.Agent.Program);
            Assert.Equal("unit_id", Assert.Single(s.Series.Metadata).Key);
        }
    }

    [Fact]
    public async Task TcpReadsEveryTableAndTypeInEveryByteOrderFromModbusSerial()
    {
        int port = FreePorts.Tcp();
        await using var peer = await ModbusNodePeer.StartAsync("tcp", port.ToString(CultureInfo.InvariantCulture));
        var options = ModbusTestSupport.Bind(Device("plc", "tcp", $"127.0.0.1:{port}", 1, "max_gap = 10") + EverythingValues());
        var poller = Assert.Single(ModbusTestSupport.Pollers(options));
        await using (poller)
        {
            var (batch, report) = await PollerTestSupport.PollAsync(poller);
            Assert.Empty(report.Problems);
            AssertEverything(batch);
            Assert.Equal(poller.RequestsPerCycle, poller.LinkStatistics[ModbusLinkCounter.Responses]);
            Assert.True(poller.RequestsPerCycle == 12, options.DescribePlan()); // 85 values, 122-register blocks
            var again = await PollerTestSupport.PollAsync(poller);
            AssertEverything(again.Batch);
            for (int i = 0; i < batch.Count; i++) Assert.Same(batch[i].Series, again.Batch[i].Series);
            Assert.Equal(1, poller.LinkStatistics[ModbusLinkCounter.Connects]);
        }
    }

    [Fact]
    public async Task TcpExceptionAnswersSkipOnlyTheRefusedValues()
    {
        int port = FreePorts.Tcp();
        await using var peer = await ModbusNodePeer.StartAsync("tcp", port.ToString(CultureInfo.InvariantCulture));
        var options = ModbusTestSupport.Bind(Device("plc", "tcp", $"127.0.0.1:{port}", 1, "max_gap = 10")
            + Value("fine", "holding", 10) + Value("before_the_hole", "holding", 498) + Value("in_the_hole", "holding", 505)
            + Value("far_away", "holding", 10001, "uint32") + Value("fine_input", "input", 30));
        var poller = Assert.Single(ModbusTestSupport.Pollers(options));
        await using (poller)
        {
            Assert.Equal(4, poller.RequestsPerCycle);
            for (int cycle = 0; cycle < 2; cycle++)
            {
                var (batch, report) = await PollerTestSupport.PollAsync(poller);
                var got = PollerTestSupport.ByKey(batch);
                Assert.Equal(10, got["fine"].Value);
                Assert.Equal(498, got["before_the_hole"].Value);
                Assert.Equal(1030, got["fine_input"].Value);
                Assert.Equal(3, batch.Count);
                Assert.Equal(
                    [
                        "in_the_hole: device plc unit 1: read holding registers (3) at 505, 1 register: exception 2 (illegal data address)",
                        "far_away: device plc unit 1: read holding registers (3) at 10001, 2 registers: exception 2 (illegal data address)",
                    ],
                    report.Problems);
                Assert.Equal(5, poller.RequestsPerCycle); // the refused merged read 498-505 became two reads, once
            }
        }

        var refused = ModbusTestSupport.Bind(Device("plc", "tcp", $"127.0.0.1:{port}", 1) + Value("gone", "input", 20000));
        await using var only = Assert.Single(ModbusTestSupport.Pollers(refused));
        var e = await Assert.ThrowsAsync<ModbusDeviceException>(() => PollerTestSupport.PollAsync(only));
        Assert.Equal("device plc unit 1: read input registers (4) at 20000, 1 register: exception 2 (illegal data address)", e.Message);
    }

    [Fact]
    public async Task TcpReconnectsAfterTheServerRestarts()
    {
        int port = FreePorts.Tcp();
        string portText = port.ToString(CultureInfo.InvariantCulture);
        var options = ModbusTestSupport.Bind(Device("plc", "tcp", $"127.0.0.1:{port}", 1) + Value("x", "holding", 7));
        await using var poller = Assert.Single(ModbusTestSupport.Pollers(options));

        var peer = await ModbusNodePeer.StartAsync("tcp", portText);
        Assert.Equal(7, (await PollerTestSupport.PollAsync(poller)).Batch[0].Value);
        await peer.DisposeAsync();

        var down = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(poller));
        Assert.Equal(ModbusFailure.Connection, down.Failure);
        Assert.StartsWith("device plc unit 1: read holding registers (3) at 7, 1 register: ", down.Message, StringComparison.Ordinal);

        await using var restarted = await ModbusNodePeer.StartAsync("tcp", portText);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                Assert.Equal(7, (await PollerTestSupport.PollAsync(poller)).Batch[0].Value);
                break;
            }
            catch (ModbusTransportException e) when (clock.Elapsed < TimeSpan.FromSeconds(15))
            {
                Assert.Equal(ModbusFailure.Connection, e.Failure);
                await Task.Delay(200);
            }
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"reconnected after {clock.Elapsed}");
        Assert.Equal(2, poller.LinkStatistics[ModbusLinkCounter.Connects]);
        Assert.True(poller.LinkStatistics[ModbusLinkCounter.ConnectionLosses] >= 1);
    }

    [Fact]
    public async Task RtuUnitsShareOnePtyAndADeadUnitCostsOnlyItsTimeout()
    {
        await using var pty = await PtyPair.StartAsync();
        await using var peer = await ModbusNodePeer.StartAsync("rtu", pty.B, "1,2");
        string config = Device("meter-1", "rtu", pty.A, 1) + EverythingValues(inputToo: false)
            + Device("meter-2", "rtu", pty.A, 2) + Value("power", "holding", Numbers().First(n => n.Key == "float32_CDAB").Address, "float32", "  byte_order = \"CDAB\"\n")
            + Device("dead-meter", "rtu", pty.A, 3, "retries = 0", timeout: "500ms") + Value("power", "holding", 0, "float32");
        var options = ModbusTestSupport.Bind(config);
        var registry = new ModbusLinkRegistry();
        var pollers = ModbusTestSupport.Pollers(options, registry);
        Assert.Equal(1, registry.Count);
        Assert.Same(pollers[0].LinkStatistics, pollers[2].LinkStatistics);

        var clock = Stopwatch.StartNew();
        var polls = pollers.Select(p => Timed(p)).ToArray();
        await Task.WhenAll(polls.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        var (m1, m1Time) = await polls[0];
        AssertEverything(m1.Batch, inputToo: false);
        Assert.Empty(m1.Report.Problems);
        Assert.Equal(-1234.5678f, (await polls[1]).Result.Batch[0].Value);
        var dead = await Assert.ThrowsAsync<ModbusTransportException>(() => polls[2]);
        Assert.Equal(ModbusFailure.Timeout, dead.Failure);
        Assert.Equal("device dead-meter unit 3: read holding registers (3) at 0, 2 registers: no answer within 500ms (1 attempt)", dead.Message);
        // Seven requests at ~35 ms each (modbus-serial waits 30 ms of silence) plus one 500 ms
        // timeout: under a second alone. The bound leaves room for a loaded 2-core machine running
        // the other tests (3.6 s was seen) and still fails if the dead unit held the line for
        // its retries or its timeouts added up across the units.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"all three took {clock.Elapsed}");

        // The dead unit's next cycle still costs one timeout, and the live units keep working.
        await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(pollers[2]));
        AssertEverything((await PollerTestSupport.PollAsync(pollers[0])).Batch, inputToo: false);
        Assert.Equal(0, pollers[0].LinkStatistics[ModbusLinkCounter.CrcErrors]);

        foreach (var p in pollers) await p.DisposeAsync();
        Assert.Equal(0, registry.Count);

        static async Task<((SampleBatch Batch, Pollers.PollReport Report) Result, TimeSpan Time)> Timed(ModbusPoller p)
        {
            var c = Stopwatch.StartNew();
            var r = await PollerTestSupport.PollAsync(p);
            return (r, c.Elapsed);
        }
    }

    [Fact]
    public async Task RtuOverTcpReadsFromTheJsmodbusRtuServer()
    {
        int port = FreePorts.Tcp();
        await using var peer = await ModbusNodePeer.StartAsync("rtu-over-tcp", port.ToString(CultureInfo.InvariantCulture));
        var options = ModbusTestSupport.Bind(Device("gateway-meter", "rtu_over_tcp", $"127.0.0.1:{port}", 5, "max_gap = 10") + EverythingValues());
        await using var poller = Assert.Single(ModbusTestSupport.Pollers(options));
        for (int cycle = 0; cycle < 2; cycle++)
        {
            var (batch, report) = await PollerTestSupport.PollAsync(poller);
            Assert.Empty(report.Problems);
            AssertEverything(batch);
        }
        Assert.True(poller.LinkStatistics[ModbusLinkCounter.CrcErrors] + poller.LinkStatistics[ModbusLinkCounter.GarbledFrames] + poller.LinkStatistics[ModbusLinkCounter.Timeouts] == 0, poller.LinkStatistics.ToString());
    }

    [Fact]
    public async Task RtuFaultsAreRejectedCountedAndNeverCrash()
    {
        await using var pty = await PtyPair.StartAsync();
        await using var peer = await ModbusNodePeer.StartAsync("faulty-rtu", pty.B);
        var sb = new StringBuilder();
        for (int unit = 1; unit <= 9; unit++)
            // Unit 9 answers late; a retry would take that late answer for its own (RTU has no transaction id), so none.
            // (600 ms: a busy 2-core machine once made a good unit miss 200 ms)
            sb.Append(Device($"unit-{unit}", "rtu", pty.A, unit, unit == 9 ? "retries = 0" : "retries = 1", timeout: "600ms")).Append(Value("r", "holding", 40 + unit, "uint16"));
        var registry = new ModbusLinkRegistry();
        var pollers = ModbusTestSupport.Pollers(ModbusTestSupport.Bind(sb.ToString()), registry);
        var stats = pollers[0].LinkStatistics;
        async Task<double> Good(int unit) => (await PollerTestSupport.PollAsync(pollers[unit - 1])).Batch[0].Value;
        async Task<ModbusTransportException> Bad(int unit) => await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(pollers[unit - 1]));

        Assert.Equal(41, await Good(1));

        var crc = await Bad(2); // a bad CRC every time: rejected twice (one retry)
        Assert.Equal(ModbusFailure.Garbled, crc.Failure);
        Assert.Contains("rejected answer: CRC", crc.Message, StringComparison.Ordinal);
        Assert.Equal(2, stats[ModbusLinkCounter.CrcErrors]);

        Assert.Equal(43, await Good(3)); // a bad CRC, then a good answer on the retry
        Assert.Equal(3, stats[ModbusLinkCounter.CrcErrors]);
        Assert.Equal(2, stats[ModbusLinkCounter.Retries]);

        var noise = await Bad(4);
        Assert.Contains(noise.Failure, new[] { ModbusFailure.Garbled, ModbusFailure.Timeout });

        Assert.Equal(45, await Good(5)); // a frame from unit 99 first: skipped
        Assert.Equal(1, stats[ModbusLinkCounter.WrongUnitIds]);

        Assert.Equal(ModbusFailure.Timeout, (await Bad(6)).Failure); // a truncated frame never completes

        var failure = await Assert.ThrowsAsync<ModbusDeviceException>(() => PollerTestSupport.PollAsync(pollers[6]));
        Assert.Equal("device unit-7 unit 7: read holding registers (3) at 47, 1 register: exception 4 (server device failure)", failure.Message);

        Assert.Equal(ModbusFailure.Garbled, (await Bad(8)).Failure); // answers another function

        Assert.Equal(ModbusFailure.Timeout, (await Bad(9)).Failure); // answers 1500 ms late, after the timeout
        await Task.Delay(1100); // the late answers arrive now and must not be taken for unit 1's
        Assert.Equal(41, await Good(1));
        Assert.True(stats[ModbusLinkCounter.DiscardedBytes] > 0, stats.ToString());
        foreach (var p in pollers) await p.DisposeAsync();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task TcpFaultsAreRejectedCountedAndNeverCrash()
    {
        int port = FreePorts.Tcp();
        await using var peer = await ModbusNodePeer.StartAsync("faulty-tcp", port.ToString(CultureInfo.InvariantCulture));
        var sb = new StringBuilder();
        for (int unit = 1; unit <= 7; unit++)
            sb.Append(Device($"unit-{unit}", "tcp", $"127.0.0.1:{port}", unit, "retries = 1", timeout: "200ms")).Append(Value("r", "holding", 10 + unit));
        var pollers = ModbusTestSupport.Pollers(ModbusTestSupport.Bind(sb.ToString()));
        var stats = pollers[0].LinkStatistics;
        Assert.Same(stats, pollers[6].LinkStatistics); // one gateway address, one connection
        async Task<double> Good(int unit) => (await PollerTestSupport.PollAsync(pollers[unit - 1])).Batch[0].Value;

        Assert.Equal(11, await Good(1));
        Assert.Equal(12, await Good(2));
        Assert.Equal(1, stats[ModbusLinkCounter.WrongTransactionIds]);
        Assert.Equal(13, await Good(3));
        Assert.Equal(1, stats[ModbusLinkCounter.WrongUnitIds]);

        var broken = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(pollers[3]));
        Assert.Equal(ModbusFailure.Garbled, broken.Failure);
        Assert.Contains("MBAP protocol id 1", broken.Message, StringComparison.Ordinal);
        Assert.Equal(11, await Good(1)); // on a fresh connection

        Assert.Equal(ModbusFailure.Timeout, (await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(pollers[4]))).Failure);
        Assert.Equal(11, await Good(1));

        var gateway = await Assert.ThrowsAsync<ModbusDeviceException>(() => PollerTestSupport.PollAsync(pollers[5]));
        Assert.Equal(ModbusExceptionCode.GatewayTargetFailedToRespond, gateway.Code);
        Assert.Contains("device unit-6 unit 6: read holding registers (3) at 16", gateway.Message, StringComparison.Ordinal);

        var closed = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(pollers[6]));
        Assert.Equal(ModbusFailure.Connection, closed.Failure);
        Assert.Equal(11, await Good(1));
        foreach (var p in pollers) await p.DisposeAsync();
    }

    [Fact]
    public async Task AMissingSerialPortFailsWithBackoffAndTcpIsUntouched()
    {
        var options = ModbusTestSupport.Bind(Device("ghost", "rtu", "/nonexistent/ttyUSB9", 1) + Value("x", "holding", 1));
        await using var poller = Assert.Single(ModbusTestSupport.Pollers(options));
        var first = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(poller));
        Assert.Equal(ModbusFailure.Connection, first.Failure);
        Assert.Contains("cannot open rtu /nonexistent/ttyUSB9 9600 8N1", first.Message, StringComparison.Ordinal);
        var second = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(poller));
        // Backing off: no new attempt, and the same words (the scheduler logs when they change).
        Assert.Equal(first.Message, second.Message);
        Assert.Equal(1, poller.LinkStatistics[ModbusLinkCounter.ConnectFailures]);
    }
}
