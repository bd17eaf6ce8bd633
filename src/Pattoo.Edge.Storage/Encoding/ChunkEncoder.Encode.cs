using System.Numerics;
using System.Runtime.CompilerServices;

namespace Pattoo.Edge.Storage.Encoding;

/// <summary>Encoding: choosing the value codec (decimal integers or XOR) and writing the fields.</summary>
public static partial class ChunkEncoder
{
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
    internal static ulong ZigZag(long x) => Common.Varint.ZigZag(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long UnZigZag(ulong z) => Common.Varint.UnZigZag(z);

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
        /// <summary>Version 2 only, with Xor: split floats (FlagSplit).</summary>
        public bool Split;
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
}
