using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Shared;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>
/// One OPC UA server (a <c>[[opcua.servers]]</c> entry), stored under program "opcua",
/// target = server name, key = node key, metadata node_id (and index for array elements).
/// <para>
/// Poll mode: each <see cref="PollAsync"/> does one Read of every node (split by the server's
/// MaxNodesPerRead), stamped with the poll time. Subscribe mode: a background loop keeps one
/// subscription (publishing interval = interval, one monitored item per node with queue_size,
/// Publish with acknowledgements and keep-alives, Republish for gaps) and each PollAsync hands
/// over every value received since the previous call, stamped with its source timestamp; nodes
/// that did not change store nothing.
/// </para>
/// <para>
/// Values with a Bad status are not stored: they are counted (<see cref="OpcUaCounter.BadValues"/>), logged
/// when a node's status changes and reported as skipped. A lost connection is retried with
/// backoff (1 s doubling to 15 s). The session outlives the connection: after a break it is
/// activated on a new channel and its subscription simply continues; when the server dropped
/// the session, the subscription is transferred to a new one; only when the server lost the
/// subscription too (a restart) is a new one created. Nothing here can stop another poller.
/// </para>
/// </summary>
public sealed partial class OpcUaPoller : IPollTarget, IPollTargetDiagnostics, IWritableTarget
{
    /// <summary>
    /// 1 s after the first failure, doubling up to a quarter of the session timeout, at most
    /// 15 s. A lost PLC should be back in the data soon after it is back on the network, and one
    /// TCP connect every 15 s is cheap for both sides; a shorter session timeout retries more
    /// often, so a link that flaps still gets through within the session's and subscription's
    /// lifetime (one attempt every 15 s could keep missing the short moments it was up).
    /// </summary>
    internal static TimeSpan RetryDelay(int failures, TimeSpan sessionTimeout)
        => Backoff.Delay(FirstRetry, RetryCap(sessionTimeout), 2, Math.Max(1, failures));

    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);

    private static TimeSpan RetryCap(TimeSpan sessionTimeout) => TimeSpan.FromSeconds(Math.Clamp(sessionTimeout.TotalSeconds / 4, 1, 15));

    /// <summary>Counts a failure and sets the next attempt; the first is logged as a warning, the retries at debug level.</summary>
    private void Failed(string what, string why)
    {
        var wait = _retry.Failed();
        Log.Write(_retry.Failures == 1 ? LogLevel.Warning : LogLevel.Debug, $"{_label}: {what}: {why}; next attempt in {Duration.Format(wait)}");
    }

    private readonly OpcUaServerOptions _server;
    private readonly AgentIdentity _agent;
    private readonly OpcUaCertificateStore _store;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly Dictionary<(int Node, int Index, DataType Type), SeriesKey> _series = new();
    private readonly StatusCode[] _lastStatus;
    private readonly long[] _lastStampMs;
    private readonly string _label;
    private UaSession? _session;
    private List<(int Node, NodeId Id)> _resolved = [];
    private List<string> _unresolved = [];
    private readonly Backoff _retry;
    private string? _lastError;

    internal OpcUaPoller(AgentIdentity agent, OpcUaServerOptions server, OpcUaCertificateStore store)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(store);
        if (agent.Program != OpcUaOptions.ProgramName)
            throw new ArgumentException($"the OPC UA poller stores under program '{OpcUaOptions.ProgramName}', not '{agent.Program}'", nameof(agent));
        _agent = agent;
        _server = server;
        _retry = new Backoff(FirstRetry, RetryCap(server.SessionTimeout));
        _store = store;
        _lastStatus = new StatusCode[server.Nodes.Count];
        _lastStampMs = new long[server.Nodes.Count];
        _writableSeries = new SeriesKey?[server.Nodes.Count];
        _label = $"{OpcUaOptions.ProgramName}/{server.Name}";
        ConfigFingerprint = server.Fingerprint();
    }

    public string Program => OpcUaOptions.ProgramName;
    public string Name => _server.Name;
    public TimeSpan Interval => _server.Interval;
    public string ConfigFingerprint { get; }
    public OpcUaServerOptions Server => _server;

    /// <summary>What the target has seen (the API's diagnostics, the tests); the subscription counters from <see cref="OpcUaCounter.SubscriptionsCreated"/> on are shown in subscribe mode only.</summary>
    public Counters<OpcUaCounter> Counters { get; } = new();

    public IReadOnlyList<KeyValuePair<string, long>> Diagnostics
    {
        get
        {
            var d = new List<KeyValuePair<string, long>>();
            Counters.AppendTo(d);
            if (_server.Mode != OpcUaMode.Subscribe) d.RemoveRange((int)OpcUaCounter.SubscriptionsCreated, d.Count - (int)OpcUaCounter.SubscriptionsCreated);
            return d;
        }
    }

    /// <summary>True while the subscription is running (subscribe mode).</summary>
    public bool Subscribed { get { lock (_gate) return _subscribed; } }

    internal UaSession? Session => _session;

    public async Task PollAsync(SampleBatch batch, PollReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(report);
        if (_server.Mode == OpcUaMode.Subscribe)
        {
            HandOver(batch, report);
            return;
        }
        for (int attempt = 0; ; attempt++)
        {
            var session = await EnsureSessionAsync(cancellationToken, honourBackoff: true).ConfigureAwait(false);
            DataValue[] values;
            try
            {
                values = await session.ReadAsync(_resolved.Select(r => new ReadValueId(r.Id)).ToList(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OpcUaConnectionException or TimeoutException or OpcUaServiceException)
            {
                await DropSessionAsync(e).ConfigureAwait(false);
                // A session the server forgot (timed out, restarted) is reopened at once, once.
                if (attempt == 0 && e is OpcUaServiceException { SessionLost: true }) { _retry.RetryIn(TimeSpan.Zero); continue; }
                throw;
            }
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (int i = 0; i < values.Length; i++) Store(_resolved[i].Node, values[i], now, batch, report, checkStamp: false);
            foreach (var u in _unresolved) report.Skip(u);
            return;
        }
    }

    /// <summary>
    /// The open session, reconnected or opened anew. With <paramref name="honourBackoff"/> (polls
    /// from the scheduler) an attempt inside the backoff after a failure is refused at once; the
    /// subscription loop waits the backoff out itself.
    /// </summary>
    private async Task<UaSession> EnsureSessionAsync(CancellationToken ct, bool honourBackoff)
    {
        await _connectLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_session is { IsOpen: true } open) return open;
            if (honourBackoff && _retry.Waiting && _lastError is not null) throw new OpcUaConnectionException(_lastError);
            try
            {
                if (_session is { } kept)
                {
                    // The channel broke: the session (and its subscription) may still be on the server.
                    try
                    {
                        await kept.ReconnectAsync(ct).ConfigureAwait(false);
                        Counters.Increment(OpcUaCounter.SessionReactivations);
                        Log.Info($"{_label}: reconnected to {_server.Endpoint}; session kept");
                        _retry.Succeeded();
                        _lastError = null;
                        return kept;
                    }
                    catch (OpcUaServiceException e)
                    {
                        Log.Info($"{_label}: the server no longer has the session ({e.Status.Name}); opening a new one");
                        _session = null;
                        await kept.AbandonChannelAsync().ConfigureAwait(false);
                    }
                }
                var session = await UaSession.ConnectAsync(_server, _store, ct).ConfigureAwait(false);
                try
                {
                    await ResolveAsync(session, ct).ConfigureAwait(false);
                }
                catch
                {
                    await session.CloseAsync().ConfigureAwait(false);
                    throw;
                }
                Counters.Increment(OpcUaCounter.SessionsOpened);
                if (_retry.Failures > 0 || Counters[OpcUaCounter.SessionsOpened] > 1) Log.Info($"{_label}: connected to {_server.Endpoint} ({_server.SecurityDescription})");
                _retry.Succeeded();
                _lastError = null;
                _session = session;
                return session;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                _lastError = e is OperationCanceledException ? $"{_server.Endpoint}: connecting took too long" : e.Message;
                Failed("cannot connect", _lastError);
                if (e is OperationCanceledException) throw new OpcUaConnectionException(_lastError, e);
                throw;
            }
        }
        finally
        {
            _connectLock.Release();
        }
    }

    /// <summary>Maps nsu= NodeIds to this server's namespace indexes (the table can change when the server restarts).</summary>
    private async Task ResolveAsync(UaSession session, CancellationToken ct)
    {
        var resolved = new List<(int, NodeId)>();
        var unresolved = new List<string>();
        string?[]? table = null;
        for (int i = 0; i < _server.Nodes.Count; i++)
        {
            var n = _server.Nodes[i];
            if (n.NodeId.NamespaceUri is null) { resolved.Add((i, n.NodeId.NodeId)); continue; }
            table ??= await session.ReadNamespaceArrayAsync(ct).ConfigureAwait(false);
            int index = Array.IndexOf(table, n.NodeId.NamespaceUri);
            if (index < 0 || index > ushort.MaxValue) unresolved.Add($"{n.Key} ({n.NodeIdText}): the server has no namespace \"{n.NodeId.NamespaceUri}\"");
            else resolved.Add((i, n.NodeId.NodeId.WithNamespace((ushort)index)));
        }
        foreach (var u in unresolved) Log.Warning($"{_label}: {u}");
        _resolved = resolved;
        _unresolved = unresolved;
    }

    /// <summary>
    /// After a failed request: a broken connection (or a session the server lost) closes only
    /// the channel, keeping the session for <see cref="UaSession.ReconnectAsync"/>; anything else
    /// closes the session itself.
    /// </summary>
    private async Task DropSessionAsync(Exception why)
    {
        await _connectLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var s = _session;
            _lastError = why.Message;
            if (s is null) return;
            if (why is OpcUaConnectionException or TimeoutException or OpcUaServiceException { SessionLost: true })
            {
                await s.AbandonChannelAsync().ConfigureAwait(false);
                return;
            }
            _session = null;
            await s.CloseAsync().ConfigureAwait(false);
        }
        finally
        {
            _connectLock.Release();
        }
    }

    /// <summary>Adds one DataValue (every element of an array) to the batch; Bad ones are counted and reported.</summary>
    private void Store(int node, DataValue dv, long timestampMs, SampleBatch batch, PollReport report, bool checkStamp)
    {
        var n = _server.Nodes[node];
        if (dv.Status.IsBad)
        {
            Counters.Increment(OpcUaCounter.BadValues);
            if (_lastStatus[node] != dv.Status) Log.Warning($"{_label}: {n.Key} ({n.NodeIdText}): {dv.Status}");
            _lastStatus[node] = dv.Status;
            report.Skip($"{n.Key} ({n.NodeIdText}): {dv.Status}");
            return;
        }
        if (_lastStatus[node].IsBad) Log.Info($"{_label}: {n.Key} ({n.NodeIdText}): {dv.Status.Name} again");
        _lastStatus[node] = dv.Status;
        if (checkStamp)
        {
            if (timestampMs <= _lastStampMs[node]) return; // already stored (a republished or repeated value)
            _lastStampMs[node] = timestampMs;
        }
        var v = dv.Value;
        if (!v.IsArray)
        {
            Add(node, -1, v, timestampMs, batch, report);
            return;
        }
        for (int i = 0; i < v.Count; i++) Add(node, i, v[i], timestampMs, batch, report);
    }

    private void Add(int node, int index, in Variant v, long timestampMs, SampleBatch batch, PollReport report)
    {
        var n = _server.Nodes[node];
        if (!OpcUaValues.TryConvert(v, out var type, out double value, out string? text, out string? why))
        {
            report.Skip($"{n.Key}{(index >= 0 ? $"[{index}]" : "")} ({n.NodeIdText}): {why}");
            return;
        }
        if (!_series.TryGetValue((node, index, type), out var series))
        {
            var metadata = new List<KeyValuePair<string, string>> { new("node_id", n.NodeIdText) };
            if (index >= 0) metadata.Add(new("index", index.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            series = new SeriesKey(_agent, n.Key, type, _server.Interval, metadata);
            _series[(node, index, type)] = series;
        }
        if (index < 0 && n.Write is not null) Volatile.Write(ref _writableSeries[node], series);
        if (type == DataType.String) batch.AddText(series, timestampMs, text!);
        else batch.Add(series, timestampMs, value);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop is not null)
        {
            _stop.Cancel();
            try { if (_loop is not null) await _loop.ConfigureAwait(false); }
            catch (Exception) { /* logged by the loop */ }
            _stop.Dispose();
        }
        var s = _session;
        _session = null;
        if (s is not null) await s.CloseAsync().ConfigureAwait(false);
    }
}
