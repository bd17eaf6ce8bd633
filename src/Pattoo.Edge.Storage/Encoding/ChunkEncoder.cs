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
//                   0x08          reserved, 0 (version 2: split floats, with XOR; README.md)
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
using System.Runtime.InteropServices;

namespace Pattoo.Edge.Storage.Encoding;

/// <summary>
/// Encodes a series' points into one compressed chunk and decodes them again. Pure and thread-safe.
/// The format is described at the top of this file and in README.md beside it.
/// </summary>
public static partial class ChunkEncoder
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

    internal const int FlagXor = 0x01;
    private const int FlagDod = 0x02;
    internal const int FlagScaled = 0x04;
    /// <summary>Version 2 with XOR only: split floats (sign and exponent through a bucket table, then the mantissa's bits); reserved in version 1.</summary>
    private const int FlagSplit = 0x08;
    private const int MantissaBits = 52;

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

            // Split floats: where XOR finds no shared bits to drop (noise, full-precision readings),
            // sign and exponent cost ~2 bits through a table and the mantissa its own bits, ~4 bits a
            // value less than XOR's prefixes and windows. Only when it makes the smaller chunk.
            BucketTable headTable = default;
            int trailing = 0;
            if (v2.Xor && count >= 2 && fitTables)
            {
                Span<long> heads = dods; // free: the integer codec was not chosen
                ulong any = 1UL << MantissaBits;
                for (int i = 1; i < count; i++)
                {
                    ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
                    heads[i - 1] = -(long)(bits >> MantissaBits); // offset form: the largest exponent costs least
                    any |= bits & ((1UL << MantissaBits) - 1);
                }
                var table = BucketTable.Choose(heads, out long headBits);
                int tz = BitOperations.TrailingZeroCount(any);
                long splitBits = headBits + (long)(count - 1) * (MantissaBits - tz);
                if (splitBits + 8L * (table.HeaderBytes + 1) < v2.Bits)
                {
                    headTable = table;
                    trailing = tz;
                    v2 = new ValuePlan { Xor = true, Split = true, Bits = splitBits };
                    tables += table.HeaderBytes + 1;
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
            int minBits2 = (count >= 3 ? tsTable.MinBits : 0) + (v2.Split ? headTable.MinBits + MantissaBits - trailing : v2.Xor ? 1 : valueTable.MinBits);
            bool useV2 = fitTables && total2 < total1 && (minBits2 > 0 || count <= MaxPointsWithoutBits);
            long total = useV2 ? total2 : total1;
            if (total > Array.MaxLength) throw new ArgumentException("The chunk would exceed the largest array.", nameof(values));
            if (useV2) plan = v2;

            byte[] output = new byte[total];
            var w = new BitWriter(output);
            try
            {
                int flags = (plan.Xor ? FlagXor : 0) | (plan.Dod ? FlagDod : 0) | (plan.Scale > 0 ? FlagScaled : 0) | (plan.Split ? FlagSplit : 0);
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
                    if (plan.Split)
                    {
                        headTable.WriteHeader(ref w);
                        w.WriteByte((byte)trailing);
                        WriteSplitStream(ref w, tsTable, tsDods, headTable, dods, values, trailing);
                    }
                    else if (plan.Xor) WriteXorStream(ref w, timestampsMs, values, true, tsTable, tsDods);
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

    /// <summary>Version 2's split floats: each point's timestamp field (from point 2), its sign and exponent field (<paramref name="heads"/>, as sized) through the table, then its mantissa without the chunk's common trailing zeros.</summary>
    private static void WriteSplitStream(ref BitWriter w, in BucketTable tsTable, ReadOnlySpan<long> tsDods, in BucketTable headTable, ReadOnlySpan<long> heads, ReadOnlySpan<double> values, int trailing)
    {
        Span<BucketCode> tsCodes = stackalloc BucketCode[65];
        Span<BucketCode> headCodes = stackalloc BucketCode[65];
        if (tsDods.Length > 0) tsTable.FillCodes(tsCodes);
        headTable.FillCodes(headCodes);
        int mantissa = MantissaBits - trailing;
        for (int i = 1; i < values.Length; i++)
        {
            if (i >= 2) WriteBucketed(ref w, tsCodes, tsTable.Transform(tsDods[i - 2]));
            WriteBucketed(ref w, headCodes, headTable.Transform(heads[i - 1]));
            ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            w.WriteBits((bits & ((1UL << MantissaBits) - 1)) >> trailing, mantissa);
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
}
