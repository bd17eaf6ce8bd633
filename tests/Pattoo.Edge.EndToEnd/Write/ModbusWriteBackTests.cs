using System.Text.Json;
using static Pattoo.Edge.EndToEnd.Write.WriteBackSupport;

namespace Pattoo.Edge.EndToEnd.Write;

/// <summary>
/// Write-back through the published binary's GraphQL API to modbus-serial's TCP server and its
/// RTU server on a socat pty pair: writes read back, and every refusal the issue lists is
/// refused with a clear error and an audit row.
/// </summary>
public sealed class ModbusWriteBackTests
{
    [Fact]
    public async Task HoldingRegistersAndCoilsAreWrittenAndReadBackOverTcpAndRtuAndEveryRefusalIsAudited()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-write-modbus-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int modbusPort = EdgeProcess.FreePort(), port = EdgeProcess.FreePort();
        using var modbus = PollersEndToEndTests.Start("node", dir, [Path.Combine(EndToEndSupport.RepoRoot, "tests", "peers", "modbus", "peer.js"), "tcp", modbusPort.ToString()], new());
        ModbusSerialLine? line = null;
        try
        {
            await PollersEndToEndTests.WaitForLine(modbus, "READY");
            line = await ModbusSerialLine.StartAsync(dir, "7");
            var config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, EndToEndSupport.BoxConfig("write-gw", port, dir, $"""
                [api]
                write_tokens = ["{WriteToken}"]
                {WriteConfig("1s")}

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
                  ramp = 10
                  [[modbus.devices.values]]
                  key = "pump"
                  table = "coil"
                  address = 7
                  writable = true
                  [[modbus.devices.values]]
                  key = "big_setpoint"
                  address = 300
                  type = "float32"
                  writable = true
                  min = -1000
                  max = 1000
                  [[modbus.devices.values]]
                  key = "status"
                  address = 100
                  [[modbus.devices.values]]
                  key = "protected"
                  address = 600
                  writable = true
                  min = 0
                  max = 65535

                [[modbus.devices]]
                name = "rtu-plc"
                transport = "rtu"
                serial_port = "{line.Port}"
                baud_rate = 19200
                unit_id = 7
                interval = "1s"
                timeout = "500ms"
                  [[modbus.devices.values]]
                  key = "mode"
                  address = 42
                  writable = true
                  allowed = [0, 1, 2]
                  [[modbus.devices.values]]
                  key = "alarm_reset"
                  table = "coil"
                  address = 12
                  writable = true
                  write_multiple = true
                """));
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("modbus/plc: polling OK", TimeSpan.FromSeconds(30));
            await edge.WaitForOutputAsync("modbus/rtu-plc: polling OK", TimeSpan.FromSeconds(30));
            Assert.Contains("write-back: enabled", edge.Output);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var ids = await WaitForIdsAsync(http, "modbus", "setpoint", "pump", "big_setpoint", "status", "protected", "mode", "alarm_reset");

            // What the API says of a writable point, and of one that is not.
            var series = (await EndToEndSupport.GraphQLAsync(http, "{ series(agentProgram: \"modbus\") { key writable { kind min max ramp allowed limits address canRelinquish enabled } } }"))
                .GetProperty("series").EnumerateArray().ToDictionary(s => s.GetProperty("key").GetString()!, s => s.GetProperty("writable"));
            Assert.Equal(JsonValueKind.Null, series["status"].ValueKind);
            Assert.Equal("number", series["setpoint"].GetProperty("kind").GetString());
            Assert.Equal("min 5, max 30, ramp 10 per write", series["setpoint"].GetProperty("limits").GetString());
            Assert.Equal("holding 200 (uint16), unit 1", series["setpoint"].GetProperty("address").GetString());
            Assert.Equal(["0", "1"], series["pump"].GetProperty("allowed").EnumerateArray().Select(a => a.GetString()!).ToArray());
            Assert.True(series["mode"].GetProperty("enabled").GetBoolean());

            // TCP holding register (FC6, scale 0.1): the peer's register 200 holds 200 (20.0) at start.
            var written = await WriteAsync(http, ids["setpoint"], "21.5", "summer setting");
            Assert.Equal("written", written.GetProperty("result").GetString());
            Assert.Equal("20", written.GetProperty("oldValue").GetString());
            Assert.Equal("21.5", written.GetProperty("readBackValue").GetString());
            Assert.Equal("operator", written.GetProperty("tokenName").GetString());
            // The next poll reads what was written.
            await WaitForLatestAsync(http, ids["setpoint"], 21.5);

            // TCP float32 over two registers (FC16), and a coil (FC5).
            Assert.Equal("-12.25", (await WriteAsync(http, ids["big_setpoint"], "-12.25")).GetProperty("readBackValue").GetString());
            Assert.Equal("1", (await WriteAsync(http, ids["pump"], "true")).GetProperty("readBackValue").GetString());
            // RTU holding register (FC6) and coil (FC15, write_multiple) on the pty.
            Assert.Equal("2", (await WriteAsync(http, ids["mode"], "2")).GetProperty("readBackValue").GetString());
            Assert.Equal("1", (await WriteAsync(http, ids["alarm_reset"], "1")).GetProperty("readBackValue").GetString());
            await WaitForLatestAsync(http, ids["mode"], 2);

            // Refusals, each with a clear error (and code) and an audit row.
            await Task.Delay(1100); // past setpoint's rate limit
            var refusals = new List<(string Idx, string Value, string? Token, string Code, string Words)>
            {
                (ids["setpoint"], "31", ControlToken, "OUT_OF_LIMITS", "above the maximum 30"),
                (ids["setpoint"], "4.9", ControlToken, "OUT_OF_LIMITS", "below the minimum 5"),
                (ids["setpoint"], "\"warm\"", ControlToken, "BAD_VALUE", "expected a number"),
                (ids["setpoint"], "21.55", ControlToken, "BAD_VALUE", "not a step of the register"),
                (ids["mode"], "3", ControlToken, "OUT_OF_LIMITS", "not one of the allowed values (0, 1, 2)"),
                (ids["status"], "1", ControlToken, "NOT_WRITABLE", "not declared writable"),
                (ids["protected"], "5", ControlToken, "DEVICE_REFUSED", "illegal data value"),
                (ids["setpoint"], "22", null, "UNAUTHORIZED", "need a control token"),
                (ids["setpoint"], "22", "not-a-valid-token-at-all-000000", "UNAUTHORIZED", "not one of api.control_tokens"),
                (ids["setpoint"], "22", WriteToken, "UNAUTHORIZED", "not one of api.control_tokens"),
                ("999999", "1", ControlToken, "NOT_FOUND", "no datapoint 999999"),
            };
            foreach (var (idx, value, token, code, words) in refusals)
            {
                // Unauthenticated refusals are audited once per client per second.
                if (token != ControlToken) await Task.Delay(1100);
                var (message, actual) = await RefusedAsync(http, idx, value, token);
                Assert.True(code == actual, $"{idx} = {value}: expected {code}, got {actual}: {message}");
                Assert.Contains(words, message);
            }
            // The ramp: at most 10 per write from what the device reports (21.5, then 29).
            await Task.Delay(1100);
            Assert.Equal("29", (await WriteAsync(http, ids["setpoint"], "29")).GetProperty("readBackValue").GetString());
            await Task.Delay(1100);
            var (rampMessage, rampCode) = await RefusedAsync(http, ids["setpoint"], "5"); // 24 away
            Assert.Equal("OUT_OF_LIMITS", rampCode);
            Assert.Contains("ramp allows 10 per write", rampMessage);
            // The rate limit: one write per second per datapoint.
            await Task.Delay(1100);
            await WriteAsync(http, ids["setpoint"], "28");
            var (rateMessage, rateCode) = await RefusedAsync(http, ids["setpoint"], "27");
            Assert.Equal("RATE_LIMITED", rateCode);
            Assert.Contains("write.min_interval", rateMessage);

            // The device was never sent a refused value.
            await WaitForLatestAsync(http, ids["setpoint"], 28);
            Assert.Equal(600, await LatestAsync(http, ids["protected"]));

            // The audit trail: every request above that reached the box, newest first.
            var audit = await AuditAsync(http, ids["setpoint"]);
            var first = audit[^1];
            Assert.Equal("written", first.GetProperty("result").GetString());
            Assert.Equal("summer setting", first.GetProperty("comment").GetString());
            Assert.Equal("127.0.0.1", first.GetProperty("client").GetString());
            Assert.Equal("20", first.GetProperty("oldValue").GetString());
            Assert.Equal("21.5", first.GetProperty("readBackValue").GetString());
            Assert.Contains(audit, a => a.GetProperty("message").GetString()!.Contains("above the maximum 30") && a.GetProperty("result").GetString() == "refused");
            Assert.Contains(audit, a => a.GetProperty("tokenName").GetString() == "" && a.GetProperty("message").GetString()!.Contains("control token"));
            Assert.Contains(audit, a => a.GetProperty("message").GetString()!.Contains("write.min_interval"));
            var deviceRefusal = Assert.Single(await AuditAsync(http, ids["protected"]));
            Assert.Equal("refused", deviceRefusal.GetProperty("result").GetString());
            Assert.Equal("600", deviceRefusal.GetProperty("oldValue").GetString());
            Assert.Single(await AuditAsync(http, ids["status"]));

            // Counted for a central Prometheus and the health check.
            var metrics = await http.GetStringAsync("/metrics");
            Assert.Contains("pattoo_edge_writes_total{appliance=\"write-gw\",result=\"written\"} 7", metrics);
            var health = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/v1/health")).RootElement.GetProperty("writes");
            Assert.True(health.GetProperty("enabled").GetBoolean());
            Assert.Equal(7, health.GetProperty("written").GetInt64());
            Assert.True(health.GetProperty("refused").GetInt64() >= 10);

            // The kill switch: write.enabled = false refuses every write after a reload.
            await File.WriteAllTextAsync(config, (await File.ReadAllTextAsync(config)).Replace("enabled = true", "enabled = false"));
            int mark = edge.Output.Length;
            edge.Signal(EdgeProcess.SIGHUP);
            await edge.WaitForOutputAsync("write-back: disabled", TimeSpan.FromSeconds(20), mark);
            await Task.Delay(1100);
            var (disabledMessage, disabledCode) = await RefusedAsync(http, ids["setpoint"], "22");
            Assert.Equal("DISABLED", disabledCode);
            Assert.Contains("write.enabled = false", disabledMessage);
        }
        finally
        {
            try { modbus.Kill(true); } catch (InvalidOperationException) { }
            line?.Dispose();
        }
    }

    private static async Task<double?> LatestAsync(HttpClient http, string idx)
    {
        var data = await EndToEndSupport.GraphQLAsync(http, $"{{ timeseries(idxDatapoint: \"{idx}\", maxPoints: 1, aggregate: \"last\") {{ points {{ value }} }} }}");
        var points = data.GetProperty("timeseries").GetProperty("points");
        return points.GetArrayLength() == 0 ? null : points[points.GetArrayLength() - 1].GetProperty("value").GetDouble();
    }

    private static async Task WaitForLatestAsync(HttpClient http, string idx, double expected)
    {
        double? last = null;
        for (int i = 0; i < 50; i++)
        {
            last = await LatestAsync(http, idx);
            if (last is { } v && Math.Abs(v - expected) < 1e-6) return;
            await Task.Delay(200);
        }
        throw new InvalidOperationException($"datapoint {idx}: latest value {last}, expected {expected}");
    }
}
