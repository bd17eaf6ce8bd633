using Pattoo.Edge.Common;
using Pattoo.Edge.Forwarding;
using Pattoo.Edge.Tests.Storage;

namespace Pattoo.Edge.Tests.Forwarding;

public class RetentionHoldTests
{
    [Theory]
    [InlineData(7 * 24, 10)] // within forward.max_backlog: retention keeps what is unsent
    [InlineData(1, 0)]       // further behind than max_backlog: deleted, as configured
    public async Task RetentionKeepsWhatAForwarderHasNotSentUpToMaxBacklog(int maxBacklogHours, int kept)
    {
        await using var t = new TempStore(retention: TimeSpan.FromHours(1));
        var key = TempStore.Key("temperature");
        var batch = new SampleBatch();
        long old = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3 * 3_600_000L; // older than the retention
        for (int i = 0; i < 10; i++) batch.Add(key, old + i * 10_000, i);
        await t.Store.WriteAsync(batch, default);
        await t.Store.SealNowAsync();

        // A receiver that is not there: nothing is ever acknowledged.
        var options = new ForwardOptions
        {
            MaxBacklog = TimeSpan.FromHours(maxBacklogHours),
            RemoteWrite = [new RemoteWriteOptions { Name = "down", Url = new Uri("http://127.0.0.1:1/api/v1/write"), ExternalLabels = [], Start = ForwardStart.Oldest, Timeout = TimeSpan.FromSeconds(1) }],
        };
        await using (var forwarders = new ForwarderSet(t.Store))
        {
            await forwarders.ApplyAsync(options);
            var until = DateTime.UtcNow.AddSeconds(20);
            while (forwarders.Statuses.Single().LastError is null && DateTime.UtcNow < until) await Task.Delay(50);
            var status = forwarders.Statuses.Single();
            Assert.False(status.Connected);
            Assert.Contains("127.0.0.1:1", status.LastError);
            Assert.True(status.BacklogSamples > 0);
            await t.Store.PruneNowAsync();
            Assert.Equal(kept, t.Store.ReadRaw(t.IdxOf(key), old, old + 100_000).Count);
        }
    }
}
