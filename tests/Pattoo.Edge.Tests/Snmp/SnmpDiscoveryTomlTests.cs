using Pattoo.Edge.Pollers.Snmp;
using Pattoo.Edge.Pollers.Snmp.Discovery;
using Pattoo.Edge.Protocols.Snmp;
using Pattoo.Edge.Protocols.Snmp.Usm;

namespace Pattoo.Edge.Tests.Snmp;

/// <summary>What `discover snmp` writes for the shapes agents come in; every output must bind as the config loader reads it.</summary>
public sealed class SnmpDiscoveryTomlTests
{
    private static readonly Dictionary<string, string> System = new() { ["sysName"] = "ups-1", ["sysDescr"] = "line one\nline two" };

    [Fact]
    public void AnAgentWithoutIfXTableGetsExplicit32BitColumnsAndSensorsTheirCommonScale()
    {
        var survey = new SnmpSurvey(System, ["eth0", "eth1"], HasIfXTable: false, [], 0,
            [new SnmpSensor("1", "Inlet temp", 8, 9, 1), new SnmpSensor("2", "Outlet temp", 8, 9, 1)], 12);
        var target = new SnmpTargetOptions { Name = "x", Host = "192.0.2.7", Port = 1161, Version = SnmpVersion.V1, Community = "plant" };
        string toml = SnmpDiscoveryToml.Write("pattoo-edge discover snmp 192.0.2.7:1161", target, survey, DateTimeOffset.UnixEpoch);

        Assert.Contains("# sysDescr: line one line two\n", toml, StringComparison.Ordinal);
        Assert.Contains("no ifXTable (32-bit counters, explicit OIDs below): eth0, eth1", toml, StringComparison.Ordinal);
        Assert.Contains("#   1: Inlet temp: celsius, value x 1e-1\n", toml, StringComparison.Ordinal);
        var bound = Assert.Single(SnmpTestSupport.Bind(toml).Targets);
        Assert.Equal(("ups-1", "192.0.2.7", 1161, SnmpVersion.V1, "plant"), (bound.Name, bound.Host, bound.Port, bound.Version, bound.Community));
        Assert.Empty(bound.Groups);
        Assert.Equal(["sysUpTime", "ifInOctets", "ifOutOctets", "ifOperStatus", "entPhySensorValue"], bound.Oids.Select(o => o.Key));
        Assert.Equal(0.1, bound.Oids.Single(o => o.Key == "entPhySensorValue").Scale, 9);
    }

    [Fact]
    public void SensorsOfDifferentScalesStayRawAndV3CredentialsAreWrittenAsGiven()
    {
        var survey = new SnmpSurvey(new Dictionary<string, string>(), ["lo"], HasIfXTable: true, ["Physical memory"], 2,
            [new SnmpSensor("1", "Fan", 10, 9, 0), new SnmpSensor("2", "PSU", 4, 8, 2)], 20);
        var target = new SnmpTargetOptions
        {
            Name = "x", Host = "2001:db8::7", Version = SnmpVersion.V3, User = "mon", SecurityLevel = SnmpSecurityLevel.AuthPriv,
            AuthProtocol = AuthProtocol.Sha1, AuthPassword = "auth-pass-1", PrivProtocol = PrivProtocol.Aes128, PrivPassword = "priv \"pass\"",
        };
        string toml = SnmpDiscoveryToml.Write("pattoo-edge discover snmp [2001:db8::7]", target, survey, DateTimeOffset.UnixEpoch);

        Assert.Contains("raw: each sensor's factor is listed above", toml, StringComparison.Ordinal);
        Assert.Contains("#   2: PSU: volts DC, value x 1e-5\n", toml, StringComparison.Ordinal);
        var bound = Assert.Single(SnmpTestSupport.Bind(toml).Targets);
        Assert.Equal("2001:db8::7", bound.Name); // no sysName: the address
        Assert.Equal(["if-mib", "host-resources"], bound.Groups);
        Assert.Equal((AuthProtocol.Sha1, "auth-pass-1", PrivProtocol.Aes128, "priv \"pass\""), (bound.AuthProtocol, bound.AuthPassword, bound.PrivProtocol, bound.PrivPassword));
        Assert.Equal(1.0, bound.Oids.Single(o => o.Key == "entPhySensorValue").Scale); // raw
    }
}
