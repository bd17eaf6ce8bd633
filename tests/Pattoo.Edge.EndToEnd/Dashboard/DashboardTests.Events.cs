namespace Pattoo.Edge.EndToEnd.Dashboard;

public partial class DashboardTests
{
    [Fact]
    public async Task EventsShowOnTheOverviewAndTheirPageFiltersBySeverity()
    {
        // Events are stored in batches within a second of their arrival.
        var until = DateTime.UtcNow.AddSeconds(15);
        while ((await f.Query("{ events(source: \"snmp\") { totalCount } }")).GetProperty("events").GetProperty("totalCount").GetInt32() < 3)
        {
            Assert.True(DateTime.UtcNow < until, "the fixture's three traps were not stored");
            await Task.Delay(100);
        }
        var r = await f.Browse("events");
        // The fixture's alert rule adds its pending event: the traps are the snmp rows.
        static bool Snmp(System.Text.Json.JsonElement e) => e.GetProperty("cells").GetProperty("Source").GetString()!.StartsWith("snmp/", StringComparison.Ordinal);
        var latest = r.GetProperty("latest").EnumerateArray().Where(Snmp).ToList();
        Assert.Equal(3, latest.Count);
        Assert.Equal("linkUp from 127.0.0.1: ifIndex.3 = 3", latest[0].GetProperty("cells").GetProperty("Event").GetString());
        Assert.Equal("Events", r.GetProperty("navCurrent").GetString());
        var all = r.GetProperty("all").EnumerateArray().Where(Snmp).ToList();
        Assert.Equal(3, all.Count);
        Assert.Equal(["info", "warning", "info"], all.Select(e => e.GetProperty("severity").GetString()));
        Assert.Equal("snmp/127.0.0.1", all[0].GetProperty("cells").GetProperty("Source").GetString());
        var warnings = r.GetProperty("warnings").EnumerateArray().Where(Snmp).ToList();
        Assert.Equal("linkDown from 127.0.0.1: ifIndex.3 = 3", Assert.Single(warnings).GetProperty("cells").GetProperty("Event").GetString());
        Assert.Equal("#/events?severity=warning", r.GetProperty("hash").GetString());
        var details = r.GetProperty("details").EnumerateArray().Select(d => d.GetString()).ToList();
        Assert.Contains("trap=linkDown", details);
        Assert.Contains("security=v2c community dash", details);
    }
}
