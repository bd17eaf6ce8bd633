using static Pattoo.Edge.EndToEnd.Write.WriteBackSupport;

namespace Pattoo.Edge.EndToEnd.Write;

/// <summary>
/// SNMP SET through the published binary to Debian's snmpd: v2c with a read-write community and
/// v3 (authPriv) with a read-write user, read back by GET; the agent's own refusal (a read-only
/// object) and the box's (a value not allowed) are audited.
/// </summary>
public sealed class SnmpWriteBackTests
{
    [Fact]
    public async Task WritableOidsAreSetOverV2cAndV3AndReadBack()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-write-snmp-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int snmpPort = EdgeProcess.FreePort(), port = EdgeProcess.FreePort();
        if (!File.Exists("/usr/sbin/snmpd")) throw new InvalidOperationException("/usr/sbin/snmpd is missing: ./build.sh test installs it");
        // sysContact and sysLocation are not set here: set in the file, snmpd would make them read-only.
        await File.WriteAllTextAsync(Path.Combine(dir, "snmpd.conf"),
            "rwcommunity e2e-rw 127.0.0.1\ncreateUser e2ewriter SHA e2e-auth-pass AES e2e-priv-pass\nrwuser e2ewriter priv\n");
        using var snmpd = PollersEndToEndTests.Start("/usr/sbin/snmpd", dir, ["-f", "-Lf", Path.Combine(dir, "snmpd.log"), "-C", "-c", Path.Combine(dir, "snmpd.conf"), "-I", "-smux", "-p", Path.Combine(dir, "snmpd.pid"), $"udp:127.0.0.1:{snmpPort}"],
            new() { ["SNMP_PERSISTENT_DIR"] = Path.Combine(dir, "snmp-state"), ["MIBS"] = "" });
        try
        {
            var config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, EndToEndSupport.BoxConfig("write-gw", port, dir, $"""
                {WriteConfig("100ms")}

                [[snmp.targets]]
                name = "switch"
                address = "127.0.0.1:{snmpPort}"
                community = "e2e-rw"
                interval = "2s"
                timeout = "1s"
                  [[snmp.targets.oids]]
                  oid = "1.3.6.1.2.1.1.4.0"
                  key = "sysContact"
                  type = "string"
                  writable = true
                  allowed = ["noc@example.net", "facilities@example.net"]
                  [[snmp.targets.oids]]
                  oid = "1.3.6.1.2.1.11.30.0"
                  key = "snmpEnableAuthenTraps"
                  writable = true
                  allowed = [1, 2]
                  [[snmp.targets.oids]]
                  oid = "1.3.6.1.2.1.1.5.0"
                  key = "sysName"
                  writable = true
                  min = 0
                  max = 10
                  [[snmp.targets.oids]]
                  oid = "1.3.6.1.2.1.1.3.0"
                  key = "sysUpTime"
                  writable = true
                  min = 0
                  max = 4294967295

                [[snmp.targets]]
                name = "server-v3"
                address = "127.0.0.1:{snmpPort}"
                version = "3"
                user = "e2ewriter"
                security_level = "authPriv"
                auth_protocol = "SHA"
                auth_password = "e2e-auth-pass"
                priv_protocol = "AES"
                priv_password = "e2e-priv-pass"
                interval = "2s"
                timeout = "1s"
                  [[snmp.targets.oids]]
                  oid = "1.3.6.1.2.1.1.6.0"
                  key = "sysLocation"
                  type = "string"
                  writable = true
                  allowed = ["plant room", "roof"]
                """));
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("snmp/switch: polling OK", TimeSpan.FromSeconds(30));
            await edge.WaitForOutputAsync("snmp/server-v3: polling OK", TimeSpan.FromSeconds(30));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var ids = await WaitForIdsAsync(http, "snmp", "sysContact", "snmpEnableAuthenTraps", "sysUpTime", "sysLocation", "sysName");

            var contact = await WriteAsync(http, ids["sysContact"], "\"noc@example.net\"");
            Assert.Equal(("written", "noc@example.net"), (contact.GetProperty("result").GetString(), contact.GetProperty("readBackValue").GetString()));
            var traps = await WriteAsync(http, ids["snmpEnableAuthenTraps"], "1");
            Assert.Equal(("written", "1"), (traps.GetProperty("result").GetString(), traps.GetProperty("readBackValue").GetString()));
            await Task.Delay(150);
            Assert.Equal("2", (await WriteAsync(http, ids["snmpEnableAuthenTraps"], "2")).GetProperty("readBackValue").GetString());
            // SNMPv3, authPriv, with the target's own user.
            var location = await WriteAsync(http, ids["sysLocation"], "\"roof\"");
            Assert.Equal(("written", "roof"), (location.GetProperty("result").GetString(), location.GetProperty("readBackValue").GetString()));

            // The agent refuses a read-only object; the box refuses a value not allowed, and a text for a number.
            var (agentMessage, agentCode) = await RefusedAsync(http, ids["sysUpTime"], "5");
            Assert.Equal("DEVICE_REFUSED", agentCode);
            Assert.Contains("notWritable", agentMessage);
            Assert.Equal("OUT_OF_LIMITS", (await RefusedAsync(http, ids["snmpEnableAuthenTraps"], "3")).Code);
            Assert.Equal("OUT_OF_LIMITS", (await RefusedAsync(http, ids["sysContact"], "\"attacker@example.com\"")).Code);
            Assert.Equal("BAD_VALUE", (await RefusedAsync(http, ids["snmpEnableAuthenTraps"], "\"on\"")).Code);
            // Declared as a number, reported by the agent as a text: refused, never sent as an empty string.
            var (kindMessage, kindCode) = await RefusedAsync(http, ids["sysName"], "5");
            Assert.Equal("BAD_VALUE", kindCode);
            Assert.Contains("declare it type = \"string\"", kindMessage);
            Assert.Equal("NOT_SUPPORTED", (await PostAsync(http, $"mutation {{ relinquish(idxDatapoint: \"{ids["sysContact"]}\") {{ result }} }}"))
                .GetProperty("errors")[0].GetProperty("extensions").GetProperty("code").GetString());

            var audit = await AuditAsync(http, ids["sysUpTime"]);
            Assert.Equal("refused", Assert.Single(audit).GetProperty("result").GetString());
        }
        finally
        {
            try { snmpd.Kill(true); } catch (InvalidOperationException) { }
        }
    }
}
