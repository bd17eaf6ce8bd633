using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage.Encoding;

namespace Pattoo.Edge.Storage;

/// <summary>
/// Maintenance on the writer's thread: sealing the heads into chunks and hourly rollups,
/// pruning what is past the retention (summarised into 5-minute rollups first when those are kept).
/// </summary>
public sealed partial class TimeSeriesStore
{
    /// <summary>Seals the head into chunks when due and prunes expired data a step at a time.</summary>
    private void Maintain()
    {
        try
        {
            long now = Now;
            bool worked = false;
            if (_pendingSeal is not null && (_pendingSeal.Task is null || _pendingSeal.Task.IsCompleted))
            {
                CompleteSeal(); // a failed one is retried here, on the writer's connection
                worked = true;
            }
            // While a seal runs beside the writer, nothing else writes to the database from here:
            // prune and compaction steps wait for it (one writer at a time in SQLite).
            if (_pendingSeal is null)
            {
                if ((_headSamples > 0 || _otherLogUnsealed) &&
                    (_headSamples >= _options.MaxHeadSamples || now - _headSince >= (long)_options.ChunkSpan.TotalMilliseconds))
                {
                    BeginSeal();
                    worked = true;
                }
                else if (IdleRoomDue(now)) _headLog.GiveBackIdleRoom();
                if (OtherLogIdleDue(now)) DeleteOtherLog();
                if (now >= _nextPruneAt) { _pruning = true; _nextPruneAt = now + (long)PruneEvery.TotalMilliseconds; }
                if (_pendingSeal is null && _pruning)
                {
                    _pruning = PruneStep(PruneCutoff(now));
                    worked = true;
                }
                else if (_pendingSeal is null && CompactionDue(now) && CompactStep(now)) worked = true;
                else if (_pendingSeal is null && now >= _walTruncateDueAt) TruncateWal(busyMs: 0);
            }
            if (worked && _maintenanceFailing)
            {
                Log.Info("storage: maintenance works again");
                _maintenanceFailing = false;
            }
        }
        catch (Exception e)
        {
            // Maintenance failing must not stop ingest; it is retried on the next turn.
            if (!_maintenanceFailing) Log.Error($"storage: maintenance failed (retried on every write until it works; logged again when it does): {e.Message}");
            _maintenanceFailing = true;
        }
    }

    /// <summary>No sample came for a chunk span: the other head log file (sealed) goes, with its room; the next seal beside the writer makes it again.</summary>
    private bool OtherLogIdleDue(long now) => _otherLog is not null && _pendingSeal is null && !_otherLogUnsealed && _headSamples == 0 && now - _lastSampleAt >= (long)_options.ChunkSpan.TotalMilliseconds;

    private void DeleteOtherLog()
    {
        var log = _otherLog!;
        _otherLog = null;
        log.Dispose();
        File.Delete(log.Path);
    }

    /// <summary>No sample came for a chunk span, the head is sealed, and the head log still holds room for one.</summary>
    private bool IdleRoomDue(long now) => _headSamples == 0 && _headLog.HoldsIdleRoom && now - _lastSampleAt >= (long)_options.ChunkSpan.TotalMilliseconds;

    /// <summary>Odd while a seal moves points from the heads into chunks and rollups, or a prune step from chunks into 5-minute rollups (readers of rollups retry across one).</summary>
    private long _sealSequence;

    /// <summary>
    /// A seal in progress: the series whose heads it froze, the rows' last timestamps it writes,
    /// and the head log generation that holds its samples (recorded as sealed with its chunks).
    /// </summary>
    private sealed class FrozenSeal(List<SeriesState> series, List<(SeriesState State, long Last)> persist, ulong generation)
    {
        public List<SeriesState> Series { get; } = series;
        public List<(SeriesState State, long Last)> Persist { get; } = persist;
        /// <summary>Recorded as sealed with the chunks: every sample of it is frozen (see <see cref="SealChunks"/> for when it is not).</summary>
        public ulong Generation { get; set; } = generation;
        /// <summary>The seal running beside the writer; null when it runs (or is retried) on the writer's thread.</summary>
        public Task? Task { get; set; }
        public bool Committed { get; set; }
        public long OldestSealed { get; set; } = long.MaxValue;
        public bool Rewound { get; set; }
    }

    /// <summary>Frozen and not yet committed: running beside the writer, or failed and retried by maintenance.</summary>
    private FrozenSeal? _pendingSeal;
    /// <summary>Points of the pending seal: counted as stored until its commit counts them in chunks.</summary>
    private int _frozenSamples;

    /// <summary>
    /// The heads become a seal's frozen part (still read from memory until its chunks are
    /// committed) and the live heads start empty; with them the rows whose last timestamp is
    /// newer than the one written.
    /// </summary>
    private FrozenSeal Freeze(ulong generation)
    {
        var series = new List<SeriesState>();
        var persist = new List<(SeriesState, long)>();
        foreach (var state in _seriesByIdx.Values)
        {
            if (state.HeadCount > 0) { state.Freeze(); series.Add(state); }
            if (state.LastTimestamp > state.PersistedTimestamp) persist.Add((state, state.LastTimestamp));
        }
        Volatile.Write(ref _frozenSamples, _headSamples);
        _headSamples = 0;
        _headSince = Now;
        return new FrozenSeal(series, persist, generation);
    }

    /// <summary>
    /// Seals the heads beside the writer: the head log's generation is synced and frozen with
    /// the heads, the next generation is written to the other log file, and the chunks are
    /// encoded and committed on a thread and connection of their own while ingest goes on (a
    /// seal of 10,000 series stopped every writer for ~270 ms). A start that found both log
    /// files unsealed seals on the writer's thread instead: the other file is not free.
    /// </summary>
    private void BeginSeal()
    {
        if (_otherLogUnsealed)
        {
            SealChunks();
            return;
        }
        SyncHeadLog(); // the frozen generation is on the disk, and the posts waiting for it are answered
        var db = SealConnection();
        var seal = Freeze(_headLog.Generation);
        _pendingSeal = seal;
        try
        {
            SwitchHeadLog();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The other file cannot be written (a full disk?): seal here, as before seals ran
            // beside the writer; no sample came since the freeze, so the generation is all sealed.
            Log.Warning($"storage: {OtherLogName(_headLog)} cannot be written ({SystemMessages.Describe(e)}); sealing on the writer instead");
            SealInPlace(seal);
            return;
        }
        catch
        {
            seal.Generation = _sealedGeneration; // retried on the writer, in a generation that goes on (see SealInPlace)
            throw;
        }
        seal.Task = Task.Run(() => SealFrozen(seal, db.Connection, db.Statements));
    }

    /// <summary>Seals everything in the heads on the writer's thread (after a seal in progress): tests, the CLI, a start with two unsealed logs.</summary>
    private void SealChunks()
    {
        CompleteSeal(wait: true);
        if (_headSamples == 0 && !_otherLogUnsealed) return;
        var seal = Freeze(_headLog.Generation);
        _pendingSeal = seal;
        SealInPlace(seal);
    }

    /// <summary>Seals the frozen heads on the writer's thread, then starts the current log over in its next generation.</summary>
    private void SealInPlace(FrozenSeal seal)
    {
        try
        {
            SealFrozen(seal, _db, _sql);
        }
        catch
        {
            // Retried later, when this generation may hold newer samples too: it is not recorded
            // as sealed then. A crash after that commit replays it, and the rows' last
            // timestamps (written with the chunks) skip the sealed samples.
            seal.Generation = _sealedGeneration;
            throw;
        }
        // The generation (and an older one in the other file) is sealed: the log starts over.
        _headLog.Restart();
        _otherLogUnsealed = false;
        _lastSyncAt = Now;
        CompleteSeal();
    }

    /// <summary>
    /// Finishes the pending seal on the writer's side: waits for it when <paramref name="wait"/>
    /// (else only a finished one), retries a failed one on the writer's connection (throwing if
    /// it fails again), then sends compaction back and empties the WAL.
    /// </summary>
    private void CompleteSeal(bool wait = false)
    {
        var seal = _pendingSeal;
        if (seal is null) return;
        if (seal.Task is { } task)
        {
            if (!wait && !task.IsCompleted) return;
            seal.Task = null;
            try { task.GetAwaiter().GetResult(); }
            catch (Exception e) { Log.Warning($"storage: a seal failed ({SystemMessages.Describe(e)}); its samples stay in the head log and memory, and it is tried again"); }
        }
        if (!seal.Committed) SealFrozen(seal, _db, _sql);
        _pendingSeal = null;
        if (seal.OldestSealed != long.MaxValue) RewindCompaction(seal.OldestSealed, seal.Rewound);
        _sealedGeneration = Math.Max(_sealedGeneration, seal.Generation);
        TruncateWal();
    }

    /// <summary>
    /// Writes every frozen head as chunks (and its rollups), the rows' last timestamps and the
    /// sealed head log generation in one transaction, then drops the frozen parts. A crash
    /// before the commit replays the generation; after it, the generation is not replayed.
    /// Runs beside the writer (its own connection) or on it.
    /// </summary>
    private void SealFrozen(FrozenSeal seal, SqliteConnection db, WriterStatements sql)
    {
        var sw = Stopwatch.StartNew();
        var heads = EncodeHeads(seal.Series);
        int points = 0;
        using var tx = db.BeginTransaction();
        sql.Bind(tx);
        long oldestSealed = long.MaxValue;
        for (int i = 0; i < heads.Length; i++)
        {
            ref readonly var head = ref heads[i];
            var state = seal.Series[i];
            // In series order, not packed: a seal's chunks last until their day is compacted,
            // and the chunk index takes them in key order (packed, its pages were touched at random).
            foreach (var chunk in head.Chunks) sql.InsertChunk(new ChunkRow(state.Idx, chunk.First, chunk.Last, chunk.Count, chunk.Data));
            oldestSealed = Math.Min(oldestSealed, head.Chunks[0].First);
            if (head.Rollup is { } rollup) sql.InsertRollup(state.Idx, HourLevel, rollup.Start, rollup.End, rollup.Count, rollup.Data);
            points += head.Count;
        }
        foreach (var (state, last) in seal.Persist) sql.UpdateLastTimestamp(state.Idx, last);
        bool rewound = oldestSealed != long.MaxValue && RewindCompactedThrough(sql, oldestSealed);
        sql.ClearHead(); // the head table of releases before the head log
        sql.SetSealedGeneration(seal.Generation);
        // Points move from the heads into chunks and rollups: readers of rollups retry across it.
        Interlocked.Increment(ref _sealSequence);
        try
        {
            tx.Commit();
            for (int i = 0; i < heads.Length; i++)
            {
                var state = seal.Series[i];
                state.SealedTimestamp = heads[i].Last;
                state.SealedValue = heads[i].LastValue;
                // Before the frozen points go: a reader that copied the head without them reads the chunks.
                Volatile.Write(ref state.ChunkedThrough, Math.Max(state.ChunkedThrough, heads[i].Last));
                state.DropFrozen();
            }
            foreach (var (state, last) in seal.Persist) state.PersistedTimestamp = Math.Max(state.PersistedTimestamp, last);
        }
        finally
        {
            Interlocked.Increment(ref _sealSequence);
        }
        seal.OldestSealed = oldestSealed;
        seal.Rewound = rewound;
        seal.Committed = true;
        Interlocked.Add(ref _storedSamples, points);
        Interlocked.Add(ref _chunksSealed, seal.Series.Count);
        Volatile.Write(ref _frozenSamples, 0);
        Log.Info($"storage: sealed {points} samples of {seal.Series.Count} series into chunks in {sw.ElapsedMilliseconds} ms");
    }

    /// <summary>A series' head encoded for its seal: its chunks (one per UTC day it spans) and the hourly rollup block (none for a counter's first sample).</summary>
    private readonly record struct SealedHead(int Count, long Last, double LastValue, SealedChunk[] Chunks, EncodedRollup? Rollup);

    private readonly record struct SealedChunk(long First, long Last, int Count, byte[] Data);

    /// <summary>Seals of fewer series encode on the writer's thread alone.</summary>
    private const int ParallelSealSeries = 256;

    /// <summary>
    /// The heads of <paramref name="series"/> encoded as chunks and hourly rollups. Encoding is
    /// most of a seal and each series' is its own, so a large seal encodes on two threads (the
    /// writer is blocked meanwhile: nothing appends to the heads); the rows are written in order after.
    /// </summary>
    private static SealedHead[] EncodeHeads(List<SeriesState> series)
    {
        var heads = new SealedHead[series.Count];
        if (series.Count < ParallelSealSeries || Environment.ProcessorCount < 2)
        {
            EncodePart(series, heads, 0, 1);
            return heads;
        }
        var odd = Task.Run(() => EncodePart(series, heads, 1, 2));
        EncodePart(series, heads, 0, 2);
        odd.GetAwaiter().GetResult();
        return heads;

        static void EncodePart(List<SeriesState> series, SealedHead[] heads, int first, int step)
        {
            var ts = new long[4096];
            var values = new double[4096];
            var rollups = new RollupEncoder();
            for (int i = first; i < series.Count; i += step)
            {
                var state = series[i];
                int count = state.FrozenForSealing(ref ts, ref values);
                var headTs = ts.AsSpan(0, count);
                var headValues = values.AsSpan(0, count);
                heads[i] = new SealedHead(count, ts[count - 1], values[count - 1], EncodeByDay(headTs, headValues),
                    rollups.Encode(state.Type, HourLevel, headTs, headValues, state.SealedTimestamp, state.SealedValue));
            }
        }
    }

    /// <summary>
    /// A head's points as one chunk per UTC day they span: a box's heads span a chunk span (one
    /// or two days), but an import or a backlog can span a year, and a chart of one day of it
    /// would decode the year. Days are the unit day blocks are compacted in too.
    /// </summary>
    private static SealedChunk[] EncodeByDay(ReadOnlySpan<long> ts, ReadOnlySpan<double> values)
    {
        if (DayOf(ts[0]) == DayOf(ts[^1])) return [new SealedChunk(ts[0], ts[^1], ts.Length, ChunkEncoder.Encode(ts, values))];
        var chunks = new List<SealedChunk>();
        int start = 0;
        while (start < ts.Length)
        {
            long day = DayOf(ts[start]);
            int end = start + 1;
            // Points are in time order: the day ends at the first point of a later one.
            while (end < ts.Length && DayOf(ts[end]) == day) end++;
            chunks.Add(new SealedChunk(ts[start], ts[end - 1], end - start, ChunkEncoder.Encode(ts[start..end], values[start..end])));
            start = end;
        }
        return [.. chunks];

        static long DayOf(long ms) => ms >= 0 ? ms / DayMs : (ms - DayMs + 1) / DayMs;
    }

    /// <summary>The rollup levels (ms): 5 minutes and an hour.</summary>
    public static readonly IReadOnlyList<long> RollupLevels = [FiveMinuteLevel, HourLevel];

    /// <summary>
    /// Written as raw samples are pruned, for the time they no longer cover: while the raw samples
    /// are kept, a chart reads them (summarised the same way) instead, so the level costs no disk
    /// during storage.retention; a chart of 5-minute buckets reads at most the ~42 days hourly
    /// buckets cannot fill (a few ms of decoding).
    /// </summary>
    public const long FiveMinuteLevel = 300_000;

    /// <summary>Written at every seal, beside the chunks: a year charts from 8,760 buckets.</summary>
    public const long HourLevel = 3_600_000;

    private readonly RollupEncoder _rollupEncoder = new();

    /// <summary>One rollup block of <paramref name="level"/> from a series' points, in the open transaction (see <see cref="RollupEncoder.Encode"/>).</summary>
    private void WriteRollupBlock(long idx, DataType type, long level, ReadOnlySpan<long> ts, ReadOnlySpan<double> values, long prevTs, double prev)
    {
        if (_rollupEncoder.Encode(type, level, ts, values, prevTs, prev) is { } rollup)
            _sql.InsertRollup(idx, level, rollup.Start, rollup.End, rollup.Count, rollup.Data);
    }

    private readonly List<long> _pruneTs = new();
    private readonly List<double> _pruneValues = new();

    /// <summary>
    /// The pruned chunks' points as 5-minute rollups, one block per series, when rollups are kept
    /// longer than raw samples: so every sample ends up summarised exactly once, either still in
    /// a chunk or in a 5-minute block. A counter's rate across the edge of a prune step is not
    /// counted (one rate of thousands).
    /// </summary>
    private void SummarisePruned(List<PrunedChunk> pruned)
    {
        foreach (var series in pruned.GroupBy(static c => c.Idx))
        {
            if (!_seriesByIdx.TryGetValue(series.Key, out var state) || state.Type == DataType.String) continue;
            _pruneTs.Clear();
            _pruneValues.Clear();
            foreach (var chunk in series.OrderBy(static c => c.Start))
            {
                if (!TryDecodeChunk(chunk.Data, series.Key, _scratchTs, _scratchValues)) continue;
                // Chunks of one series do not overlap unless a backfill sealed older points later: keep time order.
                if (_pruneTs.Count > 0 && _scratchTs[0] <= _pruneTs[^1])
                {
                    WriteRollupBlock(series.Key, state.Type, FiveMinuteLevel, CollectionsMarshal.AsSpan(_pruneTs), CollectionsMarshal.AsSpan(_pruneValues), long.MinValue, 0);
                    _pruneTs.Clear();
                    _pruneValues.Clear();
                }
                _pruneTs.AddRange(_scratchTs);
                _pruneValues.AddRange(_scratchValues);
            }
            if (_pruneTs.Count > 0)
                WriteRollupBlock(series.Key, state.Type, FiveMinuteLevel, CollectionsMarshal.AsSpan(_pruneTs), CollectionsMarshal.AsSpan(_pruneValues), long.MinValue, 0);
        }
    }

    private readonly List<long> _scratchTs = new();
    private readonly List<double> _scratchValues = new();

    /// <summary>
    /// After a seal the WAL holds its megabytes until the next seal's first write: they are
    /// copied into the database now and the WAL emptied. A reader in the way (waited for at most
    /// 100 ms) leaves it to a retry when the writer is idle (<see cref="WalRetryMs"/>), or to the
    /// next seal, which would copy the same pages anyway.
    /// </summary>
    /// <param name="busyMs">How long to wait for readers: a retry does not wait (it would hold up the writer every 5 s while a backup reads).</param>
    private void TruncateWal(int busyMs = 100)
    {
        _walTruncateDueAt = long.MaxValue;
        try
        {
            Exec($"PRAGMA busy_timeout = {busyMs}; PRAGMA wal_checkpoint(TRUNCATE);");
            // A reader can make the checkpoint stop short without an error: a WAL left with frames is tried again.
            if (WalFileBytes() > 0) _walTruncateDueAt = Now + WalRetryMs;
        }
        catch (SqliteException e)
        {
            Log.Debug($"storage: the WAL was not emptied ({e.Message}); tried again in {WalRetryMs / 1000} s");
            _walTruncateDueAt = Now + WalRetryMs;
        }
        finally
        {
            Exec("PRAGMA busy_timeout = 5000;");
        }
    }

    /// <summary>When an emptying of the WAL that a reader stopped is tried again (Unix ms; MaxValue: none is due).</summary>
    private long _walTruncateDueAt = long.MaxValue;

    /// <summary>The wait before an emptying of the WAL that a reader stopped is tried again.</summary>
    private const long WalRetryMs = 5_000;

    private long WalFileBytes()
    {
        try { return new FileInfo(_options.DatabaseFile + "-wal").Length; }
        catch (IOException) { return 0; }
    }

    private readonly List<PrunedChunk> _prunedChunks = new();

    /// <summary>
    /// Given the retention cutoff (ms), the cutoff to prune at: the forwarders hold back samples
    /// they have not sent (up to their own limit). Never later than the cutoff it is given.
    /// </summary>
    public Func<long, long>? RetentionHold { get; set; }

    private long PruneCutoff(long now)
    {
        long cutoff = now - (long)_options.Retention.TotalMilliseconds;
        return RetentionHold is { } hold ? Math.Min(cutoff, hold(cutoff)) : cutoff;
    }

    /// <summary>Deletes one step of expired chunks; true while more remain.</summary>
    private bool PruneStep(long cutoff)
    {
        int deleted;
        bool movesPoints = false;
        _prunedChunks.Clear();
        try
        {
            using var tx = _db.BeginTransaction();
            _sql.Bind(tx);
            bool keepFiveMinutes = _options.RollupRetention > _options.Retention;
            var (chunks, samples) = _sql.PruneChunks(cutoff, PruneStepRows, keepFiveMinutes ? _prunedChunks : null);
            if (_prunedChunks.Count > 0)
            {
                movesPoints = true;
                Interlocked.Increment(ref _sealSequence); // readers of 5-minute rollups retry across the commit
                SummarisePruned(_prunedChunks);
                _prunedChunks.Clear();
            }
            int strings = _sql.PruneStrings(cutoff, PruneStepRows);
            int rollups = _sql.PruneRollups(Now - (long)_options.RollupRetention.TotalMilliseconds, PruneStepRows);
            int events = PruneEvents(tx, Now - (long)EventRetention.TotalMilliseconds, PruneStepRows);
            int audit = PruneAudit(tx, Now - (long)AuditRetention.TotalMilliseconds, PruneStepRows);
            deleted = chunks + strings + rollups + events + audit;
            tx.Commit();
            Interlocked.Add(ref _storedSamples, -(samples + strings));
        }
        finally
        {
            if (movesPoints) Interlocked.Increment(ref _sealSequence);
        }
        if (deleted > 0)
        {
            Log.Debug($"storage: pruned {deleted} rows older than retention");
            return true;
        }
        Exec("PRAGMA incremental_vacuum(2000);");
        return false;
    }

    /// <summary>On the writer's thread, between commits: the head log as synced and the database, as one backup file.</summary>
    private void WriteBackup(string file)
    {
        CompleteSeal(wait: true); // the other log file's generation is in the database then
        if (_otherLogUnsealed) SealChunks(); // the backup holds one log: the other's samples go into chunks first
        SyncHeadLog(); // what was acknowledged is in the log, and its writers are answered
        byte[] head = _headLog.Snapshot();
        StoreBackup.Write(_db, head, file);
        Log.Info($"storage: backup written to {file} ({new FileInfo(file).Length:N0} bytes, {head.Length:N0} of them the head log)");
    }
}
