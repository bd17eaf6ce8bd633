using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Snmp;

namespace Pattoo.Edge.Tests.Snmp;

/// <summary>The poller against a real snmpd: versions, security, scalars, walks, faults.</summary>
[Collection(SnmpdCollection.Name)]
public sealed class SnmpAgentTests(SnmpdFixture agent)
{
    private const string Scalars = """
          [[snmp.targets.oids]]
          oid = "1.3.6.1.2.1.1.3.0"
          key = "sysUpTime"
          [[snmp.targets.oids]]
          oid = "1.3.6.1.2.1.1.6.0"
          key = "sysLocation"
        """;

    private string Target(string extra, string oids = Scalars, string timeout = "1s", int retries = 1) => $"""
        [[snmp.targets]]
        name = "agent"
        address = "{agent.Address}"
        timeout = "{timeout}"
        retries = {retries}
        {extra}
        {oids}
        """;

    [Theory]
    [InlineData("1")]
    [InlineData("2c")]
    public async Task CommunityVersionsReadScalars(string version)
    {
        await using var poller = SnmpTestSupport.Poller(Target($"version = \"{version}\"\ncommunity = \"{SnmpdFixture.Community}\""));
        var (batch, report) = await SnmpTestSupport.PollOnceAsync(poller);
        Assert.Empty(report.Problems);
        var up = SnmpTestSupport.Find(batch, "sysUpTime");
        Assert.Equal(DataType.Integer, up.Series.DataType);
        Assert.True(up.Value > 0);
        var location = SnmpTestSupport.Find(batch, "sysLocation");
        Assert.Equal(DataType.String, location.Series.DataType);
        Assert.Equal(SnmpdFixture.SysLocation, location.Text);
        Assert.Equal("snmp", up.Series.Agent.Program);
        Assert.Equal("agent", up.Series.Agent.PolledTarget);
    }

    [Theory]
    [InlineData("noauth", "noAuthNoPriv", "", "", "", "")]
    [InlineData("md5user", "authNoPriv", "MD5", "md5password", "", "")]
    [InlineData("shauser", "authNoPriv", "SHA", "shapassword", "", "")]
    [InlineData("sha224user", "authNoPriv", "SHA224", "sha224password", "", "")]
    [InlineData("sha384user", "authNoPriv", "SHA384", "sha384password", "", "")]
    [InlineData("shaaes", "authPriv", "SHA", "shapassword", "AES", "aespassword")]
    [InlineData("sha256aes", "authPriv", "SHA256", "sha256password", "AES", "aespassword")]
    [InlineData("sha512aes256", "authPriv", "SHA512", "sha512password", "AES256", "aespassword")]
    [InlineData("md5aes256", "authPriv", "MD5", "md5password", "AES256", "aespassword")]
    [InlineData("shaaes192", "authPriv", "SHA", "shapassword", "AES192", "aespassword")]
    [InlineData("shades", "authPriv", "SHA", "shapassword", "DES", "despassword")]
    public async Task V3SecurityLevelsAndProtocols(string user, string level, string auth, string authPassword, string priv, string privPassword)
    {
        var extra = $"version = \"3\"\nuser = \"{user}\"\nsecurity_level = \"{level}\"\n";
        if (auth.Length > 0) extra += $"auth_protocol = \"{auth}\"\nauth_password = \"{authPassword}\"\n";
        if (priv.Length > 0) extra += $"priv_protocol = \"{priv}\"\npriv_password = \"{privPassword}\"\n";
        await using var poller = SnmpTestSupport.Poller(Target(extra));
        for (int i = 0; i < 2; i++)
        {
            var (batch, report) = await SnmpTestSupport.PollOnceAsync(poller);
            Assert.Empty(report.Problems);
            Assert.Equal(SnmpdFixture.SysLocation, SnmpTestSupport.Find(batch, "sysLocation").Text);
        }
    }

    [Fact]
    public async Task WrongCommunityTimesOutWithAClearError()
    {
        await using var poller = SnmpTestSupport.Poller(Target("community = \"wrong\"", timeout: "100ms", retries: 1));
        var e = await Assert.ThrowsAsync<SnmpTimeoutException>(() => SnmpTestSupport.PollOnceAsync(poller));
        Assert.Contains($"no response from {agent.Address} after 2 tries", e.Message);
        Assert.Contains("community", e.Message);
    }

    [Fact]
    public async Task UnknownUserIsReported()
    {
        await using var poller = SnmpTestSupport.Poller(Target("version = \"3\"\nuser = \"nobody\"\nauth_password = \"whatever1\""));
        var e = await Assert.ThrowsAsync<SnmpReportException>(() => SnmpTestSupport.PollOnceAsync(poller));
        Assert.Contains("does not know user \"nobody\"", e.Message);
    }

    [Fact]
    public async Task WrongAuthPasswordIsReported()
    {
        await using var poller = SnmpTestSupport.Poller(Target("version = \"3\"\nuser = \"shauser\"\nauth_protocol = \"SHA\"\nauth_password = \"not-the-password\""));
        var e = await Assert.ThrowsAsync<SnmpReportException>(() => SnmpTestSupport.PollOnceAsync(poller));
        Assert.Contains("wrong auth_password", e.Message);
    }

    [Fact]
    public async Task WrongPrivPasswordTimesOutNamingPrivacy()
    {
        await using var poller = SnmpTestSupport.Poller(Target("version = \"3\"\nuser = \"shaaes\"\nauth_password = \"shapassword\"\npriv_password = \"not-the-password\"", timeout: "1s", retries: 0));
        var e = await Assert.ThrowsAnyAsync<Exception>(() => SnmpTestSupport.PollOnceAsync(poller));
        Assert.True(e is SnmpTimeoutException or SnmpReportException, e.ToString());
        Assert.Contains("priv", e.Message);
    }

    [Fact]
    public async Task MissingObjectsAndInstancesAreSkippedNotFatal()
    {
        const string oids = """
              [[snmp.targets.oids]]
              oid = "1.3.6.1.2.1.1.99.0"
              key = "noObject"
              [[snmp.targets.oids]]
              oid = "1.3.6.1.2.1.1.1.99"
              key = "noInstance"
              [[snmp.targets.oids]]
              oid = "1.3.6.1.2.1.1.5.0"
              key = "sysName"
            """;
        foreach (var version in new[] { "1", "2c" })
        {
            await using var poller = SnmpTestSupport.Poller(Target($"version = \"{version}\"\ncommunity = \"{SnmpdFixture.Community}\"", oids));
            var (batch, report) = await SnmpTestSupport.PollOnceAsync(poller);
            Assert.Equal(["sysName string"], SnmpTestSupport.Lines(batch));
            Assert.Equal(2, report.Problems.Count);
            if (version == "2c")
            {
                Assert.Contains(report.Problems, p => p.Contains("1.3.6.1.2.1.1.99.0: noSuchObject"));
                Assert.Contains(report.Problems, p => p.Contains("1.3.6.1.2.1.1.1.99: noSuchInstance"));
            }
        }
    }

    [Theory]
    [InlineData("1")]
    [InlineData("2c")]
    [InlineData("3")]
    public async Task WalksTheInterfaceTableWithLabels(string version)
    {
        var security = version == "3"
            ? "version = \"3\"\nuser = \"sha256aes\"\nauth_protocol = \"SHA256\"\nauth_password = \"sha256password\"\npriv_password = \"aespassword\""
            : $"version = \"{version}\"\ncommunity = \"{SnmpdFixture.Community}\"";
        const string oids = """
              [[snmp.targets.oids]]
              oid = "1.3.6.1.2.1.2.2.1.10"
              key = "ifInOctets"
              walk = true
              labels = { ifDescr = "1.3.6.1.2.1.2.2.1.2" }
            """;
        await using var poller = SnmpTestSupport.Poller(Target(security + "\nmax_repetitions = 3", oids));
        var (batch, report) = await SnmpTestSupport.PollOnceAsync(poller);
        Assert.Empty(report.Problems);
        var lo = SnmpTestSupport.Find(batch, "ifInOctets", "1");
        Assert.Equal(DataType.Counter32, lo.Series.DataType);
        Assert.Contains(new KeyValuePair<string, string>("ifDescr", "lo"), lo.Series.Metadata);
        // Every interface snmpbulkwalk sees, we see.
        var walked = agent.RunTool("snmpwalk", "-On", "-v2c", "-c", SnmpdFixture.Community, agent.Address, "1.3.6.1.2.1.2.2.1.10");
        int rows = walked.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.Equal(rows, batch.Count);
    }

    [Fact]
    public async Task BuiltInGroupsReadInterfacesAndStorage()
    {
        await using var poller = SnmpTestSupport.Poller(Target($"community = \"{SnmpdFixture.Community}\"\ngroups = [\"if-mib\", \"host-resources\"]", ""));
        var (batch, report) = await SnmpTestSupport.PollOnceAsync(poller);
        Assert.Empty(report.Problems);
        var hc = SnmpTestSupport.Find(batch, "ifHCInOctets", "1");
        Assert.Equal(DataType.Counter64, hc.Series.DataType);
        Assert.Contains(new KeyValuePair<string, string>("ifName", "lo"), hc.Series.Metadata);
        Assert.Equal(DataType.Integer, SnmpTestSupport.Find(batch, "ifOperStatus", "1").Series.DataType);
        var storage = SnmpTestSupport.Find(batch, "hrStorageSize", "1");
        Assert.Contains(storage.Series.Metadata, m => m.Key == "hrStorageDescr" && m.Value.Length > 0);
        Assert.Equal(DataType.Integer, storage.Series.DataType);
    }

    [Fact]
    public async Task ASilentTargetDoesNotDelayAnother()
    {
        int silentPort = SnmpdFixture.FreeUdpPort();
        var toml = $"""
            [[snmp.targets]]
            name = "silent"
            address = "127.0.0.1:{silentPort}"
            timeout = "2s"
            retries = 1
              [[snmp.targets.oids]]
              oid = "1.3.6.1.2.1.1.3.0"
              key = "sysUpTime"
            [[snmp.targets]]
            name = "alive"
            address = "{agent.Address}"
            community = "{SnmpdFixture.Community}"
              [[snmp.targets.oids]]
              oid = "1.3.6.1.2.1.1.3.0"
              key = "sysUpTime"
            """;
        var targets = SnmpTestSupport.Bind(toml).CreateTargets(new PollerContext(SnmpTestSupport.Appliance, "/nonexistent"));
        try
        {
            var silent = SnmpTestSupport.PollOnceAsync(targets[0]);
            var started = System.Diagnostics.Stopwatch.StartNew();
            var (batch, _) = await SnmpTestSupport.PollOnceAsync(targets[1]);
            var alive = started.Elapsed;
            Assert.Single(batch.Items.ToArray());
            Assert.False(silent.IsCompleted);
            Assert.True(alive < TimeSpan.FromSeconds(1), $"the live target took {alive.TotalMilliseconds} ms");
            await Assert.ThrowsAsync<SnmpTimeoutException>(() => silent);
        }
        finally
        {
            foreach (var t in targets) await t.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("2c")]
    [InlineData("3")]
    public async Task WalksAllOfMib2LikeSnmpbulkwalk(string version)
    {
        var security = version == "3"
            ? "version = \"3\"\nuser = \"shaaes\"\nauth_password = \"shapassword\"\npriv_password = \"aespassword\""
            : $"community = \"{SnmpdFixture.Community}\"";
        const string oids = """
              [[snmp.targets.oids]]
              oid = "1.3.6.1.2.1"
              key = "mib2"
              walk = true
              type = "string"
            """;
        await using var poller = SnmpTestSupport.Poller(Target(security, oids, timeout: "5s"));
        var (batch, report) = await SnmpTestSupport.PollOnceAsync(poller);
        Assert.Empty(report.Problems);
        var ours = new Dictionary<string, string>();
        foreach (var s in batch.Items) ours["1.3.6.1.2.1." + s.Series.Metadata.Single(m => m.Key == "index").Value] = s.Text!;

        var theirs = new Dictionary<string, string>();
        foreach (var line in agent.RunTool("snmpbulkwalk", "-On", "-OQ", "-Oe", "-v2c", "-c", SnmpdFixture.Community, agent.Address, "1.3.6.1.2.1").Split('\n'))
        {
            int eq = line.IndexOf(" = ", StringComparison.Ordinal);
            if (eq > 0) theirs[line[1..eq]] = line[(eq + 3)..];
        }
        // Tables of processes, connections and addresses change between the two walks.
        static bool Stable(string oid) => !(oid.StartsWith("1.3.6.1.2.1.25.4.", StringComparison.Ordinal) || oid.StartsWith("1.3.6.1.2.1.25.5.", StringComparison.Ordinal)
            || oid.StartsWith("1.3.6.1.2.1.6.", StringComparison.Ordinal) || oid.StartsWith("1.3.6.1.2.1.7.", StringComparison.Ordinal) || oid.StartsWith("1.3.6.1.2.1.4.", StringComparison.Ordinal)
            || oid.StartsWith("1.3.6.1.2.1.5.", StringComparison.Ordinal) || oid.StartsWith("1.3.6.1.2.1.31.1.5", StringComparison.Ordinal));
        var mine = ours.Keys.Where(Stable).Order().ToList();
        var peer = theirs.Keys.Where(Stable).Order().ToList();
        Assert.True(theirs.Count > 1000, $"snmpbulkwalk saw only {theirs.Count} values");
        Assert.Equal(peer, mine);
        // Values that do not move: system group strings and the interface table's fixed columns.
        foreach (var oid in new[] { "1.3.6.1.2.1.1.6.0", "1.3.6.1.2.1.2.2.1.1.1", "1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2.1.2.2.1.3.1", "1.3.6.1.2.1.2.2.1.4.1", "1.3.6.1.2.1.25.2.3.1.3.1" })
            Assert.Equal(theirs[oid].Trim('"'), ours[oid]);
    }

    [Fact]
    public async Task ASteadyPollReusesSeriesKeys()
    {
        await using var poller = SnmpTestSupport.Poller(Target($"community = \"{SnmpdFixture.Community}\"\ngroups = [\"if-mib\"]", Scalars));
        var (first, _) = await SnmpTestSupport.PollOnceAsync(poller);
        var (second, _) = await SnmpTestSupport.PollOnceAsync(poller);
        Assert.Equal(first.Count, second.Count);
        var keys = first.Items.ToArray().Select(s => s.Series).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var s in second.Items) Assert.Contains(s.Series, keys);
    }
}

/// <summary>
/// tooBig handling, against an snmpd of its own: asked for 484-octet answers, snmpd 5.9.3
/// answers GetRequests with tooBig but stops answering anything after a GetBulk whose
/// first row does not fit, so this class must not share an agent with the others.
/// </summary>
public sealed class SnmpTooBigTests(SnmpdFixture agent) : IClassFixture<SnmpdFixture>
{
    [Fact]
    public async Task TooBigAnswersAreSplitUntilTheyFit()
    {
        // Every sys* scalar, the kernel command line and each interface's name and description:
        // together far more than the 484-octet messages this target asks for.
        var oids = new List<string> { "1.3.6.1.2.1.25.1.4.0" };
        for (int i = 1; i <= 7; i++) oids.Add($"1.3.6.1.2.1.1.{i}.0");
        for (int i = 1; i <= 4; i++) { oids.Add($"1.3.6.1.2.1.2.2.1.2.{i}"); oids.Add($"1.3.6.1.2.1.31.1.1.1.1.{i}"); oids.Add($"1.3.6.1.2.1.2.2.1.6.{i}"); }
        var entries = string.Concat(oids.Select((o, i) => $"\n  [[snmp.targets.oids]]\n  oid = \"{o}\"\n  key = \"v{i}\"\n"));
        var toml = $"""
            [[snmp.targets]]
            name = "small"
            address = "{agent.Address}"
            version = "3"
            user = "shauser"
            auth_password = "shapassword"
            max_message_size = 484
            max_oids_per_request = 100
            {entries}
            """;
        await using var poller = SnmpTestSupport.Poller(toml);
        var (batch, report) = await SnmpTestSupport.PollOnceAsync(poller);
        Assert.Empty(report.Problems);
        Assert.Equal(oids.Count, batch.Count);
        // Twice, to be sure the narrower request size sticks and still reads everything.
        var (again, _) = await SnmpTestSupport.PollOnceAsync(poller);
        Assert.Equal(oids.Count, again.Count);
    }
}
