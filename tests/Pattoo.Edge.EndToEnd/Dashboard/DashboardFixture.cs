using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pattoo.Edge.EndToEnd.Api;

namespace Pattoo.Edge.EndToEnd.Dashboard;

/// <summary>
/// One published appliance for the dashboard tests, with a known data set and two pollers:
/// the Linux poller (on, every 5 s: an OK target) and a Modbus device on a closed loopback port
/// (a failing target with a last error). The known data are pattoo agent posts with timestamps
/// on whole minutes just before now, so the default ranges show them:
/// <list type="bullet">
/// <item>boiler-1 temperature (float, units °C, sensor=flow): 50 samples a minute apart, 20 + 0.5 i,
/// and 10 older ones three days back (hourly, 15 + j);</item>
/// <item>boiler-1 energy (counter64, units Wh): 50 samples, 1000 + 600 i, so 49 rates of 10 Wh/s;</item>
/// <item>boiler-1 firmware (string): "v1.2" then "v1.3";</item>
/// <item>boiler-2 pressure (float, units bar): 1440 samples a minute apart (24 h), for downsampling.</item>
/// </list>
/// Three SNMP traps (coldStart, linkDown, linkUp) sent by net-snmp's snmptrap are its events, and an
/// alert rule on the Linux poller's memory_total_bytes is pending (for 1 h) from the first poll on.
/// The browser is Debian's chromium driven by tests/peers/dashboard/dashboard.js (playwright-core).
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const int Recent = 50;
    public static readonly string PlantAgent = PattooAgentPayload.Sha256("dashboard-plant");
    public static readonly string Plant2Agent = PattooAgentPayload.Sha256("dashboard-plant-2");
    public const string Program = "pattoo_agent_modbustcpd";

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "pattoo-edge-dashboard-" + Guid.NewGuid().ToString("N")[..8]);
    public int Port { get; } = EdgeProcess.FreePort();
    public int TrapPort { get; } = EdgeProcess.FreePort();
    public EdgeProcess Edge { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public string Url => $"http://127.0.0.1:{Port}/";

    /// <summary>The whole minute the recent samples end on.</summary>
    public long NowMinute { get; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 60_000 * 60_000;
    public string Temperature { get; private set; } = "";
    public string Energy { get; private set; } = "";
    public string Firmware { get; private set; } = "";
    public string Pressure { get; private set; } = "";

    public static string RepoRoot => EndToEndSupport.RepoRoot;

    public static string ScreenshotDir => Path.Combine(RepoRoot, "artifacts", "screenshots");

    public long RecentTime(int i) => NowMinute - (Recent - 1 - i) * 60_000L;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Dir);
        int closedPort = EdgeProcess.FreePort(); // nothing listens there: the Modbus target fails
        var config = Path.Combine(Dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"""
            [appliance]
            name = "dash-box"
            [server]
            listen = "127.0.0.1:{Port}"
            [storage]
            path = "{Dir}/data"
            retention = "36500d"
            [linux]
            enabled = true
            interval = "5s"
            [[modbus.devices]]
              name = "boiler-plc"
              address = "127.0.0.1:{closedPort}"
              interval = "5s"
              timeout = "500ms"
              [[modbus.devices.values]]
                key = "flow_temperature"
                table = "holding"
                address = 0
                type = "int16"
            [[forward.remote_write]]
              name = "central"
              url = "http://127.0.0.1:{closedPort}/api/v1/write"
            [snmp.traps]
              listen = "127.0.0.1:{TrapPort}"
              communities = ["dash"]
            [[alerts.rules]]
              name = "memory-watch"
              program = "linux"
              key = "memory_total_bytes"
              above = 0
              for = "1h"
              message = "{"{key}"} is {"{value}"}"
            """);
        Edge = new EdgeProcess(Dir, "run", "--config", config);
        await Edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
        Http = new HttpClient { BaseAddress = new Uri(Url) };

        // The store keeps samples in time order per series: the old temperatures go first.
        var old = new PattooAgentPayload(PlantAgent, Program, "plant-gw", 60_000);
        for (int j = 0; j < 10; j++) old.Add("boiler-1", "temperature", 101, 15.0 + j, NowMinute - 3 * 86_400_000L + j * 3_600_000L, ("sensor", "flow"), ("units", "°C"));
        await Post(old);
        var recent = new PattooAgentPayload(PlantAgent, Program, "plant-gw", 60_000);
        for (int i = 0; i < Recent; i++)
        {
            long t = RecentTime(i);
            recent.Add("boiler-1", "temperature", 101, 20 + 0.5 * i, t, ("sensor", "flow"), ("units", "°C"));
            recent.Add("boiler-1", "energy", 64, 1000L + 600L * i, t, ("units", "Wh"));
        }
        recent.Add("boiler-1", "firmware", 2, "v1.2", NowMinute - 40 * 60_000L);
        recent.Add("boiler-1", "firmware", 2, "v1.3", NowMinute - 10 * 60_000L);
        await Post(recent);
        var dense = new PattooAgentPayload(Plant2Agent, Program, "plant-gw", 60_000);
        for (int i = 0; i < 1440; i++) dense.Add("boiler-2", "pressure", 101, 1 + (i % 60) / 100.0, NowMinute - (1439 - i) * 60_000L, ("units", "bar"));
        await Post(dense);

        // Three traps from net-snmp's snmptrap: the Events page and the overview's latest events.
        foreach (var trap in new[] { "1.3.6.1.6.3.1.1.5.1", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4" })
            await Events.TrapEventsEndToEndTests.NetSnmp("snmptrap", "-v", "2c", "-c", "dash", $"127.0.0.1:{TrapPort}", "", trap, "1.3.6.1.2.1.2.2.1.1.3", "i", "3");
        Temperature = await Idx("temperature");
        Energy = await Idx("energy");
        Firmware = await Idx("firmware");
        Pressure = await Idx("pressure");
        // Let both pollers report once, so the overview shows an OK and a failing target.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var p = (await Query("{ pollers { program ok lastError } }")).GetProperty("pollers").EnumerateArray().ToList();
            if (p.Count >= 2 && p.Any(x => x.GetProperty("ok").GetBoolean()) && p.Any(x => x.GetProperty("lastError").ValueKind == JsonValueKind.String)) break;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the pollers did not report within 20 s:\n" + Edge.Output);
            await Task.Delay(250);
        }
    }

    private async Task Post(PattooAgentPayload payload)
    {
        using var response = await Http.PostAsync("/pattoo/api/v1/agent/receive/dashboard", new StringContent(payload.ToJson(NowMinute), Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode || body != "OK") throw new InvalidOperationException($"ingest answered {(int)response.StatusCode}: {body}\n{Edge.Output}");
    }

    private async Task<string> Idx(string key)
    {
        var series = (await Query($"{{ series(key: \"{key}\", agentProgram: \"{Program}\") {{ idxDatapoint }} }}")).GetProperty("series");
        if (series.GetArrayLength() != 1) throw new InvalidOperationException($"expected one datapoint with key {key}, got {series}");
        return series[0].GetProperty("idxDatapoint").GetString()!;
    }

    /// <summary>Runs a GraphQL query and returns its data (throws on errors).</summary>
    public async Task<JsonElement> Query(string query)
    {
        var json = new JsonObject { ["query"] = query }.ToJsonString();
        using var response = await Http.PostAsync("/graphql", new StringContent(json, Encoding.UTF8, "application/json"));
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        if (root.TryGetProperty("errors", out var errors)) throw new InvalidOperationException($"GraphQL errors: {errors}");
        return root.GetProperty("data");
    }

    private readonly ConcurrentDictionary<string, Lazy<Task<JsonElement>>> _runs = new();

    /// <summary>Runs a browser scenario once per fixture (tests that check parts of one run share it).</summary>
    public Task<JsonElement> Browse(string scenario, JsonObject? args = null)
        => _runs.GetOrAdd(scenario, _ => new Lazy<Task<JsonElement>>(() => RunBrowser(scenario, args ?? new JsonObject(), Url))).Value;

    /// <summary>Runs a browser scenario against another box (a test's own), each time.</summary>
    public Task<JsonElement> BrowseAt(string url, string scenario, JsonObject args) => RunBrowser(scenario, args, url);

    private async Task<JsonElement> RunBrowser(string scenario, JsonObject args, string url)
    {
        string chromium = Environment.GetEnvironmentVariable("CHROMIUM") is { Length: > 0 } c ? c : "/usr/bin/chromium";
        // Missing tools fail the test: a dashboard that was never looked at is not tested.
        if (!File.Exists(chromium)) throw new InvalidOperationException($"{chromium} is missing: apt-get install chromium (build.sh test installs it)");
        string node = FindOnPath("node") ?? throw new InvalidOperationException("node is missing: apt-get install nodejs (build.sh test installs it)");
        string script = Path.Combine(RepoRoot, "tests", "peers", "dashboard", "dashboard.js");
        if (!Directory.Exists(Path.Combine(RepoRoot, "tests", "peers", "node_modules", "playwright-core")))
            throw new InvalidOperationException("tests/peers/node_modules/playwright-core is missing: (cd tests/peers && npm ci)");
        var psi = new ProcessStartInfo(node) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(script)! };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(scenario);
        psi.Environment["DASHBOARD_URL"] = url;
        psi.Environment["SCREENSHOT_DIR"] = ScreenshotDir;
        psi.Environment["DASHBOARD_ARGS"] = args.ToJsonString();
        psi.Environment["CHROMIUM"] = chromium;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"dashboard.js {scenario} ran over 3 minutes:\n{await stderr}");
        }
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var last = lines.Length > 0 ? lines[^1] : "";
        if (p.ExitCode != 0 || !last.StartsWith('{'))
            throw new InvalidOperationException($"dashboard.js {scenario} failed (exit {p.ExitCode}):\n{last}\n{await stderr}");
        var result = JsonDocument.Parse(last).RootElement.Clone();
        // Every scenario: no script errors, no failed requests, nothing fetched from outside the box.
        foreach (var name in new[] { "consoleErrors", "failedRequests", "foreignRequests" })
            Assert.True(result.GetProperty(name).GetArrayLength() == 0, $"{scenario}: {name}: {result.GetProperty(name)}");
        return result;
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (Edge is not null) await Edge.DisposeAsync();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
