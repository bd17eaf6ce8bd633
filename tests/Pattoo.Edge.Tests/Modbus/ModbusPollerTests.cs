using System.Runtime.InteropServices;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Modbus;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Modbus;

public sealed class ModbusPollerTests
{
    private const string Base = """
        [[modbus.devices]]
        name = "plc"
        address = "192.0.2.10"
        unit_id = 1

          [[modbus.devices.values]]
          key = "x"
          address = 1

        [[modbus.devices]]
        name = "other"
        address = "192.0.2.10:502"
        unit_id = 2

          [[modbus.devices.values]]
          key = "y"
          address = 2
        """;

    [Fact]
    public void AnAbsentSectionBindsNoTargets()
    {
        var options = ModbusTestSupport.Bind("[linux]\nenabled = true\n");
        Assert.Empty(options.Devices);
        Assert.Empty(options.CreateTargets(new PollerContext("box", "/nonexistent")));
        Assert.Equal("", options.DescribePlan());
    }

    [Fact]
    public void TheFingerprintChangesOnlyWithTheDevicesOwnSettings()
    {
        var a = ModbusTestSupport.Pollers(ModbusTestSupport.Bind(Base));
        var b = ModbusTestSupport.Pollers(ModbusTestSupport.Bind(Base.Replace("address = 2", "address = 3", StringComparison.Ordinal)));
        var c = ModbusTestSupport.Pollers(ModbusTestSupport.Bind(Base.Replace("unit_id = 1", "unit_id = 4", StringComparison.Ordinal)));
        Assert.Equal(a[0].ConfigFingerprint, b[0].ConfigFingerprint);
        Assert.NotEqual(a[1].ConfigFingerprint, b[1].ConfigFingerprint);
        Assert.NotEqual(a[0].ConfigFingerprint, c[0].ConfigFingerprint);
        Assert.Equal(a[1].ConfigFingerprint, c[1].ConfigFingerprint);
    }

    [Fact]
    public async Task DevicesBehindOneAddressShareALinkUntilTheLastOneGoes()
    {
        var registry = new ModbusLinkRegistry(_ => new FakeModbusLink());
        var options = ModbusTestSupport.Bind(Base);
        var first = ModbusTestSupport.Pollers(options, registry);
        var second = ModbusTestSupport.Pollers(options, registry); // a reload builds new targets while the old ones run
        Assert.Equal(1, registry.Count);
        Assert.Same(first[0].LinkStatistics, second[1].LinkStatistics);
        foreach (var p in first) await p.DisposeAsync();
        await first[0].DisposeAsync(); // twice is harmless
        Assert.Equal(1, registry.Count);
        foreach (var p in second) await p.DisposeAsync();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task ASilentUnitFailsAfterItsTimeoutAndRetries()
    {
        var registry = new ModbusLinkRegistry(_ => new FakeModbusLink());
        var options = ModbusTestSupport.Bind(Base.Replace("unit_id = 1", "unit_id = 99\ntimeout = \"100ms\"\nretries = 2", StringComparison.Ordinal));
        var pollers = ModbusTestSupport.Pollers(options, registry);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ModbusTransportException>(() => PollerTestSupport.PollAsync(pollers[0]));
        Assert.InRange(clock.Elapsed.TotalMilliseconds, 290, 2000);
        Assert.Equal("device plc unit 99: read holding registers (3) at 1, 1 register: no answer within 100ms (3 attempts)", e.Message);
        Assert.Equal(3, pollers[0].LinkStatistics[ModbusLinkCounter.Timeouts]);
        Assert.Equal(2, PollerTestSupport.ByKey((await PollerTestSupport.PollAsync(pollers[1])).Batch)["y"].Value);
    }

    [Fact]
    public async Task ABusyUnitFailsThePoll()
    {
        var registry = new ModbusLinkRegistry(_ => new FakeModbusLink());
        var pollers = ModbusTestSupport.Pollers(ModbusTestSupport.Bind(Base.Replace("unit_id = 1", "unit_id = 98", StringComparison.Ordinal)), registry);
        var e = await Assert.ThrowsAsync<ModbusDeviceException>(() => PollerTestSupport.PollAsync(pollers[0]));
        Assert.Equal("device plc unit 98: read holding registers (3) at 1, 1 register: exception 6 (server device busy)", e.Message);
    }

    [Theory]
    [InlineData("192.0.2.1:1502", "192.0.2.1", 1502)]
    [InlineData("plc.local", "plc.local", 502)]
    [InlineData("[fe80::1]:503", "fe80::1", 503)]
    [InlineData("fe80::1", "fe80::1", 502)]
    public void ParsesAddresses(string text, string host, int port)
    {
        Assert.True(HostPort.TryParse(text, 502, out var h, out var p));
        Assert.Equal((host, port), (h, p));
    }

    [Theory]
    [InlineData("")]
    [InlineData("host:0")]
    [InlineData("host:99999")]
    [InlineData("[fe80::1")]
    [InlineData("a b:502")]
    [InlineData(":502")]
    public void RejectsAddresses(string text) => Assert.False(HostPort.TryParse(text, 502, out _, out _));

    [Fact]
    public void TheSerialHelperExtractsOnceByContentAndLoadsFromThere()
    {
        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        string packaged = Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native", "libSystem.IO.Ports.Native.so");
        Assert.True(File.Exists(packaged), $"{packaged} missing from the test output");
        string dir = Directory.CreateTempSubdirectory("pattoo-serial-native-").FullName;
        try
        {
            byte[] content = File.ReadAllBytes(packaged);
            string path = SerialNative.ExtractTo(content, dir);
            Assert.Equal(path, SerialNative.ExtractTo(content, dir));
            Assert.Single(Directory.GetFiles(dir));
            Assert.StartsWith("libSystem.IO.Ports.Native-", Path.GetFileName(path), StringComparison.Ordinal);
            Assert.True(NativeLibrary.TryLoad(path, out var handle));
            Assert.True(NativeLibrary.TryGetExport(handle, "SystemIoPortsNative_SerialPortOpen", out _));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TheSampleConfigBindsAndEveryKeyIsInTheReadme()
    {
        string folder = RepoPaths.Combine("src", "Pattoo.Edge.Pollers", "Modbus");
        string sample = File.ReadAllText(Path.Combine(folder, "sample.toml"));
        var uncommented = string.Join('\n', sample.Split('\n').Select(l => l.TrimStart().StartsWith("# ", StringComparison.Ordinal) && l.Contains(" = ", StringComparison.Ordinal) ? l.Replace("# ", "", StringComparison.Ordinal) : l));
        var options = ModbusTestSupport.Bind(sample);
        Assert.NotEmpty(options.Devices);
        ModbusTestSupport.Bind(uncommented); // the commented defaults are valid too
        string readme = File.ReadAllText(Path.Combine(folder, "README.md"));
        foreach (string key in new[] { "name", "transport", "address", "serial_port", "baud_rate", "parity", "data_bits", "stop_bits", "echo", "unit_id", "interval", "timeout", "retries", "max_gap", "max_registers", "max_bits", "key", "table", "type", "byte_order", "scale", "offset", "bit", "length", "counter" })
            Assert.Contains($"`{key}`", readme, StringComparison.Ordinal);
    }
}
