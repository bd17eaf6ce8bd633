using System.Text.Json.Nodes;
using static Pattoo.Edge.EndToEnd.Write.WriteBackSupport;

namespace Pattoo.Edge.EndToEnd.Dashboard;

public partial class DashboardTests
{
    /// <summary>
    /// A box of its own with a Modbus device (modbus-serial) whose setpoint is writable: the chart
    /// page offers the write control on that datapoint only, asks for the control token, confirms
    /// with the limits, writes, and shows the audit trail with the box's refusal of a second
    /// write inside write.min_interval.
    /// </summary>
    [Fact]
    public async Task AWritableDatapointIsWrittenFromTheChartPageWithTokenAndConfirmation()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-dashboard-write-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int modbusPort = EdgeProcess.FreePort(), port = EdgeProcess.FreePort();
        using var modbus = PollersEndToEndTests.Start("node", dir, [Path.Combine(EndToEndSupport.RepoRoot, "tests", "peers", "modbus", "peer.js"), "tcp", modbusPort.ToString()], new());
        try
        {
            await PollersEndToEndTests.WaitForLine(modbus, "READY");
            var config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, EndToEndSupport.BoxConfig("write-dash", port, dir, $"""
                {WriteConfig("1m")}
                [[modbus.devices]]
                name = "plc"
                address = "127.0.0.1:{modbusPort}"
                interval = "1s"
                  [[modbus.devices.values]]
                  key = "setpoint"
                  address = 200
                  scale = 0.1
                  writable = true
                  min = 5
                  max = 30
                  [[modbus.devices.values]]
                  key = "status"
                  address = 100
                """));
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("modbus/plc: polling OK", TimeSpan.FromSeconds(30));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var ids = await WaitForIdsAsync(http, "modbus", "setpoint", "status");

            var r = await f.BrowseAt($"http://127.0.0.1:{port}/", "write", new JsonObject
            {
                ["ids"] = new JsonArray(ids["setpoint"], ids["status"]),
                ["write"] = ids["setpoint"],
                ["token"] = ControlToken,
                ["value"] = "22.5",
                ["value2"] = "23",
            });
            // Only the writable datapoint has a panel, and it asks for the token first.
            var panel = Assert.Single(r.GetProperty("panels").EnumerateArray());
            Assert.Equal(ids["setpoint"], panel.GetProperty("idx").GetString());
            Assert.True(panel.GetProperty("asksToken").GetBoolean());
            Assert.Contains("holding 200 (uint16), unit 1 · limits: min 5, max 30", panel.GetProperty("where").GetString());
            // The value field carries the limits; the confirmation names the value, the point and its limits.
            var input = r.GetProperty("input");
            Assert.Equal(("number", "5", "30"), (input.GetProperty("type").GetString(), input.GetProperty("min").GetString(), input.GetProperty("max").GetString()));
            var confirm = r.GetProperty("confirm").GetString()!;
            Assert.Contains("Write 22.5 to setpoint", confirm);
            Assert.Contains("Limits: min 5, max 30", confirm);
            Assert.Equal("Done: written; the device now reports 22.5.", r.GetProperty("written").GetString());
            Assert.StartsWith("Refused: writeValue: setpoint: written", r.GetProperty("refused").GetString());
            Assert.Contains("write.min_interval", r.GetProperty("refused").GetString());
            var audit = r.GetProperty("audit").EnumerateArray().ToList();
            Assert.Equal(("refused", "23"), (audit[0].GetProperty("Result").GetString(), audit[0].GetProperty("Requested").GetString()));
            Assert.Equal(("written", "20", "22.5", "22.5", "from the dashboard"), (audit[1].GetProperty("Result").GetString(), audit[1].GetProperty("Before").GetString(),
                audit[1].GetProperty("Requested").GetString(), audit[1].GetProperty("After").GetString(), audit[1].GetProperty("Comment").GetString()));
            Assert.Equal("operator @ 127.0.0.1", audit[1].GetProperty("Who").GetString());
        }
        finally
        {
            try { modbus.Kill(true); } catch (InvalidOperationException) { }
        }
    }
}
