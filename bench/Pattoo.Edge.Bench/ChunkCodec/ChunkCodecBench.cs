using System.Buffers.Binary;
using System.Diagnostics;
using Pattoo.Edge.Storage.Encoding;

namespace Pattoo.Edge.Bench.ChunkCodec;

/// <summary>
/// Measures the chunk codec on the shared data mix: 10,000 series x 720 points 10 s apart with 0-250 ms
/// timestamp jitter; 40% slow gauges (float random walk with 2 decimals), 30% counters (uint64 rising by
/// random amounts, one counter series in 50 wrapping at 2^32), 20% status words (small ints that rarely
/// change), 10% noisy floats (full random doubles). Every series becomes one chunk. Prints bytes/sample
/// overall and per class, and encode/decode points per second (best of several passes, one thread),
/// beside a peer measured in the same run: the simplest sensible format, zigzag-varint timestamp
/// deltas and raw 8-byte values.
/// </summary>
public static class ChunkCodecBench
{
    private const int SeriesCount = 10_000;
    private const int PointsPerSeries = 720;
    private const int Passes = 5;
    private const int Seed = 20260101;

    private static readonly string[] ClassNames = ["slow gauges", "counters", "status words", "noisy floats"];

    public static void Run(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var timestamps = new long[SeriesCount][];
        var values = new double[SeriesCount][];
        var kinds = new int[SeriesCount];
        Generate(timestamps, values, kinds);
        long totalPoints = (long)SeriesCount * PointsPerSeries;
        output.WriteLine($"chunk codec: {SeriesCount} series x {PointsPerSeries} points = {totalPoints:N0} points, seed {Seed}");

        // Encode once, check every chunk round-trips bit-exactly, and count bytes per class.
        var chunks = new byte[SeriesCount][];
        var bytesByKind = new long[4];
        var pointsByKind = new long[4];
        var tsBuf = new long[PointsPerSeries];
        var valBuf = new double[PointsPerSeries];
        for (int s = 0; s < SeriesCount; s++)
        {
            chunks[s] = ChunkEncoder.Encode(timestamps[s], values[s]);
            bytesByKind[kinds[s]] += chunks[s].Length;
            pointsByKind[kinds[s]] += PointsPerSeries;
            int n = ChunkEncoder.Decode(chunks[s], tsBuf, valBuf);
            if (n != PointsPerSeries) throw new InvalidOperationException($"series {s}: decoded {n} points");
            for (int i = 0; i < n; i++)
            {
                if (tsBuf[i] != timestamps[s][i]
                    || BitConverter.DoubleToInt64Bits(valBuf[i]) != BitConverter.DoubleToInt64Bits(values[s][i]))
                {
                    throw new InvalidOperationException($"series {s}, point {i}: round trip differs");
                }
            }
        }

        // Which value codec each chunk got: the flags in the low nibble of the header byte.
        var codecCounts = new int[4, 4]; // [kind, codec]: integer delta, integer delta-of-delta, decimal-scaled integer, XOR
        for (int s = 0; s < SeriesCount; s++)
        {
            int flags = chunks[s][0] & 0x0F;
            int codec = (flags & 0x01) != 0 ? 3 : (flags & 0x04) != 0 ? 2 : (flags & 0x02) != 0 ? 1 : 0;
            codecCounts[kinds[s], codec]++;
        }

        // The timestamps' share: the same timestamps with a constant value (1 bit a value in the stream).
        long tsOnlyBytes = 0;
        var constant = new double[PointsPerSeries];
        for (int s = 0; s < SeriesCount; s++) tsOnlyBytes += ChunkEncoder.Encode(timestamps[s], constant).Length;

        long totalBytes = 0;
        for (int k = 0; k < 4; k++) totalBytes += bytesByKind[k];
        output.WriteLine($"{"class",-14} {"series",7} {"bytes",12} {"bytes/sample",13}   chunks by value codec");
        for (int k = 0; k < 4; k++)
        {
            output.WriteLine(
                $"{ClassNames[k],-14} {pointsByKind[k] / PointsPerSeries,7} {bytesByKind[k],12:N0} {(double)bytesByKind[k] / pointsByKind[k],13:F3}" +
                $"   int-delta {codecCounts[k, 0]}, int-dod {codecCounts[k, 1]}, decimal {codecCounts[k, 2]}, xor {codecCounts[k, 3]}");
        }
        output.WriteLine($"{"overall",-14} {SeriesCount,7} {totalBytes,12:N0} {(double)totalBytes / totalPoints,13:F3}" +
            $"   (raw 16 bytes/sample: {16.0 * totalPoints / totalBytes:F1}x)");
        output.WriteLine($"timestamps alone (constant values): {(double)tsOnlyBytes / totalPoints:F3} bytes/sample");

        // Speed: best of several passes over all series, one thread.
        double bestEncode = double.MaxValue, bestDecode = double.MaxValue;
        long encodeAlloc = 0, decodeAlloc = 0;
        for (int pass = 0; pass < Passes; pass++)
        {
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            long t0 = Stopwatch.GetTimestamp();
            for (int s = 0; s < SeriesCount; s++) chunks[s] = ChunkEncoder.Encode(timestamps[s], values[s]);
            bestEncode = Math.Min(bestEncode, Stopwatch.GetElapsedTime(t0).TotalSeconds);
            encodeAlloc = GC.GetAllocatedBytesForCurrentThread() - a0;

            long a1 = GC.GetAllocatedBytesForCurrentThread();
            long t1 = Stopwatch.GetTimestamp();
            long decoded = 0;
            for (int s = 0; s < SeriesCount; s++) decoded += ChunkEncoder.Decode(chunks[s], tsBuf, valBuf);
            bestDecode = Math.Min(bestDecode, Stopwatch.GetElapsedTime(t1).TotalSeconds);
            decodeAlloc = GC.GetAllocatedBytesForCurrentThread() - a1;
            if (decoded != totalPoints) throw new InvalidOperationException("decode count mismatch");
        }
        // What the output arrays take on the heap: header, method table and length, data padded to 8 bytes.
        long arrayHeap = 0;
        for (int s = 0; s < SeriesCount; s++) arrayHeap += 3L * IntPtr.Size + ((chunks[s].Length + 7) & ~7);
        output.WriteLine($"encode: {totalPoints / bestEncode / 1e6,8:F1} M points/s  ({bestEncode * 1e3:F0} ms a pass; " +
            $"allocated {encodeAlloc:N0} bytes, {encodeAlloc - arrayHeap:N0} of them beyond the output arrays)");
        output.WriteLine($"decode: {totalPoints / bestDecode / 1e6,8:F1} M points/s  ({bestDecode * 1e3:F0} ms a pass; allocated {decodeAlloc:N0} bytes)");

        // Decode speed per class.
        for (int k = 0; k < 4; k++)
        {
            double best = double.MaxValue;
            for (int pass = 0; pass < Passes; pass++)
            {
                var sw = Stopwatch.StartNew();
                for (int s = 0; s < SeriesCount; s++)
                {
                    if (kinds[s] == k) ChunkEncoder.Decode(chunks[s], tsBuf, valBuf);
                }
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            output.WriteLine($"  decode {ClassNames[k],-14} {pointsByKind[k] / best / 1e6,8:F1} M points/s");
        }

        // The List<T> overload, as the store's reader uses it (lists reused, so no growth after the first).
        var tsList = new List<long>(PointsPerSeries);
        var valList = new List<double>(PointsPerSeries);
        double bestList = double.MaxValue;
        for (int pass = 0; pass < Passes; pass++)
        {
            var sw = Stopwatch.StartNew();
            for (int s = 0; s < SeriesCount; s++)
            {
                tsList.Clear();
                valList.Clear();
                ChunkEncoder.Decode(chunks[s], tsList, valList);
            }
            bestList = Math.Min(bestList, sw.Elapsed.TotalSeconds);
        }
        output.WriteLine($"decode into List<T>: {totalPoints / bestList / 1e6,8:F1} M points/s");

        // Peer, same run: varint timestamp deltas + raw doubles.
        var scratch = new byte[PointsPerSeries * 18];
        var peerChunks = new byte[SeriesCount][];
        double peerEncode = double.MaxValue, peerDecode = double.MaxValue;
        long peerBytes = 0;
        for (int pass = 0; pass < Passes; pass++)
        {
            long t0 = Stopwatch.GetTimestamp();
            peerBytes = 0;
            for (int s = 0; s < SeriesCount; s++)
            {
                int n = PeerEncode(timestamps[s], values[s], scratch);
                peerChunks[s] = scratch.AsSpan(0, n).ToArray();
                peerBytes += n;
            }
            peerEncode = Math.Min(peerEncode, Stopwatch.GetElapsedTime(t0).TotalSeconds);
            long t1 = Stopwatch.GetTimestamp();
            for (int s = 0; s < SeriesCount; s++) PeerDecode(peerChunks[s], tsBuf, valBuf);
            peerDecode = Math.Min(peerDecode, Stopwatch.GetElapsedTime(t1).TotalSeconds);
        }
        PeerDecode(peerChunks[0], tsBuf, valBuf);
        if (tsBuf[^1] != timestamps[0][^1]) throw new InvalidOperationException("peer round trip differs");
        output.WriteLine($"peer (varint deltas + raw doubles): {(double)peerBytes / totalPoints:F3} bytes/sample, " +
            $"encode {totalPoints / peerEncode / 1e6:F1} M points/s, decode {totalPoints / peerDecode / 1e6:F1} M points/s");
        output.WriteLine($"codec / peer: size {(double)totalBytes / peerBytes:F2}, encode speed {peerEncode / bestEncode:F2}, " +
            $"decode speed {peerDecode / bestDecode:F2}");
    }

    private static int PeerEncode(ReadOnlySpan<long> ts, ReadOnlySpan<double> values, Span<byte> dest)
    {
        int pos = 0;
        long prev = 0;
        for (int i = 0; i < ts.Length; i++)
        {
            long d = ts[i] - prev;
            prev = ts[i];
            ulong z = (ulong)((d << 1) ^ (d >> 63));
            while (z >= 0x80)
            {
                dest[pos++] = (byte)(z | 0x80);
                z >>= 7;
            }
            dest[pos++] = (byte)z;
            BinaryPrimitives.WriteDoubleLittleEndian(dest[pos..], values[i]);
            pos += 8;
        }
        return pos;
    }

    private static void PeerDecode(ReadOnlySpan<byte> src, Span<long> ts, Span<double> values)
    {
        int pos = 0;
        long prev = 0;
        for (int i = 0; pos < src.Length; i++)
        {
            ulong z = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = src[pos++];
                z |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) break;
            }
            prev += (long)(z >> 1) ^ -(long)(z & 1);
            ts[i] = prev;
            values[i] = BinaryPrimitives.ReadDoubleLittleEndian(src[pos..]);
            pos += 8;
        }
    }

    /// <summary>The shared data mix, deterministic for <see cref="Seed"/>. Class k: 0 gauge, 1 counter, 2 status, 3 noisy.</summary>
    private static void Generate(long[][] timestamps, double[][] values, int[] kinds)
    {
        var rng = new Random(Seed);
        for (int s = 0; s < SeriesCount; s++)
        {
            var ts = new long[PointsPerSeries];
            var v = new double[PointsPerSeries];
            long start = 1_767_225_600_000L + rng.Next(0, 10_000); // 2026-01-01T00:00:00Z plus a phase
            for (int i = 0; i < PointsPerSeries; i++) ts[i] = start + 10_000L * i + rng.Next(0, 251);

            int slot = s % 10;
            int kind = slot < 4 ? 0 : slot < 7 ? 1 : slot < 9 ? 2 : 3;
            switch (kind)
            {
                case 0:
                {
                    // Slow gauge: a random walk, stored with 2 decimals (e.g. 23.47 degrees).
                    double x = rng.NextDouble() * 200 - 50;
                    double step = 0.05 + rng.NextDouble() * 0.5;
                    for (int i = 0; i < PointsPerSeries; i++)
                    {
                        x += (rng.NextDouble() - 0.5) * step;
                        v[i] = Math.Round(x, 2);
                    }
                    break;
                }
                case 1:
                {
                    // Counter: rises by random amounts (mean 1 .. 1e6 per interval, log-uniform);
                    // one counter series in 50 is a 32-bit counter that wraps within the chunk.
                    int ordinal = s / 10 * 3 + (slot - 4);
                    bool wraps = ordinal % 50 == 0;
                    double mean = Math.Exp(rng.NextDouble() * Math.Log(1e6));
                    ulong c = wraps ? (1UL << 32) - (ulong)(mean * PointsPerSeries / 2) : (ulong)rng.NextInt64(0, 1L << 40);
                    long maxStep = (long)(2 * mean) + 1;
                    for (int i = 0; i < PointsPerSeries; i++)
                    {
                        v[i] = c;
                        c += (ulong)rng.NextInt64(0, maxStep);
                        if (wraps) c &= 0xFFFF_FFFFUL;
                    }
                    break;
                }
                case 2:
                {
                    // Status word: a small int that changes about once in 200 polls.
                    int x = rng.Next(0, 16);
                    for (int i = 0; i < PointsPerSeries; i++)
                    {
                        if (rng.Next(200) == 0) x = rng.Next(0, 16);
                        v[i] = x;
                    }
                    break;
                }
                default:
                {
                    // Noisy float: full random doubles (53 random mantissa bits, random sign).
                    for (int i = 0; i < PointsPerSeries; i++) v[i] = (rng.NextDouble() * 2 - 1) * 1000;
                    break;
                }
            }
            timestamps[s] = ts;
            values[s] = v;
            kinds[s] = kind;
        }
    }
}
