using System.Numerics;
using System.Runtime.CompilerServices;

namespace Pattoo.Edge.Storage.Encoding;

/// <summary>Decoding: the header, then the timestamp and value fields of either codec.</summary>
public static partial class ChunkEncoder
{
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
        public readonly BucketTable ValueTable; // split floats: the sign and exponent table
        public readonly int Trailing;           // split floats: mantissa bits below the stored ones

        public Header(int flags, int scale, int count, long firstTs, long lastTs, long firstDelta,
            long firstInt, ulong firstBits, int streamStart, bool tabled = false, BucketTable tsTable = default, BucketTable valueTable = default, int trailing = 0)
        {
            Trailing = trailing;
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
        if ((flags & FlagSplit) != 0 && (version == 1 || (flags & FlagXor) == 0))
        {
            ChunkFormatException.Throw(version == 1 ? $"reserved flag bit set in header byte 0x{b0:X2}" : $"header byte 0x{b0:X2} sets split floats without the XOR codec", 4);
        }
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
            int trailing = 0;
            bool split = (flags & FlagSplit) != 0;
            if (split)
            {
                if (count < 2) ChunkFormatException.Throw("a chunk of one point has no split float stream", 4);
                valueTable = BucketTable.Read(chunk, ref pos, "sign and exponent");
                if (pos >= chunk.Length) ChunkFormatException.Throw("truncated: the mantissa's trailing-zero byte is missing", pos * 8L);
                trailing = chunk[pos];
                if (trailing > MantissaBits) ChunkFormatException.Throw($"split floats drop {trailing} trailing mantissa bits, more than {MantissaBits}", pos * 8L);
                pos++;
            }
            // Each field takes at least its table's narrowest code; fields that can take 0 bits bound the count instead.
            long tsMin = count >= 3 ? tsTable.MinBits : 0;
            long valueMin = split ? valueTable.MinBits + MantissaBits - trailing : (flags & FlagXor) != 0 ? 1 : count >= 2 ? valueTable.MinBits : 0;
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
            return new Header(flags, scale, (int)count, firstTs, lastTs, firstDelta, firstInt, firstBits, pos, true, tsTable, valueTable, trailing);
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
        if ((h.Flags & FlagSplit) != 0) DecodeSplit(ref r, in h, ts, values);
        else if ((h.Flags & FlagXor) != 0) DecodeXor(ref r, in h, ts, values);
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

    private static void DecodeSplit(ref BitReader r, in Header h, Span<long> ts, Span<double> values)
    {
        long t = h.FirstTs, tDelta = h.FirstDelta;
        int trailing = h.Trailing, mantissa = MantissaBits - trailing;
        ts[0] = t;
        values[0] = BitConverter.UInt64BitsToDouble(h.FirstBits);
        values = values[..ts.Length];
        t = unchecked(t + tDelta);
        ts[1] = t;
        for (int i = 1; ; )
        {
            long head = -h.ValueTable.Read(ref r);
            if ((ulong)head > 0xFFF) ThrowHead(i, head, r.Position);
            ulong m = r.ReadBits(mantissa);
            values[i] = BitConverter.UInt64BitsToDouble(((ulong)head << MantissaBits) | (m << trailing));
            if (++i >= ts.Length) break;
            ts[i] = NextTimestamp(ref r, ref t, ref tDelta, i, in h);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowHead(int i, long head, long bitPos) =>
        ChunkFormatException.Throw($"sign and exponent of point {i} decode as {head}, outside 0..4095", bitPos);

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
