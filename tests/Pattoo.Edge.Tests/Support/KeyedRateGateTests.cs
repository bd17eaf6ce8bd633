using Pattoo.Edge.Common;

namespace Pattoo.Edge.Tests.Support;

public class KeyedRateGateTests
{
    [Fact]
    public void EachKeyPassesOncePerIntervalAndCountsWhatWasHeldBack()
    {
        var gate = new KeyedRateGate<string>(TimeSpan.FromSeconds(1), 100);
        Assert.True(gate.TryPass("a", 10_000, out int held));
        Assert.Equal(0, held);
        Assert.False(gate.TryPass("a", 10_500, out _));
        Assert.False(gate.TryPass("a", 10_999, out _));
        Assert.True(gate.TryPass("b", 10_999, out _)); // another key is not held by a
        Assert.True(gate.TryPass("a", 11_000, out held));
        Assert.Equal(2, held);
        Assert.True(gate.TryPass("a", 12_000, out held));
        Assert.Equal(0, held);
    }

    [Fact]
    public void ASweepOfNewKeysNeverGrowsItPastItsBound()
    {
        var gate = new KeyedRateGate<int>(TimeSpan.FromMinutes(1), 1_000);
        for (int k = 0; k < 100_000; k++) Assert.True(gate.TryPass(k, 0, out _));
        // Forgotten with the others: a key may pass early once after a sweep, never grow memory.
        Assert.True(gate.TryPass(5, 1, out _));
        Assert.False(gate.TryPass(5, 2, out _));
    }
}
