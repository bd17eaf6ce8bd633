using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Snmp;
using Pattoo.Edge.Protocols.Snmp;
using Pattoo.Edge.Protocols.Snmp.Usm;

namespace Pattoo.Edge.Tests.Snmp;

public sealed class SnmpOptionsTests
{
    [Fact]
    public void AnAbsentSectionBindsToNoTargets()
    {
        var o = SnmpTestSupport.Bind("[linux]\nenabled = true\n".Replace("[linux]\nenabled = true\n", ""));
        Assert.Empty(o.Targets);
        Assert.Empty(o.CreateTargets(new PollerContext("box", "/nonexistent")));
        Assert.Equal(SnmpOptions.DefaultConcurrency, o.Concurrency);
    }

    [Fact]
    public void TheSampleConfigBinds()
    {
        var o = SnmpTestSupport.Bind(File.ReadAllText(Pattoo.Edge.Tests.Support.RepoPaths.Combine("src", "Pattoo.Edge.Pollers", "Snmp", "sample.toml")));
        Assert.Equal(["core-switch", "db-server"], o.Targets.Select(t => t.Name));
        Assert.Equal(SnmpSecurityLevel.AuthPriv, o.Targets[1].SecurityLevel);
        Assert.Contains("ups", o.Groups.Keys);
    }

    [Fact]
    public void BindsDefaultsAndV3Settings()
    {
        var o = SnmpTestSupport.Bind("""
            [snmp]
            concurrency = 4
            [[snmp.targets]]
            name = "core"
            address = "[2001:db8::1]:1161"
            version = "3"
            user = "monitor"
            auth_protocol = "SHA512"
            auth_password = "12345678"
            priv_protocol = "AES256"
            priv_password = "abcdefgh"
            context = "vlan-10"
            groups = ["if-mib", "host-resources"]
            """);
        var t = Assert.Single(o.Targets);
        Assert.Equal(4, o.Concurrency);
        Assert.Equal(("2001:db8::1", 1161), (t.Host, t.Port));
        Assert.Equal(SnmpVersion.V3, t.Version);
        Assert.Equal(SnmpSecurityLevel.AuthPriv, t.SecurityLevel);
        Assert.Equal(AuthProtocol.Sha512, t.AuthProtocol);
        Assert.Equal(PrivProtocol.Aes256, t.PrivProtocol);
        Assert.Equal(TimeSpan.FromSeconds(30), t.Interval);
        Assert.Equal(TimeSpan.FromSeconds(2), t.Timeout);
        Assert.Equal(2, t.Retries);
        Assert.Equal(25, t.MaxRepetitions);
        Assert.Equal(BuiltInGroups.IfMibGroup.Oids.Count + BuiltInGroups.HostResourcesGroup.Oids.Count, t.Oids.Count);
    }

    [Theory]
    [InlineData("192.0.2.10", "192.0.2.10", 161)]
    [InlineData("192.0.2.10:1161", "192.0.2.10", 1161)]
    [InlineData("switch.lan", "switch.lan", 161)]
    [InlineData("switch.lan:162", "switch.lan", 162)]
    [InlineData("[::1]:161", "::1", 161)]
    [InlineData("fe80::1", "fe80::1", 161)]
    public void ParsesAddresses(string text, string host, int port)
    {
        Assert.True(HostPort.TryParse(text, 161, out var h, out var p));
        Assert.Equal((host, port), (h, p));
    }

    [Theory]
    [InlineData("")]
    [InlineData(":161")]
    [InlineData("host:0")]
    [InlineData("host:70000")]
    [InlineData("[::1")]
    [InlineData("bad host")]
    [InlineData("host:")]
    public void RefusesBadAddresses(string text) => Assert.False(HostPort.TryParse(text, 161, out _, out _));

    [Fact]
    public void ReportsEveryErrorWithItsPlace()
    {
        var errors = SnmpTestSupport.BindErrors("""
            [[snmp.groups]]
            name = "g"
              [[snmp.groups.oids]]
              oid = "1.3.6.1.2.1.1.1.0"
              key = "k"
              labels = { index = "1.3.6.1.2.1.1.1.0" }
              walk = true
            [[snmp.targets]]
            name = "a"
            address = "127.0.0.1"
            version = "2c"
            user = "x"
            timeout = "2"
            groups = ["g", "missing"]
            [[snmp.targets]]
            name = "a"
            address = "127.0.0.1"
            groups = ["if-mib"]
            """);
        Assert.Contains(errors, e => e.StartsWith("edge.toml:6:") && e.Contains("snmp.groups[0].oids[0].labels: label \"index\" is taken"));
        Assert.Contains(errors, e => e.Contains("snmp.targets[0].user: user is for version \"3\""));
        Assert.Contains(errors, e => e.Contains("snmp.targets[0].timeout: expected a duration"));
        Assert.Contains(errors, e => e.Contains("snmp.targets[0].groups: unknown group \"missing\""));
        Assert.Contains(errors, e => e.Contains("snmp.targets[1].name: a target named \"a\" is already defined"));
    }

    [Fact]
    public void FingerprintChangesWithTheTargetSettingsOnly()
    {
        const string a = "[[snmp.targets]]\nname = \"a\"\naddress = \"127.0.0.1\"\ngroups = [\"if-mib\"]\n";
        const string b = "[[snmp.targets]]\nname = \"b\"\naddress = \"127.0.0.2\"\ngroups = [\"if-mib\"]\n";
        var first = SnmpTestSupport.Bind(a + b).Targets;
        var second = SnmpTestSupport.Bind(a + b.Replace("127.0.0.2", "127.0.0.3")).Targets;
        Assert.Equal(first[0].Fingerprint(), second[0].Fingerprint());
        Assert.NotEqual(first[1].Fingerprint(), second[1].Fingerprint());
        var third = SnmpTestSupport.Bind("[snmp]\nconcurrency = 2\n" + a + b).Targets;
        Assert.Equal(first[0].Fingerprint(), third[0].Fingerprint());
    }

    [Fact]
    public async Task TargetsShareOneTransportReleasedWithTheLast()
    {
        var targets = SnmpTestSupport.Bind("""
            [[snmp.targets]]
            name = "a"
            address = "127.0.0.1:9"
            groups = ["if-mib"]
            [[snmp.targets]]
            name = "b"
            address = "127.0.0.1:9"
            groups = ["if-mib"]
            """).CreateTargets(new PollerContext("box", "/nonexistent"));
        Assert.Equal(2, targets.Count);
        Assert.All(targets, t => Assert.Equal("snmp", t.Program));
        Assert.Equal(["a", "b"], targets.Select(t => t.Name));
        foreach (var t in targets) await t.DisposeAsync();
    }
}
