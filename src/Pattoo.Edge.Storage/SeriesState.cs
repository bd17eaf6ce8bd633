using Pattoo.Edge.Common;

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

    private long[] _ts = Array.Empty<long>();
    private double[] _values = Array.Empty<double>();
    private int _count;

    public int HeadCount => Volatile.Read(ref _count);

    public void Append(long ts, double value)
    {
        lock (this)
        {
            if (_count == _ts.Length)
            {
                int size = Math.Max(16, _ts.Length * 2);
                Array.Resize(ref _ts, size);
                Array.Resize(ref _values, size);
            }
            _ts[_count] = ts;
            _values[_count] = value;
            _count++;
        }
    }

    /// <summary>Writer only: the head for sealing (no copy; the writer is the only mutator).</summary>
    public (long[] Ts, double[] Values, int Count) HeadForSealing() => (_ts, _values, _count);

    public void ClearHead()
    {
        lock (this)
        {
            _count = 0;
            // Shrink a head that grew large so idle series do not pin memory.
            if (_ts.Length > 1024) { _ts = Array.Empty<long>(); _values = Array.Empty<double>(); }
        }
    }

    /// <summary>Copies the head points in [from, to] for a reader.</summary>
    public void CopyHead(long from, long to, List<long> ts, List<double> values)
    {
        lock (this)
        {
            for (int i = 0; i < _count; i++)
            {
                long t = _ts[i];
                if (t < from || t > to) continue;
                ts.Add(t);
                values.Add(_values[i]);
            }
        }
    }
}
