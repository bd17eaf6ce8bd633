using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.OpcUa;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>Our client against a real node-opcua server (tests/peers/opcua/server.js) on 127.0.0.1.</summary>
public sealed class OpcUaServerTests(OpcUaServerFixture fixture) : IClassFixture<OpcUaServerFixture>
{
    private OpcUaPeer Peer => fixture.Peer;

    /// <summary>Runs a step; a failure carries the end of the server's log.</summary>
    private async Task<T> WithPeerLog<T>(Func<Task<T>> step)
    {
        try
        {
            return await step();
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            string log = Peer.Stderr;
            throw new InvalidOperationException($"{e.GetType().Name}: {e.Message}\n--- server log (end) ---\n{log[Math.Max(0, log.Length - 3000)..]}", e);
        }
    }

    private string Config(string security, string mode, string nodes, string extra = "") => $"""
        [[opcua.servers]]
        name = "line-3"
        endpoint = "{Peer.Endpoint}"
        {security}
        mode = "{mode}"
        interval = "1s"
        {extra}
        {nodes}
        """;

    private const string AllTypes = """
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.Bool"
        key = "bool"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.SByte"
        key = "sbyte"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.Byte"
        key = "byte"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.Int16"
        key = "int16"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.UInt16"
        key = "uint16"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.Int32"
        key = "int32"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.UInt32"
        key = "uint32"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.Int64"
        key = "int64"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.UInt64"
        key = "uint64"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.Float"
        key = "float"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.Double"
        key = "double"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.String"
        key = "string"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.DateTime"
        key = "datetime"
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Line3.Int32Array"
        key = "ints"
        [[opcua.servers.nodes]]
        node_id = "ns=1;i=5001"
        key = "numeric"
        [[opcua.servers.nodes]]
        node_id = "ns=1;g=09087e75-8e5e-499b-954f-f2a9603db28a"
        key = "guid"
        [[opcua.servers.nodes]]
        node_id = "ns=1;b=AQIDBA=="
        key = "opaque"
        """;

    private static void AssertAllTypes(Dictionary<string, Sample> v)
    {
        Assert.Equal(1, v["bool"].Value);
        Assert.Equal(-8, v["sbyte"].Value);
        Assert.Equal(200, v["byte"].Value);
        Assert.Equal(-1600, v["int16"].Value);
        Assert.Equal(65000, v["uint16"].Value);
        Assert.Equal(-320000, v["int32"].Value);
        Assert.Equal(4000000000, v["uint32"].Value);
        Assert.Equal(-64, v["int64"].Value);
        Assert.Equal(4294967296, v["uint64"].Value);
        Assert.Equal(1.5, v["float"].Value);
        Assert.Equal(DataType.Float, v["float"].Series.DataType);
        Assert.Equal(3.25, v["double"].Value);
        Assert.Equal("hello é", v["string"].Text);
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, 678, TimeSpan.Zero).ToUnixTimeMilliseconds(), v["datetime"].Value);
        Assert.Equal(10, v["ints[0]"].Value);
        Assert.Equal(30, v["ints[2]"].Value);
        Assert.Equal(50.01, v["numeric"].Value);
        Assert.Equal(77, v["guid"].Value);
        Assert.Equal(1234, v["opaque"].Value);
        Assert.Equal("opcua", v["bool"].Series.Agent.Program);
        Assert.Equal("line-3", v["bool"].Series.Agent.PolledTarget);
        Assert.Contains(v["bool"].Series.Metadata, m => m.Key == "node_id" && m.Value == "ns=1;s=Line3.Bool");
    }

    [Fact]
    public async Task PollNoneAnonymousReadsEveryType()
    {
        await using var poller = OpcUaTestSupport.Poller(Config("", "poll", AllTypes), fixture.EmptyState());
        var (batch, report) = await WithPeerLog(() => OpcUaTestSupport.PollAsync(poller));
        Assert.Empty(report.Problems);
        AssertAllTypes(OpcUaTestSupport.ByKeyAndIndex(batch));
    }

    private const string Secure = """
        security_policy = "Basic256Sha256"
        security_mode = "SignAndEncrypt"
        username = "operator"
        password = "secret"
        """;

    [Fact]
    public async Task PollBasic256Sha256SignAndEncryptWithUserName()
    {
        string state = fixture.StateTrustingServer();
        await using var poller = OpcUaTestSupport.Poller(Config(Secure, "poll", AllTypes), state);
        var (batch, report) = await WithPeerLog(() => OpcUaTestSupport.PollAsync(poller));
        Assert.Empty(report.Problems);
        AssertAllTypes(OpcUaTestSupport.ByKeyAndIndex(batch));
        Assert.Equal(SecurityPolicy.Basic256Sha256, poller.Session!.Channel.Policy);
        Assert.Equal(MessageSecurityMode.SignAndEncrypt, poller.Session.Channel.Mode);
        // Our application certificate was made on first use and kept in the state directory.
        Assert.True(File.Exists(Path.Combine(state, "opcua", "pki", "own", "certificate.der")));
        var (again, _) = await OpcUaTestSupport.PollAsync(poller);
        Assert.Equal(batch.Count, again.Count);
        Assert.Equal(1, poller.Counters[OpcUaCounter.SessionsOpened]);
    }

    [Fact]
    public async Task PollBasic256Sha256SignOnlyAnonymous()
    {
        await using var poller = OpcUaTestSupport.Poller(Config("""
            security_policy = "Basic256Sha256"
            security_mode = "Sign"
            """, "poll", AllTypes), fixture.StateTrustingServer());
        var (batch, report) = await WithPeerLog(() => OpcUaTestSupport.PollAsync(poller));
        Assert.Empty(report.Problems);
        AssertAllTypes(OpcUaTestSupport.ByKeyAndIndex(batch));
        Assert.Equal(MessageSecurityMode.Sign, poller.Session!.Channel.Mode);
    }

    [Fact]
    public async Task WrongPasswordIsRefusedClearly()
    {
        await using var poller = OpcUaTestSupport.Poller(Config(Secure.Replace("\"secret\"", "\"wrong\""), "poll", AllTypes), fixture.StateTrustingServer());
        var e = await Assert.ThrowsAsync<OpcUaServiceException>(() => OpcUaTestSupport.PollAsync(poller));
        Assert.Contains("refused user \"operator\"", e.Message);
        Assert.True(e.Status.IsBad);
    }

    [Fact]
    public async Task UntrustedServerCertificateIsRefusedAndSavedToRejected()
    {
        string state = fixture.EmptyState();
        await using var poller = OpcUaTestSupport.Poller(Config(Secure, "poll", AllTypes), state);
        var e = await Assert.ThrowsAsync<OpcUaCertificateException>(() => OpcUaTestSupport.PollAsync(poller));
        Assert.Contains("is not trusted", e.Message);
        string rejected = Path.Combine(state, "opcua", "pki", "rejected");
        var saved = Assert.Single(Directory.GetFiles(rejected));
        Assert.Equal(Peer.Certificate, File.ReadAllBytes(saved));
        // The walk-through of the README: move it to trusted/ and the next attempt connects.
        File.Move(saved, Path.Combine(state, "opcua", "pki", "trusted", Path.GetFileName(saved)));
        await using var again = OpcUaTestSupport.Poller(Config(Secure, "poll", AllTypes), state);
        var (batch, _) = await OpcUaTestSupport.PollAsync(again);
        Assert.True(batch.Count > 0);
    }

    [Fact]
    public async Task TrustOnFirstUseRecordsTheCertificateAndPinnedChecksTheFingerprint()
    {
        string state = fixture.EmptyState();
        await using (var poller = OpcUaTestSupport.Poller(Config(Secure, "poll", AllTypes, "trust_server_certificate = \"tofu\""), state))
        {
            var (batch, _) = await OpcUaTestSupport.PollAsync(poller);
            Assert.True(batch.Count > 0);
        }
        Assert.Equal(Peer.Certificate, File.ReadAllBytes(Path.Combine(state, "opcua", "pki", "trusted", "tofu-line-3.der")));

        string sha = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Peer.Certificate)).ToLowerInvariant();
        await using (var pinned = OpcUaTestSupport.Poller(Config(Secure, "poll", AllTypes, $"trust_server_certificate = \"pinned\"\nserver_certificate_sha256 = \"{sha}\""), fixture.EmptyState()))
        {
            var (batch, _) = await OpcUaTestSupport.PollAsync(pinned);
            Assert.True(batch.Count > 0);
        }
        string other = new('0', 64);
        await using var wrong = OpcUaTestSupport.Poller(Config(Secure, "poll", AllTypes, $"trust_server_certificate = \"pinned\"\nserver_certificate_sha256 = \"{other}\""), fixture.EmptyState());
        var e = await Assert.ThrowsAsync<OpcUaCertificateException>(() => OpcUaTestSupport.PollAsync(wrong));
        Assert.Contains("not the pinned one", e.Message);
    }

    [Fact]
    public async Task MissingNodeAndBadStatusAreCountedNotStored()
    {
        await using var poller = OpcUaTestSupport.Poller(Config("", "poll", """
            [[opcua.servers.nodes]]
            node_id = "ns=1;s=Line3.Double"
            key = "double"
            [[opcua.servers.nodes]]
            node_id = "ns=1;s=Line3.NoSuchNode"
            key = "missing"
            [[opcua.servers.nodes]]
            node_id = "ns=1;s=Line3.Broken"
            key = "broken"
            """), fixture.EmptyState());
        var (batch, report) = await OpcUaTestSupport.PollAsync(poller);
        var v = OpcUaTestSupport.ByKeyAndIndex(batch);
        Assert.Equal(["double"], v.Keys);
        Assert.Contains(report.Problems, p => p.StartsWith("missing (ns=1;s=Line3.NoSuchNode): BadNodeIdUnknown", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.StartsWith("broken (ns=1;s=Line3.Broken): BadSensorFailure", StringComparison.Ordinal));
        Assert.Equal(2, poller.Counters[OpcUaCounter.BadValues]);
    }

    [Fact]
    public async Task NamespaceUriFormIsResolvedAgainstTheServerTable()
    {
        await using var poller = OpcUaTestSupport.Poller(Config("", "poll", $$"""
            [[opcua.servers.nodes]]
            node_id = "nsu={{Peer.NamespaceUri}};s=Line3.Double"
            key = "double"
            [[opcua.servers.nodes]]
            node_id = "nsu=urn:nobody;s=Line3.Double"
            key = "nowhere"
            """), fixture.EmptyState());
        var (batch, report) = await OpcUaTestSupport.PollAsync(poller);
        Assert.Equal(3.25, OpcUaTestSupport.ByKeyAndIndex(batch)["double"].Value);
        Assert.Contains(report.Problems, p => p.Contains("has no namespace \"urn:nobody\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SubscribeDeliversChangesBetweenPolls()
    {
        await using var poller = OpcUaTestSupport.Poller(Config(Secure, "subscribe", """
            [[opcua.servers.nodes]]
            node_id = "ns=1;s=Line3.Counter"
            key = "counter"
            [[opcua.servers.nodes]]
            node_id = "ns=1;s=Line3.Double"
            key = "double"
            [[opcua.servers.nodes]]
            node_id = "ns=1;s=Line3.NoSuchNode"
            key = "missing"
            """, "sampling_interval = \"100ms\"").Replace("interval = \"1s\"", "interval = \"200ms\""), fixture.StateTrustingServer());
        var samples = await OpcUaTestSupport.PollUntilAsync(poller,
            all => all.Count(s => s.Series.Key == "counter") >= 3 && all.Any(s => s.Series.Key == "double"), TimeSpan.FromSeconds(30));
        var counters = samples.Where(s => s.Series.Key == "counter").ToList();
        Assert.True(counters.Count >= 3, $"{counters.Count} counter values");
        Assert.True(counters[^1].Value > counters[0].Value);
        Assert.True(counters.Zip(counters.Skip(1)).All(p => p.Second.TimestampMs > p.First.TimestampMs), "timestamps increase");
        Assert.Equal(3.25, samples.First(s => s.Series.Key == "double").Value);
        Assert.DoesNotContain(samples, s => s.Series.Key == "missing");
        Assert.True(poller.Subscribed);
        var (_, report) = await OpcUaTestSupport.PollAsync(poller);
        Assert.Contains(report.Problems, p => p.StartsWith("missing (ns=1;s=Line3.NoSuchNode): BadNodeIdUnknown", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BrowseFindsTheTestFolder()
    {
        var options = OpcUaTestSupport.Bind(Config("", "poll", AllTypes));
        var store = new OpcUaCertificateStore(Path.Combine(fixture.EmptyState(), "pki"), "test");
        await using var session = await UaSession.ConnectAsync(options.Servers[0], store, CancellationToken.None);
        var results = await session.BrowseAsync([WellKnown.ObjectsFolder], CancellationToken.None);
        var line3 = Assert.Single(results[0].References, r => r.BrowseName.Name == "Line3");
        var children = await session.BrowseAsync([line3.NodeId.NodeId], CancellationToken.None);
        Assert.Contains(children[0].References, r => r.NodeId.NodeId.Equals(new NodeId(1, "Line3.Counter")));
    }
}
