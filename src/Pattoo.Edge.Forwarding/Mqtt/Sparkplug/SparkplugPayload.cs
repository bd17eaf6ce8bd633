using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Forwarding.Mqtt.Sparkplug;

/// <summary>The Sparkplug B data types this box sends (Sparkplug 3.0, section 6.4.16).</summary>
public enum SparkplugDataType : uint
{
    UInt64 = 8,
    Double = 10,
    Boolean = 11,
    String = 12,
}

/// <summary>
/// One metric of a payload: a name (births, NDEATH) or an alias (data) or both, its timestamp,
/// and a value of <see cref="Type"/> (<see cref="Number"/> for Double, <see cref="Integer"/> for
/// UInt64, <see cref="Integer"/> != 0 for Boolean, <see cref="Text"/> for String); <see cref="IsNull"/>
/// when there is none yet.
/// </summary>
public readonly record struct SparkplugMetric(string? Name, ulong? Alias, long Timestamp, SparkplugDataType Type, double Number, ulong Integer,
    bool IsHistorical = false, bool IsNull = false, string? Text = null);

/// <summary>
/// The Sparkplug B <c>Payload</c> protobuf (sparkplug_b.proto of Sparkplug 3.0), written by
/// hand for what an edge node sends: <c>timestamp = 1</c>, <c>metrics = 2</c>, <c>seq = 3</c>;
/// a metric's <c>name = 1</c>, <c>alias = 2</c>, <c>timestamp = 3</c>, <c>datatype = 4</c>,
/// <c>is_historical = 5</c>, <c>is_null = 7</c>, <c>long_value = 11</c>, <c>double_value = 13</c>,
/// <c>boolean_value = 14</c>, <c>string_value = 15</c>. And one reading: whether an NCMD asks for a rebirth. Pure.
/// </summary>
public static class SparkplugPayload
{
    /// <summary>The metric of an NCMD that asks the edge node to publish its births again.</summary>
    public const string RebirthMetric = "Node Control/Rebirth";

    private static readonly byte[] RebirthName = Encoding.UTF8.GetBytes(RebirthMetric);

    /// <summary>Writes a payload; <paramref name="seq"/> null leaves it out (NDEATH).</summary>
    public static void Write(IBufferWriter<byte> output, long timestamp, ulong? seq, ReadOnlySpan<SparkplugMetric> metrics)
    {
        int size = 1 + Varint.Size((ulong)timestamp);
        foreach (var m in metrics)
        {
            int ms = MetricSize(m);
            size += 1 + Varint.Size((ulong)ms) + ms;
        }
        if (seq is { } s0) size += 1 + Varint.Size(s0);
        var span = output.GetSpan(size);
        int o = 0;
        span[o++] = 0x08; // timestamp
        o += Varint.Write(span[o..], (ulong)timestamp);
        foreach (var m in metrics)
        {
            span[o++] = 0x12; // metrics
            o += Varint.Write(span[o..], (ulong)MetricSize(m));
            if (m.Name is { } name)
            {
                span[o++] = 0x0A;
                int n = Encoding.UTF8.GetByteCount(name);
                o += Varint.Write(span[o..], (ulong)n);
                o += Encoding.UTF8.GetBytes(name, span[o..]);
            }
            if (m.Alias is { } alias)
            {
                span[o++] = 0x10;
                o += Varint.Write(span[o..], alias);
            }
            span[o++] = 0x18;
            o += Varint.Write(span[o..], (ulong)m.Timestamp);
            span[o++] = 0x20;
            o += Varint.Write(span[o..], (ulong)m.Type);
            if (m.IsHistorical)
            {
                span[o++] = 0x28;
                span[o++] = 1;
            }
            if (m.IsNull)
            {
                span[o++] = 0x38;
                span[o++] = 1;
                continue;
            }
            switch (m.Type)
            {
                case SparkplugDataType.Double:
                    span[o++] = 0x69; // double_value, fixed64
                    BinaryPrimitives.WriteDoubleLittleEndian(span[o..], m.Number);
                    o += 8;
                    break;
                case SparkplugDataType.UInt64:
                    span[o++] = 0x58; // long_value
                    o += Varint.Write(span[o..], m.Integer);
                    break;
                case SparkplugDataType.String:
                    span[o++] = 0x7A; // string_value
                    int length = Encoding.UTF8.GetByteCount(m.Text ?? "");
                    o += Varint.Write(span[o..], (ulong)length);
                    o += Encoding.UTF8.GetBytes(m.Text ?? "", span[o..]);
                    break;
                default:
                    span[o++] = 0x70; // boolean_value
                    span[o++] = m.Integer != 0 ? (byte)1 : (byte)0;
                    break;
            }
        }
        if (seq is { } s)
        {
            span[o++] = 0x18;
            o += Varint.Write(span[o..], s);
        }
        output.Advance(o);
    }

    private static int MetricSize(in SparkplugMetric m)
    {
        int size = 0;
        if (m.Name is { } name)
        {
            int n = Encoding.UTF8.GetByteCount(name);
            size += 1 + Varint.Size((ulong)n) + n;
        }
        if (m.Alias is { } alias) size += 1 + Varint.Size(alias);
        size += 1 + Varint.Size((ulong)m.Timestamp) + 1 + Varint.Size((ulong)m.Type);
        if (m.IsHistorical) size += 2;
        if (m.IsNull) return size + 2;
        if (m.Type == SparkplugDataType.String)
        {
            int n = Encoding.UTF8.GetByteCount(m.Text ?? "");
            return size + 1 + Varint.Size((ulong)n) + n;
        }
        return size + m.Type switch
        {
            SparkplugDataType.Double => 9,
            SparkplugDataType.UInt64 => 1 + Varint.Size(m.Integer),
            _ => 2,
        };
    }

    /// <summary>
    /// Whether <paramref name="payload"/> (an NCMD) sets <see cref="RebirthMetric"/> to true.
    /// Anything that is not a well-formed payload is not a request.
    /// </summary>
    public static bool IsRebirthRequest(ReadOnlySpan<byte> payload)
    {
        int at = 0;
        while (at < payload.Length)
        {
            if (!Varint.TryRead(payload, ref at, out ulong key)) return false;
            if (key == 0x12)
            {
                if (!ReadLength(payload, ref at, out int length)) return false;
                if (IsRebirthMetric(payload.Slice(at, length))) return true;
                at += length;
            }
            else if (!Skip(payload, ref at, (int)(key & 7))) return false;
        }
        return false;
    }

    private static bool IsRebirthMetric(ReadOnlySpan<byte> metric)
    {
        bool named = false, set = false;
        int at = 0;
        while (at < metric.Length)
        {
            if (!Varint.TryRead(metric, ref at, out ulong key)) return false;
            if (key == 0x0A)
            {
                if (!ReadLength(metric, ref at, out int length)) return false;
                named = metric.Slice(at, length).SequenceEqual(RebirthName);
                at += length;
            }
            else if (key == 0x70)
            {
                if (!Varint.TryRead(metric, ref at, out ulong value)) return false;
                set = value != 0;
            }
            else if (!Skip(metric, ref at, (int)(key & 7))) return false;
        }
        return named && set;
    }

    private static bool ReadLength(ReadOnlySpan<byte> span, ref int at, out int length)
    {
        length = 0;
        if (!Varint.TryRead(span, ref at, out ulong n) || n > (ulong)(span.Length - at)) return false;
        length = (int)n;
        return true;
    }

    private static bool Skip(ReadOnlySpan<byte> span, ref int at, int wireType)
    {
        switch (wireType)
        {
            case 0: return Varint.TryRead(span, ref at, out _);
            case 1: at += 8; return at <= span.Length;
            case 2:
                if (!ReadLength(span, ref at, out int length)) return false;
                at += length;
                return true;
            case 5: at += 4; return at <= span.Length;
            default: return false;
        }
    }
}
