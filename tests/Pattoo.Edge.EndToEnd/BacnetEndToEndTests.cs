using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd;

/// <summary>
/// The published binary polling a BACnet/IP device built on @bacnet-js/client
/// (tests/peers/bacnet/device.js) on 127.0.0.1: one configured device located by Who-Is
/// (device_instance only), one by its address, both answered by the same node device.
/// </summary>
public class BacnetEndToEndTests
{
    [Fact]
    public async Task BacnetDeviceLocatedByWhoIsAndByAddressIsStoredWithObjectAndUnits()
    {
        var (dir, devicePort, localPort, port) = NewRun();
        var (device, deviceErrors) = await StartDeviceAsync(devicePort);
        try
        {
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

                [bacnet]
                local_address = "127.0.0.1"
                local_port = {localPort}
                broadcast_address = "127.0.0.1:{devicePort}"

                [[bacnet.devices]]
                name = "ahu-1"
                device_instance = 1234
                interval = "2s"
                timeout = "1s"

                  [[bacnet.devices.objects]]
                  object = "analog-input:0"
                  key = "supply_air_temp"

                  [[bacnet.devices.objects]]
                  object = "binary-input:0"
                  key = "supply_fan_running"

                  [[bacnet.devices.objects]]
                  object = "multi-state-value:0"
                  key = "ahu_mode"

                [[bacnet.devices]]
                name = "ahu-direct"
                address = "127.0.0.1:{devicePort}"
                interval = "2s"
                timeout = "1s"

                  [[bacnet.devices.objects]]
                  object = "analog-input:1"
                  key = "return_air_temp"

                  [[bacnet.devices.objects]]
                  object = "analog-value:1"
                  key = "return_air_humidity"
                  status_flags = false
                """);
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("bacnet/ahu-1: polling OK", TimeSpan.FromSeconds(30));
            await edge.WaitForOutputAsync("bacnet/ahu-direct: polling OK", TimeSpan.FromSeconds(30));
            await Task.Delay(2500); // a second cycle: units are read only in the first one, values every cycle

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var data = await EndToEndSupport.GraphQLAsync(http, "{ series(agentProgram: \"bacnet\") { idxDatapoint key agentPolledTarget dataType labels { key value } } pollers(program: \"bacnet\") { program name ok } }");
            var pollers = data.GetProperty("pollers").EnumerateArray().ToList();
            Assert.Equal(2, pollers.Count);
            Assert.All(pollers, p => Assert.True(p.GetProperty("ok").GetBoolean(), p.ToString()));

            var series = data.GetProperty("series").EnumerateArray().ToDictionary(s => s.GetProperty("agentPolledTarget").GetString() + "/" + s.GetProperty("key").GetString());
            const int Float = 101, Integer = 99;
            // (target/key, data type, object, units or null for status flags, the value device.js serves)
            var expected = new (string Key, int Type, string Object, string? Units, double Value)[]
            {
                ("ahu-1/supply_air_temp", Float, "analog-input:0", "degrees-celsius", 13.5),
                ("ahu-1/supply_air_temp_status_flags", Integer, "analog-input:0", null, 0),
                ("ahu-1/supply_fan_running", Integer, "binary-input:0", "no-units", 1), // active
                ("ahu-1/supply_fan_running_status_flags", Integer, "binary-input:0", null, 0),
                ("ahu-1/ahu_mode", Integer, "multi-state-value:0", "no-units", 3),
                ("ahu-1/ahu_mode_status_flags", Integer, "multi-state-value:0", null, 0),
                ("ahu-direct/return_air_temp", Float, "analog-input:1", "degrees-celsius", 22.25),
                ("ahu-direct/return_air_temp_status_flags", Integer, "analog-input:1", null, 2), // fault
                ("ahu-direct/return_air_humidity", Float, "analog-value:1", "percent-relative-humidity", 45.5),
            };
            Assert.Equal(expected.Select(e => e.Key).Order(StringComparer.Ordinal), series.Keys.Order(StringComparer.Ordinal));

            var query = new StringBuilder("{");
            for (int i = 0; i < expected.Length; i++)
            {
                var s = series[expected[i].Key];
                Assert.Equal(expected[i].Type, s.GetProperty("dataType").GetInt32());
                var labels = s.GetProperty("labels").EnumerateArray().ToDictionary(l => l.GetProperty("key").GetString()!, l => l.GetProperty("value").GetString());
                Assert.Equal(expected[i].Object, labels.GetValueOrDefault("object"));
                Assert.Equal(expected[i].Units, labels.GetValueOrDefault("units"));
                Assert.False(labels.ContainsKey("property"), expected[i].Key); // present-value is not labelled
                query.Append(CultureInfo.InvariantCulture, $" s{i}: timeseries(idxDatapoint: \"{s.GetProperty("idxDatapoint").GetString()}\") {{ points {{ value }} }}");
            }
            query.Append(" }");
            var ts = await EndToEndSupport.GraphQLAsync(http, query.ToString());
            for (int i = 0; i < expected.Length; i++)
            {
                var points = ts.GetProperty($"s{i}").GetProperty("points").EnumerateArray().ToList();
                Assert.True(points.Count > 0, $"{expected[i].Key} has no points");
                Assert.All(points, p => Assert.Equal(expected[i].Value, p.GetProperty("value").GetDouble()));
            }
        }
        finally
        {
            try { device.Kill(true); } catch (InvalidOperationException) { }
            device.Dispose();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public async Task ChangesOfValueAreStoredAsTheDeviceSendsThem()
    {
        var (dir, devicePort, localPort, port) = NewRun();
        var (device, deviceErrors) = await StartDeviceAsync(devicePort);
        try
        {
            var config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, EndToEndSupport.BoxConfig("e2e-gw", port, dir, $"""
                [bacnet]
                local_address = "127.0.0.1"
                local_port = {localPort}
                [[bacnet.devices]]
                name = "ahu-1"
                address = "127.0.0.1:{devicePort}"
                interval = "30s"
                timeout = "1s"
                cov = true
                cov_safety_interval = "1h"
                  [[bacnet.devices.objects]]
                  object = "analog-input:0"
                  key = "supply_air_temp"
                """));
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("bacnet/ahu-1: polling OK", TimeSpan.FromSeconds(30));
            await WaitForLine(device, "SUBSCRIBED ahu 0:0 unconfirmed 600", deviceErrors);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            foreach (var value in new[] { 19.25, 20.5 })
            {
                await device.StandardInput.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"set ahu 0:0 {value}"));
                await device.StandardInput.FlushAsync();
                // Polled every 30 s: the value is there within seconds only if the notification was stored.
                var until = DateTime.UtcNow.AddSeconds(5);
                double? last = null;
                while (DateTime.UtcNow < until)
                {
                    var s = (await EndToEndSupport.GraphQLAsync(http, "{ series(key: \"supply_air_temp\") { lastValue } }")).GetProperty("series");
                    last = s.GetArrayLength() == 1 && s[0].GetProperty("lastValue").ValueKind == JsonValueKind.Number ? s[0].GetProperty("lastValue").GetDouble() : null;
                    if (last == value) break;
                    await Task.Delay(100);
                }
                Assert.Equal(value, last);
            }
        }
        finally
        {
            try { device.Kill(true); } catch (InvalidOperationException) { }
            device.Dispose();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public async Task PresentValuesAreWrittenAtPriority8ReadBackAndRelinquished()
    {
        var (dir, devicePort, localPort, port) = NewRun();
        var (device, deviceErrors) = await StartDeviceAsync(devicePort);
        try
        {
            var config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, EndToEndSupport.BoxConfig("e2e-gw", port, dir, $"""
                {Write.WriteBackSupport.WriteConfig("100ms")}
                [bacnet]
                local_address = "127.0.0.1"
                local_port = {localPort}
                [[bacnet.devices]]
                name = "ahu-1"
                address = "127.0.0.1:{devicePort}"
                interval = "2s"
                timeout = "1s"
                  [[bacnet.devices.objects]]
                  object = "analog-value:0"
                  key = "supply_air_setpoint"
                  writable = true
                  min = 10
                  max = 30
                  [[bacnet.devices.objects]]
                  object = "analog-value:1"
                  key = "humidity_limit"
                  writable = true
                  min = -50
                  max = 150
                  [[bacnet.devices.objects]]
                  object = "binary-value:0"
                  key = "occupied"
                  writable = true
                  [[bacnet.devices.objects]]
                  object = "multi-state-value:0"
                  key = "ahu_mode"
                  writable = true
                  allowed = [1, 2, 3, 4]
                  [[bacnet.devices.objects]]
                  object = "analog-input:0"
                  key = "supply_air_temp"
                """));
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("bacnet/ahu-1: polling OK", TimeSpan.FromSeconds(30));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var ids = await Write.WriteBackSupport.WaitForIdsAsync(http, "bacnet", "supply_air_setpoint", "humidity_limit", "occupied", "ahu_mode", "supply_air_temp");

            // Priority 8 by default; the device commands the highest priority written.
            var written = await Write.WriteBackSupport.WriteAsync(http, ids["supply_air_setpoint"], "21.5");
            Assert.Equal(("written", "14", "21.5"), (written.GetProperty("result").GetString(), written.GetProperty("oldValue").GetString(), written.GetProperty("readBackValue").GetString()));
            await WaitForLine(device, "WRITE ahu 2:0 8 21.5", deviceErrors);

            // Another controller at priority 5 wins: the write is sent, and the answer says what the device does.
            await device.StandardInput.WriteLineAsync("command ahu 2:0 5 25");
            await device.StandardInput.FlushAsync();
            await Task.Delay(200);
            var outranked = await Write.WriteBackSupport.WriteAsync(http, ids["supply_air_setpoint"], "22");
            Assert.Equal(("mismatch", "25"), (outranked.GetProperty("result").GetString(), outranked.GetProperty("readBackValue").GetString()));
            Assert.Contains("higher priority", outranked.GetProperty("message").GetString());
            await device.StandardInput.WriteLineAsync("command ahu 2:0 5 null");
            await device.StandardInput.FlushAsync();
            await Task.Delay(200);

            // Relinquish: NULL at priority 8, and the relinquish default (14) applies again.
            var released = await Write.WriteBackSupport.PostAsync(http, $"mutation {{ relinquish(idxDatapoint: \"{ids["supply_air_setpoint"]}\", comment: \"back to schedule\") {{ result oldValue readBackValue action }} }}");
            var relinquish = released.GetProperty("data").GetProperty("relinquish");
            Assert.Equal(("written", "relinquish", "22", "14"), (relinquish.GetProperty("result").GetString(), relinquish.GetProperty("action").GetString(), relinquish.GetProperty("oldValue").GetString(), relinquish.GetProperty("readBackValue").GetString()));
            await WaitForLine(device, "WRITE ahu 2:0 8 null", deviceErrors);

            // A binary value (ENUMERATED) and a multi-state value (Unsigned), in the types the device reported.
            Assert.Equal("1", (await Write.WriteBackSupport.WriteAsync(http, ids["occupied"], "true")).GetProperty("readBackValue").GetString());
            await WaitForLine(device, "WRITE ahu 5:0 8 1", deviceErrors);
            Assert.Equal("2", (await Write.WriteBackSupport.WriteAsync(http, ids["ahu_mode"], "2")).GetProperty("readBackValue").GetString());

            // Refusals: by the device (value-out-of-range; NULL to an object without a priority array), and by the box.
            var (deviceMessage, deviceCode) = await Write.WriteBackSupport.RefusedAsync(http, ids["humidity_limit"], "120");
            Assert.Equal("DEVICE_REFUSED", deviceCode);
            Assert.Contains("value-out-of-range", deviceMessage);
            await Task.Delay(200);
            var notCommandable = await Write.WriteBackSupport.PostAsync(http, $"mutation {{ relinquish(idxDatapoint: \"{ids["occupied"]}\") {{ result }} }}");
            Assert.Contains("invalid-data-type", notCommandable.GetProperty("errors")[0].GetProperty("message").GetString());
            Assert.Equal("NOT_WRITABLE", (await Write.WriteBackSupport.RefusedAsync(http, ids["supply_air_temp"], "20")).Code);
            Assert.Equal("OUT_OF_LIMITS", (await Write.WriteBackSupport.RefusedAsync(http, ids["ahu_mode"], "5")).Code);

            var audit = await Write.WriteBackSupport.AuditAsync(http, ids["supply_air_setpoint"]);
            Assert.Equal(["relinquish", "write", "write"], audit.Select(a => a.GetProperty("action").GetString()!).ToArray());
            Assert.Equal("back to schedule", audit[0].GetProperty("comment").GetString());
        }
        finally
        {
            try { device.Kill(true); } catch (InvalidOperationException) { }
            device.Dispose();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>A fresh directory, the device's and this box's UDP ports (different), and the API's port.</summary>
    private static (string Dir, int DevicePort, int LocalPort, int ApiPort) NewRun()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-bacnet-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int devicePort = FreeUdpPort(), localPort = FreeUdpPort();
        while (localPort == devicePort) localPort = FreeUdpPort();
        return (dir, devicePort, localPort, EdgeProcess.FreePort());
    }

    /// <summary>device.js serving one device (ahu, instance 1234) on <paramref name="devicePort"/>; its stderr collected. Stdin stays open: device.js exits when it ends.</summary>
    private static async Task<(Process Device, StringBuilder Errors)> StartDeviceAsync(int devicePort)
    {
        string peers = Path.Combine(EndToEndSupport.RepoRoot, "tests", "peers");
        if (!Directory.Exists(Path.Combine(peers, "node_modules", "@bacnet-js", "client")))
            throw new InvalidOperationException("tests/peers/node_modules has no @bacnet-js/client: run npm ci --prefix tests/peers (./build.sh test does)");
        var device = Start("node", peers, [Path.Combine(peers, "bacnet", "device.js"), string.Create(CultureInfo.InvariantCulture, $"ahu:{devicePort}:1234:normal")]);
        var errors = new StringBuilder();
        device.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        device.BeginErrorReadLine();
        await WaitForLine(device, "READY", errors);
        return (device, errors);
    }

    internal static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    internal static Process Start(string file, string dir, string[] args)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = dir, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
    }

    private static async Task WaitForLine(Process p, string text, StringBuilder stderr)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (await p.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.Contains(text, StringComparison.Ordinal)) return;
        }
        await p.WaitForExitAsync(cts.Token);
        lock (stderr) throw new InvalidOperationException($"{p.StartInfo.FileName} ended before printing {text}: {stderr}");
    }
}
