using System.Numerics;
using System.Runtime.CompilerServices;

namespace Pattoo.Edge.Storage.Encoding;

/// <summary>
/// The per-chunk code of one stream of integers in chunk format version 2: up to four buckets of a
/// fixed bit width each, chosen for the stream's own values. Version 1's fixed tables spend 18 bits
/// on a counter's increment of 0..5000 (4 prefix bits, 14 payload bits) where 13 suffice, and a
/// bit on every exact timestamp; a table fitted to the chunk spends 13 and 0.
/// <para>
/// Layout: one byte <c>0000 0okk</c> (kk = buckets - 1, o = offset form), then each bucket's width
/// (0..64) as a byte in code order, then, in the offset form, <c>varint zigzag(offset)</c>. Bucket j's
/// code is j one-bits closed by a 0, except the last bucket's, which is all ones (a single bucket has
/// no code). The field is then the bucket's width of bits of u, where u = zigzag(x), or in the offset
/// form u = x - offset (x at least offset: a counter's increments need no sign bit). The encoder puts a
/// value in the narrowest bucket it fits.
/// </para>
/// </summary>
internal struct BucketTable
{
    public const int MaxBuckets = 4;
    private const int OffsetFlag = 0x04;

    private byte _count;
    private byte _w0, _w1, _w2, _w3;
    private bool _hasOffset;
    private long _offset;

    public readonly int Count => _count;
    public readonly bool HasOffset => _hasOffset;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly int Width(int j) => j switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 };

    private void SetWidth(int j, int width)
    {
        switch (j)
        {
            case 0: _w0 = (byte)width; break;
            case 1: _w1 = (byte)width; break;
            case 2: _w2 = (byte)width; break;
            default: _w3 = (byte)width; break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly int PrefixLength(int j) => _count == 1 ? 0 : j < _count - 1 ? j + 1 : _count - 1;

    /// <summary>The fewest bits any one field takes (0 when a bucket of width 0 has no code).</summary>
    public readonly int MinBits
    {
        get
        {
            int min = int.MaxValue;
            for (int j = 0; j < _count; j++) min = Math.Min(min, PrefixLength(j) + Width(j));
            return min;
        }
    }

    /// <summary>The table's bytes in the chunk header.</summary>
    public readonly int HeaderBytes => 1 + _count + (_hasOffset ? ChunkEncoder.VarintLength(ZigZag(_offset)) : 0);

    // ------------------------------------------------------------------ choosing

    /// <summary>
    /// The table that codes <paramref name="values"/> in the fewest bits, header included, and the
    /// stream's bits without the header. <paramref name="values"/> must not be empty.
    /// </summary>
    public static BucketTable Choose(ReadOnlySpan<long> values, out long streamBits)
    {
        Span<int> zigzagCounts = stackalloc int[65];
        Span<int> offsetCounts = stackalloc int[65];
        long min = long.MaxValue;
        foreach (long v in values)
        {
            zigzagCounts[Bits(ZigZag(v))]++;
            if (v < min) min = v;
        }
        foreach (long v in values) offsetCounts[Bits(unchecked((ulong)(v - min)))]++;

        var zigzag = Fit(zigzagCounts, values.Length, out long zigzagBits);
        var offset = Fit(offsetCounts, values.Length, out long offsetBits);
        offset._hasOffset = true;
        offset._offset = min;
        if (offsetBits + 8L * offset.HeaderBytes < zigzagBits + 8L * zigzag.HeaderBytes)
        {
            streamBits = offsetBits;
            return offset;
        }
        streamBits = zigzagBits;
        return zigzag;
    }

    /// <summary>
    /// The best table of 1 to 4 buckets for values whose bit widths have the given counts. Bucket
    /// widths are widths that occur (a wider bucket than its widest value only wastes bits); values go
    /// to the narrowest bucket that holds them, and the fullest buckets get the shortest codes.
    /// </summary>
    private static BucketTable Fit(ReadOnlySpan<int> counts, int n, out long bits)
    {
        Span<int> widths = stackalloc int[65];
        Span<long> below = stackalloc long[66]; // below[i]: values of widths[0..i)
        int distinct = 0;
        for (int w = 0; w <= 64; w++)
        {
            if (counts[w] == 0) continue;
            widths[distinct] = w;
            below[distinct + 1] = below[distinct] + counts[w];
            distinct++;
        }
        int top = distinct - 1;
        int max = widths[top];

        var best = new BucketTable { _count = 1, _w0 = (byte)max };
        bits = (long)n * max;
        if (distinct == 1) return best;

        // Two buckets: codes '0' and '1'.
        for (int a = 0; a < top; a++)
        {
            long g1 = below[a + 1], g2 = n - g1;
            long cost = g1 * widths[a] + g2 * max + n + 8; // + the header's extra width byte
            if (cost < bits)
            {
                bits = cost;
                best = new BucketTable { _count = 2, _w0 = (byte)widths[a], _w1 = (byte)max };
            }
        }
        // Three buckets: codes '0', '10', '11'; the fullest gets '0'.
        Span<long> g = stackalloc long[4];
        Span<int> bw = stackalloc int[4];
        for (int a = 0; a < top; a++)
        {
            for (int b = a + 1; b < top; b++)
            {
                g[0] = below[a + 1]; g[1] = below[b + 1] - below[a + 1]; g[2] = n - below[b + 1];
                bw[0] = widths[a]; bw[1] = widths[b]; bw[2] = max;
                long cost = g[0] * bw[0] + g[1] * bw[1] + g[2] * max + 2L * n - Math.Max(g[0], Math.Max(g[1], g[2])) + 16;
                if (cost < bits)
                {
                    bits = cost;
                    best = Ordered(g[..3], bw[..3]);
                }
            }
        }
        // Four buckets: codes '0', '10', '110', '111'. Only worth trying on longer streams.
        if (n >= 64)
        {
            for (int a = 0; a < top; a++)
            {
                for (int b = a + 1; b < top; b++)
                {
                    for (int c = b + 1; c < top; c++)
                    {
                        g[0] = below[a + 1]; g[1] = below[b + 1] - below[a + 1]; g[2] = below[c + 1] - below[b + 1]; g[3] = n - below[c + 1];
                        bw[0] = widths[a]; bw[1] = widths[b]; bw[2] = widths[c]; bw[3] = max;
                        long first = 0, second = 0;
                        for (int i = 0; i < 4; i++)
                        {
                            if (g[i] > first) { second = first; first = g[i]; }
                            else if (g[i] > second) second = g[i];
                        }
                        long cost = g[0] * bw[0] + g[1] * bw[1] + g[2] * bw[2] + g[3] * max + 3L * n - 2 * first - second + 24;
                        if (cost < bits)
                        {
                            bits = cost;
                            best = Ordered(g, bw);
                        }
                    }
                }
            }
        }
        // The header bytes were counted in the comparisons only; the caller adds them.
        bits -= 8L * (best._count - 1);
        return best;
    }

    /// <summary>A table of the buckets in code order: the fullest first (ties keep width order).</summary>
    private static BucketTable Ordered(ReadOnlySpan<long> groups, ReadOnlySpan<int> widths)
    {
        Span<int> order = stackalloc int[groups.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        for (int i = 1; i < order.Length; i++)
        {
            for (int j = i; j > 0 && groups[order[j]] > groups[order[j - 1]]; j--) (order[j], order[j - 1]) = (order[j - 1], order[j]);
        }
        var table = new BucketTable { _count = (byte)groups.Length };
        for (int j = 0; j < order.Length; j++) table.SetWidth(j, widths[order[j]]);
        return table;
    }

    // ------------------------------------------------------------------ writing

    public readonly void WriteHeader(ref BitWriter w)
    {
        w.WriteByte((byte)((_count - 1) | (_hasOffset ? OffsetFlag : 0)));
        for (int j = 0; j < _count; j++) w.WriteByte((byte)Width(j));
        if (_hasOffset) w.WriteVarint(ZigZag(_offset));
    }

    /// <summary>The field's number before its bucket: zigzag(x), or x - offset in the offset form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong Transform(long x) => _hasOffset ? unchecked((ulong)(x - _offset)) : ZigZag(x);

    /// <summary>
    /// Fills <paramref name="codes"/> (65 entries, by the bit width of a transformed number) with
    /// the code of the narrowest bucket that holds that width; widths no bucket holds get none
    /// (the encoder never writes them: the widest bucket is the stream's widest number).
    /// </summary>
    public readonly void FillCodes(Span<ChunkEncoder.BucketCode> codes)
    {
        for (int width = 0; width <= 64; width++)
        {
            int pick = -1, pickWidth = 65;
            for (int j = 0; j < _count; j++)
            {
                int bw = Width(j);
                if (bw >= width && bw < pickWidth) { pick = j; pickWidth = bw; }
            }
            if (pick < 0) { codes[width] = new ChunkEncoder.BucketCode(0, 64, 64); continue; }
            ulong prefix = pick < _count - 1 ? ((1UL << pick) - 1) << 1 : (1UL << pick) - 1;
            codes[width] = new ChunkEncoder.BucketCode(prefix, PrefixLength(pick), pickWidth);
        }
    }

    // ------------------------------------------------------------------ reading

    /// <summary>Reads a table from the chunk header at <paramref name="pos"/>.</summary>
    /// <exception cref="ChunkFormatException">the table is truncated or malformed.</exception>
    public static BucketTable Read(ReadOnlySpan<byte> chunk, ref int pos, string stream)
    {
        if (pos >= chunk.Length) ChunkFormatException.Throw($"truncated: the {stream} bucket table is missing", pos * 8L);
        int descriptor = chunk[pos];
        if ((descriptor & ~(OffsetFlag | 3)) != 0) ChunkFormatException.Throw($"the {stream} bucket table's first byte 0x{descriptor:X2} sets reserved bits", pos * 8L);
        pos++;
        var table = new BucketTable { _count = (byte)((descriptor & 3) + 1), _hasOffset = (descriptor & OffsetFlag) != 0 };
        for (int j = 0; j < table._count; j++)
        {
            if (pos >= chunk.Length) ChunkFormatException.Throw($"truncated in the {stream} bucket table", pos * 8L);
            int width = chunk[pos];
            if (width > 64) ChunkFormatException.Throw($"the {stream} bucket table gives bucket {j} {width} bits, more than 64", pos * 8L);
            table.SetWidth(j, width);
            pos++;
        }
        if (table._hasOffset) table._offset = UnZigZag(ChunkEncoder.ReadVarint(chunk, ref pos, stream == "timestamp" ? "timestamp offset" : "value offset"));
        return table;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long Read(ref BitReader r)
    {
        int j, pre;
        if (_count == 1)
        {
            j = 0;
            pre = 0;
        }
        else
        {
            ulong peek = r.Peek();
            j = Math.Min(BitOperations.LeadingZeroCount(~peek), _count - 1);
            pre = j < _count - 1 ? j + 1 : _count - 1;
            r.Skip(pre);
        }
        ulong u = r.ReadBits(Width(j));
        return _hasOffset ? unchecked(_offset + (long)u) : UnZigZag(u);
    }

    private static ulong ZigZag(long x) => ChunkEncoder.ZigZag(x);

    private static long UnZigZag(ulong z) => ChunkEncoder.UnZigZag(z);

    private static int Bits(ulong u) => ChunkEncoder.Width(u);
}
