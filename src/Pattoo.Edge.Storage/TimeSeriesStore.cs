using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage.HeadLog;

namespace Pattoo.Edge.Storage;

/// <summary>
/// The embedded time-series store: one SQLite file in WAL mode for the catalog and the sealed
/// chunks, a head log file for samples not yet sealed, one writer task fed by a bounded queue,
/// readers on their own connections that never block it. A commit appends the samples of
/// every queued batch to the head log as one record; the log is synced (fdatasync) at once
/// for a durable write (HTTP ingest, <see cref="WriteDurableAsync"/>), and at the latest every
/// <see cref="StorageOptions.CommitInterval"/> for the pollers' writes, which do not wait for
/// it. Every <see cref="StorageOptions.ChunkSpan"/> the heads are sealed into one compressed
/// chunk per series.
/// </summary>
public sealed partial class TimeSeriesStore : ISampleSink, IAsyncDisposable
{
    private const int QueueCapacity = 512;
    private const int MaxSamplesPerTransaction = 200_000;
    private const int PruneStepRows = 500;
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(10);

    private readonly StorageOptions _options;
    private readonly TimeProvider _clock;
    private readonly Channel<WriteRequest> _queue;
    private readonly SqliteConnection _db;
    private readonly string _readConnectionString;
    private readonly Dictionary<string, SeriesState> _seriesByChecksum = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, SeriesState> _seriesByIdx = new();
    private readonly Dictionary<(string, string), long> _agents = new();
    private readonly Dictionary<(string, string), long> _pairs = new();
    private readonly Task _writer;
    private readonly WriterStatements _sql;
    private int _headSamples;
    /// <summary>Samples in chunks and string rows: counted once at open, then kept by seals, string inserts and pruning.</summary>
    private long _storedSamples;
    private long _headSince;
    /// <summary>When the writer last took a numeric sample (Unix ms).</summary>
    private long _lastSampleAt;
    private long _nextPruneAt;
    private bool _pruning;
    private int _disposed;
    private readonly StorageLock _lock;
    /// <summary>The head log file the writer appends to; the other one holds a generation being sealed, or nothing needed.</summary>
    private HeadLogFile _headLog;
    private HeadLogFile? _otherLog;
    /// <summary>The other file holds an older generation not yet sealed (found at open): the next seal runs on the writer's thread.</summary>
    private bool _otherLogUnsealed;
    /// <summary>The newest head log generation the database holds as chunks.</summary>
    private ulong _sealedGeneration;
    private SqliteConnection? _sealDb;
    private WriterStatements? _sealSql;
    private readonly ArrayBufferWriter<byte> _record = new(64 * 1024);
    private readonly List<HeadSample> _recordSamples = new();
    private readonly List<WriteRequest> _awaitingSync = new();
    private readonly List<SeriesState> _commitNewSeries = new(), _commitTouched = new();
    private readonly List<(SeriesState, long, double)> _commitAccepted = new();
    // The commit's samples grouped by series for the heads (see AppendToHeads), reused between commits.
    private int[] _appendStarts = new int[64];
    private (long Ts, double Value)[] _appendPoints = new (long, double)[1024];
    private long _lastSyncAt;
    /// <summary>When the last sync for durable writes ran (read by the posters' threads).</summary>
    private long _lastDurableSyncAt;
    /// <summary>The earliest <see cref="WriteRequest.SyncBy"/> of <see cref="_awaitingSync"/>.</summary>
    private long _durableSyncDueAt = long.MaxValue;
    private SqliteTransaction? _tx;
    private long _failedWrites, _failedSamples;
    private bool _maintenanceFailing;
    private long _samplesWritten, _samplesRejected, _transactions, _chunksSealed, _syncs;

    private enum Control { None, Seal, Prune, Compact, SaveCursor, Backup, Events, Audit }

    /// <summary>A batch (or a control action) for the writer. <see cref="Accepted"/>, for durable writes, completes when the writer has taken the samples.</summary>
    private sealed record WriteRequest(SampleBatch Batch, TaskCompletionSource Done, Control Action = Control.None, bool Durable = false, TaskCompletionSource? Accepted = null)
    {
        /// <summary>For <see cref="Control.SaveCursor"/>: the forwarder and its encoded cursor (null data deletes it).</summary>
        public (string Name, byte[]? Data) Cursor { get; init; }

        /// <summary>For <see cref="Control.Backup"/>: the file to write.</summary>
        public string? BackupFile { get; init; }

        /// <summary>For <see cref="Control.Events"/>: the events to insert.</summary>
        public IReadOnlyList<EdgeEvent>? Events { get; init; }

        /// <summary>For <see cref="Control.Audit"/>: the audit row to insert (its id is set).</summary>
        public AuditEntry? Audit { get; init; }

        /// <summary>For a durable write: when its sync is due at the latest (0: at once).</summary>
        public long SyncBy { get; init; }
    }

    /// <summary>What each writing connection (the writer's, a seal's) sets: commits on the disk, waits for the other's lock, a small page cache.</summary>
    private const string WriterPragmas = "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -2048;";

    /// <summary>
    /// The page size of a new database: 1 KiB, not SQLite's 4 KiB. A block too large for a page goes
    /// to overflow pages, which SQLite fills completely, so only its remainder (at most a page) is
    /// packed among the other rows (<see cref="ChunkPagePacker"/>). Day blocks of 1-4 KB on 4 KiB
    /// pages mostly kept a page each: at 10,000 series x 2,000 points 2.5 of the chunk table's
    /// 32.3 MiB were empty, and 0.35 of 30.2 with 1 KiB; the whole file went from 36.1 to 34.4 MiB.
    /// 2 KiB pages were worse (38.7: blocks of 1-1.5 KB then go one to a page), and so were 8 KiB
    /// (35.6: a block of 4-8 KB, such as a day at 10 s of a slow gauge, keeps a page to itself
    /// when no small one is compacted with it). Databases made before keep 4 KiB.
    /// </summary>
    internal const int NewDatabasePageSize = 1024;

    /// <summary>The head log's size limit: past it the heads are sealed early (about 6 bytes a sample).</summary>
    private long HeadLogBytes => Math.Max(32L * 1024 * 1024, (long)_options.MaxHeadSamples * 12);

    private TimeSeriesStore(StorageOptions options, TimeProvider clock)
    {
        _options = options;
        _clock = clock;
        SqliteSetup.Init();
        _lock = StorageLock.Acquire(options.Path);
        var file = options.DatabaseFile;
        _db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = file,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        _readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = file,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
        }.ToString();
        try
        {
            _db.Open();
            // Before anything writes: a database of a newer release is refused untouched.
            Schema.RefuseNewer(_db);
            // page_size and auto_vacuum must be chosen before the first table exists; later they are
            // no-ops (a database keeps the page size it was made with).
            // journal_size_limit: a seal writes megabytes through the WAL; give them back after the checkpoint.
            Exec($"PRAGMA page_size = {NewDatabasePageSize}; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA journal_size_limit = 4194304; " + WriterPragmas);
            Schema.Migrate(_db);
            _sql = new WriterStatements(_db);
            _chunkPacker = new ChunkPagePacker(PageSize());
            Load();
            _headLog = OpenHeadLog();
        }
        catch (SqliteException e)
        {
            _db.Dispose();
            _lock.Dispose();
            throw new StorageUnavailableException($"cannot open the database {file}: {e.Message}", e);
        }
        catch
        {
            // A database from a newer release, a failed migration: the lock goes with the store.
            _db.Dispose();
            _lock.Dispose();
            throw;
        }
        _nextPruneAt = Now;
        _nextCompactionCheck = Now;
        _lastSyncAt = Now;
        Catalog = new CatalogStore(options, clock) { LiveLastTimestamp = LiveLastTimestamp };
        _queue = Channel.CreateBounded<WriteRequest>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = Task.Factory.StartNew(WriterLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Opens (creating or migrating) the database under <see cref="StorageOptions.Path"/>.</summary>
    /// <exception cref="StorageUnavailableException">the file cannot be opened or is from a newer release.</exception>
    public static TimeSeriesStore Open(StorageOptions options, TimeProvider? clock = null)
        => new(options, clock ?? TimeProvider.System);

    public StorageOptions Options => _options;

    /// <summary>pattoo's small tables: agents, datapoints, pairs, translations, charts, favourites.</summary>
    public CatalogStore Catalog { get; }

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Stores the batch; completes once its samples are accepted (readable at once, on the disk
    /// at the next sync, at most <see cref="StorageOptions.CommitInterval"/> later). What the
    /// pollers use: they do not wait for the disk.
    /// </summary>
    public Task WriteAsync(SampleBatch batch, CancellationToken cancellationToken) => Enqueue(batch, durable: false, cancellationToken);

    /// <summary>
    /// Stores the batch and completes once it is on the disk (fdatasync): what an HTTP ingest
    /// answers 200 for. Concurrent callers share one sync.
    /// </summary>
    public async Task WriteDurableAsync(SampleBatch batch, CancellationToken cancellationToken)
        => await (await AcceptDurableAsync(batch, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);

    /// <summary>A post begun this soon after a sync comes from a client that posts as soon as it is answered.</summary>
    private const long StreamingGapMs = 100;

    /// <summary>
    /// When the sync of a durable write begun at <paramref name="startedAt"/> is due at the
    /// latest. Posts that come from many clients a second or so apart wait up to
    /// <see cref="StorageOptions.IngestSyncWindow"/> for each other: one sync, one rewritten
    /// flash page, for all of them. A client that posts again as soon as it is answered (an
    /// import, a replayed backlog) would only be slowed by the wait, and a lone post after a
    /// quiet spell has nobody to wait for: both are synced at once.
    /// </summary>
    private long DurableSyncBy(long startedAt)
    {
        long window = (long)_options.IngestSyncWindow.TotalMilliseconds;
        if (window <= 0 || startedAt <= 0) return 0;
        long sinceSync = startedAt - Volatile.Read(ref _lastDurableSyncAt);
        if (sinceSync < StreamingGapMs || sinceSync > 2 * window) return 0;
        return Now + window;
    }

    /// <summary>
    /// Hands the batch to the writer and completes once the writer has taken its samples (they
    /// are readable, and the batch is the caller's again), with a task that completes once they
    /// are on the disk. An ingest request gives back its body, its batch and its slot at the
    /// first and answers at the second: requests waiting for one sync hold no memory, and the
    /// next can be parsed meanwhile.
    /// </summary>
    /// <param name="requestStartedAt">
    /// When the request began (Unix ms), for group commit (<see cref="DurableSyncBy"/>); 0 syncs at once.
    /// </param>
    /// <exception cref="StorageUnavailableException">the samples could not be stored (from either task).</exception>
    public async Task<Task> AcceptDurableAsync(SampleBatch batch, CancellationToken cancellationToken, long requestStartedAt = 0)
    {
        if (batch.Count == 0) return Task.CompletedTask;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var accepted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _queue.Writer.WriteAsync(new WriteRequest(batch, done, Durable: true, Accepted: accepted) { SyncBy = DurableSyncBy(requestStartedAt) }, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new StorageUnavailableException("storage is shutting down");
        }
        try
        {
            await accepted.Task.ConfigureAwait(false);
        }
        catch
        {
            _ = done.Task.Exception; // failed with it: observed here, not by the finalizer
            throw;
        }
        return done.Task;
    }

    private async Task Enqueue(SampleBatch batch, bool durable, CancellationToken cancellationToken)
    {
        if (batch.Count == 0) return;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _queue.Writer.WriteAsync(new WriteRequest(batch, done, Durable: durable), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new StorageUnavailableException("storage is shutting down");
        }
        // Once queued the batch is the writer's until it is committed: do not give it back early.
        await done.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Sees every numeric sample the writer accepts, on the writer's thread, after its commit
    /// (alert rules are evaluated as samples are stored); null: nothing is called.
    /// </summary>
    public ISampleObserver? Observer { get; set; }

    /// <summary>Counters of the writer, for logs, the API and benchmarks.</summary>
    public StoreStatistics Statistics => new(
        Interlocked.Read(ref _samplesWritten), Interlocked.Read(ref _samplesRejected),
        Interlocked.Read(ref _transactions), Interlocked.Read(ref _chunksSealed),
        Volatile.Read(ref _headSamples) + Volatile.Read(ref _frozenSamples), _seriesByIdx.Count, Interlocked.Read(ref _chunksCompacted), Interlocked.Read(ref _syncs));

    /// <summary>Stops accepting writes, commits everything queued and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.Writer.TryComplete();
        try { await _writer.ConfigureAwait(false); }
        catch (Exception e) { Log.Error($"storage: writer stopped with an error: {e.Message}"); }
        // A writer that stopped with an error left its seal running: its connection must outlive it.
        if (_pendingSeal?.Task is { } sealing)
        {
            try { await sealing.ConfigureAwait(false); }
            catch (Exception) { /* its samples stay in both log files: the next start seals them */ }
        }
        try { _headLog.Sync(); }
        catch (IOException e) { Log.Warning($"storage: the head log could not be synced at shutdown ({e.Message}); what the pollers stored since the last sync may be lost on a power cut before the kernel writes it"); }
        _headLog.Dispose();
        _otherLog?.Dispose();
        _sql.Dispose();
        _sealSql?.Dispose();
        _sealDb?.Dispose();
        try
        {
            Exec("PRAGMA wal_checkpoint(TRUNCATE);");
        }
        catch (SqliteException e)
        {
            // Every acknowledged write is committed in the WAL, which the next start replays;
            // a checkpoint that cannot run (a full disk) loses nothing, so it is no failure.
            Log.Warning($"storage: the WAL could not be checkpointed at shutdown ({e.Message}); nothing is lost: it is applied on the next start");
        }
        _db.Dispose();
        SqliteConnection.ClearAllPools();
        _lock.Dispose();
    }

    /// <summary>The newest sample time of a series as the writer knows it (the row's is written at seals).</summary>
    private long LiveLastTimestamp(long idx) => _seriesByIdx.TryGetValue(idx, out var s) ? Volatile.Read(ref s.LastTimestamp) : 0;

    private async Task WriterLoop()
    {
        var pending = new List<WriteRequest>();
        var reader = _queue.Reader;
        Task<bool>? next = null;
        while (true)
        {
            bool more;
            try
            {
                next ??= reader.WaitToReadAsync().AsTask();
                // Idle: sync the pollers' samples, seal the heads and prune when each is due,
                // unless new work comes sooner. A box whose writes stopped still seals its heads.
                while (!next.IsCompleted)
                {
                    long due = IdleWorkDueIn();
                    if (due > 0)
                    {
                        var delay = Task.Delay(TimeSpan.FromMilliseconds(Math.Min(due, 60_000)), _clock);
                        await (_pendingSeal?.Task is { } sealing ? Task.WhenAny(next, delay, sealing) : Task.WhenAny(next, delay)).ConfigureAwait(false);
                    }
                    if (next.IsCompleted || IdleWorkDueIn() > 0) continue;
                    if (SyncDue) SyncHeadLog();
                    Maintain();
                    // Failing maintenance (a full disk) is retried every few seconds, not in a busy loop.
                    if (_maintenanceFailing) _idleRetryAt = Now + 5_000;
                }
                more = await next.ConfigureAwait(false);
                next = null;
            }
            catch (Exception) { more = false; }
            if (!more) break;
            int samples = 0;
            while (samples < MaxSamplesPerTransaction && reader.TryRead(out var req))
            {
                if (req.Action != Control.None)
                {
                    if (pending.Count > 0) { Commit(pending); pending.Clear(); }
                    RunControl(req);
                    continue;
                }
                pending.Add(req);
                samples += req.Batch.Count;
            }
            if (pending.Count > 0) { Commit(pending); pending.Clear(); }
            // One sync for every durable write queued meanwhile (group commit: the posts that
            // arrive during a sync or within their window share the next one), or the pollers' due one.
            if (SyncDue) SyncHeadLog();
            Maintain();
        }
        // A seal still running is finished (both log files keep its samples if it fails: the next start seals them).
        try { CompleteSeal(wait: true); }
        catch (Exception e) { Log.Warning($"storage: the last seal did not finish ({SystemMessages.Describe(e)}); its samples stay in the head log for the next start"); }
        SyncHeadLog();
    }

    private long CommitIntervalMs => (long)_options.CommitInterval.TotalMilliseconds;

    /// <summary>A durable write's sync is due, or the pollers' one.</summary>
    private bool SyncDue
    {
        get
        {
            long now = Now;
            return (_awaitingSync.Count > 0 && now >= _durableSyncDueAt) || (_headLog.HasUnsynced && now - _lastSyncAt >= CommitIntervalMs);
        }
    }
    private long _idleRetryAt;

    /// <summary>Milliseconds until the writer has work of its own: a sync, a seal or a prune step (0 = now).</summary>
    private long IdleWorkDueIn()
    {
        long now = Now;
        long sync = _headLog.HasUnsynced ? _lastSyncAt + CommitIntervalMs : long.MaxValue;
        if (_awaitingSync.Count > 0) sync = Math.Min(sync, _durableSyncDueAt);
        long maintenance = _pruning ? now : Math.Min(Math.Min(_nextPruneAt, CompactionDueAt), _walTruncateDueAt);
        long span = (long)_options.ChunkSpan.TotalMilliseconds;
        if (_headSamples > 0 || _otherLogUnsealed) maintenance = Math.Min(maintenance, _headSince + span);
        else if (_pendingSeal is null && (_headLog.HoldsIdleRoom || _otherLog is not null)) maintenance = Math.Min(maintenance, _lastSampleAt + span);
        // A seal beside the writer: nothing else is due until it ends (its task wakes the writer); a failed one is retried.
        if (_pendingSeal is not null) maintenance = _pendingSeal.Task is { IsCompleted: false } ? long.MaxValue : now;
        long due = Math.Min(sync, Math.Max(maintenance, _idleRetryAt));
        return Math.Max(0, due - now);
    }

    /// <summary>fdatasync of the head log; completes the durable writes waiting for it.</summary>
    private void SyncHeadLog()
    {
        try
        {
            _headLog.Sync();
            Interlocked.Increment(ref _syncs);
            _lastSyncAt = Now;
            if (_awaitingSync.Count > 0) Volatile.Write(ref _lastDurableSyncAt, _lastSyncAt);
            foreach (var req in _awaitingSync) req.Done.TrySetResult();
        }
        catch (IOException e)
        {
            WriteFailed(_awaitingSync.Sum(r => r.Batch.Count), e);
            var failure = new StorageUnavailableException($"storage write failed: {e.Message}", e);
            foreach (var req in _awaitingSync) req.Done.TrySetException(failure);
        }
        finally
        {
            _awaitingSync.Clear();
            _durableSyncDueAt = long.MaxValue;
        }
    }

    private void RunControl(WriteRequest req)
    {
        try
        {
            if (req.Action == Control.Seal)
            {
                SealChunks();
            }
            else if (req.Action == Control.Compact)
            {
                CompleteSeal(wait: true); // one writer at a time, and one move of points at a time for readers of rollups
                while (CompactStep(Now)) { }
            }
            else if (req.Action == Control.SaveCursor)
            {
                SaveCursor(req.Cursor.Name, req.Cursor.Data);
            }
            else if (req.Action == Control.Backup)
            {
                WriteBackup(req.BackupFile!);
            }
            else if (req.Action == Control.Events)
            {
                InsertEvents(req.Events!);
            }
            else if (req.Action == Control.Audit)
            {
                InsertAudit(req.Audit!);
            }
            else
            {
                CompleteSeal(wait: true);
                long cutoff = PruneCutoff(Now);
                while (PruneStep(cutoff)) { }
                _pruning = false;
            }
            req.Done.TrySetResult();
        }
        catch (Exception e)
        {
            req.Done.TrySetException(new StorageUnavailableException($"storage {req.Action.ToString().ToLowerInvariant()} failed: {e.Message}", e));
        }
    }

    /// <summary>
    /// The connection seals beside the writer use (opened at the first): SQLite lets one of the
    /// two write at a time, so a commit that adds a series during a seal waits for its commit.
    /// </summary>
    private (SqliteConnection Connection, WriterStatements Statements) SealConnection()
    {
        if (_sealDb is null)
        {
            var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _options.DatabaseFile, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
            db.Open();
            using (var cmd = db.CreateCommand())
            {
                cmd.CommandText = WriterPragmas;
                cmd.ExecuteNonQuery();
            }
            _sealSql = new WriterStatements(db);
            _sealDb = db;
        }
        return (_sealDb, _sealSql!);
    }

    /// <summary>The writer goes on in the other head log file, in the next generation; the current one keeps the frozen generation's records until its seal is committed.</summary>
    private void SwitchHeadLog()
    {
        var previous = _headLog;
        if (_otherLog is null)
        {
            // Whatever the file holds up to the writer's generation is sealed or was never
            // acknowledged (a header whose sync failed): it starts after the writer's generation.
            _otherLog = HeadLogFile.Open(_options.Path, HeadLogBytes, Math.Max(_sealedGeneration, previous.Generation),
                _ => throw new InvalidOperationException($"{HeadLogFile.AlternateFileName} held samples of no seal"),
                out _, fileName: OtherLogName(previous), startAfter: previous.Generation);
        }
        else _otherLog.Restart(previous.Generation + 1);
        _headLog = _otherLog;
        _otherLog = previous;
        _lastSyncAt = Now;
    }

    private static string OtherLogName(HeadLogFile log)
        => Path.GetFileName(log.Path) == HeadLogFile.FileName ? HeadLogFile.AlternateFileName : HeadLogFile.FileName;

    /// <summary>The catalog transaction of this commit, begun when a new series or a string change needs one.</summary>
    private void EnsureTransaction()
    {
        if (_tx is not null) return;
        _tx = _db.BeginTransaction();
        _sql.Bind(_tx);
    }

    /// <summary>
    /// Accepts the samples of <paramref name="requests"/>: new series and string changes go to
    /// SQLite (a transaction only when there are any), numeric samples to one head log record.
    /// Non-durable requests complete here; durable ones wait for the next <see cref="SyncHeadLog"/>.
    /// </summary>
    private void Commit(List<WriteRequest> requests)
    {
        // Reused between commits (the writer is one thread): a 100,000-sample commit grew these anew each time.
        var newSeries = _commitNewSeries;
        var touched = _commitTouched;
        var accepted = _commitAccepted;
        newSeries.Clear();
        touched.Clear();
        accepted.Clear();
        int rejected = 0, mistyped = 0, stringSamples = 0, stringRows = 0;
        bool catalogCommitted = false;
        _recordSamples.Clear();
        try
        {
            long now = Now;
            foreach (var req in requests)
            {
                foreach (ref readonly var s in req.Batch.Items)
                {
                    var state = Resolve(s.Series, now, newSeries);
                    if (s.TimestampMs <= state.PendingTimestamp)
                    {
                        rejected++; // duplicate or out of order: pattoo keeps the first value too
                        continue;
                    }
                    if (state.Type == DataType.String && s.Text is null)
                    {
                        mistyped++; // a number for a string series (SampleBatch.Add does not check)
                        continue;
                    }
                    if (!state.Touched) { state.Touched = true; state.CommitSlot = touched.Count; touched.Add(state); }
                    state.PendingTimestamp = s.TimestampMs;
                    if (state.Type == DataType.String)
                    {
                        stringSamples++;
                        string text = s.Text ?? "";
                        if (text != state.PendingText)
                        {
                            EnsureTransaction();
                            _sql.InsertString(state.Idx, s.TimestampMs, text);
                            state.PendingText = text;
                            stringRows++;
                        }
                    }
                    else
                    {
                        _recordSamples.Add(new HeadSample(state.Idx, s.TimestampMs, s.Value));
                        accepted.Add((state, s.TimestampMs, s.Value));
                    }
                }
            }
            if (_tx is not null)
            {
                _tx.Commit();
                _tx.Dispose();
                _tx = null;
            }
            catalogCommitted = true;
            if (_recordSamples.Count > 0) AppendRecord();
        }
        catch (Exception e)
        {
            if (_tx is not null)
            {
                try { _tx.Rollback(); } catch (Exception) { /* the failure below is what matters */ }
                _tx.Dispose();
                _tx = null;
            }
            foreach (var state in touched) { state.PendingTimestamp = state.LastTimestamp; state.PendingText = state.LastText; state.Touched = false; }
            // Series whose rows were rolled back are forgotten; committed ones stay (they exist, without samples).
            if (!catalogCommitted) foreach (var state in newSeries) { Forget(state); }
            else Interlocked.Add(ref _storedSamples, stringRows); // their rows are in
            WriteFailed(requests.Sum(r => r.Batch.Count), e);
            var failure = new StorageUnavailableException($"storage write failed: {SystemMessages.Describe(e)}", e);
            foreach (var req in requests)
            {
                req.Accepted?.TrySetException(failure);
                req.Done.TrySetException(failure);
            }
            return;
        }
        foreach (var state in touched)
        {
            Volatile.Write(ref state.LastTimestamp, state.PendingTimestamp);
            state.LastText = state.PendingText;
            state.Touched = false;
        }
        AppendToHeads(accepted, touched);
        if (Observer is { } observer)
        {
            foreach (var (state, ts, value) in accepted) observer.Observe(state.Idx, state.Type, ts, value);
        }
        if (accepted.Count > 0)
        {
            if (_headSamples == 0) _headSince = Now;
            _lastSampleAt = Now;
        }
        _headSamples += accepted.Count;
        Interlocked.Add(ref _storedSamples, stringRows);
        Interlocked.Add(ref _samplesWritten, accepted.Count + stringSamples);
        Interlocked.Add(ref _samplesRejected, rejected + mistyped);
        Interlocked.Increment(ref _transactions);
        foreach (var req in requests)
        {
            if (req.Durable)
            {
                _awaitingSync.Add(req);
                _durableSyncDueAt = Math.Min(_durableSyncDueAt, req.SyncBy);
                req.Accepted?.TrySetResult();
            }
            else req.Done.TrySetResult();
        }
        WriteSucceeded();
        if (rejected > 0) Log.Debug($"storage: dropped {rejected} duplicate or out-of-order samples");
        if (mistyped > 0) Log.Warning($"storage: dropped {mistyped} numeric samples given to string series");
    }

    /// <summary>Commits of at least this many samples append to the heads on two threads.</summary>
    private const int ParallelAppendSamples = 20_000;

    /// <summary>
    /// The commit's samples into their series' heads, grouped by series first (a counting sort on
    /// the commit's series slots, order kept): an import body names every series once per
    /// point, and appending sample by sample took each series' lock and touched its head once
    /// per sample (the locks alone were 8% of an import's CPU). A large commit is split by series
    /// between this thread and one other: the poster waits for this.
    /// </summary>
    private void AppendToHeads(List<(SeriesState State, long Ts, double Value)> accepted, List<SeriesState> touched)
    {
        if (accepted.Count == 0) return;
        var samples = CollectionsMarshal.AsSpan(accepted);
        if (_appendStarts.Length < touched.Count + 1) _appendStarts = new int[Math.Max(touched.Count + 1, _appendStarts.Length * 2)];
        if (_appendPoints.Length < samples.Length) _appendPoints = new (long, double)[Math.Max(samples.Length, _appendPoints.Length * 2)];
        var starts = _appendStarts.AsSpan(0, touched.Count + 1);
        starts.Clear();
        foreach (ref readonly var s in samples) starts[s.State.CommitSlot + 1]++;
        for (int i = 1; i < starts.Length; i++) starts[i] += starts[i - 1];
        var points = _appendPoints;
        // starts[slot] moves to the slot's end while filling; the slot begins at its predecessor's end.
        foreach (ref readonly var s in samples) points[starts[s.State.CommitSlot]++] = (s.Ts, s.Value);
        var ends = _appendStarts;
        if (samples.Length < ParallelAppendSamples || Environment.ProcessorCount < 2)
        {
            AppendPart(touched, ends, points, -1);
            return;
        }
        var odd = Task.Run(() => AppendPart(touched, ends, points, 1));
        AppendPart(touched, ends, points, 0);
        odd.GetAwaiter().GetResult();

        // A hash, not the id's parity: posters may own series by id order (every other one).
        static long Half(long idx) => (long)((ulong)idx * 0x9E3779B97F4A7C15UL >> 63);

        static void AppendPart(List<SeriesState> touched, int[] ends, (long Ts, double Value)[] points, long half)
        {
            for (int slot = 0; slot < touched.Count; slot++)
            {
                int start = slot == 0 ? 0 : ends[slot - 1], end = ends[slot];
                if (end == start) continue; // a string series
                var state = touched[slot];
                if (half < 0 || Half(state.Idx) == half) state.Append(points.AsSpan(start, end - start));
            }
        }
    }

    /// <summary>Encodes this commit's numeric samples as one record and appends it; a full log is sealed first.</summary>
    private void AppendRecord()
    {
        _record.ResetWrittenCount();
        HeadRecord.Write(_record, _headLog.Generation, CollectionsMarshal.AsSpan(_recordSamples), _headLog.Context);
        if (_record.WrittenCount > _headLog.Free)
        {
            // The heads in memory are sealed (this commit's samples are not in them yet) and
            // the record is written in the next generation; a seal still running is waited for.
            CompleteSeal(wait: true);
            BeginSeal();
            _record.ResetWrittenCount();
            HeadRecord.Write(_record, _headLog.Generation, CollectionsMarshal.AsSpan(_recordSamples), _headLog.Context);
        }
        _headLog.Append(_record.WrittenSpan);
    }

    /// <summary>
    /// A failing disk (full, read-only, gone) fails every write until it recovers: the first
    /// failure is logged with its cause, the rest are counted, and the recovery is logged with
    /// the count, so a full disk costs two log lines, not one per poll.
    /// </summary>
    private void WriteFailed(int samples, Exception e)
    {
        _failedWrites++;
        _failedSamples += samples;
        if (_failedWrites == 1) Log.Error($"storage: a write of {samples} samples failed and was not acknowledged: {e.Message}; further failures are counted until writes work again");
    }

    private void WriteSucceeded()
    {
        if (_failedWrites == 0) return;
        Log.Info($"storage: writes work again after {_failedWrites} failed writes ({_failedSamples} samples not acknowledged)");
        _failedWrites = 0;
        _failedSamples = 0;
    }

    /// <summary>Prunes everything older than the retention now (CLI and tests); normally a step every turn.</summary>
    public Task PruneNowAsync() => ControlAsync(Control.Prune);

    /// <summary>Compacts every day that is over into day blocks now (tests); normally a step between commits.</summary>
    public Task CompactNowAsync() => ControlAsync(Control.Compact);

    /// <summary>Seals every head into chunks now (CLI and tests); normally done every chunk span.</summary>
    public Task SealNowAsync() => ControlAsync(Control.Seal);

    /// <summary>
    /// Writes a consistent copy of the whole store to <paramref name="file"/> while it runs
    /// (<c>pattoo-edge backup</c>): on the writer's thread, so no commit or seal comes between the
    /// head log and the database; ingest waits meanwhile (about a second per 100 MB).
    /// </summary>
    public Task BackupAsync(string file) => ControlAsync(Control.Backup, backupFile: file);

    private async Task ControlAsync(Control action, (string, byte[]?) cursor = default, string? backupFile = null, IReadOnlyList<EdgeEvent>? events = null,
        AuditEntry? audit = null)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try { await _queue.Writer.WriteAsync(new WriteRequest(new SampleBatch(4), done, action) { Cursor = cursor, BackupFile = backupFile, Events = events, Audit = audit }).ConfigureAwait(false); }
        catch (ChannelClosedException) { throw new StorageUnavailableException("storage is shutting down"); }
        await done.Task.ConfigureAwait(false);
    }

    private int PageSize()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "PRAGMA page_size";
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private void Exec(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    internal SqliteConnection OpenReader()
    {
        var c = new SqliteConnection(_readConnectionString);
        c.Open();
        return c;
    }
}

/// <summary>Sees samples as the store accepts them; called on the writer's thread, so it must be quick and never block.</summary>
public interface ISampleObserver
{
    void Observe(long idxDatapoint, DataType type, long timestampMs, double value);
}

/// <summary>The writer's counters; <see cref="Syncs"/> counts the head log's fdatasyncs (each rewrites at least one flash page).</summary>
public readonly record struct StoreStatistics(long SamplesWritten, long SamplesRejected, long Transactions, long ChunksSealed, int HeadSamples, int Series, long ChunksCompacted, long Syncs);
