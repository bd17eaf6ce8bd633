using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.OpcUa;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>
/// One folder per case under src/Pattoo.Edge.Pollers/OpcUa/testcases: config.toml plus either
/// init.err (every config error, one per line, each matched as a prefix, in order) or
/// expected.out (every sample of one poll against tests/peers/opcua/server.js, sorted, timestamps
/// left out, then "skipped: ..." lines). "@ENDPOINT@" in config.toml is the test server's address.
/// PATTOO_UPDATE_EXPECTED=1 rewrites expected.out / init.err; read the diff before committing.
/// </summary>
public sealed class OpcUaConfigCaseTests(OpcUaServerFixture fixture) : IClassFixture<OpcUaServerFixture>
{
    private static readonly string[] CaseDir = ["src", "Pattoo.Edge.Pollers", "OpcUa", "testcases"];

    public static TheoryData<string> Cases => RepoPaths.Cases(CaseDir);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Case(string name)
    {
        string dir = RepoPaths.Combine([.. CaseDir, name]);
        string toml = File.ReadAllText(Path.Combine(dir, "config.toml")).Replace("@ENDPOINT@", fixture.Peer.Endpoint, StringComparison.Ordinal);
        string outPath = Path.Combine(dir, "expected.out"), errPath = Path.Combine(dir, "init.err");
        Assert.True(File.Exists(outPath) ^ File.Exists(errPath), $"{name}: needs exactly one of expected.out and init.err");
        bool update = Environment.GetEnvironmentVariable("PATTOO_UPDATE_EXPECTED") == "1";

        OpcUaOptions options;
        try
        {
            options = OpcUaTestSupport.Bind(toml);
        }
        catch (ConfigException e)
        {
            var actual = e.Errors.Select(x => x.ToString()).ToList();
            if (update && File.Exists(errPath)) File.WriteAllLines(errPath, actual);
            Assert.True(File.Exists(errPath), $"{name}: unexpected errors:\n{string.Join("\n", actual)}");
            var expected = Lines(File.ReadAllText(errPath));
            Assert.True(expected.Count == actual.Count, $"expected {expected.Count} errors, got {actual.Count}:\n{string.Join("\n", actual)}");
            for (int i = 0; i < expected.Count; i++)
                Assert.True(actual[i].StartsWith(expected[i], StringComparison.Ordinal), $"error {i + 1}:\n  expected: {expected[i]}\n  actual:   {actual[i]}");
            return;
        }
        Assert.True(File.Exists(outPath), $"{name}: expected errors, the config bound");

        var lines = new List<string>();
        var skipped = new List<string>();
        foreach (var poller in options.CreateTargets(OpcUaTestSupport.Appliance, fixture.EmptyState()))
        {
            var batch = new Common.SampleBatch();
            var report = new PollReport();
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
                await poller.PollAsync(batch, report, cts.Token);
            foreach (var s in batch.Items) lines.Add($"{poller.Name}/{OpcUaTestSupport.Describe(s)}");
            skipped.AddRange(report.Problems.Select(p => $"skipped: {poller.Name}: {p}"));
            await poller.DisposeAsync();
        }
        lines.Sort(StringComparer.Ordinal);
        lines.AddRange(skipped);
        if (update) File.WriteAllLines(outPath, lines);
        Assert.Equal(File.ReadAllLines(outPath), lines);
    }

    private static List<string> Lines(string text)
        => text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
}
