using System.Diagnostics;
using System.Net.Http;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Events;

/// <summary>
/// The published binary receives traps and informs from net-snmp's senders and serves them as
/// events over GraphQL, pages and filters included; its counters are in /api/v1/health; a
/// reload that changes the communities applies at once; events survive a restart.
/// </summary>
public class TrapEventsEndToEndTests
{
    [Fact]
    public async Task TrapsAndInformsBecomeEventsServedOverGraphQLAcrossAReloadAndARestart()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-e2e-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int port = EdgeProcess.FreePort(), trapPort = EdgeProcess.FreePort();
        var config = Path.Combine(dir, "edge.toml");
        string Config(string community) => EndToEndSupport.BoxConfig("trap-box", port, dir, $"""
            [events]
            retention = "30d"
            [snmp.traps]
            listen = "127.0.0.1:{trapPort}"
            communities = ["{community}"]
            store_values = true
            [[snmp.traps.users]]
            user = "ops"
            auth_protocol = "SHA256"
            auth_password = "ops-auth-pass"
            priv_protocol = "AES"
            priv_password = "ops-priv-pass"
            """);
        await File.WriteAllTextAsync(config, Config("plant"));
        var (checkCode, _, checkErr) = await EdgeProcess.RunAsync("config", "check", config);
        Assert.True(checkCode == 0, checkErr);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        string target = $"127.0.0.1:{trapPort}";
        string[] v3 = ["-v", "3", "-u", "ops", "-l", "authPriv", "-a", "SHA-256", "-A", "ops-auth-pass", "-x", "AES", "-X", "ops-priv-pass"];

        await using (var edge = new EdgeProcess(dir, "run", "--config", config))
        {
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            Assert.Contains($"snmp traps: listening on 127.0.0.1:{trapPort}", edge.Output);
            for (int i = 0; i < 3; i++)
                await NetSnmp("snmptrap", "-v", "2c", "-c", "plant", target, "", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1." + i, "i", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await NetSnmp("snmpinform", [.. v3, "-t", "3", "-r", "1", target, "", "1.3.6.1.6.3.1.1.5.4", "1.3.6.1.2.1.2.2.1.8.7", "i", "1"]);
            await NetSnmp("snmptrap", "-v", "2c", "-c", "guess", target, "", "1.3.6.1.6.3.1.1.5.1");

            var events = await WaitForEvents(http, 4);
            Assert.Equal(4, events.GetProperty("totalCount").GetInt32());
            var newest = events.GetProperty("edges")[0].GetProperty("node");
            Assert.Equal("inform", newest.GetProperty("kind").GetString());
            Assert.Equal("snmp", newest.GetProperty("agentProgram").GetString());
            Assert.Equal("127.0.0.1", newest.GetProperty("agentPolledTarget").GetString());
            Assert.Equal("linkUp from 127.0.0.1: ifOperStatus.7 = up(1)", newest.GetProperty("text").GetString());

            // Pages of 2, then filters.
            var page1 = (await EndToEndSupport.GraphQLAsync(http, """{ events(first: 2) { pageInfo { hasNextPage endCursor } edges { node { idxEvent } } } }""")).GetProperty("events");
            Assert.True(page1.GetProperty("pageInfo").GetProperty("hasNextPage").GetBoolean());
            string cursor = page1.GetProperty("pageInfo").GetProperty("endCursor").GetString()!;
            var page2 = (await EndToEndSupport.GraphQLAsync(http, $$"""{ events(first: 2, after: "{{cursor}}") { pageInfo { hasNextPage } edges { node { idxEvent kind } } } }""")).GetProperty("events");
            Assert.False(page2.GetProperty("pageInfo").GetProperty("hasNextPage").GetBoolean());
            Assert.Equal(2, page2.GetProperty("edges").GetArrayLength());
            var warnings = (await EndToEndSupport.GraphQLAsync(http, """{ events(source: "snmp/127.0.0.1", kind: "trap", severity: "warning") { totalCount } }""")).GetProperty("events");
            Assert.Equal(3, warnings.GetProperty("totalCount").GetInt32());
            var bad = await http.PostAsync("/graphql", new StringContent("""{"query":"{ events(severity: \"loud\") { totalCount } }"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Contains("severity \\\"loud\\\" is not one of info, warning, critical", await bad.Content.ReadAsStringAsync());

            // store_values: the numeric varbinds are samples too (the last linkDown's ifIndex.2 = 2).
            var stored = (await EndToEndSupport.GraphQLAsync(http, """{ series(agentProgram: "snmp", key: "trap_ifIndex_2") { lastValue labels { key value } } }""")).GetProperty("series");
            Assert.Equal(2, Assert.Single(stored.EnumerateArray()).GetProperty("lastValue").GetDouble());

            var health = JsonDocument.Parse(await http.GetStringAsync("/api/v1/health")).RootElement;
            var counters = health.GetProperty("listeners")[0].GetProperty("counters");
            Assert.Equal(1, counters.GetProperty("badCommunity").GetInt64());
            Assert.Equal(1, counters.GetProperty("informsAnswered").GetInt64());
            Assert.Equal(4, counters.GetProperty("stored").GetInt64());
            Assert.Contains("pattoo_edge_listener_datagrams_total{appliance=\"trap-box\",listener=\"snmp traps\",counter=\"badCommunity\"} 1", await http.GetStringAsync("/metrics"));

            // A reload with another community: the old one is refused at once, the new one taken.
            await File.WriteAllTextAsync(config, Config("guess"));
            int mark = edge.Output.Length;
            edge.Signal(EdgeProcess.SIGHUP);
            await edge.WaitForOutputAsync("snmp traps: listening on", TimeSpan.FromSeconds(10), mark);
            await NetSnmp("snmptrap", "-v", "2c", "-c", "guess", target, "", "1.3.6.1.6.3.1.1.5.1");
            await WaitForEvents(http, 5);
            edge.Signal(EdgeProcess.SIGTERM);
            Assert.Equal(0, await edge.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        }

        // Events are in the database: a restart serves them again; the engine id stays, the boot count moves on.
        string engineFile = await File.ReadAllTextAsync(Path.Combine(dir, "data", "snmp-engine"));
        await using (var again = new EdgeProcess(dir, "run", "--config", config))
        {
            await again.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            var events = await WaitForEvents(http, 5);
            Assert.Equal("coldStart from 127.0.0.1", events.GetProperty("edges")[0].GetProperty("node").GetProperty("text").GetString());
            // An inform after the restart: snmpinform discovers the new boot count and is answered.
            await NetSnmp("snmpinform", [.. v3, "-t", "3", "-r", "1", target, "", "1.3.6.1.6.3.1.1.5.2"]);
            await WaitForEvents(http, 6);
        }
        string engineAfter = await File.ReadAllTextAsync(Path.Combine(dir, "data", "snmp-engine"));
        Assert.Equal(engineFile.Split('\n')[0], engineAfter.Split('\n')[0]);
        Assert.Contains("boots 2", engineAfter, StringComparison.Ordinal);
        Directory.Delete(dir, recursive: true);
    }

    private static async Task<JsonElement> WaitForEvents(HttpClient http, int count)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var events = (await EndToEndSupport.GraphQLAsync(http, """
                { events { totalCount edges { cursor node { idxEvent timestamp agentProgram agentPolledTarget kind severity text details { key value } } } } }
                """)).GetProperty("events");
            if (events.GetProperty("totalCount").GetInt32() >= count) return events;
            if (DateTime.UtcNow > until) Assert.Fail($"expected {count} events, have {events.GetProperty("totalCount").GetInt32()}");
            await Task.Delay(100);
        }
    }

    /// <summary>Runs a net-snmp sender (Debian's snmp package) with no MIBs and a persistent directory of its own.</summary>
    internal static async Task NetSnmp(string tool, params string[] args)
    {
        var persist = Directory.CreateTempSubdirectory("pattoo-netsnmp-").FullName;
        try
        {
            var psi = new ProcessStartInfo("/usr/bin/" + tool) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["SNMP_PERSISTENT_DIR"] = persist;
            psi.Environment["MIBS"] = "";
            psi.Environment["MIBDIRS"] = Path.Combine(persist, "no-mibs");
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(p.ExitCode == 0, $"{tool} exited {p.ExitCode}: {await stderr}");
        }
        finally
        {
            Directory.Delete(persist, recursive: true);
        }
    }
}
