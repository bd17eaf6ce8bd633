using Pattoo.Edge.Common;

namespace Pattoo.Edge.Forwarding;

/// <summary>A cursor that cannot be read back (a damaged row): the forwarder starts over as configured.</summary>
public sealed class ForwardCursorException(string message) : Exception(message);

/// <summary>
/// What a destination acknowledged, per series: the newest timestamp sent. The store takes only
/// samples newer than a series' newest, so everything after it is unsent, whatever order
/// series arrive in (an agent's late post, a backlog). Stored as sorted (series, time) pairs,
/// deltas as varints: 3-4 bytes a series when the series move together. Pure.
/// </summary>
public static class ForwardCursor
{
    private const byte Version = 1;

    public static byte[] Encode(IReadOnlyDictionary<long, long> sent)
    {
        var keys = sent.Keys.Order().ToArray();
        var buffer = new byte[1 + 10 + keys.Length * 20];
        int o = 0;
        buffer[o++] = Version;
        o += Varint.Write(buffer.AsSpan(o), (ulong)keys.Length);
        long previousIdx = 0, previousTs = 0;
        foreach (long idx in keys)
        {
            long ts = sent[idx];
            o += Varint.Write(buffer.AsSpan(o), (ulong)(idx - previousIdx));
            long delta = unchecked(ts - previousTs);
            o += Varint.Write(buffer.AsSpan(o), Varint.ZigZag(delta));
            previousIdx = idx;
            previousTs = ts;
        }
        return buffer[..o];
    }

    /// <exception cref="ForwardCursorException">the bytes are not a cursor.</exception>
    public static Dictionary<long, long> Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2 || data[0] != Version) throw new ForwardCursorException($"cursor version {(data.Length == 0 ? "(empty)" : data[0].ToString(System.Globalization.CultureInfo.InvariantCulture))} is not {Version}");
        int i = 1;
        ulong count = ReadVarint(data, ref i);
        if (count > (ulong)data.Length) throw new ForwardCursorException($"the cursor claims {count} series in {data.Length} bytes");
        var sent = new Dictionary<long, long>((int)count);
        long idx = 0, ts = 0;
        for (ulong k = 0; k < count; k++)
        {
            ulong step = ReadVarint(data, ref i);
            if (step == 0 && k > 0 || step > long.MaxValue) throw new ForwardCursorException($"series {k} of the cursor is out of order");
            idx += (long)step;
            ulong z = ReadVarint(data, ref i);
            ts = unchecked(ts + Varint.UnZigZag(z));
            sent[idx] = ts;
        }
        if (i != data.Length) throw new ForwardCursorException($"{data.Length - i} bytes follow the cursor's last series");
        return sent;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int i)
        => Varint.TryRead(data, ref i, out ulong value) ? value : throw new ForwardCursorException("the cursor ends inside a number, or a number is longer than 64 bits");
}
