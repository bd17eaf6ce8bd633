using Pattoo.Edge.Common;
using Pattoo.Edge.Storage.Encoding;

namespace Pattoo.Edge.Storage;

/// <summary>
/// What the store keeps in memory per series: its row id, its type, the newest committed
/// timestamp (to drop duplicates and out-of-order samples) and the head: samples committed
/// to the head log but not yet sealed into a chunk. Only the writer changes it; readers copy
/// the head under its lock.
/// </summary>
internal sealed class SeriesState(long idx, DataType type, long lastTimestamp)
{
    public long Idx { get; } = idx;
    public DataType Type { get; } = type;
    /// <summary>Newest committed sample time (ms).</summary>
    public long LastTimestamp = lastTimestamp;
    /// <summary>The datapoint row's last_timestamp: written at each seal, not per commit.</summary>
    public long PersistedTimestamp = lastTimestamp;
    /// <summary>Newest time accepted inside the open transaction.</summary>
    public long PendingTimestamp = lastTimestamp;
    public string? LastText;
    public string? PendingText;
    public bool Touched;
    /// <summary>Writer only: this series' place among the series of the commit being written (set with <see cref="Touched"/>).</summary>
    public int CommitSlot;
    /// <summary>The store this state belongs to (a SeriesKey's slot is checked against it).</summary>
    public object? Owner;
    /// <summary>
    /// No chunk holds a sample newer than this: the row's last_timestamp at open (written at
    /// each seal), then each seal's newest. A read of newer samples only needs the head.
    /// </summary>
    public long ChunkedThrough = lastTimestamp;
    /// <summary>The newest sealed sample (a counter's first rate in the next seal's rollups needs it); unknown after a restart.</summary>
    public long SealedTimestamp = long.MinValue;
    public double SealedValue;
    /// <summary>Rolled back with its catalog rows: a key's slot pointing here is stale.</summary>
    public bool Forgotten;

    /// <summary>
    /// Points per in-memory segment. The head keeps its points compressed with the chunk codec
    /// in segments of this many (about 2-3 bytes a point instead of 16), and only the newest
    /// unfinished segment raw: a head of 2,000,000 points over 10,000 series takes ~8 MB, not ~45.
    /// </summary>
    internal const int SegmentPoints = 32;

    private List<byte[]>? _segments;
    private long[]? _tailTs;
    private double[]? _tailValues;
    private int _tailCount;
    private int _count;
    // The head as it was when a seal began (see Freeze): readers still see it until the seal's
    // chunks are committed, while new points go to the live head above.
    private List<byte[]>? _frozenSegments;
    private long[]? _frozenTailTs;
    private double[]? _frozenTailValues;
    private int _frozenTailCount;
    private int _frozenCount;

    /// <summary>Points in the head, a seal's frozen part included.</summary>
    public int HeadCount => Volatile.Read(ref _count) + Volatile.Read(ref _frozenCount);

    /// <summary>Points of the frozen part (0 when no seal holds one).</summary>
    public int FrozenCount => Volatile.Read(ref _frozenCount);

    public void Append(long ts, double value)
    {
        lock (this) AppendLocked(ts, value);
    }

    /// <summary>Appends a run of this series' points (in time order) under one lock.</summary>
    public void Append(ReadOnlySpan<(long Ts, double Value)> run)
    {
        lock (this)
        {
            foreach (ref readonly var point in run) AppendLocked(point.Ts, point.Value);
        }
    }

    private void AppendLocked(long ts, double value)
    {
        _tailTs ??= new long[SegmentPoints];
        _tailValues ??= new double[SegmentPoints];
        _tailTs[_tailCount] = ts;
        _tailValues[_tailCount] = value;
        _tailCount++;
        if (_tailCount == SegmentPoints)
        {
            (_segments ??= new()).Add(ChunkEncoder.Encode(_tailTs, _tailValues, fitTables: false)); // version 1: fast; the seal fits tables
            _tailCount = 0;
        }
        _count++;
    }

    /// <summary>
    /// Writer only: the head becomes the frozen part a seal encodes, and the live head starts
    /// empty; returns the points frozen. A seal drops the frozen part (<see cref="DropFrozen"/>)
    /// once its chunks are committed, so it is frozen at most once at a time.
    /// </summary>
    public int Freeze()
    {
        lock (this)
        {
            if (_frozenCount > 0) throw new InvalidOperationException($"series {Idx} is frozen already: a seal is still running");
            _frozenSegments = _segments;
            _frozenTailTs = _tailTs;
            _frozenTailValues = _tailValues;
            _frozenTailCount = _tailCount;
            _frozenCount = _count;
            _segments = null;
            _tailTs = null;
            _tailValues = null;
            _tailCount = 0;
            _count = 0;
            return _frozenCount;
        }
    }

    /// <summary>
    /// The frozen points into the buffers (grown when too small), oldest first; returns how
    /// many. Nothing changes the frozen part until it is dropped, so no lock is needed.
    /// </summary>
    public int FrozenForSealing(ref long[] ts, ref double[] values)
    {
        int count = _frozenCount;
        if (ts.Length < count) { ts = new long[Math.Max(count, ts.Length * 2)]; values = new double[ts.Length]; }
        int n = 0;
        if (_frozenSegments is not null)
        {
            foreach (var segment in _frozenSegments) n += ChunkEncoder.Decode(segment, ts.AsSpan(n), values.AsSpan(n));
        }
        if (_frozenTailCount > 0)
        {
            _frozenTailTs.AsSpan(0, _frozenTailCount).CopyTo(ts.AsSpan(n));
            _frozenTailValues.AsSpan(0, _frozenTailCount).CopyTo(values.AsSpan(n));
            n += _frozenTailCount;
        }
        return n;
    }

    /// <summary>The seal's chunks are committed: the frozen points are no longer the head's.</summary>
    public void DropFrozen()
    {
        lock (this)
        {
            _frozenSegments = null;
            _frozenTailTs = null;
            _frozenTailValues = null;
            _frozenTailCount = 0;
            _frozenCount = 0;
        }
    }

    /// <summary>Copies the head points in [from, to] for a reader.</summary>
    public void CopyHead(long from, long to, List<long> ts, List<double> values)
    {
        Span<long> segmentTs = stackalloc long[SegmentPoints];
        Span<double> segmentValues = stackalloc double[SegmentPoints];
        lock (this)
        {
            // Room for the whole head at once: growing by doubling copied a long head ~9 times.
            ts.EnsureCapacity(ts.Count + _frozenCount + _count);
            values.EnsureCapacity(values.Count + _frozenCount + _count);
            // The frozen part is older than every live point.
            CopyPart(_frozenSegments, _frozenTailTs, _frozenTailValues, _frozenTailCount, from, to, ts, values, segmentTs, segmentValues);
            CopyPart(_segments, _tailTs, _tailValues, _tailCount, from, to, ts, values, segmentTs, segmentValues);
        }

        static void CopyPart(List<byte[]>? segments, long[]? tailTs, double[]? tailValues, int tailCount, long from, long to,
            List<long> ts, List<double> values, Span<long> segmentTs, Span<double> segmentValues)
        {
            if (segments is not null)
            {
                foreach (var segment in segments)
                {
                    ChunkEncoder.PeekRange(segment, out long first, out long last);
                    if (last < from || first > to) continue;
                    int n = ChunkEncoder.Decode(segment, segmentTs, segmentValues);
                    Add(segmentTs[..n], segmentValues[..n], from, to, ts, values);
                }
            }
            if (tailCount > 0) Add(tailTs.AsSpan(0, tailCount), tailValues.AsSpan(0, tailCount), from, to, ts, values);
        }

        static void Add(ReadOnlySpan<long> pointTs, ReadOnlySpan<double> pointValues, long from, long to, List<long> ts, List<double> values)
        {
            if (pointTs.Length > 0 && pointTs[0] >= from && pointTs[^1] <= to)
            {
                ts.AddRange(pointTs);
                values.AddRange(pointValues);
                return;
            }
            for (int i = 0; i < pointTs.Length; i++)
            {
                long t = pointTs[i];
                if (t < from || t > to) continue;
                ts.Add(t);
                values.Add(pointValues[i]);
            }
        }
    }
}
