using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Pattoo.Edge.EndToEnd.Dashboard;

/// <summary>Runs alone: the browser and the appliance share two cores, and first paint is timed.</summary>
[CollectionDefinition("Dashboard", DisableParallelization = true)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>;

/// <summary>
/// The dashboard served by the published binary, looked at in headless chromium. Screenshots of
/// every page at 1280x800 and 390x844 land in artifacts/screenshots/.
/// </summary>
[Collection("Dashboard")]
public partial class DashboardTests(DashboardFixture f)
{
    private static readonly string[] Files =
        ["index.html", "app.css", "main.js", "api.js", "ui.js", "overview.js", "browse.js", "chart.js", "write.js", "favourites.js", "discover.js", "events.js", "icon.svg", "uPlot.iife.min.js", "uPlot.min.css"];

    [Fact]
    public async Task PageAndAssetsAreServedGzippedWithCacheHeaders()
    {
        using var plain = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = f.Http.BaseAddress };
        using var page = await plain.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.True(page.Headers.CacheControl?.NoCache, "/ must revalidate");
        Assert.Null(page.Content.Headers.ContentEncoding.FirstOrDefault());
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotContain("__DASHBOARD_VERSION__", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", "", StringComparison.Ordinal)); // nothing from elsewhere
        Assert.DoesNotContain("https://", html);
        string version = VersionPath().Match(html).Groups[1].Value;
        Assert.StartsWith("v-", version);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());

        long raw = 0, gzipped = 0;
        foreach (var file in Files)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, file == "index.html" ? "/" : $"/dashboard/{version}/{file}");
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
            using var r = await plain.SendAsync(request);
            Assert.True(r.IsSuccessStatusCode, file);
            Assert.Equal("gzip", r.Content.Headers.ContentEncoding.Single());
            Assert.Contains("Accept-Encoding", r.Headers.Vary);
            var body = await r.Content.ReadAsByteArrayAsync();
            gzipped += body.Length;
            using var unzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
            using var copy = new MemoryStream();
            await unzip.CopyToAsync(copy);
            raw += copy.Length;
            string expectedType = Path.GetExtension(file) switch { ".js" => "text/javascript", ".css" => "text/css", ".svg" => "image/svg+xml", _ => "text/html" };
            Assert.Equal(expectedType, r.Content.Headers.ContentType?.MediaType);
            if (file != "index.html")
            {
                var cache = r.Headers.CacheControl!;
                Assert.True(cache.Public && cache.MaxAge == TimeSpan.FromDays(365) && cache.Extensions.Any(e => e.Name == "immutable"), $"{file}: Cache-Control {cache}");
            }
        }
        Console.WriteLine($"dashboard: {Files.Length} files, {raw} bytes, {gzipped} bytes gzipped");
        Assert.True(gzipped < 300 * 1024, $"the dashboard is {gzipped} bytes gzipped; the budget is 300 KB");

        // Unversioned or stale paths revalidate; an ETag answers 304; unknown files are 404.
        using var unversioned = await plain.GetAsync("/dashboard/chart.js");
        Assert.True(unversioned.Headers.CacheControl?.NoCache, "unversioned paths must revalidate");
        Assert.Null(unversioned.Content.Headers.ContentEncoding.FirstOrDefault());
        using var stale = await plain.GetAsync("/dashboard/v-000000000000/chart.js");
        Assert.True(stale.Headers.CacheControl?.NoCache, "another version's path must revalidate");
        using var again = new HttpRequestMessage(HttpMethod.Get, "/dashboard/chart.js");
        again.Headers.IfNoneMatch.Add(unversioned.Headers.ETag!);
        using var notModified = await plain.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        using var refused = new HttpRequestMessage(HttpMethod.Get, "/dashboard/app.css");
        refused.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip;q=0, identity");
        using var identity = await plain.SendAsync(refused);
        Assert.Empty(identity.Content.Headers.ContentEncoding);
        using var missing = await plain.GetAsync("/dashboard/nope.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var traversal = await plain.GetAsync("/dashboard/..%2Fgraphiql%2Findex.html");
        Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
        using var license = await plain.GetAsync("/dashboard/uPlot.LICENSE.txt");
        Assert.Contains("MIT", await license.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OverviewListsThePollersAndPaintsFast()
    {
        var r = await f.Browse("overview");
        var pollers = r.GetProperty("pollers").EnumerateArray().ToList();
        Assert.Equal(2, pollers.Count);
        var linux = pollers.Single(p => p.GetProperty("program").GetString() == "linux");
        Assert.Equal("dash-box", linux.GetProperty("target").GetString());
        Assert.Equal("OK", linux.GetProperty("cells").GetProperty("State").GetString());
        Assert.EndsWith("ago", linux.GetProperty("cells").GetProperty("Last success").GetString());
        Assert.NotEqual("0", linux.GetProperty("cells").GetProperty("Datapoints").GetString());
        Assert.NotEqual("0", linux.GetProperty("cells").GetProperty("Samples today").GetString());
        var plc = pollers.Single(p => p.GetProperty("target").GetString() == "boiler-plc");
        Assert.Equal("modbus", plc.GetProperty("program").GetString());
        Assert.Equal("Failing", plc.GetProperty("cells").GetProperty("State").GetString());
        Assert.NotEqual("–", plc.GetProperty("cells").GetProperty("Last error").GetString());
        Assert.Equal("never", plc.GetProperty("cells").GetProperty("Last success").GetString());
        // The Modbus poller's own figures, folded in a details element; the Linux poller has none.
        string figures = plc.GetProperty("cells").GetProperty("Polls / failures").GetString()!;
        Assert.Contains("link.connectFailures", figures);
        Assert.Matches(@"^\d+ / \d+\s*\d+ figures", figures);
        Assert.Matches(@"^\d+ / \d+$", linux.GetProperty("cells").GetProperty("Polls / failures").GetString()!);

        var agents = r.GetProperty("agents").EnumerateArray().ToDictionary(a => a.GetProperty("agent").GetString()!, a => a.GetProperty("datapoints").GetString());
        Assert.Equal("3", agents[DashboardFixture.Program + "/boiler-1"]);
        Assert.Equal("1", agents[DashboardFixture.Program + "/boiler-2"]);
        Assert.Equal("dash-box", r.GetProperty("facts").GetProperty("name").GetString());
        Assert.StartsWith("dash-box", r.GetProperty("boxName").GetString());
        Assert.Equal("Overview", r.GetProperty("currentNav").GetString());
        // The forwarder to a receiver that is not there: listed, not acknowledged, its samples waiting.
        var forwarder = Assert.Single(r.GetProperty("forwarders").EnumerateArray());
        Assert.Equal("central", forwarder.GetProperty("name").GetString());
        Assert.Equal("remote_write", forwarder.GetProperty("cells").GetProperty("Kind").GetString());
        Assert.Contains(forwarder.GetProperty("cells").GetProperty("State").GetString(), new[] { "Failing", "Waiting" });

        // The pending alert, first on the page, its rule linking to its events.
        var alert = Assert.Single(r.GetProperty("alerts").EnumerateArray());
        Assert.Equal(("memory-watch", "pending"), (alert.GetProperty("rule").GetString(), alert.GetProperty("state").GetString()));
        Assert.Equal("linux/dash-box memory_total_bytes", alert.GetProperty("cells").GetProperty("Series").GetString());
        Assert.StartsWith("memory_total_bytes is ", alert.GetProperty("cells").GetProperty("Message").GetString(), StringComparison.Ordinal);

        // Accessibility basics: every control has a name; the first Tab reaches the skip link.
        Assert.Equal(0, r.GetProperty("unlabelled").GetInt32());
        Assert.Equal("Skip to content", r.GetProperty("firstTab").GetString());
        double paint = r.GetProperty("firstPaintMs").GetDouble();
        Console.WriteLine($"dashboard: first contentful paint {paint:F0} ms, load {r.GetProperty("loadMs")} ms");
        Assert.True(paint < 1000, $"first paint took {paint} ms");
    }

    [Fact]
    public async Task SearchFindsADatapointAndFiltersNarrowIt()
    {
        var r = await f.Browse("browse", new JsonObject { ["search"] = "temperature flow", ["program"] = DashboardFixture.Program, ["label"] = "units=bar" });
        var results = r.GetProperty("results").EnumerateArray().ToList();
        var hit = Assert.Single(results);
        Assert.Equal(f.Temperature, hit.GetProperty("idx").GetString());
        Assert.Equal("temperature", hit.GetProperty("key").GetString());
        Assert.Contains("boiler-1", hit.GetProperty("text").GetString());
        // The latest value with its unit, before anything else about the datapoint.
        Assert.StartsWith("44.5 °C ·", hit.GetProperty("text").GetString());
        Assert.Equal("1 datapoint matches.", r.GetProperty("count").GetString());
        // Down arrow from the search box lands on the result; space picks it for the chart.
        Assert.Equal("pick-" + f.Temperature, r.GetProperty("focusedAfterArrow").GetString());
        Assert.Equal("Chart selected (1)", r.GetProperty("chartLink").GetProperty("text").GetString());
        Assert.Contains("ids=" + f.Temperature, r.GetProperty("chartLink").GetProperty("href").GetString());
        // Program + label (units=bar) leave only the pressure datapoint.
        Assert.Equal(["pressure"], Strings(r.GetProperty("filtered")));
    }

    private Task<JsonElement> ChartRun() => f.Browse("chart", new JsonObject { ["ids"] = new JsonArray(f.Temperature, f.Energy) });

    [Fact]
    public async Task ChartDrawsTheExpectedPointsAndARangeChangeQueriesAgain()
    {
        var r = await ChartRun();
        var first = r.GetProperty("first");
        // 1 h: the 50 recent temperatures and 49 energy rates (the first sample has no predecessor).
        Assert.Equal([DashboardFixture.Recent, DashboardFixture.Recent - 1], Ints(first.GetProperty("points")));
        Assert.Equal([f.Temperature, f.Energy], Strings(first.GetProperty("ids")));
        Assert.Equal(3_600_000, first.GetProperty("to").GetInt64() - first.GetProperty("from").GetInt64());
        Assert.Equal(3, first.GetProperty("legend").GetArrayLength());
        // Away from the cursor the legend shows the latest values, not dashes.
        Assert.Contains("44.5 °C", first.GetProperty("legendValues").EnumerateArray().Select(v => v.GetString()));
        Assert.Contains("Wh/s", first.GetProperty("label").GetString()); // counters as rates, unit from the units label
        Assert.Contains("°C", first.GetProperty("label").GetString());
        // maxPoints follows the chart's width in pixels.
        int width = first.GetProperty("chartWidth").GetInt32();
        Assert.InRange(first.GetProperty("maxPoints").GetInt32(), width - 20, width);
        Assert.Equal(first.GetProperty("maxPoints").GetInt32(), first.GetProperty("canvas").GetProperty("width").GetInt32());

        // 7 d: one more GraphQL request, which brings the ten three-day-old temperatures in.
        Assert.Equal(1, r.GetProperty("queriesForRangeChange").GetInt32());
        var second = r.GetProperty("second");
        Assert.Equal([DashboardFixture.Recent + 10, DashboardFixture.Recent - 1], Ints(second.GetProperty("points")));
        Assert.Equal(7 * 86_400_000L, second.GetProperty("to").GetInt64() - second.GetProperty("from").GetInt64());
        Assert.Equal(["7 d"], Strings(r.GetProperty("pressed")));
        Assert.Contains("range=7d", r.GetProperty("hash").GetString());

        // A phone-wide chart asks again for about its own width.
        var phone = r.GetProperty("phone");
        Assert.True(phone.GetProperty("maxPoints").GetInt32() < 400, phone.ToString());
        Assert.Equal([DashboardFixture.Recent, DashboardFixture.Recent - 1], Ints(phone.GetProperty("points")));
    }

    [Fact]
    public async Task CsvMatchesTheData()
    {
        var r = await ChartRun();
        Assert.EndsWith(".csv", r.GetProperty("csvName").GetString());
        var lines = r.GetProperty("csv").GetString()!.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(DashboardFixture.Recent + 1, lines.Length);
        Assert.Equal($"time_utc,unix_ms,{DashboardFixture.Program}/temperature · boiler-1 (flow) [{f.Temperature}] (°C),{DashboardFixture.Program}/energy · boiler-1 [{f.Energy}] (Wh/s)", lines[0]);
        for (int i = 0; i < DashboardFixture.Recent; i++)
        {
            long t = f.RecentTime(i);
            string time = DateTimeOffset.FromUnixTimeMilliseconds(t).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            string temperature = (20 + 0.5 * i).ToString(CultureInfo.InvariantCulture);
            string rate = i == 0 ? "" : "10"; // +600 Wh a minute
            Assert.Equal($"{time},{t},{temperature},{rate}", lines[i + 1]);
        }
    }

    [Fact]
    public async Task LongRangesAreDownsampledToTheChartWidth()
    {
        var r = await f.Browse("dense", new JsonObject { ["ids"] = new JsonArray(f.Pressure) });
        foreach (var size in new[] { "desktop", "phone" })
        {
            var c = r.GetProperty(size);
            int maxPoints = c.GetProperty("maxPoints").GetInt32();
            int points = Ints(c.GetProperty("points")).Single();
            Assert.True(c.GetProperty("bucketMs")[0].GetInt64() > 0, $"{size}: 1440 samples in 24 h should be bucketed for {maxPoints} points");
            Assert.InRange(points, maxPoints * 9 / 10, maxPoints);
            // The same question asked directly gives the same number of points.
            var direct = await f.Query($"{{ timeseries(idxDatapoint: \"{f.Pressure}\", from: {c.GetProperty("from")}, to: {c.GetProperty("to")}, maxPoints: {maxPoints}) {{ points {{ timestamp }} }} }}");
            Assert.Equal(direct.GetProperty("timeseries").GetProperty("points").GetArrayLength(), points);
        }
        Assert.True(r.GetProperty("phone").GetProperty("maxPoints").GetInt32() < r.GetProperty("desktop").GetProperty("maxPoints").GetInt32() / 2);
    }

    [Fact]
    public async Task AxisLabelsAreCompactAndTinyValuesAreNotZero()
    {
        // 65,668,075 was cut to "000,000" on a narrow axis; a wrong Modbus byte order gives 1.39e-36.
        var r = await f.Browse("formats");
        Assert.Equal(["0", "1.39e-36", "0.5", "999", "1500", "12.3k", "65.7M", "2.5G", "-42k"], Strings(r.GetProperty("axis")));
        Assert.Equal("1.390e-36", Strings(r.GetProperty("value"))[1]);
    }

    [Fact]
    public async Task ARecoveredTargetsOldErrorIsFoldedAway()
    {
        var r = await f.Browse("formats");
        Assert.Equal("<span>connection refused<span class=\"muted\"> (3 min ago)</span></span>", r.GetProperty("failing").GetString());
        Assert.Equal("<details class=\"recovered\"><summary>last error, 3 min ago</summary><span>connection refused</span></details>", r.GetProperty("recovered").GetString());
        Assert.Equal("–", r.GetProperty("never").GetString());
    }

    [Fact]
    public async Task GraphiQLsDocsPaneShowsTheSchema()
    {
        // The docs pane is built from the full introspection query, through the published binary.
        var r = await f.Browse("graphiql");
        Assert.Contains("Query", Strings(r.GetProperty("roots")));
        Assert.Contains("Mutation", Strings(r.GetProperty("roots")));
        var fields = Strings(r.GetProperty("fields"));
        Assert.Contains("allDatapoints", fields);
        Assert.Contains("timeseries", fields);
    }

    [Fact]
    public async Task AFavouriteIsSavedOnTheBoxAndSurvivesAReload()
    {
        const string name = "Boiler 1 flow";
        var r = await f.Browse("favourite", new JsonObject { ["ids"] = new JsonArray(f.Temperature, f.Energy), ["name"] = name });
        Assert.StartsWith("Saved", r.GetProperty("saved").GetProperty("status").GetString());
        var fav = Assert.Single(r.GetProperty("afterReload").EnumerateArray(), x => x.GetProperty("name").GetString() == name);
        Assert.Equal(["temperature · boiler-1 (flow)", "energy · boiler-1"], Strings(fav.GetProperty("series")));
        Assert.Equal(name, r.GetProperty("openedTitle").GetString());
        Assert.Equal([f.Temperature, f.Energy], Strings(r.GetProperty("opened").GetProperty("ids")));

        // It is pattoo's chart + favorite on the box, not browser storage: every client sees it.
        var data = await f.Query("{ allChart { edges { node { idxChart name chartDatapointChart { edges { node { idxDatapoint enabled } } } favoriteChart { edges { node { enabled } } } } } } }");
        var chart = Assert.Single(data.GetProperty("allChart").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node")), n => n.GetProperty("name").GetString() == name);
        Assert.Equal(fav.GetProperty("chart").GetString(), chart.GetProperty("idxChart").GetString());
        Assert.Equal([f.Temperature, f.Energy], chart.GetProperty("chartDatapointChart").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node").GetProperty("idxDatapoint").GetString()!).ToArray());
        Assert.Equal("1", chart.GetProperty("favoriteChart").GetProperty("edges")[0].GetProperty("node").GetProperty("enabled").GetString());
    }

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    [GeneratedRegex("/dashboard/(v-[0-9a-f]+)/main\\.js")]
    private static partial Regex VersionPath();
}
