using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers;

namespace Pattoo.Edge.Tests.Scheduling;

/// <summary>A target's own figures reach its state (and so the API's pollers { diagnostics }), read live.</summary>
public sealed class PollSchedulerDiagnosticsTests
{
    private sealed class CountingSink : ISampleSink
    {
        public int Batches;
        public Task WriteAsync(SampleBatch batch, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Batches);
            return Task.CompletedTask;
        }
    }

    private class Target(string name) : IPollTarget
    {
        public int PollCount;
        public string Program => "test";
        public string Name => name;
        public TimeSpan Interval => TimeSpan.FromMilliseconds(100);
        public string ConfigFingerprint => name;
        public Task PollAsync(SampleBatch batch, PollReport report, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref PollCount);
            return Task.CompletedTask;
        }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class TargetWithFigures(string name) : Target(name), IPollTargetDiagnostics
    {
        public IReadOnlyList<KeyValuePair<string, long>> Diagnostics => [new("polls", PollCount), new("link.timeouts", 0)];
    }

    [Fact]
    public async Task DiagnosticsOfATargetAreItsOwnAndLive()
    {
        await using var scheduler = new PollScheduler(new CountingSink());
        var withFigures = new TargetWithFigures("a");
        await scheduler.ApplyAsync([withFigures, new Target("b")]);
        var until = DateTime.UtcNow.AddSeconds(10);
        while (withFigures.PollCount < 3 && DateTime.UtcNow < until) await Task.Delay(50);

        var states = scheduler.States;
        var a = states.Single(s => s.Name == "a");
        var figures = a.Diagnostics.ToDictionary(d => d.Key, d => d.Value);
        Assert.Equal(["link.timeouts", "polls"], figures.Keys.Order());
        Assert.True(figures["polls"] >= 3);
        long before = figures["polls"];
        while (withFigures.PollCount == before && DateTime.UtcNow < until) await Task.Delay(50);
        Assert.True(a.Diagnostics.Single(d => d.Key == "polls").Value > before, "read when asked, not copied once");
        Assert.Empty(states.Single(s => s.Name == "b").Diagnostics);
    }

    [Fact]
    public async Task SamplesTodayStartFromWhatStorageHoldsForTheTarget()
    {
        // After a restart a target's "samples today" goes on from what the day already stored.
        long? askedSince = null;
        await using var scheduler = new PollScheduler(new CountingSink())
        {
            StoredSince = since =>
            {
                askedSince = since;
                return new Dictionary<(string, string), long> { [("test", "a")] = 1234, [("other", "b")] = 99 };
            },
        };
        await scheduler.ApplyAsync([new Target("a"), new Target("b")]);
        var a = scheduler.States.Single(s => s.Name == "a");
        var b = scheduler.States.Single(s => s.Name == "b");
        Assert.True(a.SamplesToday >= 1234, $"{a.SamplesToday}");
        Assert.Equal(0, b.SamplesToday); // ("test", "b") has nothing stored; ("other", "b") is another program
        var midnight = new DateTimeOffset(DateTime.Now.Date, TimeZoneInfo.Local.GetUtcOffset(DateTime.Now.Date)).ToUnixTimeMilliseconds();
        Assert.Equal(midnight, askedSince);
    }
}
