using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Shared;
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
public sealed class OpcUaPoller : IPollTarget, IPollTargetDiagnostics
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

    // subscribe mode
    private readonly object _gate = new();
    // Every value received since the last hand-over, in arrival order; bounded so a scheduler
    // that stopped polling cannot grow it without limit (the oldest are dropped and counted).
    private const int MaxPending = 100_000;
    private readonly Queue<(int Node, DataValue Value, long ReceivedMs)> _pending = new();
    private readonly List<string> _itemProblems = [];
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private bool _subscribed;
    // The subscription outlives channels and sessions: after a network break the same session is
    // activated on a new channel; when the session is gone, the subscription is transferred to
    // the new one. Only when the server lost it too (it restarted) is a new one created.
    private uint _subscriptionId;
    private UaSession? _subscriptionSession;
    private uint _lastSequence;
    private readonly List<(uint, uint)> _acks = [];

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
        (int Node, DataValue Value, long ReceivedMs)[] taken;
        bool subscribed;
        string? error;
        List<string> problems;
        lock (_gate)
        {
            taken = _pending.ToArray();
            _pending.Clear();
            subscribed = _subscribed;
            error = _lastError;
            problems = [.. _itemProblems];
        }
        // Per node in arrival order (a stable sort: the server sends each node's values oldest first).
        foreach (var (node, dv, received) in taken.OrderBy(t => t.Node))
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
            // Wait out the backoff here rather than have EnsureSessionAsync refuse an attempt
            // made a moment early (a timer can fire just before the instant it was set for).
            var wait = _retry.Remaining;
            try
            {
                if (wait > TimeSpan.Zero) await Task.Delay(wait, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { break; }

            UaSession session;
            try
            {
                session = await EnsureSessionAsync(stop, honourBackoff: false).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // EnsureSessionAsync logged it and set the next attempt.
                lock (_gate) _lastError = e.Message;
                if (!_retry.Waiting) _retry.RetryIn(RetryDelay(_retry.Failures, _server.SessionTimeout));
                continue;
            }

            try
            {
                await RunSubscriptionAsync(session, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (OpcUaServiceException e) when (e.Status.CodeBits is BadSubscriptionIdInvalid or BadNoSubscription)
            {
                // The server dropped the subscription but the session is fine: a new one on it.
                Log.Warning($"{_label}: the server dropped subscription {_subscriptionId} ({e.Status.Name}); creating a new one");
                _subscriptionId = 0;
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
                await DropSessionAsync(e).ConfigureAwait(false);
                lock (_gate) _lastError = message;
                if (was)
                {
                    // A link that just broke is retried at once: the session is still on the server.
                    Log.Warning($"{_label}: subscription interrupted: {message}; reconnecting");
                    _retry.RetryIn(TimeSpan.FromMilliseconds(200));
                }
                else
                {
                    // Setting the subscription up failed on a working session: back off.
                    Failed("cannot subscribe", message);
                }
            }
        }
    }

    private const uint BadSubscriptionIdInvalid = 0x80280000;
    private const uint BadNoSubscription = 0x80790000;
    private const uint BadMessageNotAvailable = 0x807B0000;
    private const uint BadNothingToDo = 0x800F0000;

    /// <summary>
    /// Carries the subscription over to <paramref name="session"/> (the same session on a new
    /// channel, or a transfer to a new session) or creates it, then publishes until stopped.
    /// </summary>
    private async Task RunSubscriptionAsync(UaSession session, CancellationToken stop)
    {
        double publishingMs = _server.Interval.TotalMilliseconds;
        // A keep-alive at least every 10 s (or every interval when longer). The server keeps the
        // subscription (and queues its values) for lifetime publishing intervals without a Publish
        // request: twice the session's timeout, so a link back within the session timeout finds
        // its session, and one back within twice that can still transfer the subscription.
        uint keepAlive = (uint)Math.Clamp(Math.Ceiling(10_000 / publishingMs), 1, 1000);
        uint lifetime = (uint)Math.Clamp(Math.Ceiling(2 * session.RevisedSessionTimeoutMs / publishingMs), keepAlive * 3, 1_000_000);
        string how;
        uint[] available = [];
        if (_subscriptionId != 0 && ReferenceEquals(_subscriptionSession, session))
        {
            how = "continues";
        }
        else if (_subscriptionId != 0 && await TryTransferAsync(session, stop).ConfigureAwait(false) is { } transferred)
        {
            available = transferred;
            how = "transferred to the new session";
        }
        else
        {
            await CreateSubscriptionAsync(session, publishingMs, lifetime, keepAlive, stop).ConfigureAwait(false);
            how = "created";
        }
        _subscriptionSession = session;
        lock (_gate)
        {
            _subscribed = true;
            _lastError = null;
        }
        if (how != "created") Log.Info($"{_label}: subscription {_subscriptionId} {how}");

        // Messages the server still holds that we never received (sent into the broken link).
        foreach (uint sequence in available.Order())
        {
            if (sequence > _lastSequence)
            {
                await RepublishAsync(session, sequence, stop).ConfigureAwait(false);
                _lastSequence = sequence;
            }
            else if (!_acks.Contains((_subscriptionId, sequence)))
            {
                _acks.Add((_subscriptionId, sequence)); // stored, its acknowledgement lost with the link
            }
        }

        var publishTimeout = TimeSpan.FromMilliseconds(publishingMs * keepAlive) + _server.Timeout * 2;
        while (!stop.IsCancellationRequested)
        {
            var response = await session.PublishAsync(_acks, publishTimeout, stop).ConfigureAwait(false);
            _acks.Clear();
            var message = response.Message;
            if (response.SubscriptionId != _subscriptionId)
            {
                // (before the status check: a stray's end is not ours)
                await DropStraySubscriptionAsync(session, response, stop).ConfigureAwait(false);
                continue;
            }
            foreach (var status in message.StatusChanges)
            {
                if (!status.IsBad) continue;
                _subscriptionId = 0;
                throw new OpcUaServiceException("the subscription", status, "ended by the server");
            }
            if (message.IsKeepAlive) continue; // carries the next sequence number; not acknowledged
            if (_lastSequence != 0 && message.SequenceNumber > _lastSequence + 1)
            {
                // Should the link break during these, this message is not acknowledged either:
                // after the reconnect it is fetched again along with the ones before it.
                uint from = _lastSequence;
                for (uint missing = from + 1; missing < message.SequenceNumber && missing - from <= 1000; missing++)
                {
                    await RepublishAsync(session, missing, stop).ConfigureAwait(false);
                    _lastSequence = missing;
                }
            }
            if (message.SequenceNumber > _lastSequence) _lastSequence = message.SequenceNumber;
            Take(message);
            _acks.Add((response.SubscriptionId, message.SequenceNumber)); // acknowledged only once stored
        }
    }

    /// <summary>
    /// A subscription of this session that is not the one we track: created or transferred by a
    /// request whose answer was lost with the link. Its values are stored (they are real samples;
    /// ones already stored are skipped by timestamp), then it is deleted so each value comes once.
    /// </summary>
    private async Task DropStraySubscriptionAsync(UaSession session, PublishResponse response, CancellationToken stop)
    {
        if (!response.Message.IsKeepAlive) Take(response.Message);
        var status = await session.DeleteSubscriptionAsync(response.SubscriptionId, stop).ConfigureAwait(false);
        Log.Info($"{_label}: deleted subscription {response.SubscriptionId}, left over from a request whose answer was lost" +
            (status.IsGood ? "" : $" (the server says {status.Name})"));
    }

    private async Task CreateSubscriptionAsync(UaSession session, double publishingMs, uint lifetime, uint keepAlive, CancellationToken stop)
    {
        var sub = await session.CreateSubscriptionAsync(publishingMs, lifetime, keepAlive, stop).ConfigureAwait(false);
        var items = _resolved.Select(r => new MonitoredItemRequest(r.Id, (uint)r.Node, _server.SamplingInterval.TotalMilliseconds, _server.QueueSize)).ToList();
        MonitoredItemCreateResult[] results;
        try
        {
            results = await session.CreateMonitoredItemsAsync(sub.SubscriptionId, items, stop).ConfigureAwait(false);
        }
        catch (OpcUaServiceException)
        {
            // Tracked only once its items exist: an empty subscription would carry on after a
            // reconnect sending keep-alives and no data. Refused here: delete it. Lost with the
            // link: it turns up as a stray on this session (deleted then) or dies with the session.
            try { await session.DeleteSubscriptionAsync(sub.SubscriptionId, stop).ConfigureAwait(false); }
            catch (Exception e) when (e is OpcUaConnectionException or OpcUaServiceException or TimeoutException) { /* as above */ }
            throw;
        }
        _subscriptionId = sub.SubscriptionId;
        _lastSequence = 0;
        _acks.Clear();
        Counters.Increment(OpcUaCounter.SubscriptionsCreated);
        var problems = new List<string>(_unresolved);
        for (int i = 0; i < results.Length; i++)
        {
            if (results[i].Status.IsBad)
            {
                var n = _server.Nodes[_resolved[i].Node];
                string p = $"{n.Key} ({n.NodeIdText}): {results[i].Status}";
                Log.Warning($"{_label}: cannot monitor {p}");
                Counters.Increment(OpcUaCounter.BadValues);
                problems.Add(p);
            }
        }
        lock (_gate)
        {
            _itemProblems.Clear();
            _itemProblems.AddRange(problems);
        }
        Log.Info($"{_label}: subscribed to {results.Count(r => !r.Status.IsBad)} of {_server.Nodes.Count} nodes every {Duration.Format(_server.Interval)} " +
            $"(sampling {Duration.Format(_server.SamplingInterval)}, queue {_server.QueueSize}, subscription {sub.SubscriptionId})");
    }

    /// <summary>TransferSubscriptions of the old session's subscription; null when the server no longer has it.</summary>
    private async Task<uint[]?> TryTransferAsync(UaSession session, CancellationToken stop)
    {
        TransferResult result;
        try
        {
            result = await session.TransferSubscriptionAsync(_subscriptionId, stop).ConfigureAwait(false);
        }
        catch (OpcUaServiceException e) when (!e.SessionLost)
        {
            result = new TransferResult(e.Status, []); // e.g. BadServiceUnsupported
        }
        if (result.Status.CodeBits == BadNothingToDo)
        {
            // Already on this session: an earlier transfer went through but its answer was lost
            // with the link. Any message it held shows up as a gap and is fetched with Republish.
            Log.Info($"{_label}: subscription {_subscriptionId} is already on this session (the answer to its transfer was lost)");
            Counters.Increment(OpcUaCounter.SubscriptionTransfers);
            return [];
        }
        if (result.Status.IsBad)
        {
            Log.Info($"{_label}: subscription {_subscriptionId} cannot be carried over ({result.Status.Name}); creating a new one");
            _subscriptionId = 0;
            return null;
        }
        Counters.Increment(OpcUaCounter.SubscriptionTransfers);
        return result.AvailableSequenceNumbers;
    }

    private async Task RepublishAsync(UaSession session, uint sequence, CancellationToken stop)
    {
        try
        {
            var again = await session.RepublishAsync(_subscriptionId, sequence, stop).ConfigureAwait(false);
            Counters.Increment(OpcUaCounter.Republished);
            Take(again);
            _acks.Add((_subscriptionId, sequence));
        }
        catch (OpcUaServiceException e) when (e.Status.CodeBits == BadMessageNotAvailable)
        {
            Counters.Increment(OpcUaCounter.RepublishMissed);
            Log.Warning($"{_label}: cannot fetch notification message {sequence} of subscription {_subscriptionId} again: " +
                "the server no longer has it (BadMessageNotAvailable); values it held, if any, are missing");
        }
    }

    private void Take(NotificationMessage message)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        bool overflowed = false;
        lock (_gate)
        {
            foreach (var change in message.DataChanges)
            {
                if (change.ClientHandle >= (uint)_server.Nodes.Count) continue;
                Counters.Increment(OpcUaCounter.Notifications);
                if (_pending.Count >= MaxPending)
                {
                    _pending.Dequeue();
                    Counters.Increment(OpcUaCounter.ValuesDroppedUncollected);
                    overflowed = true;
                }
                _pending.Enqueue(((int)change.ClientHandle, change.Value, now));
            }
        }
        if (overflowed) Log.Warning($"{_label}: more than {MaxPending} received values waiting to be stored; dropping the oldest ({Counters[OpcUaCounter.ValuesDroppedUncollected]} so far)");
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
