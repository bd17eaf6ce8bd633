using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Tests.Storage;

public class TimeSeriesStoreTests
{
    private const long T0 = 1_764_000_000_000; // 2025-11-24, ms

    [Fact]
    public async Task AWalThatAReaderKeptFromBeingEmptiedIsEmptiedOnceTheReaderIsGone()
    {
        // Samples of today: no day is over, so no compaction empties the WAL on the way.
        await using var t = new TempStore();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var keys = Enumerable.Range(0, 50).Select(i => TempStore.Key("load", DataType.Float, ("point", $"p{i}"))).ToArray();
        async Task WriteAndSeal(long from)
        {
            var batch = new SampleBatch();
            foreach (var key in keys)
                for (int i = 0; i < 20; i++) batch.Add(key, from + i * 1000L, i * 0.5);
            await t.Store.WriteDurableAsync(batch, default);
            await t.Store.SealNowAsync();
        }
        string wal = t.Options.DatabaseFile + "-wal";
        long WalBytes() => File.Exists(wal) ? new FileInfo(wal).Length : 0;

        await WriteAndSeal(now - 120_000);
        Assert.Equal(0, WalBytes());

        // A reader in a transaction from before the next seal: the checkpoint cannot empty the WAL under it.
        using (var reader = new SqliteConnection($"Data Source={t.Options.DatabaseFile};Mode=ReadOnly;Pooling=False"))
        {
            reader.Open();
            using var tx = reader.BeginTransaction(deferred: true);
            using (var cmd = reader.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "SELECT count(*) FROM chunk";
                Assert.Equal(50L, cmd.ExecuteScalar());
            }
            await WriteAndSeal(now - 60_000);
            Assert.True(WalBytes() > 0, "the reader did not keep the seal's pages in the WAL");
        }

        // Nothing else is written (the next seal is 2 h away): the writer tries again by itself.
        var until = DateTime.UtcNow.AddSeconds(30);
        while (WalBytes() > 0 && DateTime.UtcNow < until) await Task.Delay(200);
        Assert.Equal(0, WalBytes());
        Assert.Equal(2_000, t.Store.CountSamples());
    }

    [Fact]
    public async Task NumericAndStringSamplesRoundTrip()
    {
        await using var t = new TempStore();
        var temp = TempStore.Key("temperature", DataType.Float, ("sensor", "cpu"));
        var count = TempStore.Key("packets", DataType.Counter64, ("interface", "eth0"));
        var name = TempStore.Key("sysname", DataType.String);
        var batch = new SampleBatch();
        for (int i = 0; i < 100; i++)
        {
            batch.Add(temp, T0 + i * 10_000, 40.5 + i * 0.25);
            batch.Add(count, T0 + i * 10_000, 1000 + i * 50);
            batch.AddText(name, T0 + i * 10_000, i < 50 ? "alpha" : "beta");
        }
        await t.Store.WriteAsync(batch, default);

        var raw = t.Store.ReadRaw(t.IdxOf(temp), T0, T0 + 1_000_000);
        Assert.Equal(100, raw.Count);
        Assert.Equal(40.5 + 99 * 0.25, raw.Values[^1]);
        var rates = t.Store.ReadValues(t.IdxOf(count), T0, T0 + 1_000_000);
        Assert.Equal(99, rates.Count);
        Assert.All(rates.Values, v => Assert.Equal(5.0, v, 9));
        var strings = t.Store.ReadStrings(t.IdxOf(name), T0, T0 + 1_000_000);
        Assert.Equal(new[] { (T0, "alpha"), (T0 + 500_000, "beta") }, strings);

        var info = t.Store.ListDatapoints().Single(d => d.Checksum == temp.Checksum);
        Assert.Equal("temperature", info.Key);
        Assert.Equal(new KeyValuePair<string, string>("sensor", "cpu"), Assert.Single(info.Metadata));
        Assert.Equal(DataType.Float, info.DataType);
        Assert.Equal(T0 + 99 * 10_000, info.LastTimestamp);
        Assert.Equal("target-1", info.AgentPolledTarget);
    }

    [Fact]
    public async Task AReadIntoAReusedInstanceReadsAsAFreshOne()
    {
        await using var t = new TempStore();
        var gauge = TempStore.Key("temperature");
        var counter = TempStore.Key("packets", DataType.Counter64);
        var batch = new SampleBatch();
        for (int i = 0; i < 500; i++)
        {
            batch.Add(gauge, T0 + i * 10_000, 20 + i * 0.5);
            // A reset at 300: that interval has no rate.
            batch.Add(counter, T0 + i * 10_000, i < 300 ? 1_000 + i * 70 : i * 10);
        }
        await t.Store.WriteAsync(batch, default);
        await t.Store.SealNowAsync(); // chunks and head both read
        var more = new SampleBatch();
        for (int i = 500; i < 520; i++) { more.Add(gauge, T0 + i * 10_000, 1); more.Add(counter, T0 + i * 10_000, 9_000 + i); }
        await t.Store.WriteAsync(more, default);

        long g = t.IdxOf(gauge), c = t.IdxOf(counter);
        var reused = SeriesPoints.Rent();
        try
        {
            foreach (var (idx, from, to) in new[] { (c, T0, T0 + 600_000_000L), (g, T0 + 1_000_000, T0 + 4_000_000), (c, T0 + 2_990_000, T0 + 5_200_000), (g, T0 + 9_000_000, T0 + 9_100_000) })
            {
                var fresh = t.Store.ReadValues(idx, from, to);
                var again = t.Store.ReadValues(idx, from, to, reused);
                Assert.Same(reused, again);
                Assert.Equal(fresh.Timestamps, again.Timestamps);
                Assert.Equal(fresh.Values, again.Values);
            }
            Assert.Equal(518, t.Store.ReadValues(c, T0, T0 + 600_000_000L, reused).Count); // 519 intervals, one of them the reset
            Assert.Empty(t.Store.ReadValues(999_999, T0, T0 + 1, reused).Timestamps); // no such series: emptied, not left as it was
        }
        finally
        {
            SeriesPoints.Return(reused);
        }
        var rented = SeriesPoints.Rent();
        Assert.Equal(0, rented.Count); // given back empty
        SeriesPoints.Return(rented);
    }

    [Fact]
    public async Task ADurableWriteGivesTheBatchBackWhenAcceptedAndCompletesOnTheDisk()
    {
        await using var t = new TempStore();
        var key = TempStore.Key("temperature");
        var batch = SampleBatch.Rent(16);
        for (int i = 0; i < 10; i++) batch.Add(key, T0 + i * 10_000, i);
        var onDisk = await t.Store.AcceptDurableAsync(batch, default);
        // Accepted: the samples are the store's (readable) and the batch is the caller's again.
        batch.Release();
        Assert.Equal(10, t.Store.ReadRaw(t.IdxOf(key), T0, T0 + 100_000).Count);
        await onDisk.WaitAsync(TimeSpan.FromSeconds(10));
        await t.ReopenAsync();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (double)i), t.Store.ReadRaw(t.IdxOf(key), T0, T0 + 100_000).Values);
    }

    [Fact]
    public async Task DurablePostsFromManyClientsShareOneSyncWhileALonePostAndAStreamingClientAreSyncedAtOnce()
    {
        await using var t = new TempStore(ingestSyncWindow: TimeSpan.FromSeconds(4));
        var key = TempStore.Key("temperature");
        long at = T0;
        async Task<Task> Post(long startedAt)
        {
            var batch = SampleBatch.Rent(4);
            batch.Add(key, at += 10_000, 1);
            var onDisk = await t.Store.AcceptDurableAsync(batch, default, startedAt);
            batch.Release();
            return onDisk;
        }
        static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // A lone post after a quiet spell: nobody to wait for.
        await (await Post(Now())).WaitAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(1, t.Store.Statistics.Syncs);
        // A client that posts again as soon as it is answered streams: each post synced at once.
        for (int i = 0; i < 3; i++) await (await Post(Now())).WaitAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(4, t.Store.Statistics.Syncs);

        // Posts a few hundred ms apart, as 20 agents each posting every 10 s: they share a sync.
        await Task.Delay(300);
        var first = await Post(Now());
        await Task.Delay(300);
        Assert.False(first.IsCompleted);
        var second = await Post(Now());
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(5, t.Store.Statistics.Syncs);
        await t.ReopenAsync();
        Assert.Equal(6, t.Store.ReadRaw(t.IdxOf(key), T0, at).Count);
    }

    [Fact]
    public async Task AnIdleStoreSealsItsHeadWhenTheChunkSpanIsUp()
    {
        // Sealing once ran only after a write: a box whose ingest stopped kept its head (and its memory) for good.
        await using var t = new TempStore(chunkSpan: TimeSpan.FromMilliseconds(300));
        var batch = new SampleBatch();
        batch.Add(TempStore.Key("temperature"), T0, 21.5);
        await t.Store.WriteAsync(batch, default);
        Assert.Equal(1, t.Store.Statistics.HeadSamples);
        var until = DateTime.UtcNow.AddSeconds(10);
        // The seal runs beside the writer: the head is empty once frozen, the chunk counted once committed.
        while (t.Store.Statistics.ChunksSealed == 0 && DateTime.UtcNow < until) await Task.Delay(50);
        Assert.Equal(0, t.Store.Statistics.HeadSamples);
        Assert.Equal(1, t.Store.Statistics.ChunksSealed);
        Assert.Equal(21.5, t.Store.ReadRaw(t.IdxOf(TempStore.Key("temperature")), T0, T0).Values.Single());
    }

    [Fact]
    public async Task SealedChunksReadLikeTheHeadAndSurviveRestart()
    {
        await using var t = new TempStore();
        var key = TempStore.Key("load");
        var batch = new SampleBatch();
        for (int i = 0; i < 500; i++) batch.Add(key, T0 + i * 1000, Math.Sin(i));
        await t.Store.WriteAsync(batch, default);
        var before = t.Store.ReadRaw(t.IdxOf(key), long.MinValue, long.MaxValue);
        await t.Store.SealNowAsync();
        batch.Clear();
        for (int i = 500; i < 600; i++) batch.Add(key, T0 + i * 1000, Math.Sin(i));
        await t.Store.WriteAsync(batch, default);
        await t.ReopenAsync(); // the last 100 are replayed from the head log
        var after = t.Store.ReadRaw(t.IdxOf(key), long.MinValue, long.MaxValue);
        Assert.Equal(600, after.Count);
        Assert.Equal(before.Values, after.Values.Take(500));
        Assert.Equal(Math.Sin(599), after.Values[^1]);
        Assert.Equal(600, t.Store.CountSamples());
        // A range inside one chunk.
        var part = t.Store.ReadRaw(t.IdxOf(key), T0 + 100_000, T0 + 109_000);
        Assert.Equal(10, part.Count);
        Assert.Equal(T0 + 100_000, part.Timestamps[0]);
    }

    [Fact]
    public async Task ANumberGivenToAStringSeriesIsDroppedAndCounted()
    {
        await using var t = new TempStore();
        var name = TempStore.Key("name", DataType.String);
        var batch = new SampleBatch();
        batch.AddText(name, T0, "alpha");
        batch.Add(name, T0 + 1000, 42); // SampleBatch.Add does not load the key to check its type: the store does
        batch.AddText(name, T0 + 2000, "beta");
        await t.Store.WriteAsync(batch, default);
        Assert.Equal(["alpha", "beta"], t.Store.ReadStrings(t.IdxOf(name), T0, T0 + 2000).Select(s => s.Value));
        Assert.Equal(1, t.Store.Statistics.SamplesRejected);
    }

    [Fact]
    public async Task DuplicateAndOutOfOrderSamplesAreDroppedAlsoAfterRestart()
    {
        await using var t = new TempStore();
        var key = TempStore.Key("x");
        var batch = new SampleBatch();
        batch.Add(key, T0 + 2000, 2);
        batch.Add(key, T0 + 1000, 1); // older than the one before it
        batch.Add(key, T0 + 2000, 3); // same time
        await t.Store.WriteAsync(batch, default);
        await t.ReopenAsync();
        batch.Clear();
        batch.Add(key, T0 + 2000, 9);
        batch.Add(key, T0 + 3000, 4);
        await t.Store.WriteAsync(batch, default);
        var raw = t.Store.ReadRaw(t.IdxOf(key), long.MinValue, long.MaxValue);
        Assert.Equal(new[] { 2.0, 4.0 }, raw.Values);
        Assert.Equal(1, t.Store.Statistics.SamplesRejected);
    }

    [Fact]
    public void CounterRatesHandleWrapAndReset()
    {
        var raw = new SeriesPoints();
        void Add(long ts, double v) { raw.Timestamps.Add(ts); raw.Values.Add(v); }
        Add(0, 4294967000);       // near the top of a 32-bit counter
        Add(10_000, 4294967200);  // +200 in 10 s = 20/s
        Add(20_000, 104);         // wrapped: +200 = 20/s
        Add(30_000, 304);         // +200
        Add(40_000, 3);           // reset (a reboot): left out
        Add(50_000, 203);         // +200
        var rates = CounterRates.FromRaw(raw, DataType.Counter32);
        Assert.Equal(new long[] { 10_000, 20_000, 30_000, 50_000 }, rates.Timestamps);
        Assert.All(rates.Values, v => Assert.Equal(20.0, v, 9));

        var raw64 = new SeriesPoints();
        raw64.Timestamps.AddRange([0, 1000]);
        raw64.Values.AddRange([18446744073709550000.0, 1000]);
        var r64 = CounterRates.FromRaw(raw64, DataType.Counter64);
        Assert.Single(r64.Values);
        Assert.InRange(r64.Values[0], 2000, 3300); // 2^64 wrap; double resolution at 2^64 is 4096
    }

    [Fact]
    public async Task NewDatabaseIsMigratedToTheLatestVersionAndNewerIsRefused()
    {
        await using var t = new TempStore();
        await t.Store.DisposeAsync();
        using (var db = new SqliteConnection($"Data Source={t.Options.DatabaseFile}"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA user_version";
            Assert.True(Convert.ToInt32(cmd.ExecuteScalar()) >= 1);
            cmd.CommandText = "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)";
            Assert.Equal("agent,agent_xlate,audit,catalog_version,chart,chart_datapoint,chunk,compaction,datapoint,event,favorite,forward_cursor,glue,head,head_log,language,pair,pair_xlate,pair_xlate_group,rollup,string_sample", cmd.ExecuteScalar());
            cmd.CommandText = "PRAGMA journal_mode";
            Assert.Equal("wal", cmd.ExecuteScalar());
            cmd.CommandText = "PRAGMA page_size";
            Assert.Equal((long)TimeSeriesStore.NewDatabasePageSize, cmd.ExecuteScalar());
            cmd.CommandText = "PRAGMA user_version = 999";
            cmd.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
        var e = Assert.Throws<StorageUnavailableException>(() => TimeSeriesStore.Open(t.Options));
        Assert.Contains("newer than this release", e.Message);
        using (var db = new SqliteConnection($"Data Source={t.Options.DatabaseFile}"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA user_version = 6";
            cmd.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
        await t.ReopenAsync();
    }

    [Fact]
    public async Task ReadersSeeEveryAcknowledgedSampleWhileTheWriterIngestsAndSeals()
    {
        await using var t = new TempStore(maxHeadSamples: 10_000);
        const int Series = 20, Rounds = 300;
        var keys = Enumerable.Range(0, Series).Select(i => TempStore.Key("v", DataType.Integer, ("n", i.ToString()))).ToArray();
        var first = new SampleBatch();
        foreach (var k in keys) first.Add(k, T0, 0);
        await t.Store.WriteAsync(first, default);
        long idx = t.IdxOf(keys[7]);
        long acknowledged = 1; // rounds of keys[7] known committed
        var writer = Task.Run(async () =>
        {
            var batch = new SampleBatch();
            for (int r = 1; r < Rounds; r++)
            {
                batch.Clear();
                foreach (var k in keys) batch.Add(k, T0 + r * 1000, r);
                await t.Store.WriteAsync(batch, default);
                Interlocked.Exchange(ref acknowledged, r + 1);
                if (r % 100 == 0) await t.Store.SealNowAsync();
            }
        });
        int reads = 0;
        while (!writer.IsCompleted)
        {
            long mustSee = Interlocked.Read(ref acknowledged);
            var points = t.Store.ReadRaw(idx, long.MinValue, long.MaxValue);
            Assert.True(points.Count >= mustSee, $"read {points.Count} points, {mustSee} were acknowledged");
            for (int i = 0; i < points.Count; i++) Assert.Equal(i, points.Values[i]); // no gap, no duplicate
            reads++;
        }
        await writer;
        Assert.True(reads > 0);
        Assert.Equal(Rounds, t.Store.ReadRaw(idx, long.MinValue, long.MaxValue).Count);
        Assert.True(t.Store.Statistics.ChunksSealed >= Series);
    }

    [Fact]
    public async Task RetentionPrunesOldChunksAndKeepsRecentData()
    {
        await using var t = new TempStore(retention: TimeSpan.FromDays(1));
        var key = TempStore.Key("old-and-new");
        var label = TempStore.Key("label", DataType.String);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var batch = new SampleBatch();
        for (int i = 0; i < 10; i++) batch.Add(key, now - TimeSpan.FromDays(3).Ticks / 10_000 + i * 1000, i);
        batch.AddText(label, now - 3 * 86_400_000L, "first");
        batch.AddText(label, now - 2 * 86_400_000L, "second");
        await t.Store.WriteAsync(batch, default);
        await t.Store.SealNowAsync();
        batch.Clear();
        for (int i = 0; i < 10; i++) batch.Add(key, now - 60_000 + i * 1000, 100 + i);
        await t.Store.WriteAsync(batch, default);
        await t.Store.SealNowAsync();

        await t.Store.PruneNowAsync();
        // The count is kept by the writer (seals, string rows, pruning), and a reopen counts the same.
        Assert.Equal(11, t.Store.CountSamples());
        await t.ReopenAsync();
        Assert.Equal(11, t.Store.CountSamples());

        var left = t.Store.ReadRaw(t.IdxOf(key), long.MinValue, long.MaxValue);
        Assert.Equal(Enumerable.Range(100, 10).Select(i => (double)i), left.Values);
        // The newest value of a string series stays, however old: it is still current.
        Assert.Equal("second", Assert.Single(t.Store.ReadStrings(t.IdxOf(label), long.MinValue, long.MaxValue)).Value);
    }

    [Fact]
    public async Task WritesAfterDisposeFailClearly()
    {
        var t = new TempStore();
        await t.DisposeAsync();
        var batch = new SampleBatch();
        batch.Add(TempStore.Key("x"), T0, 1);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => t.Store.WriteAsync(batch, default));
    }
}
