using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Forwarding.RemoteWrite;

/// <summary>One series of a remote_write request: its labels (sorted by name, <c>__name__</c> among them) and samples in time order.</summary>
public sealed class RemoteSeries(KeyValuePair<string, string>[] labels)
{
    public KeyValuePair<string, string>[] Labels { get; } = labels;
    public List<long> Timestamps { get; } = [];
    public List<double> Values { get; } = [];
}

/// <summary>
/// Prometheus remote_write 1.0's <c>WriteRequest</c> protobuf (prompb/remote.proto and
/// types.proto), written by hand: <c>timeseries = 1</c> of <c>labels = 1</c> (<c>name = 1</c>,
/// <c>value = 2</c>) and <c>samples = 2</c> (<c>double value = 1</c>, <c>int64 timestamp = 2</c>).
/// Sizes are computed first so every message is written once, front to back. Pure.
/// </summary>
public static class WriteRequestEncoder
{
    /// <summary>Writes the request for <paramref name="series"/> to <paramref name="output"/>.</summary>
    public static void Write(IReadOnlyList<RemoteSeries> series, IBufferWriter<byte> output)
    {
        foreach (var s in series)
        {
            if (s.Timestamps.Count == 0) continue;
            long size = SeriesSize(s);
            var span = output.GetSpan((int)Math.Min(int.MaxValue, size + 11));
            int o = 0;
            span[o++] = 0x0A; // timeseries, length-delimited
            o += Varint.Write(span[o..], (ulong)size);
            foreach (var (name, value) in s.Labels)
            {
                span[o++] = 0x0A; // labels
                o += Varint.Write(span[o..], (ulong)LabelSize(name, value));
                o += WriteString(span[o..], 0x0A, name);
                o += WriteString(span[o..], 0x12, value);
            }
            for (int i = 0; i < s.Timestamps.Count; i++)
            {
                span[o++] = 0x12; // samples
                o += Varint.Write(span[o..], (ulong)SampleSize(s.Timestamps[i]));
                span[o++] = 0x09; // value, fixed64
                BinaryPrimitives.WriteDoubleLittleEndian(span[o..], s.Values[i]);
                o += 8;
                span[o++] = 0x10; // timestamp, varint
                o += Varint.Write(span[o..], (ulong)s.Timestamps[i]);
            }
            output.Advance(o);
        }
    }

    private static long SeriesSize(RemoteSeries s)
    {
        long size = 0;
        foreach (var (name, value) in s.Labels)
        {
            int label = LabelSize(name, value);
            size += 1 + Varint.Size((ulong)label) + label;
        }
        foreach (long t in s.Timestamps)
        {
            int sample = SampleSize(t);
            size += 1 + Varint.Size((ulong)sample) + sample;
        }
        return size;
    }

    private static int LabelSize(string name, string value)
    {
        int n = Encoding.UTF8.GetByteCount(name), v = Encoding.UTF8.GetByteCount(value);
        return 1 + Varint.Size((ulong)n) + n + 1 + Varint.Size((ulong)v) + v;
    }

    private static int SampleSize(long timestamp) => 1 + 8 + 1 + Varint.Size((ulong)timestamp);

    private static int WriteString(Span<byte> span, byte tag, string text)
    {
        span[0] = tag;
        int n = Encoding.UTF8.GetByteCount(text);
        int o = 1 + Varint.Write(span[1..], (ulong)n);
        return o + Encoding.UTF8.GetBytes(text, span[o..]);
    }
}
