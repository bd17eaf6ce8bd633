namespace Pattoo.Edge.Forwarding;

/// <summary>Unsigned LEB128 varints, as protobuf, snappy and the forward cursor write them.</summary>
internal static class Varint
{
    public static int Size(ulong value)
    {
        int n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }
        return n;
    }

    /// <summary>Writes <paramref name="value"/>; returns the bytes written (at most 10).</summary>
    public static int Write(Span<byte> span, ulong value)
    {
        int o = 0;
        while (value >= 0x80)
        {
            span[o++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[o++] = (byte)value;
        return o;
    }
}
