using System.Collections.Concurrent;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Control;

/// <summary>A writable datapoint as the API shows it: the point, the target that writes it.</summary>
public sealed record WritableDatapoint(long IdxDatapoint, IWritableTarget Target, WritablePoint Point)
{
    /// <summary>"modbus/plc-1/setpoint (holding 40 (uint16), unit 1)".</summary>
    public string Describe() => $"{Point.Series} ({Point.Address})";
}

/// <summary>
/// Write-back, guarded. A request is checked in this order, and the first check it fails
/// refuses it: a control token; <c>write.enabled</c>; the datapoint exists and its point is
/// declared writable; the value parses as the point's type; the datapoint's rate limit; the
/// device's value now (read first: the old value, and the base of <c>ramp</c>); the limits.
/// Only then is the value sent, then read back and compared. Every request that reached the
/// box gets an audit row, stored durably before the answer (unauthenticated ones at most one
/// per client per second, so a LAN flood cannot fill the disk).
/// </summary>
public sealed class WriteService(TimeSeriesStore store, Func<IEnumerable<IPollTarget>> targets, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ConcurrentDictionary<long, SemaphoreSlim> _pointGates = new();
    private readonly ConcurrentDictionary<long, long> _lastWrite = new();
    /// <summary>Requests without a valid token are audited once per client per second.</summary>
    private readonly KeyedRateGate<string> _unauthenticatedAudit = new(TimeSpan.FromSeconds(1), 10_000);
    private long _unauditedRefusals;
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    /// <summary>Refusals are logged once per client per second, with a count of the rest.</summary>
    private readonly KeyedRateGate<string> _refusalLog = new(TimeSpan.FromSeconds(1), 10_000);

    public WriteOptions Options { get; set; } = WriteOptions.Disabled;

    /// <summary>Whether any control token is configured (without one, every write is refused).</summary>
    public bool HasControlTokens { get; set; }

    /// <summary>Refusals of unauthenticated requests not audited (over one per client per second).</summary>
    public long UnauditedRefusals => Interlocked.Read(ref _unauditedRefusals);

    /// <summary>The writable point stored as <paramref name="idxDatapoint"/>, or null.</summary>
    public WritableDatapoint? Find(long idxDatapoint)
    {
        var row = store.Catalog.Snapshot().Datapoint(idxDatapoint);
        return row is null ? null : Find(row);
    }

    private sealed record PointIndex(long BuiltAt, Dictionary<string, (IWritableTarget Target, WritablePoint Point)> ByChecksum);

    private PointIndex? _index;

    /// <summary>
    /// As <see cref="Find(DatapointRow)"/>, from an index of the declared points rebuilt at most
    /// once a second: the API asks for every row of a listing, and a point stored for the first
    /// time shows within a second. Writes look up afresh (a reload replaces targets).
    /// </summary>
    public WritableDatapoint? Describe(DatapointRow row)
    {
        long now = Environment.TickCount64;
        var index = Volatile.Read(ref _index);
        if (index is null || now - index.BuiltAt > 1000)
        {
            var byChecksum = new Dictionary<string, (IWritableTarget, WritablePoint)>(StringComparer.Ordinal);
            foreach (var target in targets())
            {
                if (target is not IWritableTarget writable) continue;
                foreach (var point in writable.WritablePoints) byChecksum[point.Series.Checksum] = (writable, point);
            }
            Volatile.Write(ref _index, index = new PointIndex(now, byChecksum));
        }
        return index.ByChecksum.TryGetValue(row.Checksum, out var found) ? new WritableDatapoint(row.IdxDatapoint, found.Target, found.Point) : null;
    }

    /// <summary>The writable point of a datapoint row (matched by its checksum), or null.</summary>
    public WritableDatapoint? Find(DatapointRow row)
    {
        foreach (var target in targets())
        {
            if (target is not IWritableTarget writable) continue;
            foreach (var point in writable.WritablePoints)
            {
                if (point.Series.Checksum == row.Checksum) return new WritableDatapoint(row.IdxDatapoint, writable, point);
            }
        }
        return null;
    }

    /// <summary>Writes <paramref name="valueText"/> to the datapoint's point; the audit row of a write the device took ("written" or "mismatch").</summary>
    /// <exception cref="WriteRefusedException">refused by the box or the device, or no answer; its audit row is stored.</exception>
    public Task<AuditEntry> WriteAsync(ControlCaller caller, long idxDatapoint, string valueText, string? comment, CancellationToken cancellationToken)
        => RunAsync("write", caller, idxDatapoint, valueText, comment, cancellationToken);

    /// <summary>Releases the box's command on a BACnet point (NULL at its priority); the audit row.</summary>
    /// <exception cref="WriteRefusedException">refused, or not a BACnet point (NOT_SUPPORTED); its audit row is stored.</exception>
    public Task<AuditEntry> RelinquishAsync(ControlCaller caller, long idxDatapoint, string? comment, CancellationToken cancellationToken)
        => RunAsync("relinquish", caller, idxDatapoint, null, comment, cancellationToken);

    private async Task<AuditEntry> RunAsync(string action, ControlCaller caller, long idxDatapoint, string? valueText, string? comment, CancellationToken cancellationToken)
    {
        comment = Clip(comment ?? "", 1000);
        string? requestedText = valueText is null ? null : Clip(valueText, 200);
        var row = store.Catalog.Snapshot().Datapoint(idxDatapoint);
        string pointName = $"datapoint {idxDatapoint}";

        Task<AuditEntry> Refuse(string code, string message, string? oldValue = null, bool authenticated = true)
            => RefuseAsync(new AuditEntry
            {
                Timestamp = _clock.GetUtcNow().ToUnixTimeMilliseconds(),
                Token = caller.TokenName ?? "",
                Client = caller.Client,
                IdxDatapoint = row is null ? 0 : idxDatapoint,
                Point = pointName,
                Action = action,
                OldValue = oldValue,
                Requested = requestedText,
                Result = "refused",
                Message = message,
                Comment = comment,
            }, code, authenticated);

        if (!HasControlTokens)
            return await Refuse("UNAUTHORIZED", "this box has no control tokens (api.control_tokens in the config), so it refuses every write", authenticated: false).ConfigureAwait(false);
        if (caller.TokenName is null)
            return await Refuse("UNAUTHORIZED", caller.TokenSent ? "the bearer token is not one of api.control_tokens" : "writes need a control token (Authorization: Bearer <a token of api.control_tokens>)", authenticated: false).ConfigureAwait(false);
        if (!Options.Enabled)
            return await Refuse("DISABLED", "write-back is switched off (write.enabled = false in the config)").ConfigureAwait(false);
        if (row is null)
            return await Refuse("NOT_FOUND", $"there is no datapoint {idxDatapoint}").ConfigureAwait(false);
        var found = Find(row);
        if (found is null)
            return await Refuse("NOT_WRITABLE", $"datapoint {idxDatapoint} is not declared writable in the config (writable = true on its point), or its poller is not running").ConfigureAwait(false);
        pointName = found.Describe();
        var point = found.Point;

        PointValue? requested = null;
        if (action == "write")
        {
            requested = point.Limits.Parse(valueText!, out string? problem);
            if (requested is null) return await Refuse("BAD_VALUE", $"{point.Series.Key}: {problem}").ConfigureAwait(false);
            // A value outside a fixed list or range is refused before the rate limit and any read:
            // the device is not even asked.
            if (point.Limits.Check(requested.Value, null) is { } outside)
                return await Refuse("OUT_OF_LIMITS", $"{point.Series.Key}: {outside}").ConfigureAwait(false);
        }
        else if (!point.CanRelinquish)
        {
            return await Refuse("NOT_SUPPORTED", $"relinquish is a BACnet command; {point.Series.Agent.Program} points have no priorities to release (write the value you want instead)").ConfigureAwait(false);
        }

        var gate = _pointGates.GetOrAdd(idxDatapoint, _ => new SemaphoreSlim(1, 1));
        if (!await gate.WaitAsync(0, CancellationToken.None).ConfigureAwait(false))
            return await Refuse("RATE_LIMITED", $"{point.Series.Key}: another write of this datapoint is in progress").ConfigureAwait(false);
        try
        {
            long now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            if (_lastWrite.TryGetValue(idxDatapoint, out long last) && now - last < (long)Options.MinInterval.TotalMilliseconds)
                return await Refuse("RATE_LIMITED", $"{point.Series.Key}: written {now - last} ms ago; write.min_interval allows one write every {Duration.Format(Options.MinInterval)}").ConfigureAwait(false);
            _lastWrite[idxDatapoint] = now;

            // From here the device is talked to: its own timeouts bound the calls, and a client that
            // goes away (or the query timeout) must not cut a write short of its audit row.
            var device = CancellationToken.None;
            PointValue old;
            try
            {
                old = await found.Target.ReadPointAsync(point, device).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return await FailAsync(action, caller, found, requested, null, comment, e, "reading its value before the write; nothing was sent").ConfigureAwait(false);
            }
            if (requested is { } value && point.Limits.Check(value, old) is { } refusal)
                return await Refuse("OUT_OF_LIMITS", $"{point.Series.Key}: {refusal}", old.ToString()).ConfigureAwait(false);

            // The row goes to disk before the device is sent anything: no write without its trace.
            var pending = new AuditEntry
            {
                Timestamp = _clock.GetUtcNow().ToUnixTimeMilliseconds(),
                Token = caller.TokenName,
                Client = caller.Client,
                IdxDatapoint = idxDatapoint,
                Point = pointName,
                Action = action,
                OldValue = old.ToString(),
                Requested = requested?.ToString(),
                Result = "pending",
                Message = "being sent to the device",
                Comment = comment,
            };
            try
            {
                await store.AppendAuditAsync(pending).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Log.Error($"write: {pointName}: the audit trail cannot be written ({e.Message}); the write was not sent");
                throw new WriteRefusedException($"{point.Series.Key}: the audit trail cannot be written ({e.Message}); nothing was sent", null, "AUDIT_FAILED");
            }

            try
            {
                if (requested is { } v) await found.Target.WritePointAsync(point, v, device).ConfigureAwait(false);
                else await found.Target.RelinquishPointAsync(point, device).ConfigureAwait(false);
            }
            catch (ArgumentException e)
            {
                return await RefuseAsync(pending with { Result = "refused", Message = $"{point.Series.Key}: {e.Message}" }, "BAD_VALUE", true, pending.Id).ConfigureAwait(false);
            }
            catch (NotSupportedException e)
            {
                return await RefuseAsync(pending with { Result = "refused", Message = e.Message }, "NOT_SUPPORTED", true, pending.Id).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return await FailAsync(action, caller, found, requested, old, comment, e, "sending it", pending.Id).ConfigureAwait(false);
            }

            PointValue readBack;
            try
            {
                readBack = await found.Target.ReadPointAsync(point, device).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return await FailAsync(action, caller, found, requested, old, comment, e, "reading it back after the write (the write was sent)", pending.Id).ConfigureAwait(false);
            }

            bool matches = requested is not { } r || r.Matches(readBack);
            var entry = pending with
            {
                Timestamp = _clock.GetUtcNow().ToUnixTimeMilliseconds(),
                ReadBack = readBack.ToString(),
                Result = matches ? "written" : "mismatch",
                Message = action == "relinquish"
                    ? $"relinquished; the device now reports {readBack}"
                    : matches ? $"written; the device now reports {readBack}"
                    : $"sent {requested}, but the device now reports {readBack} (it may clamp or round the value, or another controller commands it at a higher priority)",
            };
            await RecordAsync(entry, pending.Id).ConfigureAwait(false);
            Count(entry.Result);
            Log.Info($"write: {caller.TokenName} from {caller.Client}: {pointName}: {entry.Message} (was {old})");
            await StoreReadBackAsync(point, readBack).ConfigureAwait(false);
            return entry;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The outcome over the pending row (<paramref name="pendingId"/>), or a new row. If it cannot be
    /// written the pending row stays, and says the write was being sent.
    /// </summary>
    private async Task RecordAsync(AuditEntry entry, long pendingId)
    {
        try
        {
            await store.AppendAuditAsync(entry, pendingId).ConfigureAwait(false);
        }
        catch (Exception e) when (pendingId != 0)
        {
            Log.Error($"write: {entry.Point}: the outcome ({entry.Result}: {entry.Message}) could not be added to audit row {pendingId}: {e.Message}");
        }
    }

    private async Task<AuditEntry> RefuseAsync(AuditEntry entry, string code, bool authenticated, long pendingId = 0)
    {
        if (!authenticated)
        {
            // One audit row per client per second for requests without a valid token: a flood from
            // the LAN is counted, not written to flash for five years.
            if (!_unauthenticatedAudit.TryPass(entry.Client, entry.Timestamp, out _))
            {
                Interlocked.Increment(ref _unauditedRefusals);
                LogRefusal(entry);
                throw new WriteRefusedException(entry.Message, null, code);
            }
        }
        await RecordAsync(entry, pendingId).ConfigureAwait(false);
        Count(entry.Result);
        LogRefusal(entry);
        throw new WriteRefusedException(entry.Message, entry, code);
    }

    /// <summary>One log line per client per second: the audit trail has every refusal, the log a sample and a count.</summary>
    private void LogRefusal(AuditEntry entry)
    {
        if (!_refusalLog.TryPass(entry.Client, entry.Timestamp, out int suppressed)) return;
        Log.Warning($"write refused: {entry.Action} {entry.Point} from {entry.Client}{(entry.Token.Length > 0 ? $" ({entry.Token})" : "")}: {entry.Message}"
            + (suppressed > 0 ? $" ({suppressed} more refused from {entry.Client} in the second before; see the audit trail)" : ""));
    }

    private void Count(string result)
    {
        lock (_counts) _counts[result] = _counts.GetValueOrDefault(result) + 1;
    }

    /// <summary>Requests since the start by result (written, mismatch, refused, failed, unaudited), for /metrics and the health check.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Counts
    {
        get
        {
            lock (_counts)
            {
                var list = new List<KeyValuePair<string, long>>(_counts.Count + 1);
                foreach (var result in (ReadOnlySpan<string>)["written", "mismatch", "refused", "failed"]) list.Add(new(result, _counts.GetValueOrDefault(result)));
                list.Add(new("unaudited", UnauditedRefusals));
                return list;
            }
        }
    }

    private async Task<AuditEntry> FailAsync(string action, ControlCaller caller, WritableDatapoint found, PointValue? requested, PointValue? old,
        string comment, Exception e, string during, long pendingId = 0)
    {
        bool refused = e is DeviceRefusedException;
        string message = $"{found.Point.Series.Key}: the device {(refused ? "refused" : "failed")} while {during}: {e.Message}";
        var entry = new AuditEntry
        {
            Timestamp = _clock.GetUtcNow().ToUnixTimeMilliseconds(),
            Token = caller.TokenName ?? "",
            Client = caller.Client,
            IdxDatapoint = found.IdxDatapoint,
            Point = found.Describe(),
            Action = action,
            OldValue = old?.ToString(),
            Requested = requested?.ToString(),
            Result = refused ? "refused" : "failed",
            Message = message,
            Comment = comment,
        };
        await RecordAsync(entry, pendingId).ConfigureAwait(false);
        Count(entry.Result);
        Log.Warning($"write: {caller.TokenName} from {caller.Client}: {found.Describe()}: {message}");
        throw new WriteRefusedException(message, entry, refused ? "DEVICE_REFUSED" : "DEVICE_FAILED");
    }

    /// <summary>The read-back is the point's newest value: stored at once, so charts show the write before the next poll.</summary>
    private async Task StoreReadBackAsync(WritablePoint point, PointValue value)
    {
        var batch = new SampleBatch(4);
        long now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        // After the audit row: a read-back the series cannot take (its type changed) is only logged.
        try
        {
            if (value.IsText != (point.Series.DataType == DataType.String)) throw new ArgumentException($"a {(value.IsText ? "text" : "number")} for a {point.Series.DataType.Name()} series");
            if (value.IsText) batch.AddText(point.Series, now, value.Text!);
            else batch.Add(point.Series, now, value.Number);
            await store.WriteAsync(batch, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) { Log.Warning($"write: the read-back of {point.Series} was not stored: {e.Message}"); }
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..max];
}
