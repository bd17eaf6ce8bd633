using Pattoo.Edge.Storage.Encoding;
using Xunit;

// Not "Pattoo.Edge.Tests.Encoding": a namespace of that name would make Encoding.UTF8 in every other
// Pattoo.Edge.Tests.* file resolve to it (CS0234).
namespace Pattoo.Edge.Tests.ChunkCodec;

public sealed class ChunkEncoderTests
{
    private const long Base = 1_767_225_600_000L; // 2026-01-01T00:00:00Z in Unix ms
    private const long Two53 = 1L << 53;

    // ------------------------------------------------------------------ helpers

    private static long[] Regular(int count, long start = Base, long step = 10_000)
    {
        var ts = new long[count];
        for (int i = 0; i < count; i++) ts[i] = start + i * step;
        return ts;
    }

    private static long[] Jittered(Random rng, int count, long start = Base)
    {
        var ts = new long[count];
        for (int i = 0; i < count; i++) ts[i] = start + 10_000L * i + rng.Next(0, 251);
        return ts;
    }

    /// <summary>Encodes, decodes through every entry point, and checks bit-exact equality; returns the chunk.</summary>
    private static byte[] RoundTrip(long[] ts, double[] values)
    {
        byte[] chunk = ChunkEncoder.Encode(ts, values);
        Assert.Equal(ts.Length, ChunkEncoder.PeekCount(chunk));
        Assert.Equal(ts.Length, ChunkEncoder.PeekRange(chunk, out long first, out long last));
        Assert.Equal(ts[0], first);
        Assert.Equal(ts[^1], last);

        // Span overload into exactly-sized and larger buffers.
        var dts = new long[ts.Length + 3];
        var dvs = new double[ts.Length + 3];
        Assert.Equal(ts.Length, ChunkEncoder.Decode(chunk, dts, dvs));
        AssertSame(ts, values, dts, dvs);

        // List overload appends after existing content.
        var lts = new List<long> { -1, -2 };
        var lvs = new List<double> { 42.0 };
        Assert.Equal(ts.Length, ChunkEncoder.Decode(chunk, lts, lvs));
        Assert.Equal(ts.Length + 2, lts.Count);
        Assert.Equal(ts.Length + 1, lvs.Count);
        Assert.Equal(-2, lts[1]);
        Assert.Equal(42.0, lvs[0]);
        AssertSame(ts, values, lts.GetRange(2, ts.Length).ToArray(), lvs.GetRange(1, ts.Length).ToArray());
        return chunk;
    }

    private static void AssertSame(long[] ts, double[] values, long[] dts, double[] dvs)
    {
        for (int i = 0; i < ts.Length; i++)
        {
            if (ts[i] != dts[i]) Assert.Fail($"timestamp {i}: expected {ts[i]}, decoded {dts[i]}");
            long e = BitConverter.DoubleToInt64Bits(values[i]), a = BitConverter.DoubleToInt64Bits(dvs[i]);
            if (e != a) Assert.Fail($"value {i}: expected {values[i]:R} (0x{e:X16}), decoded {dvs[i]:R} (0x{a:X16})");
        }
    }

    private static int Flags(byte[] chunk) => chunk[0] & 0x0F;

    private static bool IsXor(byte[] chunk) => (Flags(chunk) & 0x01) != 0;

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes);

    /// <summary>Header bytes followed by a bit string ("0"/"1", spaces ignored) padded with zeros.</summary>
    private static byte[] Build(byte[] header, string bits)
    {
        bits = bits.Replace(" ", "", StringComparison.Ordinal);
        var bytes = new byte[header.Length + (bits.Length + 7) / 8];
        header.CopyTo(bytes, 0);
        for (int i = 0; i < bits.Length; i++)
        {
            if (bits[i] == '1') bytes[header.Length + i / 8] |= (byte)(0x80 >> (i % 8));
        }
        return bytes;
    }

    private static ChunkFormatException AssertMalformed(byte[] chunk)
    {
        var e = Assert.Throws<ChunkFormatException>(() => ChunkEncoder.Decode(chunk, new List<long>(), new List<double>()));
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        return e;
    }

    // ------------------------------------------------------------------ pinned byte vectors

    [Fact]
    public void IntegerChunkHasPinnedBytes()
    {
        // 4 points, integer values, jittered timestamps. Every field:
        //   10           header: version 1, flags 0 (integer codec, delta, no scale)
        //   04           count 4
        //   D0 0F        zigzag(1000) = 2000 as varint
        //   AB EA 01     range t3 - t0 = 29995
        //   90 4E        first delta t1 - t0 = 10000
        //   0A           first value zigzag(5) = 10
        //   bit stream (37 bits + 3 padding zeros):
        //     0                 point 1 value: delta 0
        //     10 000001010      point 2 timestamp: dod +5 -> zigzag 10, bucket '10' + 9 bits
        //     10 00100          point 2 value: delta +2 -> zigzag 4, bucket '10' + 5 bits
        //     10 000011101      point 3 timestamp: dod -15 -> zigzag 29
        //     10 00001          point 3 value: delta -1 -> zigzag 1
        //   = 01000000 10101000 10010000 01110110 00001000 = 40 A8 90 76 08
        long[] ts = [1_000, 11_000, 21_005, 30_995];
        double[] values = [5, 5, 7, 6];
        byte[] chunk = RoundTrip(ts, values);
        Assert.Equal("1004D00FABEA01904E0A40A8907608", Hex(chunk));
    }

    [Fact]
    public void XorChunkHasPinnedBytes()
    {
        // 4 points, negative first timestamp, +Infinity forces the XOR codec. Version 2, every field:
        //   21                       header: version 2, flag XOR
        //   04                       count 4
        //   09                       zigzag(-5) = 9
        //   1F                       range 26 - (-5) = 31
        //   0A                       first delta 10
        //   40 00 00 00 00 00 00 00  first value 2.0, IEEE bits big-endian
        //   00 02                    timestamp table: one bucket, zigzag form; 2 bits wide
        //   bit stream (40 bits):
        //     0                                  point 1 value: same as before
        //     10                                 point 2 timestamp: dod +1 -> zigzag 2 (no code: one bucket)
        //     11 00010 001010 1111111111         point 2 value: x = 2.0 ^ +Inf = 0x3FF0..., new window:
        //                                        2 leading zeros, 10 meaningful bits, the bits
        //     01                                 point 3 timestamp: dod -1 -> zigzag 1
        //     10 1111111111                      point 3 value: same x, reuses the window
        //   = 58 8A FF DB FF
        long[] ts = [-5, 5, 16, 26];
        double[] values = [2.0, 2.0, double.PositiveInfinity, 2.0];
        byte[] chunk = RoundTrip(ts, values);
        Assert.Equal("2104091F0A4000000000000000" + "0002" + "588AFFDBFF", Hex(chunk));

        // The same points in version 1, as releases before version 2 wrote them, still decode:
        //   11 04 09 1F 0A, the first value, then '0', '10'+000000010, '11 00010 001010 1111111111',
        //   '10'+000000001, '10 1111111111' (the fixed timestamp buckets of version 1).
        AssertDecodes("1104091F0A4000000000000000402C457FF006FFC0", ts, values);
    }

    [Fact]
    public void TabledIntegerChunkHasPinnedBytes()
    {
        // A counter read every 10 s exactly, rising 0..15 a step. Version 2, every field:
        //   20          header: version 2, flags 0 (integer codec, delta, no scale)
        //   10          count 16
        //   00          zigzag(t0 = 0)
        //   F0 93 09    range 150000
        //   90 4E       first delta 10000
        //   C8 01       first value zigzag(100) = 200
        //   00 00       timestamp table: one bucket, zigzag form, 0 bits (every dod is 0: no bits at all)
        //   04 04 00    value table: one bucket, offset form, 4 bits, offset zigzag(0)
        //   bit stream: the 15 deltas 3, 7, 0, 15, 1, 5, 9, 2, 8, 4, 6, 11, 13, 10, 12 in 4 bits each, 4 padding zeros
        // Version 1 would spend 7 bits on each delta but the 0 (bucket '10' + 5 bits of zigzag) and 1 bit on each timestamp.
        long[] ts = Regular(16, 0);
        double[] values = [100, 103, 110, 110, 125, 126, 131, 140, 142, 150, 154, 160, 171, 184, 194, 206];
        byte[] chunk = RoundTrip(ts, values);
        Assert.Equal("201000F09309904EC801" + "0000" + "040400" + "370F1592846BDAC0", Hex(chunk));
    }

    [Fact]
    public void WithoutFittingTablesTheEncoderWritesVersion1()
    {
        long[] ts = Regular(16, 0);
        double[] values = [100, 103, 110, 110, 125, 126, 131, 140, 142, 150, 154, 160, 171, 184, 194, 206];
        byte[] fitted = ChunkEncoder.Encode(ts, values);
        byte[] fast = ChunkEncoder.Encode(ts, values, fitTables: false);
        Assert.Equal((2, 1), (fitted[0] >> 4, fast[0] >> 4));
        AssertDecodes(Hex(fast), ts, values);
    }

    private static void AssertDecodes(string hex, long[] ts, double[] values)
    {
        var dts = new List<long>();
        var dvs = new List<double>();
        Assert.Equal(ts.Length, ChunkEncoder.Decode(Convert.FromHexString(hex), dts, dvs));
        AssertSame(ts, values, dts.ToArray(), dvs.ToArray());
    }

    [Fact]
    public void DecimalChunkHasPinnedBytes()
    {
        //   14       header: version 1, flag SCALED (integer codec, delta)
        //   02       scale 2: values are n / 100
        //   02       count 2
        //   00       zigzag(0)
        //   E8 07    range 1000
        //   E8 07    first delta 1000
        //   32       first value n = 25 -> zigzag 50
        //   94       bit stream: 10 01010 (point 1 value: delta +5 -> zigzag 10) + 1 padding zero
        long[] ts = [0, 1_000];
        double[] values = [0.25, 0.3];
        byte[] chunk = RoundTrip(ts, values);
        Assert.Equal("140202" + "00E807E80732" + "94", Hex(chunk));
    }

    // ------------------------------------------------------------------ round trips

    [Fact]
    public void SinglePointRoundTrips()
    {
        foreach (long t in new[] { 0L, Base, -1L, long.MinValue, long.MaxValue })
        {
            foreach (double v in new[] { 0.0, -0.0, 1.0, -7.0, 0.1, double.NaN, double.NegativeInfinity, double.Epsilon, double.MaxValue })
            {
                byte[] chunk = RoundTrip([t], [v]);
                Assert.True(chunk.Length <= 1 + 1 + 10 + 8, $"{chunk.Length} bytes for one point");
            }
        }
    }

    [Fact]
    public void TwoPointsRoundTrip()
    {
        RoundTrip([Base, Base + 10_000], [1.0, 2.0]);
        RoundTrip([Base, Base + 1], [double.NaN, -0.0]);
        RoundTrip([-10, -9], [Two53 - 1, -(Two53 - 1)]);
        RoundTrip([long.MinValue, long.MaxValue], [double.MinValue, double.MaxValue]);
        RoundTrip([long.MaxValue - 1, long.MaxValue], [0, 0]);
    }

    [Fact]
    public void NegativeAndExtremeTimestampsRoundTrip()
    {
        // Negative timestamps (before 1970) are supported; differences wrap in 64 bits, so the
        // whole long range works, including deltas above long.MaxValue.
        long[] ts = [long.MinValue, long.MinValue + 1, -1_000_000, -1, 0, 1, 1L << 40, long.MaxValue - 10, long.MaxValue];
        var values = new double[ts.Length];
        for (int i = 0; i < values.Length; i++) values[i] = i * 3;
        RoundTrip(ts, values);
        RoundTrip(Regular(50, start: -500_000, step: 10_000), new double[50]);
    }

    [Fact]
    public void HugeAndIrregularDeltasRoundTrip()
    {
        var rng = new Random(11);
        for (int round = 0; round < 200; round++)
        {
            int n = rng.Next(2, 60);
            var ts = new long[n];
            long t = rng.NextInt64(long.MinValue / 2, 0);
            ts[0] = t;
            for (int i = 1; i < n; i++)
            {
                int bits = rng.Next(0, 58); // gaps from 1 ms to ~2^57 ms
                long gap = 1 + rng.NextInt64(0, 1L << bits);
                if (long.MaxValue - t < gap) gap = 1;
                t += gap;
                ts[i] = t;
            }
            var values = new double[n];
            for (int i = 0; i < n; i++) values[i] = rng.Next(-5, 5);
            RoundTrip(ts, values);
        }
    }

    [Fact]
    public void IntegerExtremesRoundTrip()
    {
        // Jumps across the whole +-(2^53-1) range: the widest integer fields (the encoder may find
        // XOR smaller here, as sign flips are cheap XORs; both must be exact).
        double max = Two53 - 1;
        double[] values = [max, -max, 0, max, max, -max, -max, 1, -1, max - 1, -max + 1];
        RoundTrip(Regular(values.Length), values);

        // Near the limits with small steps: the integer codec.
        var high = new double[100];
        var low = new double[100];
        for (int i = 0; i < high.Length; i++)
        {
            high[i] = max - i * 3;
            low[i] = -max + (i % 5);
        }
        Assert.False(IsXor(RoundTrip(Regular(high.Length), high)));
        Assert.False(IsXor(RoundTrip(Regular(low.Length), low)));
    }

    [Fact]
    public void LargeIntegersBeyondTwo53RoundTripInTheXorCodec()
    {
        // 2^53 and up, long.MaxValue-ish and ulong.MaxValue-ish counters are not exact integers
        // for the integer codec; they go through XOR and still come back bit-exactly.
        double[] values = [Two53, Two53 + 2, long.MaxValue, long.MinValue, ulong.MaxValue, 9.2233720368547748E18, -9.2233720368547748E18, 1e300];
        byte[] chunk = RoundTrip(Regular(values.Length), values);
        Assert.True(IsXor(chunk));
    }

    [Fact]
    public void SpecialDoublesRoundTripBitExactly()
    {
        double[] special =
        [
            double.NaN, -double.NaN, BitConverter.Int64BitsToDouble(0x7FF0_0000_0000_0001), BitConverter.Int64BitsToDouble(0x7FF8_DEAD_BEEF_0001),
            BitConverter.Int64BitsToDouble(unchecked((long)0xFFF4_0000_0000_0000)), double.PositiveInfinity, double.NegativeInfinity,
            -0.0, 0.0, double.Epsilon, -double.Epsilon, BitConverter.Int64BitsToDouble(0x000F_FFFF_FFFF_FFFF), 2.2250738585072014E-308,
            double.MaxValue, double.MinValue, 1.0, -1.0, 0.1, 1.0 / 3, Math.PI, -0.0, -0.0, double.NaN, 0.0,
        ];
        byte[] chunk = RoundTrip(Regular(special.Length), special);
        Assert.True(IsXor(chunk));

        // Every ordered pair, to cover each XOR transition.
        var pairs = new double[special.Length * special.Length * 2];
        for (int i = 0, k = 0; i < special.Length; i++)
        {
            for (int j = 0; j < special.Length; j++)
            {
                pairs[k++] = special[i];
                pairs[k++] = special[j];
            }
        }
        RoundTrip(Regular(pairs.Length, start: -3), pairs);
    }

    [Fact]
    public void NegativeZeroKeepsAnIntegerChunkInTheIntegerCodec()
    {
        // Math.Round(-0.001, 2) is -0.0: a gauge crossing zero must not lose the sign, nor fall back to XOR.
        var values = new double[200];
        for (int i = 0; i < values.Length; i++) values[i] = Math.Round(Math.Sin(i / 10.0) * 5, 2);
        values[50] = -0.0;
        values[51] = -0.0;
        values[0] = -0.0;
        byte[] chunk = RoundTrip(Regular(values.Length), values);
        Assert.False(IsXor(chunk));
        Assert.Equal(0x04, Flags(chunk) & 0x04); // decimal scale

        // A few -0.0 among many small integers: still the integer codec (each -0.0 costs two wide fields).
        var ints = new double[100];
        for (int i = 0; i < ints.Length; i++) ints[i] = i % 7;
        ints[0] = ints[40] = ints[99] = -0.0;
        Assert.False(IsXor(RoundTrip(Regular(ints.Length), ints)));

        // Where -0.0 dominates, XOR is smaller and is chosen; either way the sign survives.
        double[] mostlyNegativeZero = [-0.0, 3, -0.0, 0, -0.0];
        RoundTrip(Regular(mostlyNegativeZero.Length), mostlyNegativeZero);
    }

    [Fact]
    public void ConstantSeriesAreTiny()
    {
        foreach (double v in new[] { 0.0, 1.0, -17.0, 23.47, Math.PI, double.NaN, -0.0 })
        {
            byte[] chunk = RoundTrip(Regular(720), Enumerable.Repeat(v, 720).ToArray());
            // Regular timestamps and a constant value: 1 bit each per point, plus the header.
            Assert.True(chunk.Length <= 40 + 2 * 720 / 8, $"{v}: {chunk.Length} bytes");
        }
    }

    [Fact]
    public void DecimalValuesUseTheScaledIntegerCodec()
    {
        var rng = new Random(5);
        for (int digits = 1; digits <= 6; digits++)
        {
            var values = new double[300];
            double x = rng.NextDouble() * 100;
            for (int i = 0; i < values.Length; i++)
            {
                x += rng.NextDouble() - 0.5;
                values[i] = Math.Round(x, digits);
            }
            byte[] chunk = RoundTrip(Jittered(rng, values.Length), values);
            Assert.False(IsXor(chunk));
            Assert.True(chunk[1] <= digits, $"scale {chunk[1]} for {digits} digits");
        }
        // Values parsed from decimal text, as pollers see them.
        string[] text = ["0.1", "0.2", "0.3", "23.47", "-5.5", "1e-7", "123456.789", "0.000001"];
        var parsed = text.Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.False(IsXor(RoundTrip(Regular(parsed.Length), parsed)));
        // 0.1 + 0.2 is not a short decimal: the chunk still round-trips bit-exactly.
        RoundTrip(Regular(3), [0.1, 0.1 + 0.2, 0.3]);
    }

    [Fact]
    public void CountersWithWrapsAndResetsRoundTrip()
    {
        var rng = new Random(3);
        for (int round = 0; round < 100; round++)
        {
            int n = 720;
            var values = new double[n];
            ulong c = (ulong)rng.NextInt64(0, 1L << 32);
            bool wrap32 = round % 2 == 0;
            for (int i = 0; i < n; i++)
            {
                values[i] = c;
                c += (ulong)rng.NextInt64(0, 1 + (1L << rng.Next(0, 30)));
                if (wrap32) c &= 0xFFFF_FFFF;
                if (rng.Next(100) == 0) c = 0; // reset (agent restart)
            }
            byte[] chunk = RoundTrip(Jittered(rng, n), values);
            Assert.True(chunk.Length < n * 8, $"{chunk.Length} bytes for {n} counter samples");
        }
    }

    [Fact]
    public void RandomWalksRoundTrip()
    {
        var rng = new Random(9);
        for (int round = 0; round < 100; round++)
        {
            var values = new double[720];
            double x = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-5, 12));
            double step = Math.Abs(x) * 0.01 + 1e-9;
            for (int i = 0; i < values.Length; i++)
            {
                x += (rng.NextDouble() - 0.5) * step;
                values[i] = x;
            }
            RoundTrip(Jittered(rng, values.Length), values);
        }
    }

    [Fact]
    public void TenThousandRandomSeriesRoundTrip()
    {
        var rng = new Random(20260101);
        for (int s = 0; s < 10_000; s++)
        {
            int n = rng.Next(4) == 0 ? rng.Next(1, 4) : rng.Next(1, 200);
            long[] ts = RandomTimestamps(rng, n);
            double[] values = RandomValues(rng, n);
            RoundTrip(ts, values);
        }
    }

    private static long[] RandomTimestamps(Random rng, int n)
    {
        var ts = new long[n];
        long t = rng.Next(5) switch
        {
            0 => rng.NextInt64(long.MinValue / 4, long.MaxValue / 4),
            1 => -rng.NextInt64(0, 1L << 45),
            _ => Base + rng.Next(0, 1_000_000),
        };
        int mode = rng.Next(4);
        for (int i = 0; i < n; i++)
        {
            ts[i] = t;
            long step = mode switch
            {
                0 => 10_000,                                  // perfect schedule
                1 => 10_000 + rng.Next(-250, 251),            // jitter
                2 => 1 + rng.NextInt64(0, 1L << rng.Next(0, 40)), // anything
                _ => rng.Next(20) == 0 ? 60_000 : 1_000,      // missed polls
            };
            t = long.MaxValue - t > step + (long)n ? t + step : t + 1;
        }
        return ts;
    }

    private static double[] RandomValues(Random rng, int n)
    {
        var v = new double[n];
        switch (rng.Next(8))
        {
            case 0: // constant
                Array.Fill(v, rng.Next(-3, 3));
                break;
            case 1: // counter
            {
                long c = rng.NextInt64(0, Two53 / 2);
                for (int i = 0; i < n; i++) { v[i] = c; c += rng.Next(0, 1 << rng.Next(0, 31)); }
                break;
            }
            case 2: // decimal walk
            {
                int digits = rng.Next(0, 8);
                double x = rng.NextDouble() * 1000 - 500;
                for (int i = 0; i < n; i++) { x += rng.NextDouble() - 0.5; v[i] = Math.Round(x, digits); }
                break;
            }
            case 3: // random 64-bit patterns: NaNs, subnormals, infinities, anything
                for (int i = 0; i < n; i++) v[i] = BitConverter.Int64BitsToDouble(rng.NextInt64(long.MinValue, long.MaxValue));
                break;
            case 4: // status word
            {
                int x = rng.Next(0, 256);
                for (int i = 0; i < n; i++) { if (rng.Next(30) == 0) x = rng.Next(0, 256); v[i] = x; }
                break;
            }
            case 5: // extreme integers
                for (int i = 0; i < n; i++) v[i] = rng.Next(3) switch { 0 => Two53 - 1, 1 => -(Two53 - 1), _ => rng.NextInt64(-Two53 + 1, Two53) };
                break;
            case 6: // a mix with specials
            {
                double[] pool = [0.0, -0.0, 1.5, double.NaN, double.Epsilon, double.PositiveInfinity, 1e-300, 12345.678, -2];
                for (int i = 0; i < n; i++) v[i] = pool[rng.Next(pool.Length)];
                break;
            }
            default: // noisy floats
                for (int i = 0; i < n; i++) v[i] = (rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-10, 10));
                break;
        }
        return v;
    }

    [Fact]
    public void SharedMixCompressesAsDocumented()
    {
        // A small slice of the README's data mix; the sizes are a regression guard, not a benchmark.
        var rng = new Random(1);
        long gaugeBytes = 0, statusBytes = 0;
        for (int s = 0; s < 50; s++)
        {
            long[] ts = Jittered(rng, 720);
            var gauge = new double[720];
            var status = new double[720];
            double x = 20;
            int st = 3;
            for (int i = 0; i < 720; i++)
            {
                x += (rng.NextDouble() - 0.5) * 0.3;
                gauge[i] = Math.Round(x, 2);
                if (rng.Next(200) == 0) st = rng.Next(16);
                status[i] = st;
            }
            gaugeBytes += RoundTrip(ts, gauge).Length;
            statusBytes += RoundTrip(ts, status).Length;
        }
        Assert.InRange(gaugeBytes / (50.0 * 720), 1.0, 2.6);
        Assert.InRange(statusBytes / (50.0 * 720), 1.0, 1.7);
    }

    [Fact]
    public void NoisyFloatsAreSplitIntoSignExponentAndMantissa()
    {
        // Full-precision noise (as rng.NextDouble() * 1000): XOR finds no shared bits and spends its
        // prefixes and windows, ~58.6 bits a value; split floats ~2 bits of exponent and 52 of mantissa.
        var rng = new Random(11);
        long[] ts = Enumerable.Range(0, 2000).Select(i => 1_700_000_000_000 + i * 10_000L).ToArray();
        double[] noise = ts.Select(_ => rng.NextDouble() * 1000).ToArray();
        byte[] chunk = RoundTrip(ts, noise);
        Assert.Equal(0x29, chunk[0]); // version 2, XOR | split
        Assert.InRange(chunk.Length / 2000.0, 6.5, 7.0);
        // Negative and positive noise, a few exponents: still split, still bit-exact.
        double[] signed = ts.Select(_ => (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4))).ToArray();
        Assert.Equal(0x29, RoundTrip(ts, signed)[0]);
        // float32 readings share trailing zeros: only the mantissa's top 23 bits are stored.
        double[] single = ts.Select(_ => (double)(float)(rng.NextDouble() * 100)).ToArray();
        byte[] singles = RoundTrip(ts, single);
        Assert.Equal(0x29, singles[0]);
        Assert.InRange(singles.Length / 2000.0, 2.9, 3.5);
        // A smooth random walk keeps XOR (its values share leading bits): split is chosen only when smaller.
        double x = 20;
        double[] walk = ts.Select(_ => x += (rng.NextDouble() - 0.5) * 1e-6).ToArray();
        Assert.Equal(0x21, RoundTrip(ts, walk)[0]);
    }

    [Fact]
    public void MutatedSplitFloatChunksThrowChunkFormatExceptionOrDecode()
    {
        var rng = new Random(778);
        var ts = new List<long>();
        var vs = new List<double>();
        int decoded = 0, split = 0;
        for (int round = 0; round < 3_000; round++)
        {
            int n = rng.Next(2, 40);
            long[] stamps = RandomTimestamps(rng, n);
            byte[] chunk = ChunkEncoder.Encode(stamps, stamps.Select(_ => (rng.NextDouble() - 0.3) * 1e3).ToArray());
            if ((chunk[0] & 0x08) == 0) continue; // a few points: XOR was smaller
            split++;
            int edits = rng.Next(1, 3);
            for (int e = 0; e < edits && chunk.Length > 0; e++)
            {
                switch (rng.Next(3))
                {
                    case 0: chunk[rng.Next(chunk.Length)] ^= (byte)(1 << rng.Next(8)); break;
                    case 1: chunk = chunk[..rng.Next(chunk.Length + 1)]; break;
                    default: chunk = [.. chunk, (byte)rng.Next(256)]; break;
                }
            }
            if (chunk.Length > 0 && TryDecodeEverywhere(chunk, ts, vs)) decoded++;
        }
        Assert.True(split > 1_500, $"only {split} of 3,000 chunks were split floats");
        Assert.InRange(decoded, 1, split - 1);
    }

    // ------------------------------------------------------------------ API contract

    [Fact]
    public void EncodeRejectsBadInput()
    {
        Assert.Throws<ArgumentException>(() => ChunkEncoder.Encode([], []));
        Assert.Throws<ArgumentException>(() => ChunkEncoder.Encode([1, 2], [1.0]));
        Assert.Throws<ArgumentException>(() => ChunkEncoder.Encode([1], [1.0, 2.0]));
        Assert.Throws<ArgumentException>(() => ChunkEncoder.Encode([1, 1], [1.0, 2.0]));
        Assert.Throws<ArgumentException>(() => ChunkEncoder.Encode([5, 4], [1.0, 2.0]));
        Assert.Throws<ArgumentException>(() => ChunkEncoder.Encode([1, 2, 3, 3], [1.0, 2.0, 3, 4]));
        Assert.Throws<ArgumentException>(() => ChunkEncoder.Encode([long.MaxValue, long.MinValue], [1.0, 2.0]));
    }

    [Fact]
    public void DecodeIntoSpansRejectsShortSpans()
    {
        byte[] chunk = ChunkEncoder.Encode(Regular(10), new double[10]);
        Assert.Throws<ArgumentException>(() => ChunkEncoder.Decode(chunk, new long[9], new double[10]));
        Assert.Throws<ArgumentException>(() => ChunkEncoder.Decode(chunk, new long[10], new double[9]));
        Assert.Equal(10, ChunkEncoder.Decode(chunk, new long[10], new double[10]));
    }

    [Fact]
    public void DecodeIntoListsLeavesListsUnchangedOnCorruptInput()
    {
        var rng = new Random(3);
        byte[] chunk = ChunkEncoder.Encode(Jittered(rng, 100), Enumerable.Range(0, 100).Select(_ => rng.NextDouble()).ToArray());
        chunk[^1] ^= 0x01; // corrupt the end of the bit stream
        var ts = new List<long> { 1, 2, 3 };
        var vs = new List<double> { 4 };
        Assert.Throws<ChunkFormatException>(() => ChunkEncoder.Decode(chunk, ts, vs));
        Assert.Equal([1L, 2, 3], ts);
        Assert.Equal([4.0], vs);
    }

    [Fact]
    public void DecodeAllocatesNothingAndEncodeOnlyItsOutput()
    {
        var rng = new Random(2);
        long[] ts = Jittered(rng, 720);
        double[][] sets =
        [
            Enumerable.Range(0, 720).Select(i => Math.Round(20 + Math.Sin(i / 30.0), 2)).ToArray(),
            Enumerable.Range(0, 720).Select(i => (double)(i * 1000L)).ToArray(),
            Enumerable.Range(0, 720).Select(_ => rng.NextDouble()).ToArray(),
        ];
        var dts = new long[720];
        var dvs = new double[720];
        var lts = new List<long>(720);
        var lvs = new List<double>(720);
        foreach (double[] values in sets)
        {
            byte[] chunk = ChunkEncoder.Encode(ts, values);
            for (int warm = 0; warm < 3; warm++)
            {
                ChunkEncoder.Decode(chunk, dts, dvs);
                lts.Clear();
                lvs.Clear();
                ChunkEncoder.Decode(chunk, lts, lvs);
                ChunkEncoder.Encode(ts, values);
                _ = new byte[chunk.Length];
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            ChunkEncoder.Decode(chunk, dts, dvs);
            ChunkEncoder.PeekCount(chunk);
            ChunkEncoder.PeekRange(chunk, out _, out _);
            lts.Clear();
            lvs.Clear();
            ChunkEncoder.Decode(chunk, lts, lvs);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

            before = GC.GetAllocatedBytesForCurrentThread();
            _ = new byte[chunk.Length];
            long arrayOnly = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            ChunkEncoder.Encode(ts, values);
            Assert.Equal(arrayOnly, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    // ------------------------------------------------------------------ invalid data

    public static TheoryData<string, string> MalformedChunks()
    {
        byte[] valid = Convert.FromHexString("1004D00FABEA01904E0A40A8907608");
        var data = new TheoryData<string, string>
        {
            { "", "empty" },
            { "00", "version 0" },
            { "30", "version 3" },
            { "20" + "03" + "00" + "05" + "01" + "00", "timestamp bucket table is missing" },
            { "20" + "03" + "00" + "05" + "01" + "00" + "08", "reserved bits" },
            { "20" + "03" + "00" + "05" + "01" + "00" + "0041", "more than 64" },
            { "20" + "03" + "00" + "05" + "01" + "00" + "0100", "truncated in the timestamp bucket table" },
            { "20" + "03" + "00" + "05" + "01" + "00" + "0400", "truncated in the timestamp offset" },
            { "20" + "03" + "00" + "05" + "01" + "00" + "0000", "value bucket table is missing" },
            { "20" + "03" + "00" + "05" + "01" + "00" + "0000" + "0001", "needs at least" },  // 2 value fields of 1 bit, no stream
            { "F0", "version 15" },
            { "00" + "04D00FABEA01904E0A40A8907608", "version 0" },
            { "18" + "01" + "00" + "00", "reserved" },
            { "28" + "02" + "00" + "05" + "05" + "00" + "00", "split floats without the XOR codec" },
            { "29" + "01" + "00" + "0000000000000000", "one point has no split" },
            { "29" + "02" + "00" + "05" + "05" + "0000000000000000" + "000C", "trailing-zero byte is missing" },
            { "29" + "02" + "00" + "05" + "05" + "0000000000000000" + "000C" + "35", "more than 52" },
            { "29" + "02" + "00" + "05" + "05" + "0000000000000000" + "0002" + "34" + "80", "outside 0..4095" }, // zigzag 2 = +1: sign and exponent -1
            { "29" + "03" + "00" + "0A" + "05" + "0000000000000000" + "0000" + "000C" + "00" + "00", "needs at least" }, // 2 fields of 12 + 52 bits, no stream
            { "13" + "01" + "00" + "0000000000000000", "XOR" },
            { "15" + "01" + "01" + "00" + "0000000000000000", "XOR" },
            { "14", "scale" },
            { "14" + "00" + "01" + "00" + "00", "scale 0" },
            { "14" + "10" + "01" + "00" + "00", "scale 16" },
            { "10", "count" },
            { "10" + "00" + "00" + "00", "count is 0" },
            { "10" + "80", "count" },
            { "10" + "FFFFFFFFFFFFFFFFFFFF01", "overflows" },
            { "10" + "8000" + "00" + "00", "redundant" },
            { "10" + "8080808010" + "00" + "01" + "01" + "00", "larger than" },          // count 2^32
            { "10" + "E807" + "00" + "FFFF03" + "01" + "00" + "00", "needs at least" }, // count 1000, one stream byte
            { "10" + "02" + "00", "truncated" },                                       // range missing
            { "10" + "03" + "00" + "01" + "01" + "00" + "00", "range" },              // range 1 < count - 1
            { "10" + "02" + "00" + "05" + "04" + "00" + "00", "first timestamp delta" }, // 2 points: delta != range
            { "10" + "03" + "00" + "05" + "00" + "00" + "00", "first timestamp delta" }, // delta 0
            { "10" + "03" + "00" + "05" + "06" + "00" + "00", "first timestamp delta" }, // delta > range
            { "10" + "02" + "02" + "FEFFFFFFFFFFFFFFFF01" + "FEFFFFFFFFFFFFFFFF01" + "00" + "00", "range" }, // t0 + range overflows
            { "10" + "01" + "00" + "808080808080808020", "outside" },                  // first value 2^54 / 2
            { "11" + "01" + "00" + "40000000", "truncated" },                          // XOR first value cut short
            { "10" + "01" + "00" + "00" + "00", "unexpected byte" },                   // one point, trailing byte
            { Hex(valid) + "00", "unexpected byte" },
            { Hex(valid)[..^2] + "09", "padding" },                                   // a padding bit set
            { Hex(Build([0x10, 0x03, 0x00, 0x14, 0x0A, 0x00], "0 10 000010011 0")), "not after" },  // dod -10: delta 0
            { Hex(Build([0x10, 0x03, 0x00, 0x15, 0x0A, 0x00], "0 0 0")), "last timestamp" },        // ends at 20, not 21
            { Hex(Build([0x10, 0x02, 0x00, 0x01, 0x01, 0x00], "11111111111" + Convert.ToString(1L << 54, 2).PadLeft(64, '0'))), "outside" },
            { Hex(Build([0x11, 0x02, 0x00, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0, 0], "11 11111 111111 " + new string('1', 63))), "XOR window" },
            { Hex(Build([0x10, 0x02, 0x00, 0x01, 0x01, 0x00], "11111111111" + new string('0', 40))), "truncated" },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(MalformedChunks))]
    public void MalformedChunkThrowsChunkFormatException(string hex, string expected)
    {
        byte[] chunk = Convert.FromHexString(hex);
        var e = AssertMalformed(chunk);
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
        if (chunk.Length > 0) Assert.InRange(e.BitOffset, 0, chunk.Length * 8L);
        Assert.Throws<ChunkFormatException>(() => ChunkEncoder.Decode(chunk, new long[4096], new double[4096]));
        if (chunk.Length == 0) Assert.Throws<ChunkFormatException>(() => ChunkEncoder.PeekCount(chunk));
    }

    [Fact]
    public void EveryTruncationThrowsChunkFormatException()
    {
        var rng = new Random(4);
        var chunks = new List<byte[]>
        {
            Convert.FromHexString("1004D00FABEA01904E0A40A8907608"),
            Convert.FromHexString("1104091F0A4000000000000000402C457FF006FFC0"),
            Convert.FromHexString("14020200E807E8073294"),
        };
        for (int i = 0; i < 40; i++)
        {
            int n = rng.Next(1, 120);
            chunks.Add(ChunkEncoder.Encode(RandomTimestamps(rng, n), RandomValues(rng, n)));
        }
        foreach (byte[] chunk in chunks)
        {
            for (int len = 0; len < chunk.Length; len++)
            {
                byte[] cut = chunk[..len];
                var e = AssertMalformed(cut);
                Assert.InRange(e.BitOffset, 0, len * 8L);
            }
        }
    }

    [Fact]
    public void ChunkFormatExceptionReportsItsOffset()
    {
        var e = new ChunkFormatException("bad thing", 19);
        Assert.Equal(19, e.BitOffset);
        Assert.Equal(2, e.ByteOffset);
        Assert.Contains("bad thing", e.Message, StringComparison.Ordinal);
        Assert.Contains("byte 2", e.Message, StringComparison.Ordinal);
        Assert.Equal(-1, new ChunkFormatException().BitOffset);
        Assert.Equal(-1, new ChunkFormatException("x").ByteOffset);
        var inner = new InvalidOperationException();
        Assert.Same(inner, new ChunkFormatException("x", inner).InnerException);
    }

    [Fact]
    public void CountLargerThanTheBitsAllowIsRejectedBeforeDecoding()
    {
        // Values 0, 1, 0, 1 ...: every value field takes 2 bits (zigzag 1 or 2 in the one 2-bit bucket).
        byte[] chunk = ChunkEncoder.Encode(Regular(100), Enumerable.Range(0, 100).Select(i => (double)(i % 2)).ToArray());
        Assert.Equal(2, chunk[0] >> 4);
        // The count is the varint after the header byte: 100 = 0x64. Claim 127 points instead.
        Assert.Equal(0x64, chunk[1]);
        chunk[1] = 0x7F;
        var e = AssertMalformed(chunk);
        Assert.Contains("needs at least", e.Message, StringComparison.Ordinal);
        Assert.Throws<ChunkFormatException>(() => ChunkEncoder.PeekCount(chunk));
    }

    [Fact]
    public void ZeroBitChunksAreBoundedInLength()
    {
        // A constant series at exact intervals takes 0 bits a point: nothing in the size bounds the
        // count, so MaxPointsWithoutBits does (a corrupt count must not drive a huge allocation).
        byte[] chunk = ChunkEncoder.Encode(Regular(100), Enumerable.Repeat(7.0, 100).ToArray());
        Assert.Equal(2, chunk[0] >> 4);
        Assert.True(chunk.Length < 20, $"{chunk.Length} bytes");
        byte[] forged = [chunk[0], 0x81, 0x80, 0x04, .. chunk.AsSpan(2)]; // count 65,537
        var e = AssertMalformed(forged);
        Assert.Contains("65536", e.Message, StringComparison.Ordinal);
        // The encoder keeps such a series longer than the bound in version 1 (1 bit a field).
        int n = ChunkEncoder.MaxPointsWithoutBits + 1;
        byte[] longConstant = RoundTrip(Regular(n), Enumerable.Repeat(7.0, n).ToArray());
        Assert.Equal(1, longConstant[0] >> 4);
        byte[] atTheBound = RoundTrip(Regular(n - 1), Enumerable.Repeat(7.0, n - 1).ToArray());
        Assert.Equal(2, atTheBound[0] >> 4);
    }

    [Fact]
    public void RandomBytesThrowChunkFormatExceptionOrDecode()
    {
        var rng = new Random(12345);
        byte[] validHeaders = [0x10, 0x11, 0x12, 0x14, 0x16];
        var ts = new List<long>();
        var vs = new List<double>();
        for (int round = 0; round < 10_000; round++)
        {
            var chunk = new byte[rng.Next(0, 80)];
            rng.NextBytes(chunk);
            if (chunk.Length > 2 && rng.Next(2) == 0)
            {
                // Steer half of them past the header checks, so that the bit stream gets exercised.
                chunk[0] = validHeaders[rng.Next(validHeaders.Length)];
                chunk[(chunk[0] & 0x04) != 0 ? 2 : 1] = (byte)rng.Next(1, 40);
                if ((chunk[0] & 0x04) != 0) chunk[1] = (byte)rng.Next(1, 16);
            }
            TryDecodeEverywhere(chunk, ts, vs);
        }
    }

    [Fact]
    public void MutatedChunksThrowChunkFormatExceptionOrDecode()
    {
        var rng = new Random(777);
        var ts = new List<long>();
        var vs = new List<double>();
        int decoded = 0;
        for (int round = 0; round < 10_000; round++)
        {
            int n = rng.Next(1, 60);
            byte[] chunk = ChunkEncoder.Encode(RandomTimestamps(rng, n), RandomValues(rng, n));
            int edits = rng.Next(1, 4);
            for (int e = 0; e < edits; e++)
            {
                switch (rng.Next(4))
                {
                    case 0: chunk[rng.Next(chunk.Length)] ^= (byte)(1 << rng.Next(8)); break;
                    case 1: chunk[rng.Next(chunk.Length)] = (byte)rng.Next(256); break;
                    case 2: chunk = chunk[..rng.Next(chunk.Length + 1)]; break;
                    default: chunk = [.. chunk, (byte)rng.Next(256)]; break;
                }
                if (chunk.Length == 0) break;
            }
            if (TryDecodeEverywhere(chunk, ts, vs)) decoded++;
        }
        // Flipped value bits often still make a valid chunk: the success path is exercised too.
        Assert.InRange(decoded, 1, 9_999);
    }

    /// <summary>
    /// Decodes through every entry point: each must either throw ChunkFormatException or succeed with
    /// consistent, strictly increasing timestamps that re-encode to the same points. Anything else fails the test.
    /// </summary>
    private static bool TryDecodeEverywhere(byte[] chunk, List<long> ts, List<double> vs)
    {
        ts.Clear();
        vs.Clear();
        int count;
        try
        {
            count = ChunkEncoder.Decode(chunk, ts, vs);
        }
        catch (ChunkFormatException e)
        {
            Assert.InRange(e.BitOffset, 0, Math.Max(0, chunk.Length * 8L));
            Assert.Empty(ts);
            Assert.Empty(vs);
            Assert.Throws<ChunkFormatException>(() => ChunkEncoder.Decode(chunk, new long[4096], new double[4096]));
            return false;
        }

        Assert.Equal(count, ts.Count);
        Assert.Equal(count, ChunkEncoder.PeekCount(chunk));
        ChunkEncoder.PeekRange(chunk, out long first, out long last);
        Assert.Equal(ts[0], first);
        Assert.Equal(ts[^1], last);
        for (int i = 1; i < count; i++) Assert.True(ts[i] > ts[i - 1]);
        var sts = new long[count];
        var svs = new double[count];
        Assert.Equal(count, ChunkEncoder.Decode(chunk, sts, svs));
        AssertSame(sts, svs, ts.ToArray(), vs.ToArray());
        RoundTrip(sts, svs);
        return true;
    }
}

public sealed class BitStreamTests
{
    [Fact]
    public void WriterAndReaderRoundTripRandomFields()
    {
        var rng = new Random(8);
        for (int round = 0; round < 200; round++)
        {
            int n = rng.Next(0, 500);
            var widths = new int[n];
            var fields = new ulong[n];
            var writer = new BitWriter(rng.Next(0, 4) == 0 ? Span<byte>.Empty : new byte[rng.Next(0, 64)]); // grows into pooled buffers
            long total = 0;
            for (int i = 0; i < n; i++)
            {
                widths[i] = rng.Next(0, 65);
                fields[i] = (ulong)rng.NextInt64() ^ ((ulong)rng.NextInt64() << 1);
                writer.WriteBits(fields[i], widths[i]);
                total += widths[i];
                Assert.Equal(total, writer.BitLength);
            }
            byte[] bytes = writer.Complete().ToArray();
            writer.Dispose();
            Assert.Equal((total + 7) / 8, bytes.Length);

            var reader = new BitReader(bytes, 0);
            for (int i = 0; i < n; i++)
            {
                ulong mask = widths[i] == 64 ? ulong.MaxValue : (1UL << widths[i]) - 1;
                Assert.Equal(fields[i] & mask, reader.ReadBits(widths[i]));
            }
            Assert.Equal(total, reader.Position);
            reader.ExpectEnd();
        }
    }

    [Fact]
    public void WriterIsMsbFirstAndPadsWithZeros()
    {
        var writer = new BitWriter(new byte[8]);
        writer.WriteBit(true);
        writer.WriteBits(0b01, 2);
        writer.WriteVarint(300); // AC 02, not byte-aligned here
        // 1 01 then 0xAC = 10101100: 1011 0101 | 100 0000 0 ...
        Assert.Equal("B5", Convert.ToHexString(writer.Complete()[..1]));
        writer.Dispose();

        var aligned = new BitWriter(16);
        aligned.WriteVarint(300);
        aligned.WriteBits(0b101, 3);
        Assert.Equal("AC02A0", Convert.ToHexString(aligned.Complete()));
        aligned.Dispose();
    }

    [Fact]
    public void ReaderThrowsAtTheEndAndPeekPadsWithZeros()
    {
        byte[] data = [0xFF, 0x80];
        var reader = new BitReader(data, 0);
        Assert.Equal(0xFF80UL << 48, reader.Peek());
        Assert.Equal(0x1FFUL, reader.ReadBits(9));
        Assert.Equal(7, reader.Remaining);
        ChunkFormatException? caught = null;
        try
        {
            reader.ReadBits(8);
        }
        catch (ChunkFormatException e)
        {
            caught = e;
        }
        Assert.NotNull(caught);
        Assert.Equal(9, caught.BitOffset);
        Assert.Equal(1, caught.ByteOffset);
        Assert.Equal(0UL, reader.ReadBits(7));
        Assert.Equal(0, reader.Remaining);
        caught = null;
        try
        {
            reader.ReadBit();
        }
        catch (ChunkFormatException e)
        {
            caught = e;
        }
        Assert.NotNull(caught);
    }

    [Fact]
    public void ReaderReadsSixtyFourBitFieldsAtEveryAlignment()
    {
        for (int offset = 0; offset < 16; offset++)
        {
            var writer = new BitWriter(4);
            writer.WriteBits(0, offset);
            writer.WriteBits(0x8123_4567_89AB_CDEFUL, 64);
            writer.WriteBits(1, 1);
            byte[] bytes = writer.Complete().ToArray();
            writer.Dispose();
            var reader = new BitReader(bytes, 0);
            Assert.Equal(0UL, reader.ReadBits(offset));
            Assert.Equal(0x8123_4567_89AB_CDEFUL, reader.ReadBits(64));
            Assert.True(reader.ReadBit());
            reader.ExpectEnd();
        }
    }
}
