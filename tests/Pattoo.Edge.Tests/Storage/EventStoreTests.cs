using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Tests.Storage;

public class EventStoreTests
{
    private static EdgeEvent Event(long ts, string target, string kind = "trap", EventSeverity severity = EventSeverity.Info, string text = "linkDown")
        => new(ts, "snmp", target, kind, severity, text, [new("trap", text), new("ifIndex.2", "2"), new("quote \"and\" ünïcode", "a\nb")]);

    [Fact]
    public async Task EventsAreStoredInBatchesAndReadNewestFirstPageByPageWithFilters()
    {
        await using var t = new TempStore();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using (var recorder = new EventRecorder(t.Store, TimeSpan.FromMilliseconds(50)))
        {
            for (int i = 0; i < 250; i++)
                recorder.Publish(Event(now - (250 - i) * 1000, i % 2 == 0 ? "sw-a" : "sw-b", i % 5 == 0 ? "inform" : "trap", i % 10 == 0 ? EventSeverity.Warning : EventSeverity.Info));
            await recorder.FlushAsync();
            Assert.Equal((250L, 250L, 0L, 0L), recorder.Counts);
        }
        var first = t.Store.ReadEvents(new EventQuery { Limit = 100 });
        Assert.Equal(250, first.TotalCount);
        Assert.True(first.HasMore);
        Assert.Equal(now - 1000, first.Events[0].Timestamp);
        Assert.Equal(first.Events.Select(e => e.Id).OrderDescending(), first.Events.Select(e => e.Id));
        Assert.Equal(Event(0, "x").Details, first.Events[0].Details);
        var all = new List<EdgeEvent>(first.Events);
        var page = first;
        while (page.HasMore)
        {
            page = t.Store.ReadEvents(new EventQuery { Limit = 100, BeforeId = page.Events[^1].Id });
            all.AddRange(page.Events);
        }
        Assert.Equal(250, all.Select(e => e.Id).Distinct().Count());

        var filtered = t.Store.ReadEvents(new EventQuery { Target = "sw-a", Kind = "inform", Limit = 1000 });
        Assert.Equal(25, filtered.TotalCount); // i even and a multiple of 5: every 10th
        Assert.All(filtered.Events, e => Assert.Equal(("sw-a", "inform", EventSeverity.Warning), (e.Target, e.Kind, e.Severity)));
        var range = t.Store.ReadEvents(new EventQuery { From = now - 10_000, To = now - 5_000, Severity = EventSeverity.Info });
        Assert.Equal(5, range.TotalCount); // ten seconds back to five: i = 240..245, less 240 (a warning)
    }

    [Fact]
    public async Task EventsPastTheirRetentionArePrunedAndTheRestSurviveARestart()
    {
        await using var t = new TempStore();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await t.Store.AppendEventsAsync([Event(now - TimeSpan.FromDays(100).Ticks / 10_000, "old"), Event(now - 1000, "new")]);
        t.Store.EventRetention = TimeSpan.FromDays(90);
        await t.Store.PruneNowAsync();
        await t.ReopenAsync();
        var left = t.Store.ReadEvents(new EventQuery());
        Assert.Equal("new", Assert.Single(left.Events).Target);
    }
}
