using System.Runtime.InteropServices;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage.Encoding;

namespace Pattoo.Edge.Storage;

/// <summary>A rollup block ready for its row: the first and last bucket starts, how many buckets, the encoded block.</summary>
internal readonly record struct EncodedRollup(long Start, long End, int Count, byte[] Data);

/// <summary>
/// Summarises a series' points into one rollup block; its scratch lists are reused, so one
/// encoder belongs to one thread (the writer, or one of a seal's encoding threads).
/// </summary>
internal sealed class RollupEncoder
{
    private readonly List<RollupBucket> _buckets = new();
    private readonly List<long> _rateTs = new();
    private readonly List<double> _rateValues = new();

    /// <summary>
    /// The block of <paramref name="level"/> of the points; a counter's become per-second rates,
    /// the first from the point before them (<paramref name="prevTs"/> long.MinValue: none).
    /// Null when there is nothing to summarise (a counter's only sample has no rate).
    /// A bucket cut in two by consecutive blocks is written in both; readers merge buckets of the same start.
    /// </summary>
    public EncodedRollup? Encode(DataType type, long level, ReadOnlySpan<long> ts, ReadOnlySpan<double> values, long prevTs, double prev)
    {
        if (type.IsCounter())
        {
            _rateTs.Clear();
            _rateValues.Clear();
            double modulus = type.CounterModulus();
            for (int i = 0; i < ts.Length; i++)
            {
                if (prevTs != long.MinValue && CounterRates.TryRate(prevTs, prev, ts[i], values[i], modulus, out double rate))
                {
                    _rateTs.Add(ts[i]);
                    _rateValues.Add(rate);
                }
                prevTs = ts[i];
                prev = values[i];
            }
            ts = CollectionsMarshal.AsSpan(_rateTs);
            values = CollectionsMarshal.AsSpan(_rateValues);
        }
        if (ts.IsEmpty) return null;
        _buckets.Clear();
        RollupBlock.Summarise(ts, values, level, _buckets, ChunkEncoder.DecimalScale(values));
        var buckets = CollectionsMarshal.AsSpan(_buckets);
        return new EncodedRollup(buckets[0].Start, buckets[^1].Start, buckets.Length, RollupBlock.Encode(buckets));
    }
}
