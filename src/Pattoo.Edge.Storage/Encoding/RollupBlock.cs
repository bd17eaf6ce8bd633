using Pattoo.Edge.Common;
namespace Pattoo.Edge.Storage.Encoding;

/// <summary>One bucket of a rollup: the samples in [Start, Start + level) summarised.</summary>
public readonly record struct RollupBucket(long Start, double Min, double Max, double Sum, long Count, double Last);

/// <summary>
/// A block of rollup buckets of one series: pure codec, bytes in, buckets out. Format (version 1):
/// byte 0x11 (version 1, five columns), varint N (buckets, >= 1), then five chunks of the chunk
/// codec (<see cref="ChunkEncoder"/>), each prefixed by its varint length: the first with the
/// bucket starts as timestamps and the minimums as values, the others with the bucket's index
/// (0, 1, 2 ...) as timestamps and the maximums, sums, counts and lasts. Indexes cost a bit a
/// bucket and a header of a few bytes where a millisecond start would take seven in each: a seal
/// writes a block of a few buckets per series and level, so headers matter. The values get the
/// codec's integer and decimal handling. Corrupt blocks raise <see cref="ChunkFormatException"/>, nothing else.
/// </summary>
public static class RollupBlock
{
    private const byte Version = 0x11;
    private const int Columns = 5;

    public static byte[] Encode(ReadOnlySpan<RollupBucket> buckets)
    {
        if (buckets.IsEmpty) throw new ArgumentException("a rollup block needs at least one bucket", nameof(buckets));
        var starts = new long[buckets.Length];
        var indexes = new long[buckets.Length];
        var column = new double[buckets.Length];
        for (int i = 0; i < buckets.Length; i++) { starts[i] = buckets[i].Start; indexes[i] = i; }
        var chunks = new byte[Columns][];
        for (int c = 0; c < Columns; c++)
        {
            for (int i = 0; i < buckets.Length; i++)
            {
                var b = buckets[i];
                column[i] = c switch { 0 => b.Min, 1 => b.Max, 2 => b.Sum, 3 => b.Count, _ => b.Last };
            }
            chunks[c] = ChunkEncoder.Encode(c == 0 ? starts : indexes, column);
        }
        int size = 1 + ChunkEncoder.VarintLength((ulong)buckets.Length);
        foreach (var chunk in chunks) size += ChunkEncoder.VarintLength((ulong)chunk.Length) + chunk.Length;
        var result = new byte[size];
        int at = 0;
        result[at++] = Version;
        at += Varint.Write(result.AsSpan(at), (ulong)buckets.Length);
        foreach (var chunk in chunks)
        {
            at += Varint.Write(result.AsSpan(at), (ulong)chunk.Length);
            chunk.CopyTo(result, at);
            at += chunk.Length;
        }
        return result;
    }

    /// <summary>Appends the block's buckets to <paramref name="buckets"/>; on a corrupt block throws and appends nothing.</summary>
    /// <exception cref="ChunkFormatException">the block is malformed (names what and where).</exception>
    public static int Decode(ReadOnlySpan<byte> block, List<RollupBucket> buckets)
    {
        if (block.IsEmpty) Fail("the rollup block is empty", 0);
        if (block[0] != Version) Fail($"unknown rollup block version byte 0x{block[0]:x2}", 0);
        int at = 1;
        ulong n = ChunkEncoder.ReadVarint(block, ref at, "bucket count");
        // Each column chunk holds at least a byte per bucket after the first: a corrupt count cannot drive a big allocation.
        if (n == 0 || n > (ulong)block.Length * 8 + 1) Fail($"bucket count {n} does not fit a block of {block.Length} bytes", 1);
        int count = (int)n;
        var starts = new long[count];
        var columns = new double[Columns][];
        var ts = new long[count];
        for (int c = 0; c < Columns; c++)
        {
            int lengthAt = at;
            ulong length = ChunkEncoder.ReadVarint(block, ref at, "column length");
            if (length > (ulong)(block.Length - at)) Fail($"column {c} claims {length} bytes, {block.Length - at} are left", lengthAt);
            var chunk = block.Slice(at, (int)length);
            if (ChunkEncoder.PeekCount(chunk) != count) Fail($"column {c} holds {ChunkEncoder.PeekCount(chunk)} buckets, the block {count}", at);
            columns[c] = new double[count];
            ChunkEncoder.Decode(chunk, c == 0 ? starts : ts, columns[c]);
            if (c > 0)
            {
                for (int i = 0; i < count; i++)
                {
                    if (ts[i] != i) { Fail($"column {c} is not indexed 0 to {count - 1} (bucket {i} has {ts[i]})", at); break; }
                }
            }
            at += (int)length;
        }
        if (at != block.Length) Fail($"{block.Length - at} bytes after the last column", at);
        for (int i = 0; i < count; i++)
        {
            double rawCount = columns[3][i];
            if (rawCount < 1 || rawCount != Math.Floor(rawCount) || rawCount > long.MaxValue)
                Fail($"bucket {i} has a count of {rawCount}", 0);
            buckets.Add(new RollupBucket(starts[i], columns[0][i], columns[1][i], columns[2][i], (long)rawCount, columns[4][i]));
        }
        return count;
    }

    /// <summary>
    /// Buckets of <paramref name="level"/> ms (aligned to multiples of it since 1970) of points
    /// oldest first, appended to <paramref name="buckets"/>.
    /// </summary>
    /// <param name="decimals">when at least 0, every value has at most this many decimals: the sums are
    /// rounded to as many, so that they stay short decimals for the chunk codec's integer form (a float
    /// sum of 0.1-steps drifts to 12.300000000000002, which would cost 64 bits where 7 do).</param>
    public static void Summarise(ReadOnlySpan<long> ts, ReadOnlySpan<double> values, long level, List<RollupBucket> buckets, int decimals = -1)
    {
        int i = 0;
        while (i < ts.Length)
        {
            long start = ts[i] - Mod(ts[i], level);
            double min = double.MaxValue, max = double.MinValue, sum = 0, last = 0;
            long n = 0;
            for (; i < ts.Length && ts[i] < start + level; i++)
            {
                double v = values[i];
                if (v < min) min = v;
                if (v > max) max = v;
                sum += v;
                last = v;
                n++;
            }
            if (decimals >= 0) sum = Math.Round(sum, decimals);
            buckets.Add(new RollupBucket(start, min, max, sum, n, last));
        }

        static long Mod(long t, long m) => ((t % m) + m) % m;
    }

    /// <summary>A corrupt block: what, and at which byte.</summary>
    private static void Fail(string message, int byteOffset) => ChunkFormatException.Throw(message, byteOffset * 8L);
}
