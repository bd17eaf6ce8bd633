using Pattoo.Edge.Common;
using Xunit;

namespace Pattoo.Edge.Tests.Support;

public class LargeArrayPoolTests
{
    [Fact]
    public async Task AnArrayGivenBackOnAnotherThreadIsTheOneTheNextRentGets()
    {
        var pool = new LargeArrayPool<byte>(2);
        var first = pool.Rent(5_800_000);
        Assert.Equal(8 * 1024 * 1024, first.Length); // rounded up: the next, slightly larger body fits it
        await Task.Run(() => pool.Return(first, first.Length));
        Assert.Same(first, await Task.Run(() => pool.Rent(5_810_000)));
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void TheSmallestKeptArrayThatFitsIsRentedAndAFullPoolKeepsTheLargest()
    {
        var pool = new LargeArrayPool<byte>(2);
        byte[] small = new byte[1024], middle = new byte[4096], large = new byte[16384];
        pool.Return(small, 0);
        pool.Return(large, 0);
        pool.Return(middle, 0); // full: replaces the smallest
        pool.Return(middle, 0); // given back twice: kept once
        Assert.Equal(2, pool.Count);
        Assert.Same(middle, pool.Rent(2000));
        Assert.Same(large, pool.Rent(2000));
        Assert.NotSame(small, pool.Rent(1000)); // dropped when the pool was full
    }

    [Fact]
    public void ReturnedSamplesAreClearedSoThePoolKeepsNoSeriesAlive()
    {
        var pool = new LargeArrayPool<Sample>(1);
        var array = pool.Rent(4);
        var key = new SeriesKey(AgentIdentity.ForPoller("box", "test", "target"), "value", DataType.Float, TimeSpan.FromSeconds(10));
        array[0] = new Sample(key, 1, 2);
        array[1] = new Sample(key, 2, 3);
        pool.Return(array, 2);
        Assert.All(pool.Rent(4).AsSpan(0, 2).ToArray(), s => Assert.Null(s.Series));
    }

    [Fact]
    public void TheHeapTrimEmptiesThePools()
    {
        LargeArrayPool<byte>.Shared.Return(new byte[1 << 20], 0);
        Assert.True(LargeArrayPool<byte>.Shared.Count > 0);
        HeapTrim.Now();
        Assert.Equal(0, LargeArrayPool<byte>.Shared.Count);
    }
}
