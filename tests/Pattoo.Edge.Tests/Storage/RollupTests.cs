using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;
using Pattoo.Edge.Storage.Encoding;

namespace Pattoo.Edge.Tests.Storage;

/// <summary>Rollups: the block codec, what a seal writes, how reads merge them with the head, and their own retention.</summary>
public class RollupTests
{
    private const long Minute = 60_000, FiveMinutes = 300_000, Hour = 3_600_000;

    [Fact]
    public void BlocksRoundTripAndCorruptOnesAreNamedNeverACrash()
    {
        var buckets = new List<RollupBucket>();
        for (int i = 0; i < 300; i++) buckets.Add(new(1_700_000_100_000 + i * FiveMinutes, i * 0.1, i * 0.1 + 2.5, i * 3.3, 5 + i % 3, -0.0));
        byte[] block = RollupBlock.Encode(buckets.ToArray());
        var back = new List<RollupBucket>();
        Assert.Equal(300, RollupBlock.Decode(block, back));
        Assert.Equal(buckets, back);

        AssertCorruptionsAreNamed(block, new Random(7), 2000);
    }

    /// <summary>Cut or bit-flipped copies of <paramref name="block"/> decode or throw <see cref="ChunkFormatException"/>, adding nothing.</summary>
    private static void AssertCorruptionsAreNamed(byte[] block, Random rng, int copies)
    {
        for (int i = 0; i < copies; i++)
        {
            var bad = (byte[])block.Clone();
            if (i % 3 == 0) bad = bad[..rng.Next(bad.Length)];
            else bad[rng.Next(bad.Length)] ^= (byte)(1 << rng.Next(8));
            var into = new List<RollupBucket>();
            try { RollupBlock.Decode(bad, into); }
            catch (ChunkFormatException) { Assert.Empty(into); }
        }
    }

    /// <summary>Buckets of every codec the columns can take: decimals, integers, full floats, -0.0, one to many buckets, gaps.</summary>
    private static List<RollupBucket> MixedBuckets(int seed, int n)
    {
        var rng = new Random(seed);
        var buckets = new List<RollupBucket>();
        long start = 1_700_000_000_000 / Hour * Hour;
        for (int i = 0; i < n; i++)
        {
            start += (rng.Next(10) == 0 ? 3 : 1) * Hour;
            double min = seed % 3 == 0 ? rng.NextDouble() * 1000 : Math.Round(rng.NextDouble() * 100, 1);
            double last = seed % 4 == 0 ? -0.0 : min + 1;
            buckets.Add(new(start, min, min + rng.Next(0, 50), Math.Round(min * 360 + rng.Next(100), 1), 360 - rng.Next(2), last));
        }
        return buckets;
    }

    /// <summary>Version 1's layout: every column a whole chunk.</summary>
    private static byte[] VersionOneBlock(List<RollupBucket> buckets)
    {
        var block = new List<byte> { 0x11 };
        Span<byte> varint = stackalloc byte[10];
        block.AddRange(varint[..Varint.Write(varint, (ulong)buckets.Count)].ToArray());
        long[] indexes = [.. Enumerable.Range(0, buckets.Count).Select(i => (long)i)];
        var columns = new[]
        {
            ChunkEncoder.Encode(buckets.Select(b => b.Start).ToArray(), buckets.Select(b => b.Min).ToArray()),
            ChunkEncoder.Encode(indexes, buckets.Select(b => b.Max).ToArray()),
            ChunkEncoder.Encode(indexes, buckets.Select(b => b.Sum).ToArray()),
            ChunkEncoder.Encode(indexes, buckets.Select(b => (double)b.Count).ToArray()),
            ChunkEncoder.Encode(indexes, buckets.Select(b => b.Last).ToArray()),
        };
        foreach (var column in columns)
        {
            block.AddRange(varint[..Varint.Write(varint, (ulong)column.Length)].ToArray());
            block.AddRange(column);
        }
        return [.. block];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(24)]
    [InlineData(200)]
    public void VersionTwoLeavesOutWhatIndexStampsMakeKnownAndVersionOneBlocksStillRead(int n)
    {
        for (int seed = 0; seed < 12; seed++)
        {
            var buckets = MixedBuckets(seed, n);
            byte[] v2 = RollupBlock.Encode(buckets.ToArray()), v1 = VersionOneBlock(buckets);
            Assert.Equal(0x12, v2[0]);
            var back = new List<RollupBucket>();
            Assert.Equal(n, RollupBlock.Decode(v2, back));
            Assert.Equal(buckets, back);
            back.Clear();
            Assert.Equal(n, RollupBlock.Decode(v1, back));
            Assert.Equal(buckets, back);
            // Four columns without their point count and first stamp (2 bytes), from 2 buckets on
            // range and first delta (2), in chunk version 2 from 3 on the timestamp table (2).
            int least = 4 * (n >= 2 ? 4 : 2);
            Assert.True(v1.Length - v2.Length >= least, $"{n} buckets, seed {seed}: version 1 {v1.Length} bytes, version 2 {v2.Length}");
        }
    }

    [Fact]
    public void CorruptVersionTwoBlocksOfEveryShapeAreNamedNeverACrash()
    {
        var rng = new Random(11);
        foreach (int n in new[] { 1, 2, 3, 6, 24 })
        {
            for (int seed = 0; seed < 4; seed++)
                AssertCorruptionsAreNamed(RollupBlock.Encode(MixedBuckets(seed, n).ToArray()), rng, 1500);
        }
    }

    [Fact]
    public void SummariseAlignsBucketsToTheLevel()
    {
        var buckets = new List<RollupBucket>();
        RollupBlock.Summarise([299_999, 300_000, 300_001, 900_000], [1, 2, 4, 8], FiveMinutes, buckets);
        Assert.Equal([new(0, 1, 1, 1, 1, 1), new(300_000, 2, 4, 6, 2, 4), new(900_000, 8, 8, 8, 1, 8)], buckets);
    }

    [Fact]
    public void SumsOfShortDecimalsStayShortDecimalsAndTheBlockSmall()
    {
        // A gauge at 0.1 resolution: float sums drift (0.1 + 0.2 = 0.30000000000000004) and would
        // take the XOR codec's 64 bits; rounded to the values' decimals they take a few.
        var rng = new Random(7);
        var ts = new long[2880];
        var values = new double[ts.Length];
        double x = 20;
        for (int i = 0; i < ts.Length; i++)
        {
            ts[i] = 1_700_000_000_000 + i * 10_000L;
            x = Math.Round(x + Math.Round(rng.NextDouble() - 0.5, 1), 1);
            values[i] = x;
        }
        int decimals = ChunkEncoder.DecimalScale(values);
        Assert.Equal(1, decimals);
        var drifting = new List<RollupBucket>();
        var rounded = new List<RollupBucket>();
        RollupBlock.Summarise(ts, values, 300_000, drifting);
        RollupBlock.Summarise(ts, values, 300_000, rounded, decimals);
        Assert.Equal(drifting.Count, rounded.Count);
        for (int i = 0; i < rounded.Count; i++)
        {
            Assert.Equal(drifting[i].Sum, rounded[i].Sum, 1e-9);
            Assert.Equal(Math.Round(rounded[i].Sum, 1), rounded[i].Sum);
        }
        Assert.Contains(drifting, b => b.Sum != Math.Round(b.Sum, 1));
        int small = RollupBlock.Encode(rounded.ToArray()).Length, large = RollupBlock.Encode(drifting.ToArray()).Length;
        Assert.True(small * 2 < large, $"{small} bytes rounded, {large} drifting");
    }

    [Fact]
    public async Task SealsWriteRollupsThatReadLikeTheRawPointsAcrossCutBucketsAndTheHead()
    {
        await using var t = new TempStore();
        var gauge = TempStore.Key("temperature");
        var counter = TempStore.Key("bytes", DataType.Counter64);
        long t0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Hour * Hour - 5 * 86_400_000L + 7_000; // not on a bucket boundary, within the retention
        var rng = new Random(3);
        double g = 20, c = 1_000;
        const int points = 4 * 24 * 60; // four days a minute apart
        for (int i = 0; i < points; i++)
        {
            var batch = new SampleBatch(2);
            g = Math.Round(g + rng.NextDouble() - 0.5, 1);
            c += rng.Next(0, 5000);
            batch.Add(gauge, t0 + i * Minute, g);
            batch.Add(counter, t0 + i * Minute, c);
            await t.Store.WriteAsync(batch, default);
            // Seals at odd moments cut buckets in two; the last day stays in the head.
            if (i % 997 == 500 && i < 3 * 24 * 60) await t.Store.SealNowAsync();
        }
        long from = t0, to = t0 + (points - 1) * Minute;
        foreach (var key in new[] { gauge, counter })
        {
            long idx = t.IdxOf(key);
            // No sample has been pruned: there are no 5-minute blocks, and charts read the raw samples.
            Assert.Null(t.Store.ReadRollups(idx, from, to, TimeSeriesStore.FiveMinuteLevel));
            foreach (long level in new[] { TimeSeriesStore.HourLevel })
            {
                var rollups = t.Store.ReadRollups(idx, from, to, level);
                Assert.NotNull(rollups);
                var raw = t.Store.ReadValues(idx, from, to);
                var expected = new List<RollupBucket>();
                RollupBlock.Summarise(raw.Timestamps.ToArray(), raw.Values.ToArray(), level, expected);
                Assert.Equal(expected.Count, rollups.Count);
                for (int i = 0; i < expected.Count; i++)
                {
                    var (e, a) = (expected[i], rollups[i]);
                    Assert.Equal((e.Start, e.Min, e.Max, e.Count, e.Last), (a.Start, a.Min, a.Max, a.Count, a.Last));
                    Assert.Equal(e.Sum, a.Sum, 6);
                }
            }
        }
    }

    [Fact]
    public async Task RollupsOutliveTheRawSamplesByTheirOwnRetention()
    {
        await using var t = new TempStore(retention: TimeSpan.FromDays(2), rollupRetention: TimeSpan.FromDays(30));
        var key = TempStore.Key("temperature");
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long t0 = now - 10 * 86_400_000L;
        var batch = new SampleBatch();
        for (int i = 0; i < 240; i++) batch.Add(key, t0 + i * Minute, i);
        await t.Store.WriteAsync(batch, default);
        await t.Store.SealNowAsync();
        long idx = t.IdxOf(key);
        // While the chunks hold the samples, the 5-minute level costs no disk: charts summarise the chunks.
        Assert.Equal(0, CountBlocks(t, FiveMinutes));
        Assert.Equal(1, CountBlocks(t, Hour));
        Assert.Null(t.Store.ReadRollups(idx, t0, now, FiveMinutes)); // charts read the raw samples
        var raw = t.Store.ReadValues(idx, t0, now);
        var fromChunks = new List<RollupBucket>();
        RollupBlock.Summarise(raw.Timestamps.ToArray(), raw.Values.ToArray(), FiveMinutes, fromChunks);
        await t.Store.PruneNowAsync();
        Assert.Equal(0, t.Store.ReadRaw(idx, t0, now).Count);
        Assert.Equal(1, CountBlocks(t, FiveMinutes));
        var rollups = t.Store.ReadRollups(idx, t0, now, FiveMinutes)!;
        Assert.Equal(240, rollups.Sum(b => b.Count));
        Assert.Equal(239, rollups[^1].Last);
        Assert.Equal(fromChunks, rollups);
        Assert.Equal(240, t.Store.ReadRollups(idx, t0, now, Hour)!.Sum(b => b.Count));
    }

    [Fact]
    public async Task FiveMinuteRollupsAreNotWrittenWhenTheyWouldNotOutliveTheSamples()
    {
        await using var t = new TempStore(retention: TimeSpan.FromDays(2), rollupRetention: TimeSpan.FromDays(2));
        var key = TempStore.Key("temperature");
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var batch = new SampleBatch();
        for (int i = 0; i < 240; i++) batch.Add(key, now - 10 * 86_400_000L + i * Minute, i);
        await t.Store.WriteAsync(batch, default);
        await t.Store.SealNowAsync();
        await t.Store.PruneNowAsync();
        Assert.Equal(0, CountBlocks(t, FiveMinutes));
    }

    [Fact]
    public async Task UpgradingFromVersion6DropsTheFiveMinuteBlocksItsSealsWroteBesideTheChunks()
    {
        await using var t = new TempStore();
        var key = TempStore.Key("temperature");
        long t0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Hour * Hour - 5 * Hour; // within the retention: nothing is pruned meanwhile
        var batch = new SampleBatch();
        for (int i = 0; i < 120; i++) batch.Add(key, t0 + i * Minute, i % 7);
        await t.Store.WriteAsync(batch, default);
        await t.Store.SealNowAsync();
        long idx = t.IdxOf(key);
        Assert.Null(t.Store.ReadRollups(idx, t0, t0 + 120 * Minute, FiveMinutes));
        var raw = t.Store.ReadValues(idx, t0, t0 + 120 * Minute);
        var expected = new List<RollupBucket>();
        RollupBlock.Summarise(raw.Timestamps.ToArray(), raw.Values.ToArray(), FiveMinutes, expected);
        // What version 6 left: 5-minute blocks of the sealed samples (these overlap the chunk),
        // and one of pruned time (before any chunk), which stays.
        var sealedBuckets = new List<RollupBucket>();
        RollupBlock.Summarise(Enumerable.Range(0, 120).Select(i => t0 + i * Minute).ToArray(), Enumerable.Range(0, 120).Select(i => (double)(i % 7)).ToArray(), FiveMinutes, sealedBuckets);
        RollupBucket[] older = [new RollupBucket(t0 - 2 * Hour, 1, 3, 10, 5, 2)];
        await t.Store.DisposeAsync();
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(t.Directory, "pattoo-edge.db")};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "INSERT INTO rollup (idx_datapoint, level, ts_start, ts_end, count, data) VALUES ($d, 300000, $s, $e, $n, $b), ($d, 300000, $os, $os, 1, $ob); PRAGMA user_version = 6;";
            cmd.Parameters.AddWithValue("$d", idx);
            cmd.Parameters.AddWithValue("$s", sealedBuckets[0].Start);
            cmd.Parameters.AddWithValue("$e", sealedBuckets[^1].Start);
            cmd.Parameters.AddWithValue("$n", sealedBuckets.Count);
            cmd.Parameters.AddWithValue("$b", RollupBlock.Encode(sealedBuckets.ToArray()));
            cmd.Parameters.AddWithValue("$os", older[0].Start);
            cmd.Parameters.AddWithValue("$ob", RollupBlock.Encode(older));
            cmd.ExecuteNonQuery();
        }
        await t.ReopenAsync();
        Assert.Equal(1, CountBlocks(t, FiveMinutes));
        var after = t.Store.ReadRollups(idx, t0 - 3 * Hour, t0 + 120 * Minute, FiveMinutes)!;
        Assert.Equal([older[0], .. expected], after);
    }

    private static long CountBlocks(TempStore t, long level)
    {
        using var db = t.Store.OpenReader();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT count(*) FROM rollup WHERE level = {level}";
        return (long)cmd.ExecuteScalar()!;
    }
}
