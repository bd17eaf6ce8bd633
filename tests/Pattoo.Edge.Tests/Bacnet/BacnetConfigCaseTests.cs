using System.Globalization;
using Pattoo.Edge.Pollers.Bacnet;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Bacnet;

/// <summary>Devices for the test cases: a full AHU, one that refuses ReadPropertyMultiple.</summary>
public sealed class BacnetCaseFixture : IAsyncLifetime
{
    internal BacnetDevicePeer Peer { get; private set; } = null!;

    public async Task InitializeAsync() => Peer = await BacnetDevicePeer.StartAsync(("main", 1234, "normal"), ("norpm", 2001, "no-rpm"));

    public async Task DisposeAsync() => await Peer.DisposeAsync();
}

/// <summary>
/// The cases under src/Pattoo.Edge.Pollers/Bacnet/testcases (see <see cref="PollerCaseRunner"/>):
/// expected.out holds the devices as configured, a blank line, every sample of one poll against the
/// @bacnet-js/client devices of tests/peers/bacnet, sorted, then "skipped: ..." and "failed: ..." lines.
/// config.toml may name {{LOCAL_PORT}}, {{MAIN}} (127.0.0.1:port of device 1234), {{NORPM}} (device
/// 2001, which refuses ReadPropertyMultiple) and {{SILENT}} (a port where nothing answers); the
/// output writes them back as placeholders.
/// </summary>
public sealed class BacnetConfigCaseTests(BacnetCaseFixture fixture) : IClassFixture<BacnetCaseFixture>
{
    public static TheoryData<string> Cases => PollerCaseRunner.Cases("Bacnet");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Case(string name)
    {
        int localPort = FreePorts.Udp(), silentPort;
        do silentPort = FreePorts.Udp(); while (silentPort == localPort);
        await PollerCaseRunner.RunAsync(
            "Bacnet", name, toml => BacnetTestSupport.Bind(toml),
            async options =>
            {
                var registry = new BacnetTransportRegistry();
                var lines = new List<string>(options.DescribePlan().TrimEnd('\n').Split('\n')) { "" };
                lines.AddRange(await PollerCaseRunner.PollEachAsync(BacnetTestSupport.Pollers(options, registry), TimeSpan.FromSeconds(20),
                    e => e is BacnetDeviceException or BacnetTransportException));
                Assert.Equal(0, registry.Count); // every poller gave its transport back
                return lines;
            },
            ("{{LOCAL_PORT}}", localPort.ToString(CultureInfo.InvariantCulture)),
            ("{{MAIN}}", $"127.0.0.1:{fixture.Peer.Ports["main"]}"),
            ("{{NORPM}}", $"127.0.0.1:{fixture.Peer.Ports["norpm"]}"),
            ("{{SILENT}}", $"127.0.0.1:{silentPort}"));
    }
}
