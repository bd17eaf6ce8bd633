using Pattoo.Edge.Common;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>
/// One OPC UA server (a <c>[[opcua.servers]]</c> entry), stored under program "opcua",
/// target = server name, key = node key, metadata node_id (and index for array elements).
/// <para>
/// Poll mode: each <see cref="PollAsync"/> does one Read of every node, stamped with the poll
/// time. Subscribe mode: a background loop keeps a session with one subscription (publishing
/// interval = interval, one monitored item per node, Publish with acknowledgements and
/// keep-alives, Republish for gaps) and each PollAsync hands over, per node, the latest value
/// received since the previous call, stamped with its source timestamp; nodes that did not
/// change store nothing.
/// </para>
/// <para>
/// Values with a Bad status are not stored: they are counted (<see cref="BadValues"/>), logged
/// when a node's status changes and reported as skipped. A lost connection is retried with
/// backoff (1 s doubling to 15 s); a subscription is recreated on the new session. Nothing here
/// can stop another poller.
/// </para>
/// </summary>
public sealed class OpcUaPoller : IPollTarget
{
    // A lost PLC should be back in the data soon after it is back on the network; one TCP
    // connect every 15 s is cheap for both sides.
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(15);

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
    private int _failures;
    private DateTimeOffset _nextAttempt;
    private string? _lastError;
    private long _badValues;
    private long _connects;

    // subscribe mode
    private readonly object _gate = new();
    private readonly Dictionary<int, (DataValue Value, long ReceivedMs)> _latest = new();
    private readonly List<string> _itemProblems = [];
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private bool _subscribed;
    private long _notifications;
    private long _republished;

    internal OpcUaPoller(AgentIdentity agent, OpcUaServerOptions server, OpcUaCertificateStore store)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(store);
        if (agent.Program != OpcUaOptions.ProgramName)
            throw new ArgumentException($"the OPC UA poller stores under program '{OpcUaOptions.ProgramName}', not '{agent.Program}'", nameof(agent));
        _agent = agent;
        _server = server;
        _store = store;
        _lastStatus = new StatusCode[server.Nodes.Count];
        _lastStampMs = new long[server.Nodes.Count];
        _label = $"{OpcUaOptions.ProgramName}/{server.Name}";
        ConfigFingerprint = server.Fingerprint();
    }

    public string Program => OpcUaOptions.ProgramName;
    public string Name => _server.Name;
    public TimeSpan Interval => _server.Interval;
    public string ConfigFingerprint { get; }
    public OpcUaServerOptions Server => _server;

    /// <summary>Values not stored because their status was Bad.</summary>
    public long BadValues => Interlocked.Read(ref _badValues);
    /// <summary>Sessions opened (1 + reconnects).</summary>
    public long Connects => Interlocked.Read(ref _connects);
    /// <summary>Data change notifications received (subscribe mode).</summary>
    public long Notifications => Interlocked.Read(ref _notifications);
    /// <summary>Notification messages fetched again with Republish after a gap.</summary>
    public long Republished => Interlocked.Read(ref _republished);
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
            var session = await EnsureSessionAsync(cancellationToken).ConfigureAwait(false);
            DataValue[] values;
            try
            {
                values = await session.ReadAsync(_resolved.Select(r => new ReadValueId(r.Id)).ToList(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OpcUaConnectionException or TimeoutException or OpcUaServiceException)
            {
                await DropSessionAsync(e).ConfigureAwait(false);
                // A session the server forgot (timed out, restarted) is reopened at once, once.
                if (attempt == 0 && e is OpcUaServiceException { SessionLost: true }) { _nextAttempt = default; continue; }
                throw;
            }
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (int i = 0; i < values.Length; i++) Store(_resolved[i].Node, values[i], now, batch, report, checkStamp: false);
            foreach (var u in _unresolved) report.Skip(u);
            return;
        }
    }

    private async Task<UaSession> EnsureSessionAsync(CancellationToken ct)
    {
        await _connectLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_session is { IsOpen: true } open) return open;
            if (_session is not null)
            {
                var broken = _session;
                _session = null;
                await broken.CloseAsync().ConfigureAwait(false);
            }
            if (DateTimeOffset.UtcNow < _nextAttempt && _lastError is not null) throw new OpcUaConnectionException(_lastError);
            try
            {
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
                Interlocked.Increment(ref _connects);
                if (_failures > 0 || Connects > 1) Log.Info($"{_label}: connected to {_server.Endpoint} ({_server.SecurityDescription})");
                _failures = 0;
                _lastError = null;
                _session = session;
                return session;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                _failures++;
                var backoff = TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(10, _failures - 1))));
                _nextAttempt = DateTimeOffset.UtcNow + backoff;
                _lastError = e is OperationCanceledException ? $"{_server.Endpoint}: connecting took too long" : e.Message;
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

    private async Task DropSessionAsync(Exception why)
    {
        await _connectLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var s = _session;
            _session = null;
            _lastError = why.Message;
            if (s is not null) await s.CloseAsync().ConfigureAwait(false);
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
            Interlocked.Increment(ref _badValues);
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
        if (type == DataType.String) batch.AddText(series, timestampMs, text!);
        else batch.Add(series, timestampMs, value);
    }

    // ---- subscribe mode ----

    private void HandOver(SampleBatch batch, PollReport report)
    {
        if (_loop is null)
        {
            _stop = new CancellationTokenSource();
            _loop = Task.Run(() => SubscriptionLoopAsync(_stop.Token));
        }
        List<(int Node, DataValue Value, long ReceivedMs)> taken;
        bool subscribed;
        string? error;
        List<string> problems;
        lock (_gate)
        {
            taken = _latest.Select(kv => (kv.Key, kv.Value.Value, kv.Value.ReceivedMs)).OrderBy(t => t.Key).ToList();
            _latest.Clear();
            subscribed = _subscribed;
            error = _lastError;
            problems = [.. _itemProblems];
        }
        foreach (var (node, dv, received) in taken)
        {
            var stamp = dv.SourceTimestamp != DateTime.MinValue ? dv.SourceTimestamp : dv.ServerTimestamp != DateTime.MinValue ? dv.ServerTimestamp : DateTime.MinValue;
            long ms = stamp == DateTime.MinValue ? received : new DateTimeOffset(DateTime.SpecifyKind(stamp, DateTimeKind.Utc)).ToUnixTimeMilliseconds();
            Store(node, dv, ms, batch, report, checkStamp: true);
        }
        foreach (var p in problems) report.Skip(p);
        if (!subscribed && batch.Count == 0) throw new OpcUaConnectionException(error ?? $"{_server.Endpoint}: connecting");
    }

    private async Task SubscriptionLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            UaSession? session = null;
            try
            {
                session = await EnsureSessionAsync(stop).ConfigureAwait(false);
                await RunSubscriptionAsync(session, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                bool was;
                lock (_gate)
                {
                    was = _subscribed;
                    _subscribed = false;
                }
                string message = e.Message;
                if (was) Log.Warning($"{_label}: subscription lost: {message}; reconnecting");
                await DropSessionAsync(e).ConfigureAwait(false);
                lock (_gate) _lastError = message;
                var wait = _nextAttempt - DateTimeOffset.UtcNow;
                if (wait < TimeSpan.FromSeconds(1))
                {
                    _failures++;
                    wait = TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(10, _failures - 1))));
                    _nextAttempt = DateTimeOffset.UtcNow + wait;
                }
                try { await Task.Delay(wait, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
            }
        }
    }

    private async Task RunSubscriptionAsync(UaSession session, CancellationToken stop)
    {
        double publishingMs = _server.Interval.TotalMilliseconds;
        // A keep-alive at least every 10 s (or every interval when longer); the server drops the
        // subscription after lifetime = 3 keep-alives without a Publish request.
        uint keepAlive = (uint)Math.Clamp(Math.Ceiling(10_000 / publishingMs), 1, 1000);
        uint lifetime = keepAlive * 3;
        var sub = await session.CreateSubscriptionAsync(publishingMs, lifetime, keepAlive, stop).ConfigureAwait(false);
        var items = _resolved.Select(r => new MonitoredItemRequest(r.Id, (uint)r.Node, _server.SamplingInterval.TotalMilliseconds, 1)).ToList();
        var results = await session.CreateMonitoredItemsAsync(sub.SubscriptionId, items, stop).ConfigureAwait(false);
        var problems = new List<string>(_unresolved);
        for (int i = 0; i < results.Length; i++)
        {
            if (results[i].Status.IsBad)
            {
                var n = _server.Nodes[_resolved[i].Node];
                string p = $"{n.Key} ({n.NodeIdText}): {results[i].Status}";
                Log.Warning($"{_label}: cannot monitor {p}");
                Interlocked.Increment(ref _badValues);
                problems.Add(p);
            }
        }
        lock (_gate)
        {
            _itemProblems.Clear();
            _itemProblems.AddRange(problems);
            _subscribed = true;
            _lastError = null;
        }
        Log.Info($"{_label}: subscribed to {results.Count(r => !r.Status.IsBad)} of {_server.Nodes.Count} nodes every {Duration.Format(_server.Interval)} (sampling {Duration.Format(_server.SamplingInterval)})");

        var acks = new List<(uint, uint)>();
        uint lastSequence = 0;
        var publishTimeout = TimeSpan.FromMilliseconds(publishingMs * keepAlive) + _server.Timeout * 2;
        while (!stop.IsCancellationRequested)
        {
            var response = await session.PublishAsync(acks, publishTimeout, stop).ConfigureAwait(false);
            acks.Clear();
            var message = response.Message;
            foreach (var status in message.StatusChanges)
            {
                if (status.IsBad) throw new OpcUaServiceException("the subscription", status, "ended by the server");
            }
            if (message.IsKeepAlive) continue; // carries the next sequence number; not acknowledged
            acks.Add((response.SubscriptionId, message.SequenceNumber));
            if (lastSequence != 0 && message.SequenceNumber > lastSequence + 1)
            {
                for (uint missing = lastSequence + 1; missing < message.SequenceNumber && missing - lastSequence <= 100; missing++)
                {
                    try
                    {
                        var again = await session.RepublishAsync(response.SubscriptionId, missing, stop).ConfigureAwait(false);
                        Interlocked.Increment(ref _republished);
                        Take(again);
                        acks.Add((response.SubscriptionId, missing));
                    }
                    catch (OpcUaServiceException e) when (!e.SessionLost)
                    {
                        // BadMessageNotAvailable: the server no longer has it
                    }
                }
            }
            lastSequence = message.SequenceNumber;
            Take(message);
        }
    }

    private void Take(NotificationMessage message)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        lock (_gate)
        {
            foreach (var change in message.DataChanges)
            {
                if (change.ClientHandle >= (uint)_server.Nodes.Count) continue;
                Interlocked.Increment(ref _notifications);
                int node = (int)change.ClientHandle;
                // Keep the newest per node; an older republished value does not replace it.
                if (_latest.TryGetValue(node, out var have) && have.Value.SourceTimestamp > change.Value.SourceTimestamp) continue;
                _latest[node] = (change.Value, now);
            }
        }
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
