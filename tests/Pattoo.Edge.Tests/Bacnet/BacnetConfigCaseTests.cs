using System.Globalization;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
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
/// One folder per case under src/Pattoo.Edge.Pollers/Bacnet/testcases: config.toml plus either
/// init.err (every config error, one per line, each matched as a prefix, in order) or
/// expected.out (the devices as configured, a blank line, every sample of one poll against the
/// @bacnet-js/client devices of tests/peers/bacnet, sorted, then "skipped: ..." and "failed: ..." lines).
/// config.toml may name {{LOCAL_PORT}}, {{MAIN}} (127.0.0.1:port of device 1234), {{NORPM}} (device
/// 2001, which refuses ReadPropertyMultiple) and {{SILENT}} (a port where nothing answers); the
/// output writes them back as placeholders.
/// PATTOO_UPDATE_EXPECTED=1 rewrites expected.out / init.err; read the diff before committing.
/// </summary>
public sealed class BacnetConfigCaseTests(BacnetCaseFixture fixture) : IClassFixture<BacnetCaseFixture>
{
    private static readonly string[] CaseDir = ["src", "Pattoo.Edge.Pollers", "Bacnet", "testcases"];

    public static TheoryData<string> Cases => RepoPaths.Cases(CaseDir);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Case(string name)
    {
        string dir = RepoPaths.Combine([.. CaseDir, name]);
        int localPort = BacnetTestSupport.FreeUdpPort(), silentPort;
        do silentPort = BacnetTestSupport.FreeUdpPort(); while (silentPort == localPort);
        var placeholders = new (string Name, string Value)[]
        {
            ("{{LOCAL_PORT}}", localPort.ToString(CultureInfo.InvariantCulture)),
            ("{{MAIN}}", $"127.0.0.1:{fixture.Peer.Ports["main"]}"),
            ("{{NORPM}}", $"127.0.0.1:{fixture.Peer.Ports["norpm"]}"),
            ("{{SILENT}}", $"127.0.0.1:{silentPort}"),
        };
        string toml = File.ReadAllText(Path.Combine(dir, "config.toml"));
        foreach (var (key, value) in placeholders) toml = toml.Replace(key, value, StringComparison.Ordinal);
        string outPath = Path.Combine(dir, "expected.out"), errPath = Path.Combine(dir, "init.err");
        Assert.True(File.Exists(outPath) ^ File.Exists(errPath), $"{name}: needs exactly one of expected.out and init.err");
        bool update = Environment.GetEnvironmentVariable("PATTOO_UPDATE_EXPECTED") == "1";

        BacnetOptions options;
        try
        {
            options = BacnetTestSupport.Bind(toml);
        }
        catch (ConfigException e)
        {
            var actual = e.Errors.Select(x => x.ToString()).ToList();
            if (update && File.Exists(errPath)) File.WriteAllLines(errPath, actual);
            Assert.True(File.Exists(errPath), $"{name}: unexpected errors:\n{string.Join("\n", actual)}");
            var expected = File.ReadAllLines(errPath).Where(l => l.Length > 0).ToList();
            Assert.True(expected.Count == actual.Count, $"expected {expected.Count} errors, got {actual.Count}:\n{string.Join("\n", actual)}");
            for (int i = 0; i < expected.Count; i++)
                Assert.True(actual[i].StartsWith(expected[i], StringComparison.Ordinal), $"error {i + 1}:\n  expected: {expected[i]}\n  actual:   {actual[i]}");
            return;
        }
        Assert.True(File.Exists(outPath), $"{name}: expected errors, the config bound");

        var registry = new BacnetTransportRegistry();
        var lines = new List<string>(options.Describe().TrimEnd('\n').Split('\n')) { "" };
        var samples = new List<string>();
        var problems = new List<string>();
        foreach (var poller in BacnetTestSupport.Pollers(options, registry))
        {
            var batch = new Common.SampleBatch();
            var report = new PollReport();
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                await poller.PollAsync(batch, report, cts.Token);
            }
            catch (Exception e) when (e is BacnetDeviceException or BacnetTransportException)
            {
                problems.Add($"failed: {e.Message}");
            }
            foreach (var s in batch.Items) samples.Add($"{poller.Name}/{BacnetTestSupport.Describe(s)}");
            problems.AddRange(report.Problems.Select(p => $"skipped: {poller.Name}: {p}"));
            await poller.DisposeAsync();
        }
        samples.Sort(StringComparer.Ordinal);
        lines.AddRange(samples);
        lines.AddRange(problems);
        Assert.Equal(0, registry.Count);
        for (int i = 0; i < lines.Count; i++)
        {
            foreach (var (key, value) in placeholders) lines[i] = lines[i].Replace(value, key, StringComparison.Ordinal);
        }
        if (update) File.WriteAllLines(outPath, lines);
        Assert.Equal(string.Join("\n", File.ReadAllLines(outPath)), string.Join("\n", lines));
    }
}
