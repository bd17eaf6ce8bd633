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
/// A series' labels are encoded once (<see cref="EncodeLabels"/>) and kept by the sender; sizes
/// are computed first so every message is written once, front to back. Pure.
/// </summary>
public static class WriteRequestEncoder
{
    /// <summary>Writes the request for <paramref name="series"/> to <paramref name="output"/>.</summary>
    public static void Write(IReadOnlyList<RemoteSeries> series, IBufferWriter<byte> output)
    {
        foreach (var s in series)
            WriteSeries(output, EncodeLabels(s.Labels), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(s.Timestamps), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(s.Values));
    }

    /// <summary>A series' <c>labels</c> fields as they are written in each of its <c>TimeSeries</c> messages.</summary>
    public static byte[] EncodeLabels(KeyValuePair<string, string>[] labels)
    {
        int size = 0;
        foreach (var (name, value) in labels)
        {
            int label = LabelSize(name, value);
            size += 1 + Varint.Size((ulong)label) + label;
        }
        var bytes = new byte[size];
        int o = 0;
        foreach (var (name, value) in labels)
        {
            bytes[o++] = 0x0A; // labels
            o += Varint.Write(bytes.AsSpan(o), (ulong)LabelSize(name, value));
            o += WriteString(bytes.AsSpan(o), 0x0A, name);
            o += WriteString(bytes.AsSpan(o), 0x12, value);
        }
        return bytes;
    }

    /// <summary>Writes one <c>TimeSeries</c> (nothing when it has no samples).</summary>
    public static void WriteSeries(IBufferWriter<byte> output, ReadOnlySpan<byte> labels, ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values)
    {
        if (timestamps.IsEmpty) return;
        // A sample is 1 + 8 + 1 + the timestamp's varint, under its tag and a one-byte length.
        long size = labels.Length;
        foreach (long t in timestamps) size += 12 + Varint.Size((ulong)t);
        var span = output.GetSpan((int)Math.Min(int.MaxValue, size + 11));
        span[0] = 0x0A; // timeseries, length-delimited
        int o = 1 + Varint.Write(span[1..], (ulong)size);
        labels.CopyTo(span[o..]);
        o += labels.Length;
        for (int i = 0; i < timestamps.Length; i++)
        {
            ulong t = (ulong)timestamps[i];
            int tSize = Varint.Size(t);
            span[o] = 0x12; // samples
            span[o + 1] = (byte)(10 + tSize);
            span[o + 2] = 0x09; // value, fixed64
            BinaryPrimitives.WriteDoubleLittleEndian(span[(o + 3)..], values[i]);
            span[o + 11] = 0x10; // timestamp, varint
            o += 12 + Varint.Write(span[(o + 12)..], t);
        }
        output.Advance(o);
    }

    private static int LabelSize(string name, string value)
    {
        int n = Encoding.UTF8.GetByteCount(name), v = Encoding.UTF8.GetByteCount(value);
        return 1 + Varint.Size((ulong)n) + n + 1 + Varint.Size((ulong)v) + v;
    }

    private static int WriteString(Span<byte> span, byte tag, string text)
    {
        span[0] = tag;
        int n = Encoding.UTF8.GetByteCount(text);
        int o = 1 + Varint.Write(span[1..], (ulong)n);
        return o + Encoding.UTF8.GetBytes(text, span[o..]);
    }
}
