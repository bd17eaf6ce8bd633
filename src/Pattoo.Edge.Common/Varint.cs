namespace Pattoo.Edge.Common;

/// <summary>
/// Unsigned LEB128 varints and zigzag, as protobuf, snappy, the head log, chunks and the
/// forward cursor write them. One implementation for all of them.
/// </summary>
public static class Varint
{
    /// <summary>Bytes <see cref="Write"/> takes for <paramref name="value"/>.</summary>
    public static int Size(ulong value) => (System.Numerics.BitOperations.Log2(value | 1) * 9 + 73) >> 6; // ceil(bits / 7), no loop

    /// <summary>Writes <paramref name="value"/>; returns the bytes written (at most 10).</summary>
    public static int Write(Span<byte> span, ulong value)
    {
        int n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[n++] = (byte)value;
        return n;
    }

    /// <summary>Reads a varint at <paramref name="at"/>; false when it is cut off or longer than 64 bits.</summary>
    public static bool TryRead(ReadOnlySpan<byte> span, ref int at, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (at >= span.Length) return false;
            byte b = span[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return shift < 63 || b <= 1;
        }
        return false;
    }

    /// <summary>Signed to unsigned so small magnitudes stay short: 0, -1, 1, -2 ... as 0, 1, 2, 3 ...</summary>
    public static ulong ZigZag(long x) => (ulong)((x << 1) ^ (x >> 63));

    public static long UnZigZag(ulong z) => (long)(z >> 1) ^ -(long)(z & 1);
}
