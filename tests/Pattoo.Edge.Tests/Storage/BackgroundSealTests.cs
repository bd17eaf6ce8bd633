using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;
using Pattoo.Edge.Storage.HeadLog;

namespace Pattoo.Edge.Tests.Storage;

/// <summary>
/// Seals run beside the writer: the heads are frozen, the next head log generation goes to the
/// other file, and the chunks are committed on a connection of their own while writes go on.
/// </summary>
public class BackgroundSealTests
{
    private const long T0 = 1_764_000_000_000; // 2025-11-24, ms
    private const int Series = 20;

    [Fact]
    public async Task WritesGoOnThroughSealsAndEveryPointIsReadOnceDuringAndAfterThem()
    {
        await using var t = new TempStore(maxHeadSamples: 2_000);
        var keys = Enumerable.Range(0, Series).Select(i => TempStore.Key("load", DataType.Float, ("point", $"p{i}"))).ToArray();
        const int Batches = 100, PointsPerBatch = 10;
        var first = new SampleBatch();
        first.Add(keys[0], T0 - 1000, -1);
        await t.Store.WriteDurableAsync(first, default);
        long idx = t.IdxOf(keys[0]);

        // A reader watches one series while seals move its points from the heads into chunks:
        // what it reads only grows, in time order, without a point twice.
        using var stop = new CancellationTokenSource();
        int reads = 0;
        var reader = Task.Run(() =>
        {
            int seen = 0;
            while (!stop.IsCancellationRequested)
            {
                var points = t.Store.ReadRaw(idx, long.MinValue, long.MaxValue);
                Assert.True(points.Count >= seen, $"a read found {points.Count} points after one found {seen}");
                for (int i = 1; i < points.Count; i++) Assert.True(points.Timestamps[i] > points.Timestamps[i - 1], $"points out of order or twice at {points.Timestamps[i]}");
                seen = points.Count;
                reads++;
            }
        });
        for (int b = 0; b < Batches; b++)
        {
            var batch = new SampleBatch();
            for (int p = 0; p < PointsPerBatch; p++)
                for (int s = 0; s < Series; s++) batch.Add(keys[s], T0 + (b * PointsPerBatch + p) * 1000L, s * 1000 + b * PointsPerBatch + p);
            await t.Store.WriteDurableAsync(batch, default);
        }
        await t.Store.SealNowAsync(); // waits for a seal still running, then seals the rest
        await stop.CancelAsync();
        await reader;
        Assert.True(reads > 0);
        // About ten seals at 2,000 samples each; fewer on a loaded machine, where the head grows
        // past the limit while a seal still runs (the next waits for it): at least two ran.
        Assert.True(t.Store.Statistics.ChunksSealed >= 2 * Series, $"only {t.Store.Statistics.ChunksSealed} chunks sealed");
        Assert.True(File.Exists(Path.Combine(t.Directory, HeadLogFile.AlternateFileName)), "no seal ran beside the writer");

        void AssertEveryPoint()
        {
            for (int s = 0; s < Series; s++)
            {
                var points = t.Store.ReadRaw(t.IdxOf(keys[s]), T0, long.MaxValue);
                Assert.Equal(Enumerable.Range(0, Batches * PointsPerBatch).Select(i => T0 + i * 1000L), points.Timestamps);
                Assert.Equal(Enumerable.Range(0, Batches * PointsPerBatch).Select(i => (double)(s * 1000 + i)), points.Values);
            }
            Assert.Equal(Series * Batches * PointsPerBatch + 1, t.Store.CountSamples());
        }
        AssertEveryPoint();
        await t.ReopenAsync();
        AssertEveryPoint();
    }

    [Fact]
    public async Task AStartThatFindsBothHeadLogFilesUnsealedReplaysTheOlderFirstAndSealsEachSampleOnce()
    {
        // What a crash during a seal beside the writer leaves: the frozen generation in one file,
        // the next one in the other, neither recorded as sealed.
        await using var t = new TempStore();
        var key = TempStore.Key("temperature");
        var batch = new SampleBatch();
        for (int i = 0; i < 100; i++) batch.Add(key, T0 + i * 1000L, i);
        await t.Store.WriteDurableAsync(batch, default); // head.log, unsealed at the close
        long idx = t.IdxOf(key);
        await t.Store.DisposeAsync();
        ulong older = HeadLogFile.PeekGeneration(t.Directory, HeadLogFile.FileName);
        using (var other = HeadLogFile.Open(t.Directory, 32 * 1024 * 1024, older - 1, _ => throw new InvalidOperationException("nothing to replay"), out _,
            fileName: HeadLogFile.AlternateFileName, startAfter: older))
        {
            Assert.Equal(older + 1, other.Generation);
            var record = new System.Buffers.ArrayBufferWriter<byte>();
            HeadRecord.Write(record, other.Generation, Enumerable.Range(100, 50).Select(i => new HeadSample(idx, T0 + i * 1000L, i)).ToArray(), other.Context);
            other.Append(record.WrittenSpan);
            other.Sync();
        }

        await t.ReopenAsync();
        var replayed = t.Store.ReadRaw(idx, long.MinValue, long.MaxValue);
        Assert.Equal(Enumerable.Range(0, 150).Select(i => T0 + i * 1000L), replayed.Timestamps);

        // A backup holds one head log: the older file's samples must be in its chunks by then.
        string backup = Path.Combine(t.Directory, "backup.db");
        await t.Store.BackupAsync(backup);
        var restoredOptions = t.Options with { Path = Path.Combine(t.Directory, "restored") };
        StoreBackup.Restore(backup, restoredOptions);
        await using (var restored = TimeSeriesStore.Open(restoredOptions))
            Assert.Equal(Enumerable.Range(0, 150).Select(i => T0 + i * 1000L), restored.ReadRaw(idx, long.MinValue, long.MaxValue).Timestamps);
        // The other file is not free: this seal runs on the writer and covers both generations.
        batch.Clear();
        batch.Add(key, T0 + 150_000, 150);
        await t.Store.WriteDurableAsync(batch, default);
        await t.Store.SealNowAsync();
        await t.ReopenAsync();
        var sealedOnce = t.Store.ReadRaw(idx, long.MinValue, long.MaxValue);
        Assert.Equal(Enumerable.Range(0, 151).Select(i => T0 + i * 1000L), sealedOnce.Timestamps);
        Assert.Equal(Enumerable.Range(0, 151).Select(i => (double)i), sealedOnce.Values);
        Assert.Equal(151, t.Store.CountSamples());
    }

    [Fact]
    public async Task TheIdleHeadLogFileGoesOnceNoSampleCameForAChunkSpan()
    {
        await using var t = new TempStore(maxHeadSamples: 500, chunkSpan: TimeSpan.FromSeconds(2));
        var key = TempStore.Key("load");
        var batch = new SampleBatch();
        for (int i = 0; i < 600; i++) batch.Add(key, T0 + i * 1000L, i);
        await t.Store.WriteDurableAsync(batch, default); // past max_head_samples: a seal beside the writer
        string second = Path.Combine(t.Directory, HeadLogFile.AlternateFileName);
        var deadline = DateTime.UtcNow.AddSeconds(2);
        while (!File.Exists(second) && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(File.Exists(second), "no seal ran beside the writer");
        // The files take turns: the one not written to (the sealed generation's) goes.
        string[] files = [Path.Combine(t.Directory, HeadLogFile.FileName), second];
        deadline = DateTime.UtcNow.AddSeconds(15);
        while (files.Count(File.Exists) == 2 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.True(files.Count(File.Exists) == 1, "an idle store kept both head log files");
        await t.ReopenAsync();
        Assert.Equal(Enumerable.Range(0, 600).Select(i => (double)i), t.Store.ReadRaw(t.IdxOf(key), long.MinValue, long.MaxValue).Values);
    }
}
