using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage.Encoding;

namespace Pattoo.Edge.Storage;

/// <summary>
/// Day blocks: once a UTC day is over (and its last head sealed), each series' chunks that
/// start and end in it become one chunk, and its hourly rollup blocks one block. At the default
/// 2 h chunk span that is 12 rows of each into one: the rows' and index entries' bytes go, and
/// the longer block compresses better (its header, its tables, its first value once a day).
/// Days are compacted oldest first, a few hundred series per transaction between commits, so
/// ingest never waits long; a crash mid-day redoes the day, and a series already compacted has
/// nothing left to merge.
/// </summary>
public sealed partial class TimeSeriesStore
{
    private const long DayMs = 86_400_000;

    /// <summary>Series compacted per transaction: a few hundred ms on a Pi at most.</summary>
    private const int CompactStepSeries = 200;

    /// <summary>A block is not grown past this many points (a day at 100 ms is 864,000).</summary>
    private const int MaxCompactedPoints = 1_000_000;

    /// <summary>The day being compacted (its start, Unix ms), or -1 when none is due.</summary>
    private long _compactDay = -1;

    /// <summary>The day's series (taken once when the day starts) and how many are done.</summary>
    private long[] _compactIds = [];
    private int _compactDone;

    /// <summary>When to look again for a day to compact (Unix ms).</summary>
    private long _nextCompactionCheck;

    private readonly List<StoredBlock> _compactBlocks = new();
    private readonly List<RollupBucket> _compactBuckets = new();
    private readonly List<long> _compactTs = new();
    private readonly List<double> _compactValues = new();
    private long _chunksCompacted, _compactionSteps;
    private readonly Stopwatch _compactionTime = new();
    private int _compactDayChunksBefore, _compactDayChunksAfter;

    /// <summary>
    /// A pause after each step: compaction takes at most about half of the writer's time, so an
    /// import or a burst of posts is not slowed much while a day is compacted.
    /// </summary>
    private const long CompactPauseMs = 200;

    /// <summary>Rows the current step wrote (a commit that writes none changes nothing readers see).</summary>
    private int _compactStepWrites;

    /// <summary>Compaction steps taken (a transaction each): for tests.</summary>
    internal long CompactionSteps => Interlocked.Read(ref _compactionSteps);

    private long _nextCompactionStep;

    /// <summary>When compaction has work next (Unix ms).</summary>
    private long CompactionDueAt => _compactDay >= 0 ? _nextCompactionStep : _nextCompactionCheck;

    private bool CompactionDue(long now) => now >= CompactionDueAt;

    /// <summary>
    /// In the seal's transaction: chunks sealed into a day already compacted (a backlog, an
    /// import of old data) send compaction back to that day, so they are merged too.
    /// </summary>
    private static bool RewindCompactedThrough(WriterStatements sql, long oldestSealed)
    {
        long day = oldestSealed - Mod(oldestSealed, DayMs);
        if (day >= sql.CompactedThrough()) return false;
        sql.SetCompactedThrough(day);
        return true;
    }

    /// <summary>The writer's side of a seal's rewind (<see cref="RewindCompactedThrough"/>, in the seal's transaction).</summary>
    private void RewindCompaction(long oldestSealed, bool rewound)
    {
        long day = oldestSealed - Mod(oldestSealed, DayMs);
        if ((_compactDay >= 0 && day <= _compactDay) || rewound) _compactDay = -1; // the day in progress starts over
        _nextCompactionCheck = Math.Min(_nextCompactionCheck, Now);
    }

    /// <summary>
    /// One step of compaction: the next <see cref="CompactStepSeries"/> series of the current day
    /// in one transaction; false when there was nothing to do (no day is over yet).
    /// </summary>
    private bool CompactStep(long now)
    {
        if (_compactDay < 0 && !StartCompactionDay(now)) return false;
        long dayStart = _compactDay, dayEnd = dayStart + DayMs;
        var ids = _compactIds.AsSpan(_compactDone, Math.Min(CompactStepSeries, _compactIds.Length - _compactDone));
        bool lastStep = _compactDone + ids.Length == _compactIds.Length;
        _compactionTime.Start();
        try
        {
            using var tx = _db.BeginTransaction();
            _sql.Bind(tx);
            _dayBlocks.Clear(); // none left by a step that failed
            _dayBlockBytes = 0;
            _compactStepWrites = 0;
            foreach (long idx in ids)
            {
                if (!_seriesByIdx.TryGetValue(idx, out var state) || state.Type == DataType.String) continue;
                CompactChunks(idx, dayStart, dayEnd);
                CompactRollups(idx, dayStart, dayEnd);
            }
            AppendDayBlocks();
            if (lastStep) _sql.SetCompactedThrough(dayEnd);
            // Readers of rollups retry a read that spans the commit (its statements would see the
            // rows before and after it). Only a commit that moves points counts: readers never see
            // what is not committed, so the step's own work does not make them retry.
            bool movesPoints = _compactStepWrites > 0;
            if (movesPoints) Interlocked.Increment(ref _sealSequence);
            try { tx.Commit(); }
            finally { if (movesPoints) Interlocked.Increment(ref _sealSequence); }
        }
        finally
        {
            _compactionTime.Stop();
        }
        Interlocked.Increment(ref _compactionSteps);
        _nextCompactionStep = Now + CompactPauseMs;
        _compactDone += ids.Length;
        if (lastStep)
        {
            if (_compactDayChunksBefore > 0)
            {
                // The merged rows' old pages go back to the file system, as after pruning, and the
                // blocks decoded on the way back to the system (a day of 10,000 series is megabytes).
                Exec("PRAGMA incremental_vacuum;");
                // The day's rewritten pages would sit in the WAL until the next seal.
                TruncateWal();
                HeapTrim.Soon();
            }
            if (_compactDayChunksBefore > 0)
                Log.Info($"storage: compacted {DateTimeOffset.FromUnixTimeMilliseconds(dayStart).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}: {_compactDayChunksBefore} chunks into {_compactDayChunksAfter} day blocks in {_compactionTime.ElapsedMilliseconds} ms");
            _compactDay = -1;
        }
        return true;
    }

    /// <summary>Picks the oldest day not compacted yet, if it is over and its heads are sealed.</summary>
    private bool StartCompactionDay(long now)
    {
        using var tx = _db.BeginTransaction(deferred: true);
        _sql.Bind(tx);
        long through = _sql.CompactedThrough();
        // Days without chunks (the box was off) are skipped, not walked one by one.
        if (_sql.OldestChunkEnd(through) is not { } oldest)
        {
            _nextCompactionCheck = now + (long)_options.ChunkSpan.TotalMilliseconds;
            return false;
        }
        long day = Math.Max(through, oldest - Mod(oldest, DayMs));
        // Over, and every head that could hold its samples sealed: a chunk span after its end, and a margin.
        long ready = day + DayMs + (long)_options.ChunkSpan.TotalMilliseconds + 60_000;
        if (now < ready)
        {
            _nextCompactionCheck = ready;
            return false;
        }
        _compactDay = day;
        // Only the series with something to merge: walking every series cost two queries each,
        // 10,000 for each day of an imported year that holds one series. Chunks sealed into the
        // day from now on (a backlog) send compaction back to it (RewindCompaction).
        _compactIds = _sql.DaySeries(day, day + DayMs);
        _compactDone = 0;
        _compactDayChunksBefore = _compactDayChunksAfter = 0;
        _compactionTime.Reset();
        return true;
    }

    private static long Mod(long a, long b) => ((a % b) + b) % b;

    /// <summary>The series' chunks that lie wholly in the day, merged into one (a chunk across midnight stays as it is).</summary>
    private void CompactChunks(long idx, long dayStart, long dayEnd)
    {
        _sql.DayChunks(idx, dayStart, dayEnd, _compactBlocks);
        for (int i = _compactBlocks.Count - 1; i >= 0; i--)
        {
            if (_compactBlocks[i].End >= dayEnd) _compactBlocks.RemoveAt(i);
        }
        if (_compactBlocks.Count < 2) return;
        _compactTs.Clear();
        _compactValues.Clear();
        bool ordered = true;
        foreach (var block in _compactBlocks)
        {
            int before = _compactTs.Count;
            if (!TryDecodeChunkInto(block.Data, idx, _compactTs, _compactValues)) return; // the series is left as it is; logged
            if (_compactTs.Count > MaxCompactedPoints) return;
            if (before > 0 && _compactTs.Count > before && _compactTs[before] <= _compactTs[before - 1]) ordered = false;
        }
        if (!ordered) SortKeepingFirst(_compactTs, _compactValues);
        if (_compactTs.Count == 0) return;
        var ts = CollectionsMarshal.AsSpan(_compactTs);
        var values = CollectionsMarshal.AsSpan(_compactValues);
        byte[] data = ChunkEncoder.Encode(ts, values);
        foreach (var block in _compactBlocks) _sql.DeleteChunk(block.Id);
        // Appended with the step's other day blocks, packed (AppendDayBlocks); sooner if they grow large.
        _dayBlocks.Add(new ChunkRow(idx, ts[0], ts[^1], ts.Length, data));
        _compactStepWrites++;
        _dayBlockBytes += data.Length;
        if (_dayBlockBytes > MaxPendingDayBlockBytes) AppendDayBlocks();
        _compactDayChunksBefore += _compactBlocks.Count;
        _compactDayChunksAfter++;
        Interlocked.Add(ref _chunksCompacted, _compactBlocks.Count);
    }

    /// <summary>Orders the day blocks a compaction step appends so they fill the chunk table's pages.</summary>
    private readonly ChunkPagePacker _chunkPacker = null!;

    /// <summary>Day blocks held for packing before they are appended: a step's usually (200 series of at most tens of KB).</summary>
    private readonly List<ChunkRow> _dayBlocks = new();
    private const long MaxPendingDayBlockBytes = 8 << 20;
    private long _dayBlockBytes;

    /// <summary>Appends the held day blocks (in the step's transaction), packed into the chunk table's pages.</summary>
    private void AppendDayBlocks()
    {
        _chunkPacker.Append(_dayBlocks, _sql.PagesInUse(), _sql.InsertChunkProbed);
        _dayBlockBytes = 0;
    }

    /// <summary>The series' hourly rollup blocks of the day, merged into one (buckets a seal cut in two joined).</summary>
    private void CompactRollups(long idx, long dayStart, long dayEnd)
    {
        _sql.DayRollups(idx, HourLevel, dayStart, dayEnd, _compactBlocks);
        if (_compactBlocks.Count < 2) return;
        _compactBuckets.Clear();
        foreach (var b in _compactBlocks)
        {
            // Decode leaves the list as it was when a block is corrupt.
            try { RollupBlock.Decode(b.Data, _compactBuckets); }
            catch (ChunkFormatException e)
            {
                Log.Error($"storage: datapoint {idx}: a corrupt rollup block is left as it is: {e.Message}");
                return;
            }
        }
        var merged = MergeByStart(_compactBuckets);
        var buckets = CollectionsMarshal.AsSpan(merged);
        foreach (var b in _compactBlocks) _sql.DeleteRollup(b.Id);
        _sql.InsertRollup(idx, HourLevel, buckets[0].Start, buckets[^1].Start, buckets.Length, RollupBlock.Encode(buckets));
        _compactStepWrites++;
    }

    /// <summary>Points of overlapping chunks (a backfill sealed after newer points) in time order; of equal times the first sealed stays, as at ingest.</summary>
    internal static void SortKeepingFirst(List<long> ts, List<double> values)
    {
        var order = new int[ts.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var keys = ts.ToArray();
        // Array.Sort is not stable: of equal times, the smallest position (the first sealed) is kept below.
        Array.Sort(keys, order);
        var sortedValues = values.ToArray();
        ts.Clear();
        values.Clear();
        int k = 0;
        while (k < order.Length)
        {
            int first = k;
            int smallest = order[k];
            while (k + 1 < order.Length && keys[k + 1] == keys[first]) { k++; smallest = Math.Min(smallest, order[k]); }
            ts.Add(keys[first]);
            values.Add(sortedValues[smallest]);
            k++;
        }
    }
}
