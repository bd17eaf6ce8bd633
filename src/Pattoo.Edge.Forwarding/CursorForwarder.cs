using System.Diagnostics;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Forwarding;

/// <summary>
/// Unsent samples of one series in a batch: the first <see cref="Take"/> points of
/// <see cref="Points"/>; for a string datapoint <see cref="Texts"/> holds the values (and
/// <see cref="Points"/> only the timestamps).
/// </summary>
public sealed record SeriesBatch(DatapointInfo Info, SeriesPoints Points, int Take, IReadOnlyList<string>? Texts = null);

/// <summary>
/// What every forwarder does, whatever the destination: a durable cursor over local history,
/// not a memory buffer. Per series, the newest timestamp the destination acknowledged (the
/// store takes only samples newer than a series' newest, so everything after it is unsent,
/// whatever order series arrive in). Each batch takes the series furthest behind first, so a
/// backlog after an outage is replayed oldest first while live samples keep being stored; the
/// cursor moves only when the destination acknowledges, and is saved every
/// <see cref="CursorSaveInterval"/> and at the end. A crash can send what was sent since the last
/// save once more. A subclass encodes and sends a batch (<see cref="SendAsync"/>).
/// </summary>
public abstract class CursorForwarder : IAsyncDisposable
{
    /// <summary>How often an advanced cursor is written to the database.</summary>
    public static readonly TimeSpan CursorSaveInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ConfigErrorWait = TimeSpan.FromSeconds(60);

    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<long, long> _sent = new();
    /// <summary>The catalog's numeric datapoints, null where the filter leaves one out.</summary>
    private readonly Dictionary<long, DatapointInfo?> _infos = new();
    private readonly Backoff _backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
    private readonly Queue<(long At, long Samples)> _recent = new();
    private long _catalogVersion = -1;
    /// <summary>Series in a batch in flight: the next batch leaves them out.</summary>
    private readonly HashSet<long> _busy = new();
    private long[] _behindKeys = [];
    private (long Idx, long Sent, long Last)[] _behind = [];
    /// <summary>The series behind as of the last scan (<see cref="_behindScannedAt"/>), taken from <see cref="_behindNext"/> on.</summary>
    private int _behindCount, _behindNext;
    private long _behindScannedAt;
    private long _backlog, _backlogScannedAt = long.MinValue / 2; // far enough back that the first status scans
    private Task? _run;
    private bool _dirty;
    private long _savedAt, _sentTotal;
    private long _oldestUnsent = long.MaxValue;
    private volatile ForwarderStatus _status;
    private string? _lastLogged;
    private bool _configurationError;

    protected CursorForwarder(ForwarderOptions options, TimeSeriesStore store)
    {
        Options = options;
        Store = store;
        _status = new ForwarderStatus(options.Name, options.Kind, false, 0, null, null, 0, 0);
    }

    public ForwarderOptions Options { get; }
    protected TimeSeriesStore Store { get; }

    public ForwarderStatus Status => _status;

    /// <summary>The oldest stored sample not yet acknowledged (ms), null when none waits; kept by the status updates.</summary>
    public long? OldestUnsent => Volatile.Read(ref _oldestUnsent) is var v && v == long.MaxValue ? null : v;

    /// <summary>Encodes and sends one batch; null when the destination acknowledged it, else what went wrong (see <see cref="Fail"/>).</summary>
    protected abstract Task<string?> SendAsync(IReadOnlyList<SeriesBatch> batch, CancellationToken stop);

    /// <summary>The datapoints this forwarder sends (those its filter takes), as of the last catalog read.</summary>
    protected IEnumerable<DatapointInfo> Forwarded => _infos.Values.OfType<DatapointInfo>();

    /// <summary>Whether the destination takes string datapoints (remote_write and Sparkplug's metrics here do not).</summary>
    protected virtual bool SendsStrings => false;

    private bool Sends(DataType type) => type != DataType.String || SendsStrings;

    /// <summary>The catalog changed (new series, new labels): drop what was derived from it.</summary>
    protected virtual void CatalogChanged() { }

    /// <summary>Loads the cursor and starts forwarding in the background.</summary>
    public void Start()
    {
        LoadCursor();
        _run = Task.Run(() => RunAsync(_stop.Token));
    }

    private string Who => $"forward {Options.Name}";

    private void LoadCursor()
    {
        byte[]? saved = Store.LoadForwardCursor(Options.Name);
        if (saved is not null)
        {
            try
            {
                foreach (var (idx, ts) in ForwardCursor.Decode(saved)) _sent[idx] = ts;
                Log.Info($"{Who}: resuming from its cursor ({_sent.Count} series)");
                return;
            }
            catch (ForwardCursorException e)
            {
                Log.Warning($"{Who}: its stored cursor is damaged ({e.Message}); starting as start = \"{Options.Start.ToString().ToLowerInvariant()}\" says");
            }
        }
        if (Options.Start == ForwardStart.Now)
        {
            foreach (var d in Store.Catalog.Snapshot().Datapoints)
            {
                if (Sends(d.DataType)) _sent[d.IdxDatapoint] = d.LastTimestamp;
            }
        }
        _dirty = true; // saved with the first pass, so a restart keeps "now" as it was
        Log.Info($"{Who}: new, forwarding {(Options.Start == ForwardStart.Now ? "from now" : "everything stored")} to {Options.Url}");
    }

    /// <summary>
    /// Batches sent at once. More than one needs a <see cref="SendAsync"/> that encodes before its
    /// first await and shares nothing across calls after it (remote_write); each batch holds
    /// series no other in flight holds, so they may be acknowledged in any order.
    /// </summary>
    protected virtual int MaxBatchesInFlight => 1;

    private sealed record InFlight(Task<string?> Send, List<(long Idx, long Through)> Included, int Samples, long Started);

    private async Task RunAsync(CancellationToken stop)
    {
        var inFlight = new List<InFlight>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    while (inFlight.Count < MaxBatchesInFlight)
                    {
                        var batch = new List<SeriesBatch>();
                        var included = new List<(long Idx, long Through)>();
                        int samples = FillBatch(batch, included);
                        if (samples == 0) break;
                        foreach (var (idx, _) in included) _busy.Add(idx);
                        inFlight.Add(new InFlight(SendAsync(batch, stop), included, samples, Stopwatch.GetTimestamp()));
                    }
                    if (inFlight.Count == 0)
                    {
                        UpdateStatus(connected: _status.Connected, error: _status.LastError);
                        await SaveCursorIfDueAsync(force: false).ConfigureAwait(false);
                        await Task.Delay(Idle, stop).ConfigureAwait(false);
                        continue;
                    }
                    var done = await Task.WhenAny(inFlight.Select(f => f.Send)).ConfigureAwait(false);
                    var sent = inFlight.First(f => f.Send == done);
                    inFlight.Remove(sent);
                    if (Complete(sent, await AnswerOf(done).ConfigureAwait(false)) is { } wait)
                    {
                        // The others in flight went the same way, most likely: their answers are
                        // taken before the one wait, so an outage backs off once, not once a batch.
                        foreach (var other in inFlight) Complete(other, await AnswerOf(other.Send).ConfigureAwait(false), backOff: false);
                        inFlight.Clear();
                        await SaveCursorIfDueAsync(force: false).ConfigureAwait(false);
                        await Task.Delay(wait, stop).ConfigureAwait(false);
                    }
                    else
                    {
                        await SaveCursorIfDueAsync(force: false).ConfigureAwait(false);
                        await LimitRateAsync(sent.Samples, sent.Started, stop).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is StorageUnavailableException or Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
                {
                    UpdateStatus(connected: false, error: $"reading the store failed: {e.Message}");
                    Log.Warning($"{Who}: reading the store failed: {e.Message}");
                    try { await Task.Delay(Jitter(_backoff.Failed()), stop).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                }
            }
        }
        finally
        {
            // Batches still in flight at a stop: what was acknowledged moves the cursor (saved next).
            foreach (var f in inFlight)
            {
                try { Complete(f, await AnswerOf(f.Send).ConfigureAwait(false)); }
                catch (OperationCanceledException) { }
            }
        }
    }

    /// <summary>What <see cref="SendAsync"/> answered; a fault of the encoder or client (not of the destination) is named and retried like a failure.</summary>
    private async Task<string?> AnswerOf(Task<string?> send)
    {
        try { return await send.ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException) { return Fail($"sending failed: {e.GetType().Name}: {e.Message}"); }
    }

    /// <summary>A batch came back: on success its series' cursors move; on failure the wait before the next try (<paramref name="backOff"/>: the backoff grows).</summary>
    private TimeSpan? Complete(InFlight sent, string? failure, bool backOff = true)
    {
        foreach (var (idx, _) in sent.Included) _busy.Remove(idx);
        if (failure is not null)
        {
            _behindNext = _behindCount; // its series are behind again: the next batch scans afresh
            UpdateStatus(connected: false, error: failure);
            if (Interlocked.Exchange(ref _configurationError, false)) return ConfigErrorWait;
            return backOff ? Jitter(_backoff.Failed()) : null;
        }
        foreach (var (idx, through) in sent.Included) _sent[idx] = through;
        Volatile.Write(ref _lastLogged, null);
        _dirty = true;
        _backoff.Succeeded();
        Count(sent.Samples);
        UpdateStatus(connected: true, error: null);
        return null;
    }

    /// <summary>
    /// Up to <see cref="ForwarderOptions.BatchSamples"/> unsent samples, the series furthest
    /// behind first; <paramref name="included"/> gets each series' newest timestamp in the
    /// batch (its cursor once acknowledged).
    /// </summary>
    private int FillBatch(List<SeriesBatch> batch, List<(long Idx, long Through)> included)
    {
        batch.Clear();
        included.Clear();
        var snapshot = Store.Catalog.Snapshot();
        if (snapshot.Version != _catalogVersion)
        {
            // New series, changed labels: every series again, in one read of the catalog.
            _infos.Clear();
            foreach (var d in Store.ListDatapoints())
            {
                if (Sends(d.DataType)) _infos[d.IdxDatapoint] = Options.Filter.Matches(d.AgentProgram, d.Key, d.Metadata) ? d : null;
            }
            _catalogVersion = snapshot.Version;
            CatalogChanged();
        }
        // The scan over every series is kept and used up batch by batch, and redone when it is
        // used up or a second old: a replay is hundreds of batches of a few dozen series each,
        // and scanning 10,000 series for each was a tenth of the replay's CPU.
        if (_behindNext >= _behindCount || Environment.TickCount64 - _behindScannedAt > 1000) ScanBehind(snapshot);
        int room = Options.BatchSamples, samples = 0;
        for (; _behindNext < _behindCount; _behindNext++)
        {
            var (idx, _, last) = _behind[_behindNext];
            if (_busy.Contains(idx)) continue; // in flight: taken up again at the next scan
            long sent = _sent.TryGetValue(idx, out long s) ? s : long.MinValue;
            if (last <= sent) continue;
            if (!_infos.TryGetValue(idx, out var info)) continue; // newer than the catalog read: next time
            if (info is null)
            {
                // Filtered out: nothing of it is ever sent, so its cursor simply follows it.
                _sent[idx] = last;
                continue;
            }
            long from = sent == long.MinValue ? long.MinValue : sent + 1;
            SeriesPoints points;
            List<string>? texts = null;
            if (info.DataType == DataType.String)
            {
                points = new SeriesPoints();
                texts = [];
                foreach (var (ts, text) in Store.ReadStrings(idx, from, last))
                {
                    points.Timestamps.Add(ts);
                    points.Values.Add(double.NaN);
                    texts.Add(text);
                }
            }
            else points = Store.ReadRaw(idx, from, last);
            if (points.Count == 0) continue;
            int take = Math.Min(points.Count, room);
            batch.Add(new SeriesBatch(info, points, take, texts));
            included.Add((idx, points.Timestamps[take - 1]));
            samples += take;
            room -= take;
            if (room == 0)
            {
                if (take == points.Count) _behindNext++; // else the rest of it leads the next batch
                break;
            }
        }
        return samples;
    }

    /// <summary>Every series with samples after its cursor, the furthest behind first.</summary>
    private void ScanBehind(CatalogSnapshot snapshot)
    {
        // Sorted by the key alone (Array.Sort of longs), not with a comparison delegate.
        int behind = 0;
        foreach (var d in snapshot.Datapoints)
        {
            if (!Sends(d.DataType) || !d.Enabled) continue;
            long last = d.LastTimestamp;
            long sent = _sent.TryGetValue(d.IdxDatapoint, out long s) ? s : long.MinValue;
            if (last <= sent) continue;
            if (behind == _behindKeys.Length)
            {
                Array.Resize(ref _behindKeys, Math.Max(64, behind * 2));
                Array.Resize(ref _behind, _behindKeys.Length);
            }
            _behindKeys[behind] = sent;
            _behind[behind++] = (d.IdxDatapoint, sent, last);
        }
        Array.Sort(_behindKeys, _behind, 0, behind);
        _behindCount = behind;
        _behindNext = 0;
        _behindScannedAt = Environment.TickCount64;
    }

    /// <summary>Records what went wrong (shown in the API; logged when it changes) and returns it for <see cref="SendAsync"/>.</summary>
    protected string Fail(string error)
    {
        // Logged when it changes, not at every retry: an outage of an hour is one line, not thousands.
        // (The status is updated by the loop: with batches in flight this runs beside it.)
        if (Interlocked.Exchange(ref _lastLogged, error) != error) Log.Warning($"{Who}: {error}; retrying with backoff, nothing is lost");
        return error;
    }

    /// <summary>
    /// A configuration error (wrong URL, credentials refused): retrying at once cannot help, so
    /// the next try waits a minute; the cursor stays, so nothing is lost once it is fixed.
    /// </summary>
    protected string ConfigurationError(string error)
    {
        Volatile.Write(ref _configurationError, true);
        return Fail($"{error} (a configuration error: check url and credentials; retrying every {ConfigErrorWait.TotalSeconds:F0} s)");
    }

    /// <summary>Closes what the subclass holds open (connections), after the last batch and the cursor's save.</summary>
    protected virtual ValueTask CloseAsync() => ValueTask.CompletedTask;

    private static TimeSpan Jitter(TimeSpan wait) => wait * (0.8 + Random.Shared.NextDouble() * 0.4);

    private async Task LimitRateAsync(int samples, long started, CancellationToken stop)
    {
        if (Options.MaxSamplesPerSecond <= 0) return;
        var due = TimeSpan.FromSeconds(samples / (double)Options.MaxSamplesPerSecond) - Stopwatch.GetElapsedTime(started);
        if (due > TimeSpan.Zero) await Task.Delay(due, stop).ConfigureAwait(false);
    }

    private void Count(int samples)
    {
        _recent.Enqueue((Environment.TickCount64, samples));
        _sentTotal += samples;
    }

    private void UpdateStatus(bool connected, string? error)
    {
        long now = Environment.TickCount64;
        while (_recent.Count > 0 && now - _recent.Peek().At > 60_000) _recent.Dequeue();
        double rate = _recent.Sum(r => r.Samples) / 60.0;
        // The backlog is a scan of every series: once a second, not at every batch of a replay.
        if (now - _backlogScannedAt >= 1000) ScanBacklog(now);
        long oldest = Volatile.Read(ref _oldestUnsent);
        TimeSpan? age = oldest == long.MaxValue ? null : TimeSpan.FromMilliseconds(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - oldest));
        _status = new ForwarderStatus(Options.Name, Options.Kind, connected, _backlog, age, error, rate, _sentTotal);
    }

    /// <summary>Per series, what is stored after its cursor, estimated from its interval; and the oldest unsent sample.</summary>
    private void ScanBacklog(long now)
    {
        long backlog = 0, oldest = long.MaxValue;
        foreach (var d in Store.Catalog.Snapshot().Datapoints)
        {
            if (!Sends(d.DataType) || !d.Enabled) continue;
            long sent = _sent.TryGetValue(d.IdxDatapoint, out long s) ? s : long.MinValue;
            long last = d.LastTimestamp;
            if (last <= sent) continue;
            if (_infos.TryGetValue(d.IdxDatapoint, out var info) && info is null) continue;
            long interval = Math.Max(1000, d.PollingInterval);
            backlog += sent == long.MinValue ? 1 : Math.Max(1, (last - sent) / interval);
            oldest = Math.Min(oldest, sent == long.MinValue ? last : sent + 1);
        }
        Volatile.Write(ref _oldestUnsent, oldest);
        _backlog = backlog;
        _backlogScannedAt = now;
    }

    private async Task SaveCursorIfDueAsync(bool force)
    {
        if (!_dirty) return;
        long now = Environment.TickCount64;
        if (!force && now - _savedAt < CursorSaveInterval.TotalMilliseconds) return;
        try
        {
            await Store.SaveForwardCursorAsync(Options.Name, ForwardCursor.Encode(_sent)).ConfigureAwait(false);
            _dirty = false;
            _savedAt = now;
        }
        catch (StorageUnavailableException e)
        {
            Log.Warning($"{Who}: its cursor could not be saved ({e.Message}); what was sent since may be sent again after a restart");
        }
    }

    /// <summary>Stops forwarding and saves the cursor.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_run is not null)
        {
            try { await _run.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        await SaveCursorIfDueAsync(force: true).ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
