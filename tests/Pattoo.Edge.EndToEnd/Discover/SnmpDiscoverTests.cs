using System.Globalization;

namespace Pattoo.Edge.EndToEnd.Discover;

/// <summary>
/// `pattoo-edge discover snmp` against Debian's snmpd: discover (v2c and v3), the printed TOML passes
/// `config check`, the binary polls it, and a value equals what net-snmp's own snmpget reads.
/// </summary>
public sealed class SnmpDiscoverTests
{
    [Fact]
    public async Task AnAgentDiscoveredOverV2cAndV3PollsWhatItServes()
    {
        string dir = DiscoverSupport.NewDir("snmp");
        int snmpPort = EdgeProcess.FreePort();
        if (!File.Exists("/usr/sbin/snmpd")) throw new InvalidOperationException("/usr/sbin/snmpd is missing: ./build.sh test installs it");
        await File.WriteAllTextAsync(Path.Combine(dir, "snmpd.conf"),
            "rocommunity discover-community 127.0.0.1\nsysName discovered-agent\nsysLocation plant room\ncreateUser discuser SHA disc-auth-pass AES disc-priv-pass\nrouser discuser priv\n");
        using var snmpd = PollersEndToEndTests.Start("/usr/sbin/snmpd", dir, ["-f", "-Lf", Path.Combine(dir, "snmpd.log"), "-C", "-c", Path.Combine(dir, "snmpd.conf"), "-I", "-smux", "-p", Path.Combine(dir, "snmpd.pid"), $"udp:127.0.0.1:{snmpPort}"],
            new() { ["SNMP_PERSISTENT_DIR"] = Path.Combine(dir, "snmp-state"), ["MIBS"] = "" });
        try
        {
            string agent = $"127.0.0.1:{snmpPort}";
            var (code, toml, log) = (1, "", "");
            for (int attempt = 0; attempt < 20 && code != 0; attempt++)
            {
                (code, toml, log) = await EdgeProcess.RunAsync("discover", "snmp", agent, "--community", "discover-community", "--request-timeout", "1s");
                if (code != 0) await Task.Delay(250); // snmpd still starting
            }
            Assert.True(code == 0, log);
            Assert.Contains("# sysName: discovered-agent\n", toml, StringComparison.Ordinal);
            Assert.Contains("# sysLocation: plant room\n", toml, StringComparison.Ordinal);
            Assert.Contains("interfaces with 64-bit counters (ifXTable): lo", toml, StringComparison.Ordinal);
            Assert.Contains("storage: Physical memory", toml, StringComparison.Ordinal);
            Assert.Contains("groups = [\"if-mib\", \"host-resources\"]", toml, StringComparison.Ordinal);
            Assert.Contains("community = \"discover-community\"", toml, StringComparison.Ordinal);
            Assert.Contains("IF-MIB:", log, StringComparison.Ordinal);

            // SNMPv3 authPriv gives the same agent, credentials written as given
            var (v3Code, v3Toml, v3Log) = await EdgeProcess.RunAsync("discover", "snmp", agent, "--user", "discuser", "--auth-protocol", "SHA",
                "--auth-password", "disc-auth-pass", "--priv-protocol", "AES", "--priv-password", "disc-priv-pass");
            Assert.True(v3Code == 0, v3Log);
            Assert.Contains("version = \"3\"\n  user = \"discuser\"\n  security_level = \"authPriv\"\n  auth_protocol = \"SHA\"", v3Toml, StringComparison.Ordinal);
            Assert.Contains("priv_protocol = \"AES\"", v3Toml, StringComparison.Ordinal);

            // what the binary then polls equals what net-snmp reads: the size of physical memory
            var (getCode, getOut, getErr) = await EdgeProcess.RunProgramAsync("snmpget", TimeSpan.FromSeconds(10), "-v2c", "-c", "discover-community", "-On", "-Oqv", agent, "1.3.6.1.2.1.25.2.3.1.5.1");
            Assert.True(getCode == 0, getErr);
            double physical = double.Parse(getOut.Trim(), CultureInfo.InvariantCulture);
            // each key's value, of row 1 for a table (Physical memory for hrStorage)
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var s in await DiscoverSupport.PollAsync(dir, v3Toml, "snmp", "discovered-agent"))
            {
                string key = s.GetProperty("key").GetString()!;
                if (DiscoverSupport.Label(s, "index") is null or "1" || !values.ContainsKey(key)) values[key] = DiscoverSupport.Value(s);
            }
            Assert.Equal(physical, values["hrStorageSize"]);
            Assert.True(values["sysUpTime"] > 0);
            Assert.True(values.ContainsKey("ifHCInOctets"));

            // a wrong community gets no answer at all: said so, exit 1
            var (wrongCode, _, wrongLog) = await EdgeProcess.RunAsync("discover", "snmp", agent, "--community", "wrong", "--request-timeout", "200ms", "--timeout", "10s");
            Assert.Equal(1, wrongCode);
            Assert.Contains("check the address, the version and the community or user", wrongLog, StringComparison.Ordinal);
            // credentials the config would refuse are refused by their option's name, exit 2
            var (badCode, _, badLog) = await EdgeProcess.RunAsync("discover", "snmp", agent, "--user", "u", "--auth-password", "short");
            Assert.Equal(2, badCode);
            Assert.Contains("--auth-password: expected a password of at least 8 characters", badLog, StringComparison.Ordinal);
        }
        finally
        {
            try { snmpd.Kill(true); } catch (InvalidOperationException) { }
            Directory.Delete(dir, true);
        }
    }
}
