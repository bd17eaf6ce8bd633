using Pattoo.Edge.Common;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>
/// Subscribe mode: a background loop keeps one subscription (created, transferred to a new
/// session, or republished across gaps) and queues what it delivers; each poll hands the queue
/// to the scheduler.
/// </summary>
public sealed partial class OpcUaPoller
{
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
}
