using System.Globalization;

namespace Pattoo.Edge.EndToEnd.Discover;

/// <summary>
/// `pattoo-edge discover bacnet` against the @bacnet-js/client devices of tests/peers/bacnet: Who-Is,
/// object lists (whole, and element by element from a device that cannot send its list in one
/// answer), names and units; the TOML passes `config check` and polls the values the device serves.
/// </summary>
public sealed class BacnetDiscoverTests
{
    private static readonly string Peers = Path.Combine(EndToEndSupport.RepoRoot, "tests", "peers");

    [Fact]
    public async Task DevicesAreFoundTheirObjectsNamedAndTheirValuesPolled()
    {
        string dir = DiscoverSupport.NewDir("bacnet");
        int ahuPort = BacnetEndToEndTests.FreeUdpPort(), bigPort = BacnetEndToEndTests.FreeUdpPort();
        // stdin stays open (redirected): device.js exits when its stdin ends
        using var devices = BacnetEndToEndTests.Start("node", Peers, [Path.Combine(Peers, "bacnet", "device.js"),
            string.Create(CultureInfo.InvariantCulture, $"ahu:{ahuPort}:1234:normal"), string.Create(CultureInfo.InvariantCulture, $"big:{bigPort}:77:normal:300")]);
        try
        {
            await PollersEndToEndTests.WaitForLine(devices, "READY");
            var (code, toml, log) = await EdgeProcess.RunAsync("discover", "bacnet", "--broadcast", $"127.0.0.1:{ahuPort}", "--local-port", "0", "--wait", "1s");
            Assert.True(code == 0, log);
            Assert.Contains("1 device answered: 1234 at 127.0.0.1:" + ahuPort, log, StringComparison.Ordinal);
            Assert.Contains("# analog-input:0 SupplyAirTemp, degrees-celsius\n    object = \"analog-input:0\"\n    key = \"supply_air_temp\"", toml, StringComparison.Ordinal);
            Assert.DoesNotContain("large-analog-value", toml, StringComparison.Ordinal); // not without --all

            var values = (await DiscoverSupport.PollAsync(dir, toml, "bacnet", "ahu", Socket(BacnetEndToEndTests.FreeUdpPort())))
                .Where(s => !double.IsNaN(DiscoverSupport.Value(s))).ToDictionary(s => s.GetProperty("key").GetString()!, DiscoverSupport.Value);
            Assert.Equal(13.5, values["supply_air_temp"]);
            Assert.Equal(22.25, values["return_air_temp"]);
            Assert.Equal(45.5, values["return_air_humidity"]);
            Assert.Equal(35.5, values["cooling_valve"]);
            Assert.Equal(1, values["supply_fan_status"]);
            Assert.Equal(3, values["ahu_mode"]);

            // 317 objects do not fit one answer of a device without segmentation: read one by one
            var (bigCode, bigToml, bigLog) = await EdgeProcess.RunAsync("discover", "bacnet", "--broadcast", $"127.0.0.1:{bigPort}", "--device", "77", "--local-port", "0", "--wait", "1s", "--all");
            Assert.True(bigCode == 0, bigLog);
            Assert.Contains("# object-list read element by element (317 elements; the whole list: abort segmentation-not-supported)", bigToml, StringComparison.Ordinal);
            Assert.Contains("key = \"bench299\"", bigToml, StringComparison.Ordinal);
            Assert.Contains("object = \"large-analog-value:0\"", bigToml, StringComparison.Ordinal); // --all
            var (checkCode, checkOut, checkErr) = await CheckAsync(dir, bigToml, "big");
            Assert.True(checkCode == 0, checkOut + checkErr);

            // nobody answers: said so, exit 1
            int silent = BacnetEndToEndTests.FreeUdpPort();
            var (silentCode, _, silentLog) = await EdgeProcess.RunAsync("discover", "bacnet", "--broadcast", $"127.0.0.1:{silent}", "--local-port", "0", "--wait", "500ms");
            Assert.Equal(1, silentCode);
            Assert.Contains($"no device answered Who-Is sent to 127.0.0.1:{silent} within 500ms", silentLog, StringComparison.Ordinal);
        }
        finally
        {
            try { devices.Kill(true); } catch (InvalidOperationException) { }
            Directory.Delete(dir, true);
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> CheckAsync(string dir, string discovered, string name)
    {
        string config = Path.Combine(dir, $"{name}.toml");
        await File.WriteAllTextAsync(config, $"[storage]\npath = \"{dir}/data-{name}\"\n{Socket(BacnetEndToEndTests.FreeUdpPort())}\n" + discovered);
        return await EdgeProcess.RunAsync("config", "check", config);
    }

    /// <summary>The box's own BACnet socket, on a port of the test's.</summary>
    private static string Socket(int localPort) => $"[bacnet]\nlocal_address = \"127.0.0.1\"\nlocal_port = {localPort}";
}
