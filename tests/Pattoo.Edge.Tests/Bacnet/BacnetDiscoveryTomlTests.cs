using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Bacnet.Discovery;
using Pattoo.Edge.Protocols.Bacnet;

namespace Pattoo.Edge.Tests.Bacnet;

/// <summary>What `discover bacnet` writes; every output must bind as the config loader reads it.</summary>
public sealed class BacnetDiscoveryTomlTests
{
    [Fact]
    public void KeysComeFromNamesUniqueAndRoutedDevicesKeepTheirRoute()
    {
        BacnetDiscoveredObject[] objects =
        [
            new(new BacnetObjectId(0, 1), "Zone Temp", 62, "zone 1\nnorth"),
            new(new BacnetObjectId(0, 2), "Zone-Temp", 62, null),
            new(new BacnetObjectId(3, 7), null, null, null),
            new(new BacnetObjectId(19, 0), "AhuMode", null, null),
        ];
        var routed = BacnetRoute.FromMac(5, [0x0a]);
        var devices = new List<BacnetDiscoveredDevice>
        {
            new(100, "192.0.2.30", routed, "VAV \"1\"", 4, objects, null),
            new(101, "192.0.2.31:47809", BacnetRoute.Local, null, 0, [], "object-list not readable (error property: unknown-property)"),
        };
        string toml = BacnetDiscoveryToml.Write("pattoo-edge discover bacnet", devices, 12, DateTimeOffset.UnixEpoch);

        Assert.Contains("# analog-input:1 Zone Temp, degrees-celsius: zone 1 north\n", toml, StringComparison.Ordinal);
        Assert.Contains("# object-list not readable (error property: unknown-property)\n", toml, StringComparison.Ordinal);
        var bound = BacnetTestSupport.Bind(toml);
        var vav = bound.Devices.Single(d => d.Name == "VAV \"1\"");
        Assert.Equal(["zone_temp", "zone_temp_2", "binary_input_7", "ahu_mode"], vav.Objects.Select(o => o.Key));
        Assert.Equal(BacnetRoute.FromMac(5, [0x0a]), vav.Route);
        Assert.DoesNotContain(bound.Devices, d => d.Name == "bacnet-101"); // no objects: no table to poll, a comment says why
    }

    [Theory]
    [InlineData("SupplyAirTemp", "supply_air_temp")]
    [InlineData("Zone-Temp 2", "zone_temp_2")]
    [InlineData("AHU1 Mode", "ahu1_mode")]
    [InlineData("  ", "value")]
    [InlineData("3rd floor", "value_3rd_floor")]
    public void KeysFromFreeText(string text, string key) => Assert.Equal(key, TomlText.KeyFrom(text));
}
