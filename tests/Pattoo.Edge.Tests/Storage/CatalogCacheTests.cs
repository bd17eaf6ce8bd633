using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Tests.Storage;

/// <summary>
/// The API shares one catalog snapshot between requests while the catalog is unchanged: a
/// request must cost nothing per series stored, yet see every change at once, whoever made it.
/// </summary>
public class CatalogCacheTests
{
    private static SampleBatch Batch(SeriesKey key, long ts, double value)
    {
        var batch = new SampleBatch(1);
        batch.Add(key, ts, value);
        return batch;
    }

    [Fact]
    public async Task SamplesLeaveTheSnapshotSharedAndTheirTimesShowLive()
    {
        await using var t = new TempStore();
        var key = TempStore.Key("temperature");
        await t.Store.WriteAsync(Batch(key, 10_000, 1), default);
        var first = t.Store.Catalog.Snapshot();
        Assert.Equal(10_000, Assert.Single(first.Datapoints).LastTimestamp);
        await t.Store.WriteAsync(Batch(key, 20_000, 2), default);
        await t.Store.SealNowAsync();
        var second = t.Store.Catalog.Snapshot();
        Assert.Same(first, second);
        // The row's last_timestamp is written at seals; the cached row reads the writer's.
        Assert.Equal(20_000, Assert.Single(second.Datapoints).LastTimestamp);
        await t.Store.WriteAsync(Batch(key, 30_000, 3), default);
        Assert.Equal(30_000, second.Datapoints[0].LastTimestamp);
    }

    [Fact]
    public async Task EveryCatalogChangeIsSeenByTheNextSnapshot()
    {
        await using var t = new TempStore();
        var catalog = t.Store.Catalog;
        var empty = catalog.Snapshot();
        await t.Store.WriteAsync(Batch(TempStore.Key("temperature", DataType.Float, ("room", "boiler")), 10_000, 1), default);
        var withSeries = catalog.Snapshot();
        Assert.NotSame(empty, withSeries);
        var d = Assert.Single(withSeries.Datapoints);
        Assert.Equal(("temperature", "boiler"), (withSeries.Describe(d).Key, withSeries.Describe(d).Labels.Single().Value));
        Assert.Equal(2, withSeries.GlueOf(d.IdxDatapoint).Count());
        Assert.Same(withSeries, catalog.Snapshot());

        var chart = catalog.CreateChart("Boiler", null, true);
        catalog.CreateChartDatapoint(chart.IdxChart, d.IdxDatapoint, true);
        var withChart = catalog.Snapshot();
        Assert.NotSame(withSeries, withChart);
        Assert.Equal("Boiler", withChart.Chart(chart.IdxChart)!.Name);
        Assert.Single(withChart.ChartDatapointsOfDatapoint(d.IdxDatapoint));

        // The command line writes with a catalog store of its own, on the running appliance's database.
        var commandLine = new CatalogStore(t.Options);
        commandLine.UpdateChart(chart.IdxChart, "Boiler room", null, null);
        Assert.Equal("Boiler room", catalog.Snapshot().Chart(chart.IdxChart)!.Name);
        commandLine.UpsertLanguage("es", "Spanish");
        commandLine.ImportKeyTranslations(1, [new("es", "test_temperature", "Temperatura", "°C")]);
        Assert.Equal("Temperatura", catalog.Snapshot().Translation(1, "es", "test_temperature")!.Translation);
    }
}
