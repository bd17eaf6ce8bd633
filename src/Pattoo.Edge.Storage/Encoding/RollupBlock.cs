using Pattoo.Edge.Common;
namespace Pattoo.Edge.Storage.Encoding;

/// <summary>One bucket of a rollup: the samples in [Start, Start + level) summarised.</summary>
public readonly record struct RollupBucket(long Start, double Min, double Max, double Sum, long Count, double Last);

/// <summary>
/// A block of rollup buckets of one series: pure codec, bytes in, buckets out. Format (version 2):
/// byte 0x12 (version 2, five columns), varint N (buckets, >= 1), then five columns, each
/// prefixed by its varint length. The first is a chunk of the chunk codec (<see cref="ChunkEncoder"/>)
/// with the bucket starts as timestamps and the minimums as values. The others are chunks of the
/// maximums, sums, counts and lasts with the bucket's index (0, 1, 2 ...) as timestamps, written
/// without the fields those indexes make known: the point count, first timestamp, range and first
/// delta, and (chunk version 2, N >= 3) the timestamp bucket table, 4-6 bytes a column. A reader puts
/// them back (<see cref="WithIndexFields"/>) and decodes the chunk, which checks everything else.
/// Version 1 (byte 0x11, still read) wrote those four as whole chunks: in a block of six hourly
/// buckets they were a fifth of its ~100 bytes.
/// Indexes cost nothing a bucket where a millisecond start would take seven in each; the values
/// get the codec's integer and decimal handling. Corrupt blocks raise <see cref="ChunkFormatException"/>, nothing else.
/// </summary>
public static class RollupBlock
{
    private const byte Version1 = 0x11, Version2 = 0x12;
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
        byte version = Version2;
        var columns = new byte[Columns][];
        columns[0] = chunks[0];
        for (int c = 1; c < Columns && version == Version2; c++)
        {
            columns[c] = WithoutIndexFields(chunks[c], buckets.Length)!;
            if (columns[c] is null) version = Version1; // not the form expected of index stamps: whole chunks, as version 1
        }
        if (version == Version1) columns = chunks;
        int size = 1 + ChunkEncoder.VarintLength((ulong)buckets.Length);
        foreach (var chunk in columns) size += ChunkEncoder.VarintLength((ulong)chunk.Length) + chunk.Length;
        var result = new byte[size];
        int at = 0;
        result[at++] = version;
        at += Varint.Write(result.AsSpan(at), (ulong)buckets.Length);
        foreach (var chunk in columns)
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
        if (block[0] is not (Version1 or Version2)) Fail($"unknown rollup block version byte 0x{block[0]:x2}", 0);
        bool indexFieldsLeftOut = block[0] == Version2;
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
            ReadOnlySpan<byte> chunk = block.Slice(at, (int)length);
            if (c > 0 && indexFieldsLeftOut) chunk = WithIndexFields(chunk, count, c, at);
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

    /// <summary>
    /// The fields a chunk of <paramref name="n"/> points stamped 0, 1, ... n - 1 has after its header
    /// byte (and scale byte): varint n, zigzag(0), then for n >= 2 the range n - 1 and the first delta 1.
    /// </summary>
    private static int IndexFields(int n, Span<byte> fields)
    {
        int length = Varint.Write(fields, (ulong)n);
        fields[length++] = 0;
        if (n >= 2)
        {
            length += Varint.Write(fields[length..], (ulong)(n - 1));
            fields[length++] = 1;
        }
        return length;
    }

    /// <summary>
    /// Where a column's first value ends, and the length of its header byte and scale byte, with
    /// the index fields left out (as stored) or in (<paramref name="fieldsLength"/>); -1 if cut off.
    /// </summary>
    private static int FirstValueEnd(ReadOnlySpan<byte> column, int fieldsLength, out int prefix)
    {
        prefix = (column[0] & ChunkEncoder.FlagScaled) != 0 ? 2 : 1;
        int at = prefix + fieldsLength;
        if ((column[0] & ChunkEncoder.FlagXor) != 0) at += 8;
        else if (!Varint.TryRead(column, ref at, out _)) return -1;
        return at <= column.Length ? at : -1;
    }

    /// <summary>Bytes of the timestamp table index stamps get: one bucket of width 0 in chunk version 2 from 3 points on.</summary>
    private static int IndexTableLength(byte header, int n) => header >> 4 == 2 && n >= 3 ? 2 : 0;

    /// <summary>
    /// <paramref name="chunk"/> (of index stamps) without its index fields and its timestamp table
    /// (two zero bytes); null if the chunk does not have that form.
    /// </summary>
    private static byte[]? WithoutIndexFields(byte[] chunk, int n)
    {
        Span<byte> fields = stackalloc byte[24];
        int fieldsLength = IndexFields(n, fields);
        int at = FirstValueEnd(chunk, fieldsLength, out int prefix);
        if (at < 0 || !chunk.AsSpan(prefix, fieldsLength).SequenceEqual(fields[..fieldsLength])) return null;
        int table = IndexTableLength(chunk[0], n);
        if (chunk.Length < at + table || chunk.AsSpan(at, table).ContainsAnyExcept((byte)0)) return null;
        var result = new byte[chunk.Length - fieldsLength - table];
        chunk.AsSpan(0, prefix).CopyTo(result);
        chunk.AsSpan(prefix + fieldsLength, at - prefix - fieldsLength).CopyTo(result.AsSpan(prefix));
        chunk.AsSpan(at + table).CopyTo(result.AsSpan(at - fieldsLength));
        return result;
    }

    /// <summary>A version 2 column as the chunk it stands for: the index fields and the timestamp table put back.</summary>
    private static byte[] WithIndexFields(ReadOnlySpan<byte> column, int n, int c, int offset)
    {
        if (column.IsEmpty) Fail($"column {c} is empty", offset);
        int at = FirstValueEnd(column, 0, out int prefix);
        if (at < 0) Fail($"column {c} ends inside its first value", offset + prefix);
        Span<byte> fields = stackalloc byte[24];
        int fieldsLength = IndexFields(n, fields);
        int table = IndexTableLength(column[0], n);
        var chunk = new byte[column.Length + fieldsLength + table];
        column[..prefix].CopyTo(chunk);
        fields[..fieldsLength].CopyTo(chunk.AsSpan(prefix));
        column[prefix..at].CopyTo(chunk.AsSpan(prefix + fieldsLength));
        // The table's bytes stay zero: one bucket of width 0.
        column[at..].CopyTo(chunk.AsSpan(at + fieldsLength + table));
        return chunk;
    }

    /// <summary>A corrupt block: what, and at which byte.</summary>
    private static void Fail(string message, int byteOffset) => ChunkFormatException.Throw(message, byteOffset * 8L);
}
