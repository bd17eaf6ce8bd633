using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>
/// The server's operation limits and continuation points: requests split to the limits the server
/// publishes, Browse completed through BrowseNext, and points released when a browse is abandoned.
/// </summary>
internal sealed partial class UaSession
{
    private const uint BadTooManyOperations = 0x80100000;
    private const uint BadNoContinuationPoints = 0x804B0000;

    /// <summary>
    /// The server's operation limits requests are split by; <see cref="OperationLimits.None"/>
    /// until <see cref="ReadOperationLimitsAsync"/> (tests may set it).
    /// </summary>
    public OperationLimits OperationLimits { get; set; } = OperationLimits.None;

    /// <summary>
    /// Reads Server_ServerCapabilities_OperationLimits (MaxNodesPerRead, MaxNodesPerBrowse,
    /// MaxMonitoredItemsPerCall) in one Read into <see cref="OperationLimits"/>; call once after the
    /// session is activated. A limit that is 0, absent or Bad is no limit; a server that refuses the
    /// Read keeps the limits as they were (a lost session or connection throws).
    /// </summary>
    public async Task<OperationLimits> ReadOperationLimitsAsync(CancellationToken ct)
    {
        try
        {
            DataValue[] values;
            try
            {
                values = await ReadAsync([.. OperationLimits.Nodes.Select(n => new ReadValueId(n))], ct).ConfigureAwait(false);
            }
            catch (OpcUaServiceException e) when (e.Status.CodeBits == BadTooManyOperations)
            {
                // a server that takes fewer nodes per Read than we ask for: one at a time
                values = new DataValue[OperationLimits.Nodes.Length];
                for (int i = 0; i < values.Length; i++)
                    values[i] = (await ReadOnceAsync([new ReadValueId(OperationLimits.Nodes[i])], ct).ConfigureAwait(false))[0];
            }
            OperationLimits = OperationLimits.FromValues(values);
        }
        catch (OpcUaServiceException e) when (!e.SessionLost)
        {
            Common.Log.Debug($"opcua/{_server.Name}: cannot read the server's operation limits ({e.Message}); requests are not split");
            return OperationLimits;
        }
        if (OperationLimits.Any) Common.Log.Debug($"opcua/{_server.Name}: server operation limits: {OperationLimits}");
        return OperationLimits;
    }

    /// <summary>
    /// One BrowseNext: the next references of each continuation point (one result each, in order),
    /// or with <paramref name="release"/> their release (the server may return no results then).
    /// </summary>
    public async Task<BrowseResult[]> BrowseNextAsync(IReadOnlyList<byte[]> continuationPoints, bool release, CancellationToken ct)
    {
        BrowseNextResponse response;
        try
        {
            response = await _channel.CallAsync("BrowseNext", (w, h) => UaServices.WriteBrowseNext(w, h, release, continuationPoints),
                EncodingIds.BrowseNextResponse, UaServices.DecodeBrowseNext, Timeout, ct).ConfigureAwait(false);
        }
        catch (OpcUaServiceException e) when (e.Status.CodeBits == BadTooManyOperations)
        {
            throw TooMany(e, "BrowseNext", continuationPoints.Count, "continuation points", OperationLimits.MaxNodesPerBrowse, "MaxNodesPerBrowse");
        }
        if (!release && response.Results.Length != continuationPoints.Count)
            throw new OpcUaConnectionException($"BrowseNext of {continuationPoints.Count} continuation points returned {response.Results.Length} results");
        return response.Results;
    }

    /// <summary>One Browse request: the first page of each node's references, continuation points left open.</summary>
    internal async Task<BrowseResult[]> BrowsePageAsync(IReadOnlyList<NodeId> nodes, uint maxReferencesPerNode, CancellationToken ct)
    {
        BrowseResponse response;
        try
        {
            response = await _channel.CallAsync("Browse", (w, h) => UaServices.WriteBrowse(w, h, nodes, maxReferencesPerNode), EncodingIds.BrowseResponse,
                UaServices.DecodeBrowse, Timeout, ct).ConfigureAwait(false);
        }
        catch (OpcUaServiceException e) when (e.Status.CodeBits == BadTooManyOperations)
        {
            throw TooMany(e, "Browse", nodes.Count, "nodes", OperationLimits.MaxNodesPerBrowse, "MaxNodesPerBrowse");
        }
        if (response.Results.Length != nodes.Count)
            throw new OpcUaConnectionException($"Browse of {nodes.Count} nodes returned {response.Results.Length} results");
        return response.Results;
    }

    /// <summary>
    /// Follows the continuation points of <paramref name="results"/> with BrowseNext until every
    /// result holds all its references (replaced in place, without continuation point). When
    /// cancelled or on an error the continuation points still open are released, then it throws.
    /// </summary>
    internal async Task CompleteBrowseAsync(BrowseResult[] results, CancellationToken ct)
    {
        var open = new List<int>();
        for (int i = 0; i < results.Length; i++)
            if (results[i].ContinuationPoint is { Length: > 0 } && !results[i].Status.IsBad) open.Add(i);
        if (open.Count == 0) return;
        var points = new byte[]?[results.Length];
        var references = new List<ReferenceDescription>?[results.Length];
        foreach (int i in open)
        {
            points[i] = results[i].ContinuationPoint;
            references[i] = [.. results[i].References];
        }
        int empty = 0;
        try
        {
            while (open.Count > 0)
            {
                ct.ThrowIfCancellationRequested();
                var next = await BrowseNextAsync([.. open.Select(i => points[i]!)], false, ct).ConfigureAwait(false);
                var still = new List<int>(open.Count);
                bool any = false;
                for (int k = 0; k < open.Count; k++)
                {
                    int i = open[k];
                    var r = next[k];
                    references[i]!.AddRange(r.References);
                    any |= r.References.Length > 0;
                    if (!r.Status.IsBad && r.ContinuationPoint is { Length: > 0 } cp)
                    {
                        points[i] = cp;
                        still.Add(i);
                    }
                    else
                    {
                        points[i] = null;
                        results[i] = new BrowseResult(r.Status.IsBad ? r.Status : results[i].Status, null, [.. references[i]!]);
                    }
                }
                open = still;
                // A server may answer a page without references, but not forever.
                if (any) empty = 0;
                else if (++empty >= 100 && open.Count > 0)
                    throw new OpcUaConnectionException($"BrowseNext: {empty} pages in a row without references; the server does not advance");
            }
        }
        catch
        {
            await ReleaseContinuationPointsAsync([.. open.Select(i => points[i]!)]).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>BrowseNext with releaseContinuationPoints = true, within 2 s, even after cancellation; never throws.</summary>
    private async Task ReleaseContinuationPointsAsync(byte[][] points)
    {
        if (points.Length == 0 || !_channel.IsOpen) return;
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _channel.CallAsync("BrowseNext", (w, h) => UaServices.WriteBrowseNext(w, h, true, points), EncodingIds.BrowseNextResponse,
                UaServices.DecodeBrowseNext, TimeSpan.FromSeconds(2), limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OpcUaConnectionException or OpcUaServiceException or TimeoutException or OperationCanceledException)
        {
            // the server frees them with the session anyway
        }
    }

    /// <summary>
    /// Browses one request's worth of nodes completely; nodes refused for want of a continuation
    /// point are browsed again, as long as each round completes some.
    /// </summary>
    private async Task<BrowseResult[]> BrowseCompleteAsync(IReadOnlyList<NodeId> nodes, uint maxReferencesPerNode, CancellationToken ct)
    {
        var results = await BrowsePageAsync(nodes, maxReferencesPerNode, ct).ConfigureAwait(false);
        await CompleteBrowseAsync(results, ct).ConfigureAwait(false);
        int pending = results.Length;
        while (true)
        {
            var again = new List<int>();
            for (int i = 0; i < results.Length; i++)
                if (results[i].Status.CodeBits == BadNoContinuationPoints) again.Add(i);
            if (again.Count == 0 || again.Count >= pending) return results;
            pending = again.Count;
            var retry = await BrowsePageAsync([.. again.Select(i => nodes[i])], maxReferencesPerNode, ct).ConfigureAwait(false);
            await CompleteBrowseAsync(retry, ct).ConfigureAwait(false);
            for (int k = 0; k < again.Count; k++) results[again[k]] = retry[k];
        }
    }

    private async Task<DataValue[]> ReadOnceAsync(IReadOnlyList<ReadValueId> nodes, CancellationToken ct)
    {
        ReadResponse response;
        try
        {
            response = await _channel.CallAsync("Read", (w, h) => UaServices.WriteRead(w, h, nodes), EncodingIds.ReadResponse,
                UaServices.DecodeRead, Timeout, ct).ConfigureAwait(false);
        }
        catch (OpcUaServiceException e) when (e.Status.CodeBits == BadTooManyOperations)
        {
            throw TooMany(e, "Read", nodes.Count, "nodes", OperationLimits.MaxNodesPerRead, "MaxNodesPerRead");
        }
        if (response.Results.Length != nodes.Count)
            throw new OpcUaConnectionException($"Read of {nodes.Count} nodes returned {response.Results.Length} results");
        return response.Results;
    }

    private async Task<MonitoredItemCreateResult[]> CreateMonitoredItemsOnceAsync(uint subscriptionId, IReadOnlyList<MonitoredItemRequest> items, CancellationToken ct)
    {
        CreateMonitoredItemsResponse response;
        try
        {
            response = await _channel.CallAsync("CreateMonitoredItems", (w, h) => UaServices.WriteCreateMonitoredItems(w, h, subscriptionId, items),
                EncodingIds.CreateMonitoredItemsResponse, UaServices.DecodeCreateMonitoredItems, Timeout, ct).ConfigureAwait(false);
        }
        catch (OpcUaServiceException e) when (e.Status.CodeBits == BadTooManyOperations)
        {
            throw TooMany(e, "CreateMonitoredItems", items.Count, "items", OperationLimits.MaxMonitoredItemsPerCall, "MaxMonitoredItemsPerCall");
        }
        if (response.Results.Length != items.Count)
            throw new OpcUaConnectionException($"CreateMonitoredItems of {items.Count} items returned {response.Results.Length} results");
        return response.Results;
    }

    /// <summary>BadTooManyOperations, explained: how many were sent and what the server said its limit was.</summary>
    private static OpcUaServiceException TooMany(OpcUaServiceException e, string service, int count, string what, uint limit, string limitName)
        => new(service, e.Status, limit == 0
            ? $"the server refused {count} {what} in one {service} as too many; it did not tell its {limitName} (OperationLimits)"
            : $"the server refused {count} {what} in one {service} as too many; its {limitName} is {limit}");

    /// <summary>
    /// Runs <paramref name="call"/> on parts of at most <paramref name="limit"/> items (0 = no
    /// limit: one call with all of them, even none) and joins the results in order. Each call
    /// returns one result per item of its part.
    /// </summary>
    private static async Task<TResult[]> SplitAsync<TItem, TResult>(IReadOnlyList<TItem> items, uint limit, Func<IReadOnlyList<TItem>, Task<TResult[]>> call)
    {
        if (limit == 0 || items.Count <= limit) return await call(items).ConfigureAwait(false);
        var results = new TResult[items.Count];
        for (int start = 0; start < items.Count; start += (int)limit)
        {
            var part = new TItem[Math.Min((int)limit, items.Count - start)];
            for (int i = 0; i < part.Length; i++) part[i] = items[start + i];
            (await call(part).ConfigureAwait(false)).CopyTo(results, start);
        }
        return results;
    }
}

/// <summary>
/// The server's OperationLimits (Part 5, sec 6.3.11) this client splits its requests by; 0 = no
/// limit (the server does not expose the limit, says 0, or could not be asked).
/// </summary>
internal sealed record OperationLimits(uint MaxNodesPerRead, uint MaxNodesPerBrowse, uint MaxMonitoredItemsPerCall)
{
    public static readonly OperationLimits None = new(0, 0, 0);

    /// <summary>The nodes to read, in the order <see cref="FromValues"/> takes their values.</summary>
    public static readonly NodeId[] Nodes = [WellKnown.MaxNodesPerRead, WellKnown.MaxNodesPerBrowse, WellKnown.MaxMonitoredItemsPerCall];

    public bool Any => MaxNodesPerRead != 0 || MaxNodesPerBrowse != 0 || MaxMonitoredItemsPerCall != 0;

    /// <summary>The limits from the values of <see cref="Nodes"/>: a Bad status, 0 or a non-integer is no limit.</summary>
    public static OperationLimits FromValues(IReadOnlyList<DataValue> values)
    {
        if (values.Count != Nodes.Length) throw new ArgumentException($"expected {Nodes.Length} values, got {values.Count}", nameof(values));
        return new(Limit(values[0]), Limit(values[1]), Limit(values[2]));
    }

    private static uint Limit(DataValue v)
        => !v.Status.IsBad && v.Value.Type != BuiltInType.Boolean && v.Value.TryGetInt64(out long n) && n > 0 ? (uint)Math.Min(n, uint.MaxValue) : 0;

    public override string ToString()
        => $"MaxNodesPerRead {Text(MaxNodesPerRead)}, MaxNodesPerBrowse {Text(MaxNodesPerBrowse)}, MaxMonitoredItemsPerCall {Text(MaxMonitoredItemsPerCall)}";

    private static string Text(uint limit) => limit == 0 ? "none" : limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
