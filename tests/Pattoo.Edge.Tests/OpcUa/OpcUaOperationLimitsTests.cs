using Pattoo.Edge.Pollers.OpcUa;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>
/// A node-opcua server with small OperationLimits (3 nodes per Read, 2 per Browse, 2 monitored
/// items per call, 1 browse continuation point per session) and a folder "Many" of 25 variables.
/// </summary>
public sealed class OpcUaLimitedServerFixture : IAsyncLifetime
{
    public const int ManyCount = 25;
    private OpcUaPeer? _peer;

    internal OpcUaPeer Peer => _peer ?? throw new InvalidOperationException("the OPC UA peer did not start");

    public string Scratch { get; } = Directory.CreateTempSubdirectory("pattoo-opcua-limits-").FullName;

    public async Task InitializeAsync() => _peer = await OpcUaPeer.StartAsync(Path.Combine(Scratch, "server-pki"), extraArgs:
    [
        "--many", ManyCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--max-nodes-per-read", "3",
        "--max-nodes-per-browse", "2",
        "--max-monitored-items-per-call", "2",
        "--max-browse-continuation-points", "1",
    ]);

    public async Task DisposeAsync()
    {
        if (_peer is not null) await _peer.DisposeAsync();
        try { Directory.Delete(Scratch, recursive: true); } catch (IOException) { }
    }

    public string EmptyState() => Directory.CreateDirectory(Path.Combine(Scratch, "state-" + Guid.NewGuid().ToString("N")[..12])).FullName;
}

/// <summary>Operation limits (requests split by MaxNodesPerRead/-Browse/MaxMonitoredItemsPerCall) and BrowseNext against node-opcua.</summary>
public sealed class OpcUaOperationLimitsTests(OpcUaLimitedServerFixture fixture) : IClassFixture<OpcUaLimitedServerFixture>
{
    private static readonly NodeId Many = new(1, "Many");
    private static NodeId ManyItem(int i) => new(1, "Many." + i.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private string Config(string nodes = """
        [[opcua.servers.nodes]]
        node_id = "ns=1;s=Many.0"
        key = "m0"
        """, string mode = "poll") => $"""
        [[opcua.servers]]
        name = "limited"
        endpoint = "{fixture.Peer.Endpoint}"
        mode = "{mode}"
        interval = "1s"
        {nodes}
        """;

    /// <summary>A session whose limits are read, or (<paramref name="readLimits"/> false) known to be none: requests go unsplit.</summary>
    private async Task<UaSession> ConnectAsync(bool readLimits = true)
    {
        var options = OpcUaTestSupport.Bind(Config());
        var store = new OpcUaCertificateStore(Path.Combine(fixture.EmptyState(), "pki"), "test");
        var session = await UaSession.ConnectAsync(options.Servers[0], store, CancellationToken.None);
        if (readLimits) await session.ReadOperationLimitsAsync(CancellationToken.None);
        else session.OperationLimits = OperationLimits.None;
        return session;
    }

    [Fact]
    public async Task LimitsAreReadInOneGo()
    {
        await using var session = await ConnectAsync(readLimits: false);
        var limits = await session.ReadOperationLimitsAsync(CancellationToken.None);
        Assert.Equal(new OperationLimits(3, 2, 2), limits);
        Assert.Equal(limits, session.OperationLimits);
        Assert.Equal("MaxNodesPerRead 3, MaxNodesPerBrowse 2, MaxMonitoredItemsPerCall 2", limits.ToString());
    }

    [Fact]
    public void LimitsThatAreZeroBadOrNotIntegersAreNoLimits()
    {
        var limits = OperationLimits.FromValues([
            new DataValue(Variant.From(0u)),
            new DataValue(Variant.Null, StatusCode.BadNodeIdUnknown),
            new DataValue(Variant.From("100")),
        ]);
        Assert.Equal(OperationLimits.None, limits);
        Assert.False(limits.Any);
        Assert.Equal(new OperationLimits(7, uint.MaxValue, 1), OperationLimits.FromValues([
            new DataValue(Variant.From(7u)), new DataValue(Variant.From(long.MaxValue)), new DataValue(Variant.From((ushort)1)),
        ]));
    }

    [Fact]
    public async Task ReadOfTenNodesIsSplitAndKeepsTheOrder()
    {
        // Reversed, with a missing node in the middle: the values must come back where they were asked.
        var ids = new List<NodeId>();
        for (int i = 9; i >= 0; i--) ids.Add(i == 4 ? new NodeId(1, "Many.NoSuchNode") : ManyItem(i));
        var nodes = ids.Select(id => new ReadValueId(id)).ToList();

        await using var session = await ConnectAsync(readLimits: false);
        // node-opcua enforces its limit: unsplit, the Read is refused, and the message says why.
        var e = await Assert.ThrowsAsync<OpcUaServiceException>(() => session.ReadAsync(nodes, CancellationToken.None));
        Assert.Equal(0x80100000u, e.Status.CodeBits);
        Assert.Contains("BadTooManyOperations", e.Message, StringComparison.Ordinal);
        Assert.Contains("refused 10 nodes in one Read", e.Message, StringComparison.Ordinal);

        await session.ReadOperationLimitsAsync(CancellationToken.None);
        var values = await session.ReadAsync(nodes, CancellationToken.None);
        Assert.Equal(10, values.Length);
        for (int k = 0; k < 10; k++)
        {
            int i = 9 - k;
            if (i == 4)
            {
                Assert.Equal(StatusCode.BadNodeIdUnknown, values[k].Status);
                continue;
            }
            Assert.True(values[k].Status.IsGood, $"{ids[k]}: {values[k].Status}");
            Assert.True(values[k].Value.TryGetInt64(out long v), $"{ids[k]}: {values[k].Value}");
            Assert.Equal(i, v);
        }
    }

    [Fact]
    public async Task BrowseFollowsContinuationPointsToEveryChild()
    {
        await using var session = await ConnectAsync();
        // The server pages: 4 references and a continuation point in the first answer...
        var first = await session.BrowsePageAsync([Many], 4, CancellationToken.None);
        Assert.Equal(4, first[0].References.Length);
        Assert.NotNull(first[0].ContinuationPoint);
        var released = await session.BrowseNextAsync([first[0].ContinuationPoint!], release: true, CancellationToken.None);
        Assert.All(released, r => Assert.Empty(r.References));

        // ... and BrowseAsync follows them with BrowseNext until all 25 are there, in order.
        var results = await session.BrowseAsync([Many], CancellationToken.None, maxReferencesPerNode: 4);
        var result = Assert.Single(results);
        Assert.True(result.Status.IsGood, result.Status.ToString());
        Assert.Null(result.ContinuationPoint);
        Assert.Equal(Enumerable.Range(0, OpcUaLimitedServerFixture.ManyCount).Select(i => ManyItem(i)),
            result.References.Select(r => r.NodeId.NodeId));
        Assert.Equal("Many24", result.References[^1].BrowseName.Name);
    }

    [Fact]
    public async Task BrowseOfManyNodesIsSplitAndRetriesNodesWithoutAContinuationPoint()
    {
        await using var session = await ConnectAsync(readLimits: false);
        // Objects and Line3, each browsed alone with room for all, as the reference.
        var objects = (await session.BrowseAsync([WellKnown.ObjectsFolder], CancellationToken.None))[0].References;
        var line3Id = Assert.Single(objects, r => r.BrowseName.Name == "Line3").NodeId.NodeId;
        var line3 = (await session.BrowseAsync([line3Id], CancellationToken.None))[0].References;
        Assert.True(line3.Length > 4 && objects.Length > 4, $"{line3.Length} and {objects.Length} references: too few to page");

        NodeId[] nodes = [Many, line3Id, Many, WellKnown.ObjectsFolder, Many];
        var e = await Assert.ThrowsAsync<OpcUaServiceException>(() => session.BrowseAsync(nodes, CancellationToken.None, 4));
        Assert.Contains("refused 5 nodes in one Browse", e.Message, StringComparison.Ordinal);

        await session.ReadOperationLimitsAsync(CancellationToken.None);

        // 2 nodes per Browse, 4 references per page, 1 continuation point per session: the
        // second node of each Browse is refused (BadNoContinuationPoints) and browsed again.
        var results = await session.BrowseAsync(nodes, CancellationToken.None, 4);
        Assert.Equal(5, results.Length);
        Assert.All(results, r => Assert.True(r.Status.IsGood, r.Status.ToString()));
        foreach (int i in new[] { 0, 2, 4 }) Assert.Equal(OpcUaLimitedServerFixture.ManyCount, results[i].References.Length);
        Assert.Equal(line3.Select(r => r.NodeId.NodeId), results[1].References.Select(r => r.NodeId.NodeId));
        Assert.Equal(objects.Select(r => r.NodeId.NodeId), results[3].References.Select(r => r.NodeId.NodeId));
    }

    [Fact]
    public async Task CancelledBrowseReleasesItsContinuationPoint()
    {
        await using var session = await ConnectAsync();
        var page = await session.BrowsePageAsync([Many], 4, CancellationToken.None);
        byte[] cp = page[0].ContinuationPoint!;
        Assert.NotNull(cp);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => session.CompleteBrowseAsync(page, cancelled.Token));
        // Released: the server no longer knows it (kept, it would hand out the next 4 references).
        var next = await session.BrowseNextAsync([cp], release: false, CancellationToken.None);
        Assert.Equal("BadContinuationPointInvalid", next[0].Status.Name);
        Assert.Empty(next[0].References);
        // And the session's only continuation point is free again for a full browse.
        var all = await session.BrowseAsync([Many], CancellationToken.None, 4);
        Assert.Equal(OpcUaLimitedServerFixture.ManyCount, all[0].References.Length);
    }

    [Fact]
    public async Task CreateMonitoredItemsIsSplitAndKeepsTheOrder()
    {
        var items = new List<MonitoredItemRequest>();
        for (uint i = 0; i < 5; i++) items.Add(new MonitoredItemRequest(i == 3 ? new NodeId(1, "Many.NoSuchNode") : ManyItem((int)i), 100 + i, 100, 1));
        await using var session = await ConnectAsync(readLimits: false);
        var sub = await session.CreateSubscriptionAsync(1000, 30, 10, CancellationToken.None);
        var e = await Assert.ThrowsAsync<OpcUaServiceException>(() => session.CreateMonitoredItemsAsync(sub.SubscriptionId, items, CancellationToken.None));
        Assert.Contains("refused 5 items in one CreateMonitoredItems", e.Message, StringComparison.Ordinal);

        await session.ReadOperationLimitsAsync(CancellationToken.None);
        var results = await session.CreateMonitoredItemsAsync(sub.SubscriptionId, items, CancellationToken.None);
        Assert.Equal(5, results.Length);
        for (int i = 0; i < 5; i++)
        {
            if (i == 3) Assert.Equal(StatusCode.BadNodeIdUnknown, results[i].Status);
            else Assert.True(results[i].Status.IsGood, $"item {i}: {results[i].Status}");
        }
        Assert.Equal(4, results.Where(r => r.Status.IsGood).Select(r => r.MonitoredItemId).Distinct().Count());
    }

    /// <summary>
    /// The poller reads the limits when it connects: 10 nodes against MaxNodesPerRead 3 poll fine.
    /// (Needs UaSession.ReadOperationLimitsAsync to be called after the session is activated.)
    /// </summary>
    [Fact]
    public async Task PollerSplitsItsReadByTheServersLimit()
    {
        string nodes = string.Join("\n", Enumerable.Range(0, 10).Select(i => $"""
            [[opcua.servers.nodes]]
            node_id = "ns=1;s=Many.{i}"
            key = "m{i}"
            """));
        await using var poller = OpcUaTestSupport.Poller(Config(nodes), fixture.EmptyState());
        var (batch, report) = await OpcUaTestSupport.PollAsync(poller);
        Assert.Empty(report.Problems);
        Assert.Equal(new OperationLimits(3, 2, 2), poller.Session!.OperationLimits);
        var v = OpcUaTestSupport.ByKeyAndIndex(batch);
        for (int i = 0; i < 10; i++) Assert.Equal(i, v[$"m{i}"].Value);
    }
}
