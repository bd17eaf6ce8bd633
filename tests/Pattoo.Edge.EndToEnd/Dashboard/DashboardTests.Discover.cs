using System.Globalization;
using System.Text.Json.Nodes;

namespace Pattoo.Edge.EndToEnd.Dashboard;

public partial class DashboardTests
{
    [Fact]
    public async Task DiscoverRunsADiscoveryOnTheBoxAndShowsTheConfigToCopy()
    {
        int port = EdgeProcess.FreePort();
        using var meter = PollersEndToEndTests.Start("node", EndToEndSupport.RepoRoot,
            [Path.Combine(EndToEndSupport.RepoRoot, "tests", "peers", "modbus", "peer.js"), "meter-tcp", port.ToString(CultureInfo.InvariantCulture)], new());
        try
        {
            await PollersEndToEndTests.WaitForLine(meter, "READY");
            var r = await f.Browse("discover", new JsonObject { ["address"] = $"127.0.0.1:{port}", ["options"] = "--tables holding,input --emit-plausible --name 'meter 1'" });
            Assert.Equal("Discover", r.GetProperty("navCurrent").GetString());
            var steps = r.GetProperty("steps").EnumerateArray().Select(s => s.GetString()).ToList();
            Assert.Contains("unit 1: holding 0-199: 0-11, 100-103", steps);
            Assert.Contains("unit 1: input 0-199: 0-4", steps);
            string toml = r.GetProperty("toml").GetString()!;
            Assert.Contains("name = \"meter 1\"", toml, StringComparison.Ordinal); // the quoted option kept its blank
            Assert.Contains("# 40001-40002 read 230.1\n", toml, StringComparison.Ordinal);
            Assert.True(r.GetProperty("copyVisible").GetBoolean());
            Assert.False(r.GetProperty("busyAfter").GetBoolean());
            Assert.StartsWith("Done", r.GetProperty("status").GetString(), StringComparison.Ordinal);
            Assert.Contains("--range 9-1: the end is before the start", r.GetProperty("badError").GetString(), StringComparison.Ordinal);
            Assert.Empty(r.GetProperty("consoleErrors").EnumerateArray());
            Assert.Empty(r.GetProperty("foreignRequests").EnumerateArray());
        }
        finally
        {
            try { meter.Kill(true); } catch (InvalidOperationException) { }
        }
    }
}
