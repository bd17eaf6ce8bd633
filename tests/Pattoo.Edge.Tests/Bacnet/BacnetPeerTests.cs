using System.Diagnostics;
using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Bacnet;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Bacnet;

/// <summary>The devices of tests/peers/bacnet/device.js, started once for the class.</summary>
public sealed class BacnetPeerFixture : IAsyncLifetime
{
    internal BacnetDevicePeer Peer { get; private set; } = null!;

    public async Task InitializeAsync()
        => Peer = await BacnetDevicePeer.StartAsync(
            ("main", 1234, "normal"), ("norpm", 2001, "no-rpm"), ("reject", 2002, "reject-rpm"),
            ("noseg", 3001, "no-segment"), ("mutable", 4001, "normal"));

    public async Task DisposeAsync() => await Peer.DisposeAsync();
}

/// <summary>The poller against a BACnet device built on @bacnet-js/client, over UDP on 127.0.0.1.</summary>
public sealed class BacnetPeerTests(BacnetPeerFixture fixture) : IClassFixture<BacnetPeerFixture>
{
    private BacnetDevicePeer Peer => fixture.Peer;

    private const string AllObjects = """
          [[bacnet.devices.objects]]
          object = "analog-input:0"
          key = "supply_air_temp"

          [[bacnet.devices.objects]]
          object = "analog-input:1"
          key = "return_air_temp"

          [[bacnet.devices.objects]]
          object = "analog-value:0"
          key = "supply_air_setpoint"

          [[bacnet.devices.objects]]
          object = "analog-output:0"
          key = "cooling_valve"

          [[bacnet.devices.objects]]
          object = "binary-input:0"
          key = "supply_fan"

          [[bacnet.devices.objects]]
          object = "binary-value:0"
          key = "occupied"

          [[bacnet.devices.objects]]
          object = "multi-state-value:0"
          key = "mode"

          [[bacnet.devices.objects]]
          object = "large-analog-value:0"
          key = "energy"

          [[bacnet.devices.objects]]
          object = "integer-value:0"
          key = "signed"

          [[bacnet.devices.objects]]
          object = "positive-integer-value:0"
          key = "unsigned"

          [[bacnet.devices.objects]]
          object = "characterstring-value:0"
          key = "text"

          [[bacnet.devices.objects]]
          object = "bitstring-value:0"
          key = "bits"

          [[bacnet.devices.objects]]
          object = "date-value:0"
          key = "date"

          [[bacnet.devices.objects]]
          object = "time-value:0"
          key = "time"

          [[bacnet.devices.objects]]
          object = "octetstring-value:0"
          key = "octets"

          [[bacnet.devices.objects]]
          object = "analog-input:0"
          property = "out-of-service"
          key = "out_of_service"

          [[bacnet.devices.objects]]
          object = "device:{{INSTANCE}}"
          property = "object-identifier"
          key = "device_id"

          [[bacnet.devices.objects]]
          object = "analog-output:0"
          property = "priority-array"
          array_index = 8
          key = "valve_priority_8"

          [[bacnet.devices.objects]]
          object = "analog-output:0"
          property = "priority-array"
          array_index = 1
          key = "valve_priority_1"
        """;

    private static string Config(int localPort, string device, string objects, string section = "", string deviceExtra = "")
        => $"""
        [bacnet]
        local_address = "127.0.0.1"
        local_port = {localPort}
        {section}

        [[bacnet.devices]]
        name = "ahu-1"
        {device}
        {deviceExtra}
        timeout = "1s"
        retries = 1

        {objects}
        """;

    private string At(string device) => string.Create(CultureInfo.InvariantCulture, $"address = \"127.0.0.1:{Peer.Ports[device]}\"");

    private static readonly string[] ExpectedAll =
    [
        "bits{object=bitstring-value:0,units=no-units} integer 5",
        "bits_status_flags{object=bitstring-value:0} integer 0",
        "cooling_valve{object=analog-output:0,units=percent} float 35.5",
        "cooling_valve_status_flags{object=analog-output:0} integer 0",
        "date{object=date-value:0,units=no-units} string \"2024-05-01\"",
        "date_status_flags{object=date-value:0} integer 0",
        "device_id{object=device:1234,property=object-identifier,units=no-units} string \"device:1234\"",
        "energy{object=large-analog-value:0,units=kilowatt-hours} float 123456.789",
        "energy_status_flags{object=large-analog-value:0} integer 0",
        "mode{object=multi-state-value:0,units=no-units} integer 3",
        "mode_status_flags{object=multi-state-value:0} integer 0",
        "occupied{object=binary-value:0,units=no-units} integer 0",
        "occupied_status_flags{object=binary-value:0} integer 9",
        "octets{object=octetstring-value:0,units=no-units} string \"deadbeef\"",
        "octets_status_flags{object=octetstring-value:0} integer 0",
        "out_of_service{object=analog-input:0,property=out-of-service,units=degrees-celsius} integer 0",
        "return_air_temp{object=analog-input:1,units=degrees-celsius} float 22.25",
        "return_air_temp_status_flags{object=analog-input:1} integer 2",
        "signed{object=integer-value:0,units=degrees-fahrenheit} integer -40",
        "signed_status_flags{object=integer-value:0} integer 0",
        "supply_air_setpoint{object=analog-value:0,units=degrees-celsius} float 14",
        "supply_air_setpoint_status_flags{object=analog-value:0} integer 4",
        "supply_air_temp{object=analog-input:0,units=degrees-celsius} float 13.5",
        "supply_air_temp_status_flags{object=analog-input:0} integer 0",
        "supply_fan{object=binary-input:0,units=no-units} integer 1",
        "supply_fan_status_flags{object=binary-input:0} integer 0",
        "text{object=characterstring-value:0,units=no-units} string \"occupied\"",
        "text_status_flags{object=characterstring-value:0} integer 0",
        "time{object=time-value:0,units=no-units} string \"13:45:30.25\"",
        "time_status_flags{object=time-value:0} integer 0",
        "unsigned{object=positive-integer-value:0,units=no-units} integer 4000000000",
        "unsigned_status_flags{object=positive-integer-value:0} integer 0",
        "valve_priority_8{object=analog-output:0,property=priority-array[8],units=percent} float 35.5",
    ];

    private static void AssertLines(IEnumerable<string> expected, SampleBatch batch)
        => Assert.Equal(string.Join("\n", expected.Order(StringComparer.Ordinal)), string.Join("\n", Lines(batch)));

    private static List<string> Lines(SampleBatch batch)
    {
        var lines = new List<string>();
        foreach (var s in batch.Items) lines.Add(PollerTestSupport.Describe(s));
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    [Fact]
    public async Task ReadsEveryObjectKindAndPrimitiveTypeInOneReadPropertyMultiple()
    {
        var registry = new BacnetTransportRegistry();
        var options = BacnetTestSupport.Bind(Config(FreePorts.Udp(), At("main") + "\ndevice_instance = 1234", AllObjects.Replace("{{INSTANCE}}", "1234")));
        var poller = Assert.Single(BacnetTestSupport.Pollers(options, registry));
        await using (poller)
        {
            var (batch, report) = await PollerTestSupport.PollAsync(poller);
            AssertLines(ExpectedAll, batch);
            // The one value that is not stored: a relinquished priority slot is Null.
            Assert.Equal(["valve_priority_1: device ahu-1: analog-output:0 priority-array[1]: is null"], report.Problems);
            Assert.Equal(1, poller.RequestsLastPoll);
            Assert.True(poller.UsesReadPropertyMultiple);

            // Units are read once: the next cycle asks for values and status flags only, still in one request.
            (batch, _) = await PollerTestSupport.PollAsync(poller);
            AssertLines(ExpectedAll, batch);
            Assert.Equal(1, poller.RequestsLastPoll);
        }
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task UnknownObjectsAndPropertiesAreSkippedNamingDeviceObjectAndProperty()
    {
        var registry = new BacnetTransportRegistry();
        var options = BacnetTestSupport.Bind(Config(FreePorts.Udp(), At("main"), """
              [[bacnet.devices.objects]]
              object = "analog-input:0"
              key = "supply_air_temp"

              [[bacnet.devices.objects]]
              object = "analog-input:99"
              key = "missing_object"

              [[bacnet.devices.objects]]
              object = "binary-input:0"
              property = "high-limit"
              key = "missing_property"
            """));
        await using var poller = Assert.Single(BacnetTestSupport.Pollers(options, registry));
        var (batch, report) = await PollerTestSupport.PollAsync(poller);
        AssertLines(["supply_air_temp{object=analog-input:0,units=degrees-celsius} float 13.5", "supply_air_temp_status_flags{object=analog-input:0} integer 0"], batch);
        Assert.Equal(
        [
            "missing_object: device ahu-1: analog-input:99 present-value: object: unknown-object",
            "missing_object_status_flags: device ahu-1: analog-input:99 status-flags: object: unknown-object",
            "missing_property: device ahu-1: binary-input:0 high-limit: property: unknown-property",
        ], report.Problems);
    }

    [Fact]
    public async Task APollWhereEveryValueIsRefusedFails()
    {
        var options = BacnetTestSupport.Bind(Config(FreePorts.Udp(), At("main"), """
              [[bacnet.devices.objects]]
              object = "analog-input:99"
              key = "missing_object"
              status_flags = false
            """));
        await using var poller = Assert.Single(BacnetTestSupport.Pollers(options, new BacnetTransportRegistry()));
        var e = await Assert.ThrowsAsync<BacnetDeviceException>(() => PollerTestSupport.PollAsync(poller));
        Assert.Equal("device ahu-1: analog-input:99 present-value: object: unknown-object", e.Message);
    }

    [Theory]
    [InlineData("norpm", "error services: reject-unrecognized-service")]
    [InlineData("reject", "reject unrecognized-service")]
    public async Task ADeviceThatRefusesReadPropertyMultipleIsReadWithReadProperty(string device, string refusal)
    {
        _ = refusal; // logged once; the behaviour is what counts
        var options = BacnetTestSupport.Bind(Config(FreePorts.Udp(), At(device), """
              [[bacnet.devices.objects]]
              object = "analog-input:0"
              key = "supply_air_temp"

              [[bacnet.devices.objects]]
              object = "binary-input:0"
              key = "supply_fan"

              [[bacnet.devices.objects]]
              object = "analog-input:99"
              key = "missing_object"
              status_flags = false
            """));
        await using var poller = Assert.Single(BacnetTestSupport.Pollers(options, new BacnetTransportRegistry()));
        var (batch, report) = await PollerTestSupport.PollAsync(poller);
        Assert.False(poller.UsesReadPropertyMultiple);
        AssertLines(
        [
            "supply_air_temp{object=analog-input:0,units=degrees-celsius} float 13.5",
            "supply_air_temp_status_flags{object=analog-input:0} integer 0",
            "supply_fan{object=binary-input:0,units=no-units} integer 1",
            "supply_fan_status_flags{object=binary-input:0} integer 0",
        ], batch);
        Assert.Equal(["missing_object: device ahu-1: analog-input:99 present-value: object: unknown-object"], report.Problems);
        // First cycle: the refused RPM, then 2 + 2 + 1 values/flags and 3 units one request each.
        Assert.Equal(1 + 8, poller.RequestsLastPoll);
        (batch, _) = await PollerTestSupport.PollAsync(poller);
        Assert.Equal(5, poller.RequestsLastPoll);
        Assert.Equal(4, batch.Count);
    }

    [Fact]
    public async Task ASegmentedAnswerIsReassembledWithSegmentAcks()
    {
        var options = BacnetTestSupport.Bind(Config(FreePorts.Udp(), "device_instance = 1234", AllObjects.Replace("{{INSTANCE}}", "1234"),
            section: $"max_apdu = 128\nbroadcast_address = \"127.0.0.1:{Peer.Ports["main"]}\""));
        await using var poller = Assert.Single(BacnetTestSupport.Pollers(options, new BacnetTransportRegistry()));
        var (batch, _) = await PollerTestSupport.PollAsync(poller);
        AssertLines(ExpectedAll, batch);
        Assert.Equal(1, poller.RequestsLastPoll); // the device segments (its I-Am said so): one request, many segments
        Assert.True(poller.TransportStatistics[BacnetSocketCounter.Segments] >= 4, poller.TransportStatistics.ToString());
        Assert.Equal(0, poller.TransportStatistics[BacnetSocketCounter.Timeouts]);
    }

    [Fact]
    public async Task ADeviceThatCannotSegmentGetsRequestsWhoseAnswersFitOneApdu()
    {
        var options = BacnetTestSupport.Bind(Config(FreePorts.Udp(), At("noseg") + "\ndevice_instance = 3001", AllObjects.Replace("{{INSTANCE}}", "3001"),
            section: "max_apdu = 206"));
        await using var poller = Assert.Single(BacnetTestSupport.Pollers(options, new BacnetTransportRegistry()));
        var (batch, _) = await PollerTestSupport.PollAsync(poller);
        AssertLines(ExpectedAll.Select(l => l.Replace("device:1234", "device:3001")), batch);
        Assert.InRange(poller.RequestsLastPoll, 2, 20);
        Assert.Equal(0, poller.TransportStatistics[BacnetSocketCounter.Aborts]);
        Assert.Equal(0, poller.TransportStatistics[BacnetSocketCounter.Segments]);
    }

    [Fact]
    public async Task WhoIsFindsTheDeviceByItsInstance()
    {
        var options = BacnetTestSupport.Bind(Config(FreePorts.Udp(), "device_instance = 2001", """
              [[bacnet.devices.objects]]
              object = "analog-value:1"
              key = "humidity"
            """, section: $"broadcast_address = \"127.0.0.1:{Peer.Ports["norpm"]}\""));
        await using var poller = Assert.Single(BacnetTestSupport.Pollers(options, new BacnetTransportRegistry()));
        var (batch, _) = await PollerTestSupport.PollAsync(poller);
        Assert.Equal($"127.0.0.1:{Peer.Ports["norpm"]}", poller.LocatedAt);
        Assert.Equal(45.5, PollerTestSupport.ByKey(batch)["humidity"].Value);
        Assert.Equal("percent-relative-humidity", PollerTestSupport.ByKey(batch)["humidity"].Series.Metadata.Single(m => m.Key == "units").Value);
    }

    [Fact]
    public async Task AWrongDeviceInstanceIsNeverFound()
    {
        var options = BacnetTestSupport.Bind(Config(FreePorts.Udp(), "device_instance = 999", """
              [[bacnet.devices.objects]]
              object = "analog-value:1"
              key = "humidity"
            """, section: $"broadcast_address = \"127.0.0.1:{Peer.Ports["main"]}\""));
        await using var poller = Assert.Single(BacnetTestSupport.Pollers(options, new BacnetTransportRegistry()));
        var e = await Assert.ThrowsAsync<BacnetTransportException>(() => PollerTestSupport.PollAsync(poller));
        Assert.Equal($"device ahu-1 (device 999 (Who-Is)): no I-Am from device 999 within 1s (2 Who-Is broadcast to 127.0.0.1:{Peer.Ports["main"]} network 65535 mac (broadcast))", e.Message);
    }

    [Fact]
    public async Task ADeviceThatStopsAnsweringFailsItsPollsAndRecovers()
    {
        var options = BacnetTestSupport.Bind(Config(FreePorts.Udp(), At("mutable"), """
              [[bacnet.devices.objects]]
              object = "analog-input:0"
              key = "supply_air_temp"
            """));
        await using var poller = Assert.Single(BacnetTestSupport.Pollers(options, new BacnetTransportRegistry()));
        Assert.Equal(2, (await PollerTestSupport.PollAsync(poller)).Batch.Count);
        await Peer.CommandAsync("mute", "mutable");
        try
        {
            var watch = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<BacnetTransportException>(() => PollerTestSupport.PollAsync(poller));
            Assert.Equal($"device ahu-1 (127.0.0.1:{Peer.Ports["mutable"]}): no answer to read-property-multiple within 1s (2 attempts)", e.Message);
            Assert.InRange(watch.Elapsed.TotalMilliseconds, 1900, 8000);
        }
        finally
        {
            await Peer.CommandAsync("unmute", "mutable");
        }
        Assert.Equal(2, (await PollerTestSupport.PollAsync(poller)).Batch.Count);
    }

    [Fact]
    public async Task DevicesShareOneSocketThatOutlivesAReload()
    {
        var registry = new BacnetTransportRegistry();
        int localPort = FreePorts.Udp();
        string toml = $"""
            [bacnet]
            local_address = "127.0.0.1"
            local_port = {localPort}

            [[bacnet.devices]]
            name = "ahu-1"
            {At("main")}
              [[bacnet.devices.objects]]
              object = "analog-input:0"
              key = "t"

            [[bacnet.devices]]
            name = "ahu-2"
            {At("noseg")}
              [[bacnet.devices.objects]]
              object = "analog-input:1"
              key = "t"
            """;
        var first = BacnetTestSupport.Pollers(BacnetTestSupport.Bind(toml), registry);
        Assert.Equal(2, first.Count);
        Assert.Equal(1, registry.Count);
        await Task.WhenAll(first.Select(p => PollerTestSupport.PollAsync(p)));
        // A reload builds the new targets before the old are disposed: they take over the same socket.
        var second = BacnetTestSupport.Pollers(BacnetTestSupport.Bind(toml), registry);
        foreach (var p in first) await p.DisposeAsync();
        Assert.Equal(1, registry.Count);
        var results = await Task.WhenAll(second.Select(p => PollerTestSupport.PollAsync(p)));
        Assert.All(results, r => Assert.Equal(2, r.Batch.Count));
        foreach (var p in second) await p.DisposeAsync();
        Assert.Equal(0, registry.Count);
        // The port is free again.
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, localPort));
    }

    [Fact]
    public async Task ManyDevicesPolledAtOnceKeepTheirAnswersApart()
    {
        var registry = new BacnetTransportRegistry();
        int localPort = FreePorts.Udp();
        var sb = new System.Text.StringBuilder($"[bacnet]\nlocal_address = \"127.0.0.1\"\nlocal_port = {localPort}\n");
        for (int i = 0; i < 12; i++)
        {
            string device = (i % 3) switch { 0 => "main", 1 => "noseg", _ => "norpm" };
            sb.Append(CultureInfo.InvariantCulture, $"\n[[bacnet.devices]]\nname = \"d{i}\"\n{At(device)}\n  [[bacnet.devices.objects]]\n  object = \"analog-input:{i % 2}\"\n  key = \"t\"\n");
        }
        var pollers = BacnetTestSupport.Pollers(BacnetTestSupport.Bind(sb.ToString()), registry);
        for (int round = 0; round < 3; round++)
        {
            var results = await Task.WhenAll(pollers.Select(p => PollerTestSupport.PollAsync(p)));
            for (int i = 0; i < results.Length; i++)
                Assert.Equal(i % 2 == 0 ? 13.5 : 22.25, PollerTestSupport.ByKey(results[i].Batch)["t"].Value);
        }
        foreach (var p in pollers) await p.DisposeAsync();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task ASilentAddressTimesOutAfterEveryRetry()
    {
        int nobody = FreePorts.Udp();
        var options = BacnetTestSupport.Bind(Config(FreePorts.Udp(), $"address = \"127.0.0.1:{nobody}\"", """
              [[bacnet.devices.objects]]
              object = "analog-input:0"
              key = "t"
            """));
        await using var poller = Assert.Single(BacnetTestSupport.Pollers(options, new BacnetTransportRegistry()));
        var e = await Assert.ThrowsAsync<BacnetTransportException>(() => PollerTestSupport.PollAsync(poller));
        Assert.Contains("no answer to read-property-multiple within 1s (2 attempts)", e.Message);
        Assert.Equal(2, poller.TransportStatistics[BacnetSocketCounter.Requests]);
        Assert.Equal(1, poller.TransportStatistics[BacnetSocketCounter.Retries]);
    }

    [Fact]
    public async Task APortInUseIsThePollsFailureAndNotTakenForASilentDevice()
    {
        // Another BACnet program holds the local port: the poll fails naming the bind, and the
        // directed Who-Is probe does not first log "no I-Am ... (wrong instance?)".
        int localPort = FreePorts.Udp();
        using var occupant = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        occupant.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, localPort));
        var options = BacnetTestSupport.Bind(Config(localPort, $"address = \"127.0.0.1:{FreePorts.Udp()}\"\ndevice_instance = 424242", """
              [[bacnet.devices.objects]]
              object = "analog-input:0"
              key = "t"
            """));
        var log = new StringWriter();
        Log.Configure(TextWriter.Synchronized(log), journal: false);
        try
        {
            await using var poller = Assert.Single(BacnetTestSupport.Pollers(options, new BacnetTransportRegistry()));
            var e = await Assert.ThrowsAsync<BacnetTransportException>(() => PollerTestSupport.PollAsync(poller));
            Assert.Contains("cannot bind", e.Message);
            Assert.Contains("another BACnet program on this box? set bacnet.local_port", e.Message);
        }
        finally
        {
            Log.Configure(Console.Error, journal: false);
        }
        Assert.DoesNotContain("device_instance 424242 (wrong instance?)", log.ToString());
    }
}
