using System.Buffers;
using System.Buffers.Binary;

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
/// A record whose length, generation or checksum does not match ends the log: that is where a
/// write was torn by a crash, or where the previous generation's bytes begin.
/// </summary>
public static class HeadRecord
{
    public const int HeaderSize = 16;
    /// <summary>Largest payload accepted on reading (a corrupt length must not allocate gigabytes).</summary>
    public const int MaxPayload = 64 * 1024 * 1024;

    private static readonly double[] Scales = [1, 10, 100];

    /// <summary>Appends one record of <paramref name="samples"/> to <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, ulong generation, ReadOnlySpan<HeadSample> samples)
    {
        // Worst case per sample: 10 + 10 + 1 + 8 bytes.
        int max = HeaderSize + 10 + samples.Length * 29;
        var span = output.GetSpan(max);
        int at = HeaderSize;
        at += WriteVarint(span[at..], (ulong)samples.Length);
        long previousIdx = 0, previousTs = 0;
        foreach (ref readonly var s in samples)
        {
            at += WriteVarint(span[at..], ZigZag(s.Idx - previousIdx));
            at += WriteVarint(span[at..], ZigZag(s.Timestamp - previousTs));
            previousIdx = s.Idx;
            previousTs = s.Timestamp;
            at += WriteValue(span[at..], s.Value);
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
    public static int TryRead(ReadOnlySpan<byte> data, ulong generation, List<HeadSample> into)
    {
        if (data.Length < HeaderSize) return 0;
        uint payload = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (payload == 0 || payload > MaxPayload || payload > data.Length - HeaderSize) return 0;
        if (BinaryPrimitives.ReadUInt64LittleEndian(data[4..]) != generation) return 0;
        var body = data.Slice(HeaderSize, (int)payload);
        if (BinaryPrimitives.ReadUInt32LittleEndian(data[12..]) != Checksum(data.Slice(4, 8), body)) return 0;
        int start = into.Count;
        if (!TryDecode(body, into))
        {
            // Intact checksum, impossible contents: a bug or a collision. Treated as the end.
            into.RemoveRange(start, into.Count - start);
            return 0;
        }
        return HeaderSize + (int)payload;
    }

    private static bool TryDecode(ReadOnlySpan<byte> body, List<HeadSample> into)
    {
        int at = 0;
        if (!TryReadVarint(body, ref at, out ulong count) || count > (ulong)body.Length) return false;
        long idx = 0, ts = 0;
        for (ulong i = 0; i < count; i++)
        {
            if (!TryReadVarint(body, ref at, out ulong dIdx) || !TryReadVarint(body, ref at, out ulong dTs) || !TryReadVarint(body, ref at, out ulong v))
                return false;
            idx += UnZigZag(dIdx);
            ts += UnZigZag(dTs);
            double value;
            int scale = (int)(v & 3);
            if (scale == 3)
            {
                if (v != 3 || body.Length - at < 8) return false;
                value = BinaryPrimitives.ReadDoubleLittleEndian(body[at..]);
                at += 8;
            }
            else
            {
                value = UnZigZag(v >> 2) / Scales[scale];
            }
            into.Add(new HeadSample(idx, ts, value));
        }
        return at == body.Length;
    }

    private static int WriteValue(Span<byte> span, double value)
    {
        for (int scale = 0; scale < 3; scale++)
        {
            double scaled = value * Scales[scale];
            if (Math.Abs(scaled) >= (1L << 50) || scaled != Math.Round(scaled)) continue;
            long mantissa = (long)scaled;
            // Only when decoding gives back exactly the same double (0.1 * 10 / 10 and the like).
            if (mantissa / Scales[scale] != value || (value == 0 && double.IsNegative(value))) continue;
            return WriteVarint(span, (ZigZag(mantissa) << 2) | (uint)scale);
        }
        span[0] = 3;
        BinaryPrimitives.WriteDoubleLittleEndian(span[1..], value);
        return 9;
    }

    private static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));
    private static long UnZigZag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);

    internal static int WriteVarint(Span<byte> span, ulong v)
    {
        int n = 0;
        while (v >= 0x80)
        {
            span[n++] = (byte)(v | 0x80);
            v >>= 7;
        }
        span[n++] = (byte)v;
        return n;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> span, ref int at, out ulong value)
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

    /// <summary>CRC-32C (Castagnoli) of the generation and the payload.</summary>
    public static uint Checksum(ReadOnlySpan<byte> generation, ReadOnlySpan<byte> payload)
        => ~Crc32C.Update(Crc32C.Update(0xFFFFFFFF, generation), payload);
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
