// Compressed chunk format, versions 1 and 2 (see README.md beside this file for the reasoning and measurements).
//
// Version 2 is version 1 with per-chunk bucket tables (BucketTable.cs): after the first value come a
// table for the timestamp fields (N >= 3) and one for the integer value fields (integer codec, N >= 2),
// and the fields use them instead of the fixed buckets below. The encoder writes whichever version is
// smaller; the decoder reads both. Version 1:
//
// A chunk holds N >= 1 points (timestamp in Unix ms, float64 value) of one series. Timestamps are
// strictly increasing; any long is allowed (negative ones too), differences use 64-bit wrap-around
// arithmetic, so the whole long range round-trips. Byte layout:
//
//   byte 0        header: high nibble = format version (1); low nibble = flags
//                   0x01 XOR      values use the Gorilla XOR codec; clear = integer codec
//                   0x02 DOD      integer codec stores delta-of-delta; clear = delta   (0 with XOR)
//                   0x04 SCALED   a scale byte follows; integer n stands for n / 10^scale (0 with XOR)
//                   0x08          reserved, 0
//   [byte]        scale, 1..15, only with SCALED
//   varint        N, the point count (LEB128: 7 bits a byte, low group first, high bit = more)
//   varint        zigzag(t0), the first timestamp
//   varint        t[N-1] - t0 (> 0), only if N >= 2 (the chunk's range without decoding it)
//   varint        t1 - t0 (> 0), the first delta, only if N >= 2
//   first value   integer codec: varint zigzag(n0); XOR codec: 8 bytes, IEEE-754 bits big-endian
//   bit stream    MSB-first, for each point i = 1 .. N-1 in order:
//                   timestamp field (only for i >= 2): zigzag(dod), dod = (t[i]-t[i-1]) - (t[i-1]-t[i-2])
//                   value field
//                 then zero bits to the byte boundary, which is the end of the chunk.
//
// Bucketed integers ("zigzag buckets"): a prefix of j one-bits ends with a 0 bit, except in the last
// bucket, whose prefix is all ones without the 0. Bucket j then holds P[j] bits of the zigzag value
// (zigzag(x) = (x << 1) ^ (x >> 63): 0, -1, 1, -2, ...); bucket 0 has P = 0 and stands for 0.
//   timestamps  P = 0, 9, 10, 14, 20, 32, 64  ('0' | '10'+9 | '110'+10 | '1110'+14 | '11110'+20 | '111110'+32 | '111111'+64)
//               Gorilla's 7/9/12 bits suit second stamps; with 0-250 ms jitter the dod spreads over
//               +-500 ms, which the 9- and 10-bit buckets hold (11.3 bits a stamp vs 11.9 for Gorilla's).
//   integers    P = 0, 5, 8, 11, 14, 17, 20, 23, 26, 32, 48, 64 (prefixes '0', '10', ..., ten ones + '0', eleven ones)
//
// Value field, integer codec: bucketed zigzag of the delta n[i] - n[i-1] (or, with DOD, of the change in
// that delta, the delta before point 1 being 0). Decoded n must lie in [-2^53, 2^53 - 1]; the value is
// (double)n, or n / 10^scale with SCALED (an IEEE division, correctly rounded, so exact on every platform;
// the encoder only picks a scale under which every value comes back bit-exactly), except that
// n = -2^53 stands for -0.0, so that a stray negative zero (Math.Round(-0.001, 2)) keeps a chunk integer.
// The encoder uses the integer codec when every value qualifies and it makes the smaller chunk
// (it sizes delta, delta-of-delta and XOR exactly and keeps the smallest); otherwise XOR.
//
// Value field, XOR codec (Gorilla, VLDB 2015): x = bits(v[i]) ^ bits(v[i-1]);
//   '0'                      x == 0
//   '10' + L bits            the meaningful bits of x within the current window (L = window length)
//   '11' + 5 bits lead (0..31) + 6 bits length (1..64, 64 as 0) + that many bits: a new window
// The window starts as lead 0, length 64; lead is min(leading zeros, 31). The encoder reuses the window
// when x fits it (no fewer leading and trailing zeros) and that takes no more bits than a new window, as
// Facebook's Beringei does: always reusing a fitting window never narrows the 64-bit start window
// (66 bits a value on a smooth float random walk, against 50.8 with this rule; README.md).
//
// The count is checked against the chunk's size before anything is decoded (each point after the
// first takes at least 2 bits, point 1 at least 1), the decoded timestamps must rise and end at
// t0 + range, and the chunk must end exactly after the padding; any violation is a ChunkFormatException.

using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pattoo.Edge.Storage.Encoding;

/// <summary>
/// Encodes a series' points into one compressed chunk and decodes them again. Pure and thread-safe.
/// The format is described at the top of this file and in README.md beside it.
/// </summary>
public static class ChunkEncoder
{
    /// <summary>The format version written in the high nibble of the first byte.</summary>
    public const int FormatVersion = 2;

    /// <summary>
    /// The most points a version 2 chunk may hold when its tables let every field take 0 bits (a
    /// constant series at exact intervals): the size then bounds nothing, so this does, against a
    /// corrupt count that would make a reader allocate without limit.
    /// </summary>
    public const int MaxPointsWithoutBits = 65_536;

    /// <summary>The most scratch longs an encode borrows from the shared pool (above that it allocates).</summary>
    private const int PooledScratch = 1 << 16;

    /// <summary>Largest decimal scale the integer codec uses (values n / 10^15).</summary>
    public const int MaxScale = 15;

    private const int FlagXor = 0x01;
    private const int FlagDod = 0x02;
    private const int FlagScaled = 0x04;
    private const int FlagReserved = 0x08;

    private const double IntLimit = 9007199254740992.0; // 2^53
    private const long IntMax = (1L << 53) - 1;
    private const long NegativeZero = -(1L << 53);      // the integer codec's n for -0.0
    private const long NegativeZeroBits = long.MinValue; // BitConverter.DoubleToInt64Bits(-0.0)

    // Bucket tables (see the format comment above). Index = bucket, value = payload bits.
    private static ReadOnlySpan<byte> TsPayload => [0, 9, 10, 14, 20, 32, 64];
    private static ReadOnlySpan<byte> TsPrefixLength => [1, 2, 3, 4, 5, 6, 6];
    private const int TsLastBucket = 6;

    private static ReadOnlySpan<byte> IntPayload => [0, 5, 8, 11, 14, 17, 20, 23, 26, 32, 48, 64];
    private static ReadOnlySpan<byte> IntPrefixLength => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11];
    private const int IntLastBucket = 11;

    // An array, not a ReadOnlySpan<double> property: unoptimized (Debug) code allocates for the latter.
    private static readonly double[] Pow10 =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    // Encoder lookups by the bit width of a zigzag value (0..64).
    private static readonly BucketCode[] TsCodes = BuildCodes(TsPayload, TsPrefixLength);
    private static readonly BucketCode[] IntCodes = BuildCodes(IntPayload, IntPrefixLength);

    /// <summary>
    /// Encodes the points into one chunk. <paramref name="timestampsMs"/> must be strictly increasing
    /// (any long, Unix ms); both spans must have the same length of at least 1.
    /// Allocates only the returned array.
    /// </summary>
    /// <exception cref="ArgumentException">Empty input, different lengths, or timestamps not strictly increasing.</exception>
    /// <param name="fitTables">false: write version 1 without trying version 2's tables, for
    /// short-lived chunks where encoding time matters more than a few bytes (the head's segments).</param>
    public static byte[] Encode(ReadOnlySpan<long> timestampsMs, ReadOnlySpan<double> values, bool fitTables = true)
    {
        int count = timestampsMs.Length;
        if (count == 0) throw new ArgumentException("A chunk needs at least one point.", nameof(timestampsMs));
        if (values.Length != count)
        {
            throw new ArgumentException(
                $"{values.Length} values were given for {count} timestamps; the lengths must be equal.", nameof(values));
        }
        for (int i = 1; i < count; i++)
        {
            if (timestampsMs[i] <= timestampsMs[i - 1])
            {
                throw new ArgumentException(
                    $"Timestamps must be strictly increasing: [{i - 1}] = {timestampsMs[i - 1]}, [{i}] = {timestampsMs[i]}.",
                    nameof(timestampsMs));
            }
        }

        long[]? rented = null, largeScratch = null;
        try
        {
            // Version 2's streams: the timestamps' delta-of-delta and the integer values' deltas and
            // their changes (when the values are integers or short decimals).
            int streamLength = Math.Max(count - 1, 0);
            // Chunks of a usual seal (hundreds of points) borrow; a chunk of an import (a million
            // points) allocates, so that the pool does not keep its tens of megabytes for good.
            int scratch = 3 * streamLength + 1;
            if (scratch <= PooledScratch) rented = ArrayPool<long>.Shared.Rent(scratch);
            else largeScratch = new long[scratch];
            long[] streams = rented ?? largeScratch!;
            Span<long> tsDods = streams.AsSpan(0, Math.Max(count - 2, 0));
            Span<long> deltas = streams.AsSpan(streamLength, streamLength);
            Span<long> dods = streams.AsSpan(2 * streamLength, streamLength);
            for (int i = 2; i < count && fitTables; i++) tsDods[i - 2] = unchecked((timestampsMs[i] - timestampsMs[i - 1]) - (timestampsMs[i - 1] - timestampsMs[i - 2]));

            ValuePlan plan = ChooseValueCodec(values, deltas, dods);
            var v2 = new ValuePlan { Xor = true, Bits = plan.XorBits, Scale = 0 };
            BucketTable tsTable = default;
            long tsBits2 = 0;
            int tables = 0;
            if (count >= 3 && fitTables)
            {
                tsTable = BucketTable.Choose(tsDods, out tsBits2);
                tables += tsTable.HeaderBytes;
            }
            BucketTable valueTable = default;
            if (plan.IntScale >= 0 && count >= 2 && fitTables)
            {
                var deltaTable = BucketTable.Choose(deltas, out long deltaBits);
                var dodTable = BucketTable.Choose(dods, out long dodBits);
                bool useDod = dodBits + 8L * dodTable.HeaderBytes < deltaBits + 8L * deltaTable.HeaderBytes;
                valueTable = useDod ? dodTable : deltaTable;
                long intBits = useDod ? dodBits : deltaBits;
                long intTotal = intBits + 8L * (valueTable.HeaderBytes + VarintLength(ZigZag(plan.FirstInt)) + (plan.IntScale > 0 ? 1 : 0));
                if (intTotal <= plan.XorBits + 64)
                {
                    v2 = new ValuePlan { Xor = false, Dod = useDod, Scale = plan.IntScale, FirstInt = plan.FirstInt, Bits = intBits };
                    tables += valueTable.HeaderBytes;
                }
            }

            long t0 = timestampsMs[0];
            int commonBytes = 1 + VarintLength((ulong)count) + VarintLength(ZigZag(t0));
            if (count >= 2)
            {
                commonBytes += VarintLength(unchecked((ulong)(timestampsMs[count - 1] - t0)));
                commonBytes += VarintLength(unchecked((ulong)(timestampsMs[1] - t0)));
            }
            long total1 = commonBytes + ValueHeaderBytes(plan) + ((TimestampBits(timestampsMs) + plan.Bits + 7) >> 3);
            long total2 = commonBytes + ValueHeaderBytes(v2) + tables + ((tsBits2 + v2.Bits + 7) >> 3);
            // A version 2 chunk whose fields can all take 0 bits is bounded in length (see MaxPointsWithoutBits).
            int minBits2 = (count >= 3 ? tsTable.MinBits : 0) + (v2.Xor ? 1 : valueTable.MinBits);
            bool useV2 = fitTables && total2 < total1 && (minBits2 > 0 || count <= MaxPointsWithoutBits);
            long total = useV2 ? total2 : total1;
            if (total > Array.MaxLength) throw new ArgumentException("The chunk would exceed the largest array.", nameof(values));
            if (useV2) plan = v2;

            byte[] output = new byte[total];
            var w = new BitWriter(output);
            try
            {
                int flags = (plan.Xor ? FlagXor : 0) | (plan.Dod ? FlagDod : 0) | (plan.Scale > 0 ? FlagScaled : 0);
                w.WriteByte((byte)(((useV2 ? FormatVersion : 1) << 4) | flags));
                if (plan.Scale > 0) w.WriteByte((byte)plan.Scale);
                w.WriteVarint((ulong)count);
                w.WriteVarint(ZigZag(t0));
                if (count >= 2)
                {
                    w.WriteVarint(unchecked((ulong)(timestampsMs[count - 1] - t0)));
                    w.WriteVarint(unchecked((ulong)(timestampsMs[1] - t0)));
                }
                if (plan.Xor) w.WriteBits((ulong)BitConverter.DoubleToInt64Bits(values[0]), 64);
                else w.WriteVarint(ZigZag(plan.FirstInt));
                if (useV2)
                {
                    if (count >= 3) tsTable.WriteHeader(ref w);
                    if (!plan.Xor) valueTable.WriteHeader(ref w);
                    if (plan.Xor) WriteXorStream(ref w, timestampsMs, values, true, tsTable, tsDods);
                    else WriteTabled(ref w, tsTable, tsDods, valueTable, plan.Dod ? dods : deltas);
                }
                else if (plan.Xor)
                {
                    WriteXorStream(ref w, timestampsMs, values, false, default, default);
                }
                else
                {
                    WriteIntStream(ref w, timestampsMs, values, plan.Scale, plan.Dod);
                }
                int written = w.Complete().Length;
                if (!w.IsOnInitialBuffer || written != output.Length)
                {
                    throw new InvalidOperationException(
                        $"Chunk size mismatch: planned {output.Length} bytes, wrote {written}.");
                }
            }
            finally
            {
                w.Dispose();
            }
            return output;
        }
        finally
        {
            if (rented is not null) ArrayPool<long>.Shared.Return(rented);
        }
    }

    private static int ValueHeaderBytes(in ValuePlan plan) =>
        plan.Xor ? 8 : (plan.Scale > 0 ? 1 : 0) + VarintLength(ZigZag(plan.FirstInt));

    /// <summary>Version 2's integer stream: each point's timestamp field (from point 2) and value field, through the chunk's tables.</summary>
    private static void WriteTabled(ref BitWriter w, in BucketTable tsTable, ReadOnlySpan<long> tsDods, in BucketTable valueTable, ReadOnlySpan<long> valueFields)
    {
        Span<BucketCode> tsCodes = stackalloc BucketCode[65];
        Span<BucketCode> valueCodes = stackalloc BucketCode[65];
        if (tsDods.Length > 0) tsTable.FillCodes(tsCodes);
        valueTable.FillCodes(valueCodes);
        for (int i = 1; i <= valueFields.Length; i++)
        {
            if (i >= 2) WriteBucketed(ref w, tsCodes, tsTable.Transform(tsDods[i - 2]));
            WriteBucketed(ref w, valueCodes, valueTable.Transform(valueFields[i - 1]));
        }
    }

    /// <summary>
    /// Decodes a chunk, appending its points to <paramref name="timestamps"/> and <paramref name="values"/>;
    /// returns the number of points. On a <see cref="ChunkFormatException"/> both lists are left as they were.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> chunk, List<long> timestamps, List<double> values)
    {
        ArgumentNullException.ThrowIfNull(timestamps);
        ArgumentNullException.ThrowIfNull(values);
        Header h = ReadHeader(chunk);
        int oldTs = timestamps.Count, oldValues = values.Count;
        if ((long)oldTs + h.Count > Array.MaxLength || (long)oldValues + h.Count > Array.MaxLength)
        {
            throw new ArgumentException("The lists cannot hold that many more points.", nameof(timestamps));
        }
        CollectionsMarshal.SetCount(timestamps, oldTs + h.Count);
        CollectionsMarshal.SetCount(values, oldValues + h.Count);
        try
        {
            DecodeBody(chunk, in h,
                CollectionsMarshal.AsSpan(timestamps).Slice(oldTs, h.Count),
                CollectionsMarshal.AsSpan(values).Slice(oldValues, h.Count));
        }
        catch
        {
            CollectionsMarshal.SetCount(timestamps, oldTs);
            CollectionsMarshal.SetCount(values, oldValues);
            throw;
        }
        return h.Count;
    }

    /// <summary>
    /// Decodes a chunk into the start of <paramref name="timestamps"/> and <paramref name="values"/>, which
    /// must hold at least <see cref="PeekCount"/> points; returns the number of points. Allocates nothing.
    /// On a <see cref="ChunkFormatException"/> the spans' contents are unspecified.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> chunk, Span<long> timestamps, Span<double> values)
    {
        Header h = ReadHeader(chunk);
        if (timestamps.Length < h.Count || values.Length < h.Count)
        {
            throw new ArgumentException(
                $"The chunk holds {h.Count} points but the spans hold {timestamps.Length} timestamps and {values.Length} values.");
        }
        DecodeBody(chunk, in h, timestamps[..h.Count], values[..h.Count]);
        return h.Count;
    }

    /// <summary>
    /// The number of points in a chunk, read from its header (which is validated, and the count checked
    /// against the chunk's size), so that callers can size or rent buffers before <see cref="Decode(ReadOnlySpan{byte}, Span{long}, Span{double})"/>.
    /// </summary>
    public static int PeekCount(ReadOnlySpan<byte> chunk) => ReadHeader(chunk).Count;

    /// <summary>The first and last timestamps of a chunk, read from its header without decoding the points.</summary>
    public static int PeekRange(ReadOnlySpan<byte> chunk, out long firstTs, out long lastTs)
    {
        Header h = ReadHeader(chunk);
        firstTs = h.FirstTs;
        lastTs = h.LastTs;
        return h.Count;
    }

    // ------------------------------------------------------------------ encoding

    internal readonly struct BucketCode
    {
        public readonly ulong Prefix;      // prefix bits, right-aligned
        public readonly byte PrefixLength;
        public readonly byte PayloadLength;

        public BucketCode(ulong prefix, int prefixLength, int payloadLength)
        {
            Prefix = prefix;
            PrefixLength = (byte)prefixLength;
            PayloadLength = (byte)payloadLength;
        }

        public int TotalBits => PrefixLength + PayloadLength;
    }

    private static BucketCode[] BuildCodes(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> prefixLength)
    {
        var codes = new BucketCode[65];
        int last = payload.Length - 1;
        for (int width = 0; width <= 64; width++)
        {
            int j = 0;
            while (payload[j] < width) j++;
            // j ones, then a 0 unless j is the last bucket.
            ulong prefix = j < last ? ((1UL << j) - 1) << 1 : (1UL << j) - 1;
            codes[width] = new BucketCode(prefix, prefixLength[j], payload[j]);
        }
        return codes;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong ZigZag(long x) => (ulong)((x << 1) ^ (x >> 63));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long UnZigZag(ulong z) => (long)(z >> 1) ^ -(long)(z & 1);

    /// <summary>Bits needed for <paramref name="z"/> (0 for 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Width(ulong z) => 64 - BitOperations.LeadingZeroCount(z);

    internal static int VarintLength(ulong v) => Math.Max(1, (Width(v) + 6) / 7);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void WriteBucketed(ref BitWriter w, scoped ReadOnlySpan<BucketCode> codes, ulong z)
    {
        BucketCode c = codes[Width(z)];
        if (c.PayloadLength + c.PrefixLength <= 64)
        {
            w.WriteBits((c.Prefix << c.PayloadLength) | z, c.PrefixLength + c.PayloadLength);
        }
        else
        {
            w.WriteBits(c.Prefix, c.PrefixLength);
            w.WriteBits(z, c.PayloadLength);
        }
    }

    private static long TimestampBits(ReadOnlySpan<long> ts)
    {
        BucketCode[] codes = TsCodes;
        long bits = 0;
        unchecked
        {
            for (int i = 2; i < ts.Length; i++)
            {
                long dod = (ts[i] - ts[i - 1]) - (ts[i - 1] - ts[i - 2]);
                bits += codes[Width(ZigZag(dod))].TotalBits;
            }
        }
        return bits;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteTimestamp(ref BitWriter w, ReadOnlySpan<long> ts, int i)
    {
        if (i < 2) return;
        long dod = unchecked((ts[i] - ts[i - 1]) - (ts[i - 1] - ts[i - 2]));
        WriteBucketed(ref w, TsCodes, ZigZag(dod));
    }

    private struct ValuePlan
    {
        public bool Xor;
        public bool Dod;
        public int Scale;
        public long FirstInt;
        public long Bits;
        /// <summary>The XOR codec's bits, whichever codec is chosen.</summary>
        public long XorBits;
        /// <summary>The decimal scale every value has, or -1 when the integer codec cannot hold them.</summary>
        public int IntScale;
    }

    /// <summary>
    /// Picks version 1's value codec: the integer codec (delta or delta-of-delta, whichever is smaller) if every
    /// value is n / 10^k for one k in 0..15 with |n| &lt; 2^53 and comes back bit-exactly, unless Gorilla
    /// XOR would be smaller; otherwise XOR. Fills <paramref name="deltas"/> and <paramref name="dods"/>
    /// (n[i] - n[i-1] and its change, for i = 1 .. N-1) when the integer codec can hold the values.
    /// </summary>
    private static ValuePlan ChooseValueCodec(ReadOnlySpan<double> values, Span<long> deltas, Span<long> dods)
    {
        long xorBits = XorBits(values);
        var plan = new ValuePlan { Xor = true, Bits = xorBits, XorBits = xorBits, IntScale = -1 };
        int scale = FindScale(values);
        if (scale < 0) return plan;

        BucketCode[] codes = IntCodes;
        double div = Pow10[scale];
        long deltaBits = 0, dodBits = 0;
        long prevN = 0, prevDelta = 0;
        for (int i = 0; i < values.Length; i++)
        {
            if (!TryScaled(values[i], scale, div, out long n)) return plan; // scale did not hold for an earlier value
            if (i == 0)
            {
                plan.FirstInt = n;
            }
            else
            {
                long delta = unchecked(n - prevN);
                long dod = unchecked(delta - prevDelta);
                deltas[i - 1] = delta;
                dods[i - 1] = dod;
                deltaBits += codes[Width(ZigZag(delta))].TotalBits;
                dodBits += codes[Width(ZigZag(dod))].TotalBits;
                prevDelta = delta;
            }
            prevN = n;
        }
        plan.IntScale = scale;
        long intBits = Math.Min(deltaBits, dodBits);
        // Compare whole chunk sizes: the integer codec's first value is a varint, XOR's is 8 bytes.
        long intTotal = intBits + 8L * (VarintLength(ZigZag(plan.FirstInt)) + (scale > 0 ? 1 : 0));
        long xorTotal = plan.Bits + 64;
        if (intTotal <= xorTotal)
        {
            plan.Xor = false;
            plan.Dod = dodBits < deltaBits;
            plan.Scale = scale;
            plan.Bits = intBits;
        }
        return plan;
    }

    /// <summary>The fewest decimals (0..15) every value has as an exact n / 10^decimals with |n| &lt; 2^53, or -1.</summary>
    public static int DecimalScale(ReadOnlySpan<double> values) => FindScale(values);

    /// <summary>The smallest decimal scale at which every value is an exact n / 10^scale, or -1.</summary>
    private static int FindScale(ReadOnlySpan<double> values)
    {
        int scale = 0;
        double div = 1.0;
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            if (TryScaled(v, scale, div, out _)) continue;
            do
            {
                if (++scale > MaxScale) return -1;
                div = Pow10[scale];
            }
            while (!TryScaled(v, scale, div, out _));
        }
        return scale;
    }

    /// <summary>
    /// True if <paramref name="v"/> is exactly (bit for bit) n / 10^scale with |n| &lt; 2^53, or -0.0
    /// (n = <see cref="NegativeZero"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryScaled(double v, int scale, double div, out long n)
    {
        double x = scale == 0 ? v : v * div;
        if (!(Math.Abs(x) < IntLimit))
        {
            n = 0;
            return false;
        }
        if (BitConverter.DoubleToInt64Bits(v) == NegativeZeroBits)
        {
            n = NegativeZero;
            return true;
        }
        n = (long)Math.Round(x);
        double back = scale == 0 ? n : n / div;
        return BitConverter.DoubleToInt64Bits(back) == BitConverter.DoubleToInt64Bits(v) && n >= -IntMax && n <= IntMax;
    }

    private static void WriteIntStream(ref BitWriter w, ReadOnlySpan<long> ts, ReadOnlySpan<double> values, int scale, bool dod)
    {
        BucketCode[] codes = IntCodes;
        double div = Pow10[scale];
        TryScaled(values[0], scale, div, out long prevN);
        long prevDelta = 0;
        for (int i = 1; i < values.Length; i++)
        {
            WriteTimestamp(ref w, ts, i);
            TryScaled(values[i], scale, div, out long n);
            long delta = n - prevN;
            WriteBucketed(ref w, codes, ZigZag(dod ? delta - prevDelta : delta));
            prevDelta = delta;
            prevN = n;
        }
    }

    /// <summary>
    /// One XOR step: returns 0 (same value, 1 bit), 1 (x fits the window and reusing it is no dearer: reuse it) or 2 (new window, stored in
    /// <paramref name="lead"/>/<paramref name="length"/>), and the field's size in bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int XorStep(ulong x, ref int lead, ref int length, out int bits)
    {
        if (x == 0)
        {
            bits = 1;
            return 0;
        }
        int newLead = Math.Min(BitOperations.LeadingZeroCount(x), 31);
        int trail = BitOperations.TrailingZeroCount(x);
        int newLength = 64 - newLead - trail;
        if (newLead >= lead && trail >= 64 - lead - length && length <= newLength + 11)
        {
            bits = 2 + length;
            return 1;
        }
        lead = newLead;
        length = newLength;
        bits = 13 + newLength;
        return 2;
    }

    private static long XorBits(ReadOnlySpan<double> values)
    {
        long bits = 0;
        int lead = 0, length = 64;
        ulong prev = (ulong)BitConverter.DoubleToInt64Bits(values[0]);
        for (int i = 1; i < values.Length; i++)
        {
            ulong cur = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            XorStep(cur ^ prev, ref lead, ref length, out int b);
            bits += b;
            prev = cur;
        }
        return bits;
    }

    private static void WriteXorStream(ref BitWriter w, ReadOnlySpan<long> ts, ReadOnlySpan<double> values, bool tabled, in BucketTable tsTable, ReadOnlySpan<long> tsDods)
    {
        int lead = 0, length = 64;
        Span<BucketCode> tsCodes = stackalloc BucketCode[65];
        if (tabled && tsDods.Length > 0) tsTable.FillCodes(tsCodes);
        ulong prev = (ulong)BitConverter.DoubleToInt64Bits(values[0]);
        for (int i = 1; i < values.Length; i++)
        {
            if (!tabled) WriteTimestamp(ref w, ts, i);
            else if (i >= 2) WriteBucketed(ref w, tsCodes, tsTable.Transform(tsDods[i - 2]));
            ulong cur = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            ulong x = cur ^ prev;
            switch (XorStep(x, ref lead, ref length, out _))
            {
                case 0:
                    w.WriteBits(0, 1);
                    break;
                case 1:
                    w.WriteBits(0b10, 2);
                    w.WriteBits(x >> (64 - lead - length), length);
                    break;
                default:
                    w.WriteBits((0b11UL << 11) | ((ulong)(uint)lead << 6) | (uint)(length & 63), 13);
                    w.WriteBits(x >> (64 - lead - length), length);
                    break;
            }
            prev = cur;
        }
    }

    // ------------------------------------------------------------------ decoding

    private readonly struct Header
    {
        public readonly int Flags;
        public readonly int Scale;
        public readonly int Count;
        public readonly long FirstTs;
        public readonly long LastTs;
        public readonly long FirstDelta;
        public readonly long FirstInt;    // integer codec
        public readonly ulong FirstBits;  // XOR codec
        public readonly int StreamStart;  // byte offset of the bit stream
        public readonly bool Tabled;      // version 2: the fields use the chunk's own bucket tables
        public readonly BucketTable TsTable;
        public readonly BucketTable ValueTable;

        public Header(int flags, int scale, int count, long firstTs, long lastTs, long firstDelta,
            long firstInt, ulong firstBits, int streamStart, bool tabled = false, BucketTable tsTable = default, BucketTable valueTable = default)
        {
            Tabled = tabled;
            TsTable = tsTable;
            ValueTable = valueTable;
            Flags = flags;
            Scale = scale;
            Count = count;
            FirstTs = firstTs;
            LastTs = lastTs;
            FirstDelta = firstDelta;
            FirstInt = firstInt;
            FirstBits = firstBits;
            StreamStart = streamStart;
        }
    }

    private static Header ReadHeader(ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty) ChunkFormatException.Throw("empty chunk: no header byte", 0);
        int b0 = chunk[0];
        int version = b0 >> 4, flags = b0 & 0x0F;
        if (version != 1 && version != 2) ChunkFormatException.Throw($"unsupported chunk format version {version} (header byte 0x{b0:X2}); this build reads versions 1 and 2", 0);
        if ((flags & FlagReserved) != 0) ChunkFormatException.Throw($"reserved flag bit set in header byte 0x{b0:X2}", 4);
        if ((flags & FlagXor) != 0 && (flags & (FlagDod | FlagScaled)) != 0)
        {
            ChunkFormatException.Throw($"header byte 0x{b0:X2} combines the XOR codec with integer-codec flags", 4);
        }
        int pos = 1;
        int scale = 0;
        if ((flags & FlagScaled) != 0)
        {
            if (pos >= chunk.Length) ChunkFormatException.Throw("truncated: the scale byte is missing", pos * 8L);
            scale = chunk[pos];
            if (scale < 1 || scale > MaxScale) ChunkFormatException.Throw($"decimal scale {scale} is outside 1..{MaxScale}", pos * 8L);
            pos++;
        }

        int countPos = pos;
        ulong count = ReadVarint(chunk, ref pos, "point count");
        if (count == 0) ChunkFormatException.Throw("point count is 0", countPos * 8L);
        if (count > (ulong)Array.MaxLength) ChunkFormatException.Throw($"point count {count} is larger than any chunk can hold", countPos * 8L);

        long firstTs = UnZigZag(ReadVarint(chunk, ref pos, "first timestamp"));
        long lastTs = firstTs, firstDelta = 0;
        if (count >= 2)
        {
            int rangePos = pos;
            ulong range = ReadVarint(chunk, ref pos, "timestamp range");
            lastTs = unchecked(firstTs + (long)range);
            if (range < count - 1 || lastTs <= firstTs)
            {
                ChunkFormatException.Throw($"timestamp range {range} cannot hold {count} strictly increasing timestamps from {firstTs}", rangePos * 8L);
            }
            int deltaPos = pos;
            ulong delta = ReadVarint(chunk, ref pos, "first timestamp delta");
            if (delta == 0 || delta > range || (count == 2 && delta != range))
            {
                ChunkFormatException.Throw($"first timestamp delta {delta} does not fit the range {range} of {count} points", deltaPos * 8L);
            }
            firstDelta = (long)delta;
        }

        long firstInt = 0;
        ulong firstBits = 0;
        if ((flags & FlagXor) != 0)
        {
            if (chunk.Length - pos < 8) ChunkFormatException.Throw($"truncated: the first value needs 8 bytes, {chunk.Length - pos} left", pos * 8L);
            firstBits = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(chunk.Slice(pos, 8));
            pos += 8;
        }
        else
        {
            int valuePos = pos;
            firstInt = UnZigZag(ReadVarint(chunk, ref pos, "first value"));
            if (firstInt < NegativeZero || firstInt > IntMax) ChunkFormatException.Throw($"first value {firstInt} is outside [-2^53, 2^53-1]", valuePos * 8L);
        }

        BucketTable tsTable = default, valueTable = default;
        long streamBits;
        if (version == 2)
        {
            if (count >= 3) tsTable = BucketTable.Read(chunk, ref pos, "timestamp");
            if ((flags & FlagXor) == 0 && count >= 2) valueTable = BucketTable.Read(chunk, ref pos, "value");
            // Each field takes at least its table's narrowest code; fields that can take 0 bits bound the count instead.
            long tsMin = count >= 3 ? tsTable.MinBits : 0, valueMin = (flags & FlagXor) != 0 ? 1 : count >= 2 ? valueTable.MinBits : 0;
            streamBits = (chunk.Length - (long)pos) * 8;
            long minBits2 = count >= 2 ? ((long)count - 1) * valueMin + ((long)count - 2) * tsMin : 0;
            if (minBits2 > streamBits)
            {
                ChunkFormatException.Throw($"point count {count} needs at least {minBits2} bits but only {streamBits} follow the header", countPos * 8L);
            }
            if (tsMin + valueMin == 0 && count > MaxPointsWithoutBits)
            {
                ChunkFormatException.Throw($"point count {count} is more than the {MaxPointsWithoutBits} a chunk of 0-bit fields may hold", countPos * 8L);
            }
            return new Header(flags, scale, (int)count, firstTs, lastTs, firstDelta, firstInt, firstBits, pos, true, tsTable, valueTable);
        }

        // Every point after the first takes at least 2 bits (point 1 at least 1): bound the count by the size.
        streamBits = (chunk.Length - (long)pos) * 8;
        long minBits = 2 * (long)count - 3;
        if (count >= 2 && minBits > streamBits)
        {
            ChunkFormatException.Throw($"point count {count} needs at least {minBits} bits but only {streamBits} follow the header", countPos * 8L);
        }

        return new Header(flags, scale, (int)count, firstTs, lastTs, firstDelta, firstInt, firstBits, pos);
    }

    internal static ulong ReadVarint(ReadOnlySpan<byte> data, ref int pos, string field)
    {
        int start = pos;
        ulong result = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (pos >= data.Length) ChunkFormatException.Throw($"truncated in the {field} varint", pos * 8L);
            byte b = data[pos];
            if (shift == 63 && b > 1) ChunkFormatException.Throw($"the {field} varint overflows 64 bits", pos * 8L);
            pos++;
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                if (b == 0 && pos - start > 1) ChunkFormatException.Throw($"the {field} varint has a redundant zero byte", (pos - 1) * 8L);
                return result;
            }
        }
    }

    private static void DecodeBody(ReadOnlySpan<byte> chunk, in Header h, Span<long> ts, Span<double> values)
    {
        var r = new BitReader(chunk, h.StreamStart);
        if ((h.Flags & FlagXor) != 0) DecodeXor(ref r, in h, ts, values);
        else DecodeInt(ref r, in h, ts, values);
        if (h.Count >= 2 && ts[^1] != h.LastTs)
        {
            ChunkFormatException.Throw($"the last timestamp decodes as {ts[^1]} but the header says {h.LastTs}", r.Position);
        }
        r.ExpectEnd();
    }

    /// <summary>Reads one bucketed zigzag number (table-driven; one peek for all but the widest buckets).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long ReadBucketed(ref BitReader r, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> prefixLength, int lastBucket)
    {
        ulong w = r.Peek();
        if ((long)w >= 0)
        {
            r.Skip(1);
            return 0;
        }
        int j = Math.Min(BitOperations.LeadingZeroCount(~w), lastBucket);
        int pre = prefixLength[j];
        int p = payload[j];
        ulong z;
        if (pre + p <= BitReader.PeekBits)
        {
            z = (w << pre) >> (64 - p);
            r.Skip(pre + p);
        }
        else
        {
            r.Skip(pre);
            z = r.ReadBits(p);
        }
        return UnZigZag(z);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long NextTimestamp(ref BitReader r, ref long t, ref long delta, int i, in Header h)
    {
        long dod = h.Tabled ? h.TsTable.Read(ref r) : ReadBucketed(ref r, TsPayload, TsPrefixLength, TsLastBucket);
        long next;
        unchecked
        {
            delta += dod;
            next = t + delta;
        }
        if (next <= t) ThrowNotIncreasing(i, t, next, r.Position);
        t = next;
        return next;
    }

    private static void DecodeInt(ref BitReader r, in Header h, Span<long> ts, Span<double> values)
    {
        bool dod = (h.Flags & FlagDod) != 0;
        int scale = h.Scale;
        double div = Pow10[scale];
        long t = h.FirstTs, tDelta = h.FirstDelta;
        long n = h.FirstInt, nDelta = 0;
        ts[0] = t;
        values[0] = n == NegativeZero ? -0.0 : scale == 0 ? n : n / div;
        if (ts.Length == 1) return;
        values = values[..ts.Length];

        // Point 1: its timestamp delta is in the header.
        t = unchecked(t + tDelta);
        ts[1] = t;
        for (int i = 1; ; )
        {
            long v = h.Tabled ? h.ValueTable.Read(ref r) : ReadBucketed(ref r, IntPayload, IntPrefixLength, IntLastBucket);
            unchecked
            {
                if (dod) nDelta += v;
                else nDelta = v;
                n += nDelta;
            }
            double value = scale == 0 ? n : n / div;
            if ((ulong)(n + IntMax) > (ulong)(2 * IntMax)) value = OutOfRangeInt(i, n, r.Position);
            values[i] = value;
            if (++i >= ts.Length) break;
            ts[i] = NextTimestamp(ref r, ref t, ref tDelta, i, in h);
        }
    }

    private static void DecodeXor(ref BitReader r, in Header h, Span<long> ts, Span<double> values)
    {
        long t = h.FirstTs, tDelta = h.FirstDelta;
        ulong bits = h.FirstBits;
        int lead = 0, length = 64;
        ts[0] = t;
        values[0] = BitConverter.UInt64BitsToDouble(bits);
        if (ts.Length == 1) return;
        values = values[..ts.Length];

        t = unchecked(t + tDelta);
        ts[1] = t;
        for (int i = 1; ; )
        {
            ulong w = r.Peek();
            if ((long)w >= 0)
            {
                r.Skip(1); // '0': same value
            }
            else
            {
                int head;
                if ((w & (1UL << 62)) == 0)
                {
                    head = 2; // '10': reuse the window
                }
                else
                {
                    // '11' + 5 bits leading zeros + 6 bits length (64 stored as 0)
                    head = 13;
                    lead = (int)(w >> 57) & 31;
                    length = (int)(w >> 51) & 63;
                    if (length == 0) length = 64;
                    if (lead + length > 64) ThrowWindow(i, lead, length, r.Position);
                }
                ulong m;
                if (head + length <= BitReader.PeekBits)
                {
                    m = (w << head) >> (64 - length);
                    r.Skip(head + length);
                }
                else
                {
                    r.Skip(head);
                    m = r.ReadBits(length);
                }
                bits ^= m << (64 - lead - length);
            }
            values[i] = BitConverter.UInt64BitsToDouble(bits);
            if (++i >= ts.Length) break;
            ts[i] = NextTimestamp(ref r, ref t, ref tDelta, i, in h);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNotIncreasing(int i, long prev, long next, long bitPos) =>
        ChunkFormatException.Throw($"timestamp of point {i} decodes as {next}, not after {prev}", bitPos);

    /// <summary>An integer outside +-(2^53-1): -0.0 for <see cref="NegativeZero"/>, otherwise malformed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double OutOfRangeInt(int i, long n, long bitPos)
    {
        if (n == NegativeZero) return -0.0;
        ChunkFormatException.Throw($"integer value of point {i} decodes as {n}, outside [-2^53, 2^53-1]", bitPos);
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowWindow(int i, int lead, int length, long bitPos) =>
        ChunkFormatException.Throw($"XOR window of point {i} has {lead} leading zeros and {length} bits, more than 64", bitPos);
}
