using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Storage.HeadLog;

/// <summary>One accepted sample as the head log keeps it.</summary>
public readonly record struct HeadSample(long Idx, long Timestamp, double Value);

/// <summary>
/// The head log's record: the samples of one commit, encoded for size, because every byte of it
/// is written to the SD card. Pure: bytes in, samples out, so it is tested and fuzzed on bytes.
/// <code>
/// u32 payload length | u64 generation | u32 CRC-32C of (generation, payload) | payload
/// payload: varint count, then per sample
///   varint zigzag(idx - previous idx)   (samples of one poll have neighbouring indexes)
///   varint zigzag(ts - previous ts)     (the first against 0; one poll shares its time)
///   value: varint (zigzag(mantissa) &lt;&lt; 2 | scale) for a value that is mantissa / 10^scale
///          with scale 0-2 and |mantissa| &lt; 2^50 (integers, counters, gauges to 0.01),
///          else varint 3 and the 8 bytes of the double, little-endian
/// </code>
/// That is version 1. Version 2 (a generation whose first page says <c>PEHEAD02</c>) codes each
/// sample against the one before it in the record and against its series' previous value in the
/// generation (<see cref="HeadRecordContext"/>), which halves what a poll writes:
/// <code>
/// payload: varint count, then per sample a byte 00vvvtii and what it calls for
///   ii   0: idx = previous idx + 1;  1: varint zigzag(idx - previous idx) follows
///   t    0: the previous sample's timestamp;  1: varint zigzag(ts - previous ts) follows
///   vvv  0: the series' previous value in this generation
///        1-3: varint zigzag(m - m') follows, value = m / 10^(vvv-1), m' the previous value's mantissa at that scale
///        4: the value as in version 1 (varint (zigzag(mantissa) &lt;&lt; 2 | scale), or 3 and 8 bytes)
/// </code>
/// A record whose length, generation or checksum does not match ends the log: that is where a
/// write was torn by a crash, or where the previous generation's bytes begin.
/// </summary>
public static class HeadRecord
{
    public const int HeaderSize = 16;
    /// <summary>Largest payload accepted on reading (a corrupt length must not allocate gigabytes).</summary>
    public const int MaxPayload = 64 * 1024 * 1024;

    private static readonly double[] Scales = [1, 10, 100];

    /// <summary>
    /// Appends one record of <paramref name="samples"/> to <paramref name="output"/>: version 2
    /// against <paramref name="context"/> (which it updates), or version 1 without one.
    /// </summary>
    public static void Write(IBufferWriter<byte> output, ulong generation, ReadOnlySpan<HeadSample> samples, HeadRecordContext? context = null)
    {
        // Worst case per sample: 1 + 10 + 10 + 1 + 8 bytes.
        int max = HeaderSize + 10 + samples.Length * 30;
        var span = output.GetSpan(max);
        int at = HeaderSize;
        at += Varint.Write(span[at..], (ulong)samples.Length);
        long previousIdx = 0, previousTs = 0;
        foreach (ref readonly var s in samples)
        {
            if (context is null)
            {
                at += Varint.Write(span[at..], ZigZag(s.Idx - previousIdx));
                at += Varint.Write(span[at..], ZigZag(s.Timestamp - previousTs));
                at += WriteValue(span[at..], s.Value);
            }
            else
            {
                int head = at++;
                int flags = 0;
                if (s.Idx != previousIdx + 1) { flags |= 1; at += Varint.Write(span[at..], ZigZag(s.Idx - previousIdx)); }
                if (s.Timestamp != previousTs) { flags |= 4; at += Varint.Write(span[at..], ZigZag(s.Timestamp - previousTs)); }
                ref double last = ref CollectionsMarshal.GetValueRefOrAddDefault(context.LastValues, s.Idx, out bool known);
                int valueMode = 4;
                if (known && BitConverter.DoubleToInt64Bits(last) == BitConverter.DoubleToInt64Bits(s.Value))
                {
                    valueMode = 0;
                }
                else if (known && TryMantissa(s.Value, out long m, out int scale) && TryMantissaAt(last, scale, out long previous))
                {
                    valueMode = 1 + scale;
                    at += Varint.Write(span[at..], ZigZag(m - previous));
                }
                if (valueMode == 4) at += WriteValue(span[at..], s.Value);
                last = s.Value;
                span[head] = (byte)(flags | valueMode << 3);
            }
            previousIdx = s.Idx;
            previousTs = s.Timestamp;
        }
        int payload = at - HeaderSize;
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)payload);
        BinaryPrimitives.WriteUInt64LittleEndian(span[4..], generation);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], Checksum(span.Slice(4, 8), span.Slice(HeaderSize, payload)));
        output.Advance(at);
    }

    /// <summary>
    /// Reads the record at the start of <paramref name="data"/> if it is whole, of
    /// <paramref name="generation"/> and intact; its samples go to <paramref name="into"/>.
    /// </summary>
    /// <returns>The record's length in bytes, or 0 where the log ends.</returns>
    /// <remarks>Version 2 records need the <paramref name="context"/> their generation was written with (it is updated).</remarks>
    public static int TryRead(ReadOnlySpan<byte> data, ulong generation, List<HeadSample> into, HeadRecordContext? context = null)
    {
        if (data.Length < HeaderSize) return 0;
        uint payload = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (payload == 0 || payload > MaxPayload || payload > data.Length - HeaderSize) return 0;
        if (BinaryPrimitives.ReadUInt64LittleEndian(data[4..]) != generation) return 0;
        var body = data.Slice(HeaderSize, (int)payload);
        if (BinaryPrimitives.ReadUInt32LittleEndian(data[12..]) != Checksum(data.Slice(4, 8), body)) return 0;
        int start = into.Count;
        if (context is null ? !TryDecode(body, into) : !TryDecode(body, into, context))
        {
            // Whatever it changed of the context is forgotten with the rest: coded against a
            // cleared context, the records that follow give each series' value in full first.
            context?.Clear();
            // Intact checksum, impossible contents: a bug or a collision. Treated as the end.
            into.RemoveRange(start, into.Count - start);
            return 0;
        }
        return HeaderSize + (int)payload;
    }

    private static bool TryDecode(ReadOnlySpan<byte> body, List<HeadSample> into)
    {
        int at = 0;
        if (!Varint.TryRead(body, ref at, out ulong count) || count > (ulong)body.Length) return false;
        long idx = 0, ts = 0;
        for (ulong i = 0; i < count; i++)
        {
            if (!Varint.TryRead(body, ref at, out ulong dIdx) || !Varint.TryRead(body, ref at, out ulong dTs) || !TryReadValue(body, ref at, out double value))
                return false;
            idx += UnZigZag(dIdx);
            ts += UnZigZag(dTs);
            into.Add(new HeadSample(idx, ts, value));
        }
        return at == body.Length;
    }

    private static bool TryDecode(ReadOnlySpan<byte> body, List<HeadSample> into, HeadRecordContext context)
    {
        int at = 0;
        if (!Varint.TryRead(body, ref at, out ulong count) || count > (ulong)body.Length) return false;
        long idx = 0, ts = 0;
        for (ulong i = 0; i < count; i++)
        {
            if (at >= body.Length) return false;
            int head = body[at++];
            if ((head & 0xC2) != 0) return false;
            if ((head & 1) == 0) idx++;
            else if (Varint.TryRead(body, ref at, out ulong dIdx)) idx += UnZigZag(dIdx);
            else return false;
            if ((head & 4) != 0)
            {
                if (!Varint.TryRead(body, ref at, out ulong dTs)) return false;
                ts += UnZigZag(dTs);
            }
            int valueMode = head >> 3;
            ref double last = ref CollectionsMarshal.GetValueRefOrAddDefault(context.LastValues, idx, out bool known);
            double value;
            if (valueMode == 0)
            {
                if (!known) return false;
                value = last;
            }
            else if (valueMode <= 3)
            {
                if (!known || !TryMantissaAt(last, valueMode - 1, out long previous) || !Varint.TryRead(body, ref at, out ulong delta)) return false;
                value = unchecked(previous + UnZigZag(delta)) / Scales[valueMode - 1];
            }
            else if (valueMode == 4)
            {
                if (!TryReadValue(body, ref at, out value)) return false;
            }
            else return false;
            last = value;
            into.Add(new HeadSample(idx, ts, value));
        }
        return at == body.Length;
    }

    private static bool TryReadValue(ReadOnlySpan<byte> body, ref int at, out double value)
    {
        value = 0;
        if (!Varint.TryRead(body, ref at, out ulong v)) return false;
        int scale = (int)(v & 3);
        if (scale == 3)
        {
            if (v != 3 || body.Length - at < 8) return false;
            value = BinaryPrimitives.ReadDoubleLittleEndian(body[at..]);
            at += 8;
            return true;
        }
        value = UnZigZag(v >> 2) / Scales[scale];
        return true;
    }

    /// <summary>The value as mantissa / 10^scale (scale 0-2, the smallest), exactly, as <see cref="WriteValue"/> codes it.</summary>
    private static bool TryMantissa(double value, out long mantissa, out int scale)
    {
        for (scale = 0; scale < 3; scale++)
            if (TryMantissaAt(value, scale, out mantissa)) return true;
        mantissa = 0;
        return false;
    }

    /// <summary>The value as mantissa / 10^scale at this scale, if that gives back exactly the same double.</summary>
    private static bool TryMantissaAt(double value, int scale, out long mantissa)
    {
        mantissa = 0;
        double scaled = value * Scales[scale];
        if (!(Math.Abs(scaled) < (1L << 50)) || scaled != Math.Round(scaled)) return false;
        mantissa = (long)scaled;
        // Only when decoding gives back exactly the same double (0.1 * 10 / 10 and the like).
        return BitConverter.DoubleToInt64Bits(mantissa / Scales[scale]) == BitConverter.DoubleToInt64Bits(value);
    }

    private static int WriteValue(Span<byte> span, double value)
    {
        if (TryMantissa(value, out long mantissa, out int scale))
            return Varint.Write(span, (ZigZag(mantissa) << 2) | (uint)scale);
        span[0] = 3;
        BinaryPrimitives.WriteDoubleLittleEndian(span[1..], value);
        return 9;
    }

    private static ulong ZigZag(long v) => Varint.ZigZag(v);
    private static long UnZigZag(ulong v) => Varint.UnZigZag(v);

    /// <summary>CRC-32C (Castagnoli) of the generation and the payload.</summary>
    public static uint Checksum(ReadOnlySpan<byte> generation, ReadOnlySpan<byte> payload)
        => ~Crc32C.Update(Crc32C.Update(0xFFFFFFFF, generation), payload);
}

/// <summary>
/// What version 2 records are coded against: each series' latest value in the generation. The
/// writer and the replay each keep one per generation, fed the same records in the same order.
/// </summary>
public sealed class HeadRecordContext
{
    internal Dictionary<long, double> LastValues { get; } = new();

    /// <summary>
    /// Forgets every value. Safe at any point: a writer with a cleared context codes each series'
    /// next value in full, so a reader that knows more is never asked for what it lacks.
    /// </summary>
    public void Clear() => LastValues.Clear();
}

/// <summary>CRC-32C in software, 8 bytes a step (the framework's hashing package is not part of the runtime).</summary>
internal static class Crc32C
{
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var t = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78 : c >> 1;
            t[i] = c;
        }
        for (int i = 0; i < 256; i++)
        {
            for (int s = 1; s < 8; s++) t[s * 256 + i] = (t[(s - 1) * 256 + i] >> 8) ^ t[t[(s - 1) * 256 + i] & 0xFF];
        }
        return t;
    }

    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        var t = Table;
        while (data.Length >= 8)
        {
            uint lo = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc;
            uint hi = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            crc = t[7 * 256 + (lo & 0xFF)] ^ t[6 * 256 + ((lo >> 8) & 0xFF)] ^ t[5 * 256 + ((lo >> 16) & 0xFF)] ^ t[4 * 256 + (lo >> 24)]
                ^ t[3 * 256 + (hi & 0xFF)] ^ t[2 * 256 + ((hi >> 8) & 0xFF)] ^ t[256 + ((hi >> 16) & 0xFF)] ^ t[hi >> 24];
            data = data[8..];
        }
        foreach (byte b in data) crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
