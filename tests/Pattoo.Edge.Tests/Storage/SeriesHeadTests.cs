using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Tests.Storage;

/// <summary>The in-memory head keeps its points compressed in segments: every point must come back bit for bit, in range.</summary>
public class SeriesHeadTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(1000)]
    public void EveryPointComesBackBitForBitFromSegmentsAndTail(int count)
    {
        var rng = new Random(count);
        var state = new SeriesState(1, DataType.Float, 0);
        var ts = new long[count];
        var values = new double[count];
        long t = 1_700_000_000_000;
        double[] special = [0.0, -0.0, double.Epsilon, double.MaxValue, -double.MaxValue, 1e-300, 23.47, 9007199254740993];
        for (int i = 0; i < count; i++)
        {
            t += rng.Next(1, 20_000);
            ts[i] = t;
            values[i] = i % 7 == 0 ? special[i / 7 % special.Length] : Math.Round(rng.NextDouble() * 100, rng.Next(0, 4));
            state.Append(ts[i], values[i]);
        }
        Assert.Equal(count, state.HeadCount);

        var all = (Ts: new List<long>(), Values: new List<double>());
        state.CopyHead(long.MinValue, long.MaxValue, all.Ts, all.Values);
        Assert.Equal(ts, all.Ts);
        Assert.Equal(values.Select(BitConverter.DoubleToInt64Bits), all.Values.Select(BitConverter.DoubleToInt64Bits));

        // A range cutting through segments returns exactly the points inside it.
        long from = ts[count / 3], to = ts[2 * count / 3];
        var part = (Ts: new List<long>(), Values: new List<double>());
        state.CopyHead(from, to, part.Ts, part.Values);
        Assert.Equal(ts.Where(x => x >= from && x <= to), part.Ts);

        // A seal freezes the head: it encodes the frozen points while new ones go to the live
        // head, and readers see both, frozen first, until the seal drops the frozen part.
        Assert.Equal(count, state.Freeze());
        Assert.Throws<InvalidOperationException>(() => state.Freeze());
        state.Append(t + 10_000, 5);
        Assert.Equal(count + 1, state.HeadCount);
        Assert.Equal(count, state.FrozenCount);
        long[] sealTs = new long[4];
        double[] sealValues = new double[4];
        int n = state.FrozenForSealing(ref sealTs, ref sealValues);
        Assert.Equal(count, n);
        Assert.Equal(ts, sealTs[..n]);
        Assert.Equal(values.Select(BitConverter.DoubleToInt64Bits), sealValues[..n].Select(BitConverter.DoubleToInt64Bits));
        var during = (Ts: new List<long>(), Values: new List<double>());
        state.CopyHead(long.MinValue, long.MaxValue, during.Ts, during.Values);
        Assert.Equal(ts.Append(t + 10_000), during.Ts);

        state.DropFrozen();
        Assert.Equal(1, state.HeadCount);
        var after = (Ts: new List<long>(), Values: new List<double>());
        state.CopyHead(long.MinValue, long.MaxValue, after.Ts, after.Values);
        Assert.Equal([t + 10_000], after.Ts);
    }
}
