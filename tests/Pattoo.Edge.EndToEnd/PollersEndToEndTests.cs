using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd;

/// <summary>
/// The published binary polling real peers: Debian's snmpd (SNMPv2c, the built-in if-mib
/// group and a scalar) and modbus-serial's TCP server (registers from tests/peers/modbus).
/// </summary>
public class PollersEndToEndTests
{
    [Fact]
    public async Task SnmpV2cV3AndModbusTcpRtuTargetsAreStoredWithTheirLabels()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-pollers-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int snmpPort = EdgeProcess.FreePort(), modbusPort = EdgeProcess.FreePort(), port = EdgeProcess.FreePort();
        var root = EndToEndSupport.RepoRoot;

        if (!File.Exists("/usr/sbin/snmpd")) throw new InvalidOperationException("/usr/sbin/snmpd is missing: ./build.sh test installs it");
        await File.WriteAllTextAsync(Path.Combine(dir, "snmpd.conf"),
            "rocommunity e2e-community 127.0.0.1\nsysLocation plant room\ncreateUser e2euser SHA e2e-auth-pass AES e2e-priv-pass\nrouser e2euser priv\n");
        using var snmpd = Start("/usr/sbin/snmpd", dir, ["-f", "-Lf", Path.Combine(dir, "snmpd.log"), "-C", "-c", Path.Combine(dir, "snmpd.conf"), "-I", "-smux", "-p", Path.Combine(dir, "snmpd.pid"), $"udp:127.0.0.1:{snmpPort}"],
            new() { ["SNMP_PERSISTENT_DIR"] = Path.Combine(dir, "snmp-state"), ["MIBS"] = "" });
        using var modbus = Start("node", dir, [Path.Combine(root, "tests", "peers", "modbus", "peer.js"), "tcp", modbusPort.ToString()], new());
        // A virtual RS-485 line: the appliance opens ttyA, the RTU server answers unit 7 on ttyB.
        ModbusSerialLine? line = null;
        try
        {
            await WaitForLine(modbus, "READY");
            line = await ModbusSerialLine.StartAsync(dir, "7");
            var config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, $"""
                [appliance]
                name = "e2e-gw"
                [server]
                listen = "127.0.0.1:{port}"
                [storage]
                path = "{dir}/data"
                [linux]
                enabled = false

                [[snmp.targets]]
                name = "switch"
                address = "127.0.0.1:{snmpPort}"
                community = "e2e-community"
                interval = "2s"
                timeout = "1s"
                groups = ["if-mib"]
                  [[snmp.targets.oids]]
                  oid = "1.3.6.1.2.1.1.6.0"
                  key = "sysLocation"

                [[snmp.targets]]
                name = "server-v3"
                address = "127.0.0.1:{snmpPort}"
                version = "3"
                user = "e2euser"
                security_level = "authPriv"
                auth_protocol = "SHA"
                auth_password = "e2e-auth-pass"
                priv_protocol = "AES"
                priv_password = "e2e-priv-pass"
                interval = "2s"
                timeout = "1s"
                  [[snmp.targets.oids]]
                  oid = "1.3.6.1.2.1.1.3.0"
                  key = "sysUpTime"
                  scale = 0.01

                [[modbus.devices]]
                name = "meter"
                transport = "tcp"
                address = "127.0.0.1:{modbusPort}"
                unit_id = 1
                interval = "2s"
                  [[modbus.devices.values]]
                  key = "register_100"
                  table = "holding"
                  address = 100
                  type = "uint16"
                  [[modbus.devices.values]]
                  key = "input_7_scaled"
                  table = "input"
                  address = 7
                  type = "uint16"
                  scale = 0.5

                [[modbus.devices]]
                name = "rtu-meter"
                transport = "rtu"
                serial_port = "{line.Port}"
                baud_rate = 19200
                unit_id = 7
                interval = "2s"
                timeout = "500ms"
                  [[modbus.devices.values]]
                  key = "register_42"
                  table = "holding"
                  address = 42
                  type = "uint16"
                """);
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("snmp/switch: polling OK", TimeSpan.FromSeconds(30));
            await edge.WaitForOutputAsync("modbus/meter: polling OK", TimeSpan.FromSeconds(30));
            await edge.WaitForOutputAsync("snmp/server-v3: polling OK", TimeSpan.FromSeconds(30));
            await edge.WaitForOutputAsync("modbus/rtu-meter: polling OK", TimeSpan.FromSeconds(30));
            await Task.Delay(2500); // a second cycle, so counters have a rate

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var body = "{\"query\":\"{ snmp: series(agentProgram: \\\"snmp\\\") { idxDatapoint key dataType labels { key value } } modbus: series(agentProgram: \\\"modbus\\\") { idxDatapoint key dataType labels { key value } } pollers { program name ok diagnostics { name value } } }\"}";
            using var response = await http.PostAsync("/graphql", new StringContent(body, Encoding.UTF8, "application/json"));
            var data = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("data");
            var snmp = data.GetProperty("snmp").EnumerateArray().ToList();
            Assert.Contains(snmp, s => s.GetProperty("key").GetString() == "sysLocation" && s.GetProperty("dataType").GetInt32() == 2);
            Assert.Contains(snmp, s => s.GetProperty("key").GetString() == "sysUpTime" && s.GetProperty("dataType").GetInt32() == 101); // scaled: float
            // The loopback interface's traffic, labelled with its name and row index.
            var inOctets = snmp.Where(s => s.GetProperty("key").GetString() == "ifHCInOctets").ToList();
            Assert.NotEmpty(inOctets);
            Assert.Contains(inOctets, s => s.GetProperty("labels").EnumerateArray().Any(l => l.GetProperty("value").GetString() == "lo"));
            Assert.All(inOctets, s => Assert.Equal(64, s.GetProperty("dataType").GetInt32()));
            var modbusSeries = data.GetProperty("modbus").EnumerateArray().ToDictionary(s => s.GetProperty("key").GetString()!);
            Assert.Equal(99, modbusSeries["register_100"].GetProperty("dataType").GetInt32());
            Assert.Equal(101, modbusSeries["input_7_scaled"].GetProperty("dataType").GetInt32());
            Assert.Contains(modbusSeries["register_42"].GetProperty("labels").EnumerateArray(), l => l.GetProperty("key").GetString() == "unit_id" && l.GetProperty("value").GetString() == "7");
            Assert.Contains(modbusSeries["register_100"].GetProperty("labels").EnumerateArray(), l => l.GetProperty("key").GetString() == "unit_id" && l.GetProperty("value").GetString() == "1");
            Assert.All(data.GetProperty("pollers").EnumerateArray(), p => Assert.True(p.GetProperty("ok").GetBoolean(), p.ToString()));
            // Each poller's own figures: the shared SNMP socket and each Modbus link answered.
            foreach (var p in data.GetProperty("pollers").EnumerateArray())
            {
                var figures = p.GetProperty("diagnostics").EnumerateArray().ToDictionary(d => d.GetProperty("name").GetString()!, d => d.GetProperty("value").GetInt64());
                switch (p.GetProperty("program").GetString())
                {
                    case "snmp":
                        Assert.True(figures["socket.received"] > 0, p.ToString());
                        Assert.Equal(0, figures["socket.droppedMalformed"]);
                        break;
                    case "modbus":
                        Assert.True(figures["link.responses"] > 0, p.ToString());
                        Assert.Equal(0, figures["link.crcErrors"]);
                        break;
                }
            }

            // Values as the peers serve them: holding n holds n, input n holds n + 1000 (layout.json).
            string idx = modbusSeries["register_100"].GetProperty("idxDatapoint").GetString()!;
            string scaled = modbusSeries["input_7_scaled"].GetProperty("idxDatapoint").GetString()!;
            string rtuIdx = modbusSeries["register_42"].GetProperty("idxDatapoint").GetString()!;
            var q = "{\"query\":\"{ a: timeseries(idxDatapoint: \\\"" + idx + "\\\") { points { value } } b: timeseries(idxDatapoint: \\\"" + scaled + "\\\") { points { value } } c: timeseries(idxDatapoint: \\\"" + rtuIdx + "\\\") { points { value } } }\"}";
            using var r2 = await http.PostAsync("/graphql", new StringContent(q, Encoding.UTF8, "application/json"));
            var ts = JsonDocument.Parse(await r2.Content.ReadAsStringAsync()).RootElement.GetProperty("data");
            Assert.All(ts.GetProperty("a").GetProperty("points").EnumerateArray(), p => Assert.Equal(100, p.GetProperty("value").GetDouble()));
            Assert.All(ts.GetProperty("b").GetProperty("points").EnumerateArray(), p => Assert.Equal(503.5, p.GetProperty("value").GetDouble()));
            Assert.NotEmpty(ts.GetProperty("c").GetProperty("points").EnumerateArray());
            Assert.All(ts.GetProperty("c").GetProperty("points").EnumerateArray(), p => Assert.Equal(42, p.GetProperty("value").GetDouble()));
        }
        finally
        {
            try { snmpd.Kill(true); } catch (InvalidOperationException) { }
            try { modbus.Kill(true); } catch (InvalidOperationException) { }
            line?.Dispose();
        }
    }

    internal static Process Start(string file, string dir, string[] args, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
    }

    internal static async Task WaitForLine(Process p, string text)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (await p.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.Contains(text)) return;
        }
        throw new InvalidOperationException($"{p.StartInfo.FileName} ended before printing {text}: {await p.StandardError.ReadToEndAsync()}");
    }
}
