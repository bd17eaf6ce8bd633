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

public class ForwarderSetTests
{
    private static RemoteWriteOptions Options(string name, string url = "http://127.0.0.1:1/api/v1/write")
        => new() { Name = name, Url = new Uri(url), ExternalLabels = [], Timeout = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task AReloadKeepsUnchangedForwardersAndTheCursorsOfTheOthers()
    {
        await using var t = new TempStore();
        await using var set = new ForwarderSet(t.Store);
        await set.ApplyAsync(new ForwardOptions { RemoteWrite = [Options("a")] });
        var a = Assert.Single(set.Running);

        await set.ApplyAsync(new ForwardOptions { RemoteWrite = [Options("a"), Options("b")], Pattoo = [new PattooForwardOptions { Name = "c", Url = new Uri("http://127.0.0.1:1") }] });
        Assert.Equal(3, set.Running.Count);
        Assert.Same(a, set.Running.Single(f => f.Options.Name == "a")); // untouched: same instance, same cursor in memory
        Assert.Equal(["a", "b", "c"], set.Statuses.Select(s => s.Name));
        Assert.Equal(["remote_write", "remote_write", "pattoo"], set.Statuses.Select(s => s.Kind));

        await set.ApplyAsync(new ForwardOptions { RemoteWrite = [Options("a", "http://127.0.0.1:2/api/v1/write")] });
        var changed = Assert.Single(set.Running);
        Assert.NotSame(a, changed); // restarted, from its saved cursor
        Assert.NotNull(t.Store.LoadForwardCursor("a"));

        await set.ApplyAsync(new ForwardOptions());
        Assert.Empty(set.Running);
        Assert.NotNull(t.Store.LoadForwardCursor("b")); // a removed forwarder's cursor stays, should it come back
    }

    [Fact]
    public void TheConfigNamesEveryProblemOfAForwarder()
    {
        var e = Assert.Throws<Pattoo.Edge.Config.ConfigException>(() => Pattoo.Edge.Host.EdgeOptions.Parse("""
            [[forward.remote_write]]
            name = "vm"
            url = "ftp://x"
            bearer_token = "t"
            username = "u"
            external_labels = { "__bad" = "x" }
            [[forward.pattoo]]
            name = "vm"
            url = "http://central:20201"
            [[forward.pattoo]]
            url = "http://other"
            """, "edge.toml"));
        string all = string.Join("\n", e.Errors.Select(x => x.ToString()));
        Assert.Contains("forward.remote_write[0].url", all);
        Assert.Contains("expected an http:// or https:// URL", all);
        Assert.Contains("set either bearer_token or username and password", all);
        Assert.Contains("username and password go together", all);
        Assert.Contains("\"__bad\" is not a Prometheus label name", all);
        Assert.Contains("\"vm\" names another forwarder too", all);
        Assert.Contains("a forwarder needs a name", all);
    }
}
