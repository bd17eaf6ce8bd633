using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;
using Pattoo.Edge.Storage.Encoding;

namespace Pattoo.Edge.Tests.Storage;

/// <summary>Day blocks: a day that is over becomes one chunk and one hourly rollup block per series, and reads the same.</summary>
public class CompactionTests
{
    private const long Minute = 60_000, Hour = 3_600_000, Day = 86_400_000;

    [Fact]
    public async Task PastDaysBecomeOneBlockPerSeriesAndReadTheSameBeforeAndAfterARestart()
    {
        await using var t = new TempStore();
        var gauge = TempStore.Key("temperature");
        var counter = TempStore.Key("bytes", DataType.Counter64);
        // "Today" is the newest day whose day before may be compacted: compaction waits a chunk
        // span and a minute past midnight, so from 00:00 to 02:01 UTC that is yesterday.
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long today = (now - (long)t.Store.Options.ChunkSpan.TotalMilliseconds - 2 * Minute) / Day * Day;
        long t0 = today - 3 * Day + 5_000;
        var rng = new Random(9);
        double g = 20, c = 1_000;
        int points = (int)((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - t0) / Minute) - 1;
        for (int i = 0; i < points; i++)
        {
            var batch = new SampleBatch(2);
            g = Math.Round(g + rng.NextDouble() - 0.5, 1);
            c += rng.Next(0, 5000);
            batch.Add(gauge, t0 + i * Minute, g);
            batch.Add(counter, t0 + i * Minute, c);
            await t.Store.WriteAsync(batch, default);
            // Seals every 7.5 h: some heads span midnight, and are sealed as a chunk on each side
            // of it; some cut an hourly bucket in two.
            if (i % 450 == 449) await t.Store.SealNowAsync();
        }
        await t.Store.SealNowAsync();
        Assert.Equal(0, Count(t, $"SELECT count(*) FROM chunk WHERE ts_start / {Day} != ts_end / {Day}"));
        await t.Store.CompactNowAsync(); // whatever the writer had not compacted yet between the writes
        long from = t0, to = t0 + points * Minute;
        var expected = new Dictionary<long, (SeriesPoints Raw, List<RollupBucket> Hourly)>();
        foreach (var key in new[] { gauge, counter })
        {
            long idx = t.IdxOf(key);
            var raw = t.Store.ReadRaw(idx, from, to);
            Assert.Equal(points, raw.Count);
            // What the rollups must say: the raw points summarised (counters as rates).
            var values = t.Store.ReadValues(idx, from, to);
            var hourly = new List<RollupBucket>();
            RollupBlock.Summarise(values.Timestamps.ToArray(), values.Values.ToArray(), Hour, hourly);
            expected[idx] = (raw, hourly);
        }

        long gaugeIdx = t.IdxOf(gauge);
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (var (idx, (raw, hourly)) in expected)
            {
                var back = t.Store.ReadRaw(idx, from, to);
                Assert.Equal(raw.Timestamps, back.Timestamps);
                Assert.Equal(raw.Values, back.Values);
                var rollups = t.Store.ReadRollups(idx, from, to, Hour)!;
                Assert.Equal(hourly.Count, rollups.Count);
                for (int i = 0; i < hourly.Count; i++)
                {
                    var (e, a) = (hourly[i], rollups[i]);
                    Assert.Equal((e.Start, e.Min, e.Max, e.Count, e.Last), (a.Start, a.Min, a.Max, a.Count, a.Last));
                    Assert.Equal(e.Sum, a.Sum, 6);
                    // The gauge's values have one decimal: so do its sums, also where a seal cut a
                    // bucket in two and compaction or the read joined it (a drifted sum costs a
                    // block's sum column the XOR codec).
                    if (idx == gaugeIdx) Assert.Equal(Math.Round(a.Sum, 1), a.Sum);
                }
                // Each day that is over: one chunk and one hourly block.
                for (long day = today - 3 * Day; day < today; day += Day)
                {
                    Assert.Equal(1, Count(t, $"SELECT count(*) FROM chunk WHERE idx_datapoint = {idx} AND ts_start >= {day} AND ts_end < {day + Day}"));
                    Assert.Equal(1, Count(t, $"SELECT count(*) FROM rollup WHERE idx_datapoint = {idx} AND level = {Hour} AND ts_start >= {day} AND ts_start < {day + Day}"));
                }
                // Today is not over: its chunks stay as sealed.
                Assert.True(Count(t, $"SELECT count(*) FROM chunk WHERE idx_datapoint = {idx} AND ts_start >= {today}") >= 1);
            }
            Assert.Equal("ok", Scalar(t, "PRAGMA integrity_check"));
            await t.ReopenAsync();
            await t.Store.CompactNowAsync();
            Assert.Equal(0, t.Store.Statistics.ChunksCompacted); // done once, remembered
        }
        Assert.True(Count(t, "SELECT day_end FROM compaction") >= today - Day);
    }

    [Fact]
    public async Task AHeadThatSpansDaysIsSealedAsAChunkPerDay()
    {
        await using var t = new TempStore();
        var key = TempStore.Key("imported");
        long today = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Day * Day;
        var batch = new SampleBatch();
        for (long ts = today - 3 * Day + Hour; ts < today; ts += 10 * Minute) batch.Add(key, ts, ts % 7);
        await t.Store.WriteAsync(batch, default);
        await t.Store.SealNowAsync();
        Assert.Equal(3, Count(t, "SELECT count(*) FROM chunk"));
        Assert.Equal(0, Count(t, $"SELECT count(*) FROM chunk WHERE ts_start / {Day} != ts_end / {Day}"));
        var raw = t.Store.ReadRaw(t.IdxOf(key), 0, today);
        Assert.Equal(batch.Count, raw.Count);
        Assert.Equal(batch.Items.ToArray().Select(s => s.TimestampMs), raw.Timestamps);
        // A day's read decodes that day only, and reads the same points.
        var day = t.Store.ReadRaw(t.IdxOf(key), today - 2 * Day, today - Day - 1);
        Assert.Equal(144, day.Count);
    }

    [Fact]
    public async Task ChunksSealedIntoADayAlreadyCompactedAreMergedToo()
    {
        await using var t = new TempStore();
        long today = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Day * Day;
        var first = TempStore.Key("first");
        var late = TempStore.Key("late");
        for (int half = 0; half < 2; half++)
        {
            var batch = new SampleBatch();
            for (long ts = today - 2 * Day + half * 12 * Hour; ts < today - 2 * Day + (half + 1) * 12 * Hour; ts += 10 * Minute) batch.Add(first, ts, 1);
            await t.Store.WriteAsync(batch, default);
            await t.Store.SealNowAsync();
        }
        await t.Store.CompactNowAsync();
        Assert.True(Count(t, "SELECT day_end FROM compaction") >= today - Day);
        // A backlog arrives for a day already compacted, in two seals.
        for (int half = 0; half < 2; half++)
        {
            var batch = new SampleBatch();
            for (long ts = today - 2 * Day + half * 12 * Hour; ts < today - 2 * Day + (half + 1) * 12 * Hour; ts += 10 * Minute) batch.Add(late, ts, 2);
            await t.Store.WriteAsync(batch, default);
            await t.Store.SealNowAsync();
        }
        await t.Store.CompactNowAsync();
        long idx = t.IdxOf(late);
        Assert.Equal(1, Count(t, $"SELECT count(*) FROM chunk WHERE idx_datapoint = {idx}"));
        Assert.Equal(144, t.Store.ReadRaw(idx, 0, today).Count);
        Assert.Equal(1, Count(t, $"SELECT count(*) FROM chunk WHERE idx_datapoint = {t.IdxOf(first)}"));
    }

    [Fact]
    public async Task CompactionVisitsOnlyTheSeriesWithSomethingToMerge()
    {
        await using var t = new TempStore();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long day = (now - (long)t.Store.Options.ChunkSpan.TotalMilliseconds - 2 * Minute) / Day * Day - 2 * Day;
        // 1,000 series in the day, one sealed twice: one step of one series.
        var keys = Enumerable.Range(0, 1_000).Select(i => TempStore.Key($"s{i}")).ToArray();
        var batch = new SampleBatch(keys.Length);
        foreach (var key in keys) batch.Add(key, day + Hour, 1);
        await t.Store.WriteAsync(batch, default);
        await t.Store.SealNowAsync();
        batch = new SampleBatch(1);
        batch.Add(keys[^1], day + 5 * Hour, 2);
        await t.Store.WriteAsync(batch, default);
        await t.Store.SealNowAsync();
        await t.Store.CompactNowAsync(); // the writer may have begun the day in the background
        Assert.Equal(1_000, Count(t, "SELECT count(*) FROM chunk"));
        Assert.Equal(2, Count(t, $"SELECT count FROM chunk WHERE idx_datapoint = {t.IdxOf(keys[^1])}"));
        // Days are done in one step each here (the background writer may have done this one, or an
        // earlier one before the second seal sent it back): never a step per 200 series of the catalog.
        Assert.InRange(t.Store.CompactionSteps, 1, 2);
    }

    [Fact]
    public void OverlappingChunksMergeInTimeOrderKeepingTheFirstSealedOfEqualTimes()
    {
        var ts = new List<long> { 10, 20, 30, 15, 20, 40 };
        var values = new List<double> { 1, 2, 3, 4, 5, 6 };
        TimeSeriesStore.SortKeepingFirst(ts, values);
        Assert.Equal([10L, 15, 20, 30, 40], ts);
        Assert.Equal([1.0, 4, 2, 3, 6], values);
    }

    private static long Count(TempStore t, string sql) => (long)Scalar(t, sql);

    private static object Scalar(TempStore t, string sql)
    {
        using var db = t.Store.OpenReader();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar()!;
    }
}
