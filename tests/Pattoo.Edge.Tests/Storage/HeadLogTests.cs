using System.Buffers;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage.HeadLog;

namespace Pattoo.Edge.Tests.Storage;

/// <summary>The head log's record codec on bytes, and its file across torn writes, stale generations and restarts.</summary>
public class HeadLogTests
{
    private const long T0 = 1_700_000_000_000;

    public static TheoryData<double> Values => new()
    {
        0, 1, -1, 42, 0.1, 21.5, -3.25, 1234.56, 4294967295, 1e15, 1e-300, double.MaxValue, double.MinValue,
        Math.PI, 0.30000000000000004, double.Epsilon, -0.0, double.NaN, double.PositiveInfinity, 1125899906842624.0, 0.07,
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void EveryDoubleComesBackBitForBit(double value)
    {
        var samples = new[] { new HeadSample(7, T0, value), new HeadSample(3, T0 + 1, value) };
        var back = RoundTrip(samples, 5);
        Assert.Equal(2, back.Count);
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(back[0].Value));
        Assert.Equal(samples, back.Select(s => s with { Value = value }).ToArray());
    }

    [Fact]
    public void APollOfGaugesCountersAndStatusesTakesAboutFiveBytesASample()
    {
        var rng = new Random(1);
        var samples = new HeadSample[1000];
        for (int i = 0; i < samples.Length; i++)
        {
            double v = (i % 10) switch
            {
                < 4 => Math.Round(rng.NextDouble() * 100, 1), // gauges to 0.1
                < 7 => rng.Next(0, 50_000_000),               // counters
                < 9 => rng.Next(0, 4),                        // statuses
                _ => rng.NextDouble(),                         // noise
            };
            samples[i] = new HeadSample(1000 + i, T0, v);
        }
        var buffer = new ArrayBufferWriter<byte>();
        HeadRecord.Write(buffer, 1, samples);
        Assert.InRange(buffer.WrittenCount / (double)samples.Length, 3, 6.5);
        Assert.Equal(samples, RoundTrip(samples, 1));
    }

    [Fact]
    public void ARecordOfAnotherGenerationOrWithAFlippedBitEndsTheLog()
    {
        var buffer = new ArrayBufferWriter<byte>();
        HeadRecord.Write(buffer, 9, [new HeadSample(1, T0, 1.5), new HeadSample(2, T0, 2)]);
        var bytes = buffer.WrittenSpan.ToArray();
        var into = new List<HeadSample>();
        Assert.Equal(bytes.Length, HeadRecord.TryRead(bytes, 9, into));
        Assert.Equal(0, HeadRecord.TryRead(bytes, 8, into = new()));
        for (int bit = 0; bit < bytes.Length * 8; bit++)
        {
            var copy = (byte[])bytes.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            into.Clear();
            Assert.Equal(0, HeadRecord.TryRead(copy, 9, into));
            Assert.Empty(into);
        }
        // Torn: any prefix is not a record.
        for (int n = 0; n < bytes.Length; n++) Assert.Equal(0, HeadRecord.TryRead(bytes.AsSpan(0, n), 9, into));
    }

    [Fact]
    public void RandomBytesNeverCrashTheReader()
    {
        var rng = new Random(7);
        var into = new List<HeadSample>();
        var buffer = new ArrayBufferWriter<byte>();
        HeadRecord.Write(buffer, 3, Enumerable.Range(0, 50).Select(i => new HeadSample(i, T0 + i, i * 0.5)).ToArray());
        var valid = buffer.WrittenSpan.ToArray();
        for (int i = 0; i < 20_000; i++)
        {
            byte[] data;
            if (i % 2 == 0)
            {
                data = new byte[rng.Next(0, 200)];
                rng.NextBytes(data);
            }
            else
            {
                // Mutations of a valid record, with its checksum fixed up so the decoder itself is exercised.
                data = (byte[])valid.Clone();
                for (int k = rng.Next(1, 4); k > 0; k--) data[rng.Next(HeadRecord.HeaderSize, data.Length)] = (byte)rng.Next(256);
                uint crc = HeadRecord.Checksum(data.AsSpan(4, 8), data.AsSpan(HeadRecord.HeaderSize));
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(12), crc);
            }
            into.Clear();
            int n = HeadRecord.TryRead(data, 3, into);
            Assert.True(n == 0 || n == data.Length, $"{n} of {data.Length}");
            if (n == 0) Assert.Empty(into);
        }
    }

    /// <summary>Polls of the flash mix: 50% gauges to 0.1, 25% counters, 25% statuses, plus noise and edge values.</summary>
    private static List<HeadSample[]> Polls(int series, int polls, int seed)
    {
        var rng = new Random(seed);
        var values = new double[series];
        var result = new List<HeadSample[]>();
        for (int p = 0; p < polls; p++)
        {
            var poll = new HeadSample[series];
            for (int i = 0; i < series; i++)
            {
                values[i] = (i % 50 == 49 ? 4 : i % 4) switch
                {
                    < 2 => Math.Round(values[i] + Math.Round(rng.NextDouble() - 0.5, 1), 1),
                    2 => values[i] + rng.Next(0, 5001),
                    3 => rng.Next(50) == 0 ? rng.Next(0, 4) : values[i],
                    _ => (p % 5) switch { 0 => rng.NextDouble(), 1 => -0.0, 2 => double.NaN, 3 => 1e300, _ => 0.07 },
                };
                // A poller's samples share the poll's time; one device in ten polls a little later.
                poll[i] = new HeadSample(100 + i, T0 + p * 10_000L + (i % 100 < 10 ? 7 : 0), values[i]);
            }
            result.Add(poll);
        }
        return result;
    }

    [Fact]
    public void Version2RecordsRoundTripAgainstTheirGenerationsValuesAndShrinkAPollByTwoFifths()
    {
        var polls = Polls(1000, 6, 11);
        // A series twice in one record, indexes out of order, a new series mid-generation.
        polls.Add([new HeadSample(105, T0 + 60_001, 3.5), new HeadSample(105, T0 + 60_002, 3.6), new HeadSample(90, T0 + 60_002, 1), new HeadSample(100_000, T0, -7)]);
        var writer = new HeadRecordContext();
        var reader = new HeadRecordContext();
        long v1Bytes = 0, v2Bytes = 0;
        foreach (var poll in polls)
        {
            var buffer = new ArrayBufferWriter<byte>();
            HeadRecord.Write(buffer, 4, poll, writer);
            var into = new List<HeadSample>();
            Assert.Equal(buffer.WrittenCount, HeadRecord.TryRead(buffer.WrittenSpan, 4, into, reader));
            Assert.Equal(poll.Length, into.Count);
            for (int i = 0; i < poll.Length; i++)
            {
                Assert.Equal((poll[i].Idx, poll[i].Timestamp), (into[i].Idx, into[i].Timestamp));
                Assert.Equal(BitConverter.DoubleToInt64Bits(poll[i].Value), BitConverter.DoubleToInt64Bits(into[i].Value));
            }
            if (poll.Length == 1000 && poll != polls[0])
            {
                var old = new ArrayBufferWriter<byte>();
                HeadRecord.Write(old, 4, poll);
                v1Bytes += old.WrittenCount;
                v2Bytes += buffer.WrittenCount;
            }
        }
        Assert.True(v2Bytes * 1.6 < v1Bytes, $"version 2 {v2Bytes} bytes, version 1 {v1Bytes}"); // 2.2 against 3.7 bytes a sample
    }

    [Fact]
    public void AMalformedVersion2RecordClearsTheContextNeverCrashesTheReaderAndWhatFollowsDecodes()
    {
        var polls = Polls(40, 3, 5);
        var writer = new HeadRecordContext();
        var first = new ArrayBufferWriter<byte>();
        HeadRecord.Write(first, 3, polls[0], writer);
        var second = new ArrayBufferWriter<byte>();
        HeadRecord.Write(second, 3, polls[1], writer);
        var valid = second.WrittenSpan.ToArray();
        var rng = new Random(9);
        int malformed = 0;
        for (int i = 0; i < 5_000; i++)
        {
            var reader = new HeadRecordContext();
            Assert.Equal(first.WrittenCount, HeadRecord.TryRead(first.WrittenSpan, 3, new List<HeadSample>(), reader));
            var data = (byte[])valid.Clone();
            for (int k = rng.Next(1, 4); k > 0; k--) data[rng.Next(HeadRecord.HeaderSize, data.Length)] = (byte)rng.Next(256);
            uint crc = HeadRecord.Checksum(data.AsSpan(4, 8), data.AsSpan(HeadRecord.HeaderSize));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(12), crc);
            var into = new List<HeadSample>();
            int n = HeadRecord.TryRead(data, 3, into, reader);
            Assert.True(n == 0 || n == data.Length, $"{n} of {data.Length}");
            if (n != 0) continue;
            malformed++;
            Assert.Empty(into);
            Assert.Empty(reader.LastValues);
            // The log goes on after the last good record with the cleared context (HeadLogFile
            // hands the reader's context to the writer): a later replay, which knows the first
            // record's values, decodes what follows exactly.
            var next = new ArrayBufferWriter<byte>();
            HeadRecord.Write(next, 3, polls[2], reader);
            var replay = new HeadRecordContext();
            Assert.Equal(first.WrittenCount, HeadRecord.TryRead(first.WrittenSpan, 3, new List<HeadSample>(), replay));
            var back = new List<HeadSample>();
            Assert.Equal(next.WrittenCount, HeadRecord.TryRead(next.WrittenSpan, 3, back, replay));
            Assert.Equal(polls[2].Select(s => (s.Idx, s.Timestamp, BitConverter.DoubleToInt64Bits(s.Value))), back.Select(s => (s.Idx, s.Timestamp, BitConverter.DoubleToInt64Bits(s.Value))));
        }
        Assert.True(malformed > 100, $"{malformed} malformed of 5,000 mutations");
        // A value coded against a previous value the reader never saw is malformed, not guessed.
        Assert.Equal(0, HeadRecord.TryRead(valid, 3, new List<HeadSample>(), new HeadRecordContext()));
    }

    [Fact]
    public void AVersion1LogLeftByAnOlderReleaseIsReplayedContinuedAndThenStartsVersion2()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-headlog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, HeadLogFile.FileName);
            // What the previous release wrote: page 0 "PEHEAD01" + generation 5, then version 1 records.
            var page = new byte[4096];
            "PEHEAD01"u8.CopyTo(page);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(8), 5);
            var record = new ArrayBufferWriter<byte>();
            HeadRecord.Write(record, 5, [new HeadSample(1, T0, 1.5), new HeadSample(2, T0, 2.5)]);
            File.WriteAllBytes(path, [.. page, .. record.WrittenSpan]);
            var replayed = new List<HeadSample>();
            using (var log = HeadLogFile.Open(dir, 8 << 20, 4, replayed.AddRange, out int n))
            {
                Assert.Equal(2, n);
                Assert.Null(log.Context); // the generation goes on in version 1
                var more = new ArrayBufferWriter<byte>();
                HeadRecord.Write(more, log.Generation, [new HeadSample(1, T0 + 10_000, 1.5)], log.Context);
                log.Append(more.WrittenSpan);
                log.Sync();
            }
            replayed.Clear();
            using (var log = HeadLogFile.Open(dir, 8 << 20, 4, replayed.AddRange, out int n))
            {
                Assert.Equal([1.5, 2.5, 1.5], replayed.Select(s => s.Value));
                log.Restart();
                Assert.NotNull(log.Context);
                var more = new ArrayBufferWriter<byte>();
                HeadRecord.Write(more, log.Generation, [new HeadSample(1, T0 + 20_000, 4.5), new HeadSample(1, T0 + 30_000, 4.5)], log.Context);
                log.Append(more.WrittenSpan);
                log.Sync();
            }
            replayed.Clear();
            using (var log = HeadLogFile.Open(dir, 8 << 20, 4, replayed.AddRange, out int n))
                Assert.Equal([4.5, 4.5], replayed.Select(s => s.Value));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        // CRC-32C("123456789") = 0xE3069283 (RFC 3720 B.4).
        Assert.Equal(0xE3069283u, ~Crc32C.Update(0xFFFFFFFF, "123456789"u8));
    }

    [Fact]
    public void TheFileReplaysItsGenerationStopsAtATornTailAndSkipsWhatWasSealed()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-headlog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var replayed = new List<HeadSample>();
            long used;
            using (var log = HeadLogFile.Open(dir, 8 << 20, 0, replayed.AddRange, out int n))
            {
                Assert.Equal(0, n);
                Assert.Equal(1UL, log.Generation);
                Append(log, 1, 3);
                Append(log, 4, 2);
                log.Sync();
            }
            using (var log = HeadLogFile.Open(dir, 8 << 20, 0, replayed.AddRange, out int n))
            {
                Assert.Equal(5, n);
                Assert.Equal([1, 2, 3, 4, 5], replayed.Select(s => s.Idx));
                used = log.Used;
                Append(log, 6, 1);
                log.Sync();
            }
            // A torn write at the end: the next append must go where the intact ones end.
            using (var f = File.OpenHandle(Path.Combine(dir, HeadLogFile.FileName), FileMode.Open, FileAccess.ReadWrite))
                RandomAccess.Write(f, new byte[] { 0xFF, 0xFF }, 4096 + used + 20);
            replayed.Clear();
            using (var log = HeadLogFile.Open(dir, 8 << 20, 0, replayed.AddRange, out int n))
            {
                Assert.Equal(5, n);
                Append(log, 7, 1);
                log.Sync();
            }
            replayed.Clear();
            using (var log = HeadLogFile.Open(dir, 8 << 20, 0, replayed.AddRange, out int n))
                Assert.Equal([1, 2, 3, 4, 5, 7], replayed.Select(s => s.Idx));
            // The database says generation 1 is in chunks (the crash came before the restart): nothing to replay.
            replayed.Clear();
            using (var log = HeadLogFile.Open(dir, 8 << 20, 1, replayed.AddRange, out int n))
            {
                Assert.Equal(0, n);
                Assert.Equal(2UL, log.Generation);
                Append(log, 9, 1);
                log.Sync();
                log.Restart();
                Assert.Equal(0, log.Used);
            }
            replayed.Clear();
            using (var log = HeadLogFile.Open(dir, 8 << 20, 1, replayed.AddRange, out int n))
                Assert.Equal(0, n); // generation 3, empty: generation 2's record is not read as 3's
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void SectorWritesLeaveTheFileThePageCacheWouldAndReplayTheSame()
    {
        // The same appends, syncs, reopenings (the tail sector read back) and restarts, once with
        // O_DIRECT sector writes (where this file system allows them) and once through the page cache.
        var dirs = new[] { true, false }.Select(_ => Path.Combine(Path.GetTempPath(), "pattoo-headlog-" + Guid.NewGuid().ToString("N"))).ToArray();
        foreach (var d in dirs) Directory.CreateDirectory(d);
        try
        {
            var replays = new List<HeadSample>[2];
            var used = new long[2];
            for (int mode = 0; mode < 2; mode++)
            {
                bool sectors = mode == 0;
                var replayed = replays[mode] = new List<HeadSample>();
                var random = new Random(7);
                using (var log = HeadLogFile.Open(dirs[mode], 8 << 20, 0, _ => { }, out _, sectors))
                {
                    if (!sectors) Assert.Equal(4096, log.WriteUnit);
                    for (int i = 0; i < 40; i++) { Append(log, 1 + i * 100, random.Next(1, 60)); if (i % 3 != 0) log.Sync(); }
                    log.Sync();
                }
                using (var log = HeadLogFile.Open(dirs[mode], 8 << 20, 0, _ => { }, out _, sectors))
                {
                    for (int i = 0; i < 7; i++) { Append(log, 5000 + i, random.Next(1, 3000)); log.Sync(); }
                    log.Restart();
                    for (int i = 0; i < 9; i++) { Append(log, 9000 + i * 100, random.Next(1, 40)); log.Sync(); }
                }
                using (var log = HeadLogFile.Open(dirs[mode], 8 << 20, 0, replayed.AddRange, out int n, sectors))
                {
                    Assert.Equal(replayed.Count, n);
                    used[mode] = log.Used;
                }
            }
            Assert.NotEmpty(replays[0]);
            Assert.Equal(replays[1], replays[0]);
            Assert.Equal(used[1], used[0]);
            var files = dirs.Select(d => File.ReadAllBytes(Path.Combine(d, HeadLogFile.FileName))).ToArray();
            // What the generation holds is identical; past it, sector writes leave zeros where the page cache left the older generation's bytes.
            Assert.Equal(files[1].AsSpan(0, (int)(4096 + used[1])).ToArray(), files[0].AsSpan(0, (int)(4096 + used[0])).ToArray());
        }
        finally
        {
            foreach (var d in dirs) Directory.Delete(d, true);
        }
    }

    [Fact]
    public void ASealGivesBackTheRoomABurstTookAndKeepsWhatASteadyGenerationUses()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-headlog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, HeadLogFile.FileName);
        try
        {
            using var log = HeadLogFile.Open(dir, 64 << 20, 0, _ => { }, out _);
            // A burst: about 3.5 MiB of records in the first generation after the start.
            while (log.Used < 3_500_000) { Append(log, 1, 10_000); log.Sync(); }
            Assert.Equal(4L << 20, new FileInfo(path).Length);
            log.Restart(); // the first generation after a start is not taken for the steady size
            Assert.Equal(1L << 20, new FileInfo(path).Length);
            // Two steady generations of 3.5 MiB: the room stays for the next.
            for (int g = 0; g < 2; g++)
            {
                while (log.Used < 3_500_000) { Append(log, 1, 10_000); log.Sync(); }
                log.Restart();
            }
            Assert.Equal(4L << 20, new FileInfo(path).Length);
            Append(log, 1, 1000);
            log.Sync();
            log.Restart(); // a small generation: the room goes back to the file system
            Assert.Equal(1L << 20, new FileInfo(path).Length);
            // A burst after steady generations is given back at its own seal.
            while (log.Used < 3_500_000) { Append(log, 1, 10_000); log.Sync(); }
            Assert.Equal(4L << 20, new FileInfo(path).Length);
            log.Restart();
            Assert.Equal(1L << 20, new FileInfo(path).Length);
            // Steady generations reuse the room they keep: the file neither grows nor shrinks.
            for (int g = 0; g < 3; g++)
            {
                Append(log, 1, 1000);
                log.Sync();
                log.Restart();
                Assert.Equal(1L << 20, new FileInfo(path).Length);
            }
            // Two steady generations keep their room; an idle store gives it back, but never
            // while the generation holds records.
            for (int g = 0; g < 2; g++)
            {
                while (log.Used < 3_500_000) { Append(log, 1, 10_000); log.Sync(); }
                log.Restart();
            }
            Assert.True(log.HoldsIdleRoom);
            Append(log, 1, 1000);
            log.Sync();
            Assert.False(log.HoldsIdleRoom);
            log.GiveBackIdleRoom();
            Assert.Equal(4L << 20, new FileInfo(path).Length);
            log.Restart();
            Assert.Equal(1L << 20, new FileInfo(path).Length); // the small generation gave it back already
            for (int g = 0; g < 2; g++)
            {
                while (log.Used < 3_500_000) { Append(log, 1, 10_000); log.Sync(); }
                log.Restart();
            }
            log.GiveBackIdleRoom();
            Assert.Equal(4096, new FileInfo(path).Length); // only the header page: an idle store keeps no room
            Assert.False(log.HoldsIdleRoom);
            // Samples come again: the log grows a small step (a sample an hour costs 64 KiB of
            // zeros, not a megabyte), then steps double up to a megabyte while it keeps growing.
            Append(log, 1, 1000);
            log.Sync();
            Assert.Equal(64L << 10, new FileInfo(path).Length);
            Assert.False(log.HoldsIdleRoom);
            var lengths = new List<long>();
            while (log.Used < 2_500_000)
            {
                Append(log, 1, 10_000);
                log.Sync();
                if (lengths.Count == 0 || lengths[^1] != new FileInfo(path).Length) lengths.Add(new FileInfo(path).Length);
            }
            Assert.Equal([64L << 10, 128L << 10, 256L << 10, 512L << 10, 1L << 20, 2L << 20, 3L << 20], lengths);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task AStoreThatReceivesNothingForAChunkSpanGivesBackTheHeadLogsRoom()
    {
        await using var t = new TempStore(chunkSpan: TimeSpan.FromSeconds(2));
        string path = Path.Combine(t.Directory, HeadLogFile.FileName);
        var keys = Enumerable.Range(0, 100).Select(i => TempStore.Key($"k{i}")).ToArray();
        var rng = new Random(3);
        long t0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000 * 1000 - 3_600_000;
        // Two generations of noise large enough to keep megabytes of room between seals.
        for (int g = 0; g < 2; g++)
        {
            for (int b = 0; b < 40; b++)
            {
                var batch = new SampleBatch(keys.Length * 50);
                for (int p = 0; p < 50; p++)
                    foreach (var k in keys) batch.Add(k, t0 + (g * 40 + b) * 50_000L + p * 1000, rng.NextDouble());
                await t.Store.WriteDurableAsync(batch, default); // synced: in the log, not only in memory
            }
            await t.Store.SealNowAsync();
        }
        Assert.True(new FileInfo(path).Length > 1 << 20, $"head.log is {new FileInfo(path).Length} bytes");
        // Nothing comes: a chunk span after the seal the room goes back (the writer wakes for it).
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (new FileInfo(path).Length > 4096 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(4096, new FileInfo(path).Length);
        Assert.Equal(2 * 40 * 50 * keys.Length, t.Store.CountSamples());
    }

    [Fact]
    public void ARestartKeepsTheRoomOfWhatItReplays()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-headlog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, HeadLogFile.FileName);
        try
        {
            using (var log = HeadLogFile.Open(dir, 64 << 20, 0, _ => { }, out _))
            {
                for (int g = 0; g < 2; g++)
                {
                    while (log.Used < 3_500_000) { Append(log, 1, 10_000); log.Sync(); }
                    log.Restart(); // two generations of 3.5 MiB sealed: their room is kept for the next
                }
                Append(log, 1, 1000);
                log.Sync();
                Assert.Equal(4L << 20, new FileInfo(path).Length);
            }
            var replayed = new List<HeadSample>();
            using (var log = HeadLogFile.Open(dir, 64 << 20, 1, replayed.AddRange, out int n))
            {
                Assert.Equal(1000, n); // the unsealed generation is all there
                Assert.Equal(1L << 20, new FileInfo(path).Length); // and the burst's room is not
                Append(log, 1, 1000);
                log.Sync();
            }
            // A replayed burst that is then sealed: the next generation gets the room of what was
            // appended since the restart, not of the burst.
            using (var log = HeadLogFile.Open(dir, 64 << 20, 1, replayed.AddRange, out int n))
            {
                Assert.Equal(2000, n);
                while (log.Used < 3_500_000) { Append(log, 1, 10_000); log.Sync(); }
                Assert.Equal(4L << 20, new FileInfo(path).Length);
            }
            using (var log = HeadLogFile.Open(dir, 64 << 20, 1, _ => { }, out _))
            {
                Assert.Equal(4L << 20, new FileInfo(path).Length);
                Append(log, 1, 1000);
                log.Sync();
                log.Restart();
                Assert.Equal(1L << 20, new FileInfo(path).Length);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static void Append(HeadLogFile log, long firstIdx, int count)
    {
        var buffer = new ArrayBufferWriter<byte>();
        HeadRecord.Write(buffer, log.Generation, Enumerable.Range(0, count).Select(i => new HeadSample(firstIdx + i, T0 + i, i)).ToArray(), log.Context);
        log.Append(buffer.WrittenSpan);
    }

    private static List<HeadSample> RoundTrip(HeadSample[] samples, ulong generation)
    {
        var buffer = new ArrayBufferWriter<byte>();
        HeadRecord.Write(buffer, generation, samples);
        var into = new List<HeadSample>();
        Assert.Equal(buffer.WrittenCount, HeadRecord.TryRead(buffer.WrittenSpan, generation, into));
        return into;
    }
}

/// <summary>A database written by the release before the head log (3a36005): chunks, plus samples in its head table.</summary>
public class StorageUpgradeTests
{
    /// <summary>A fresh directory holding a copy of Storage/data/<paramref name="name"/>: a database file, or a directory's files.</summary>
    private static string FromFixture(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-upgrade-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string source = Path.Combine(Pattoo.Edge.Tests.Support.RepoPaths.Root, "tests", "Pattoo.Edge.Tests", "Storage", "data", name);
        if (File.Exists(source)) File.Copy(source, Path.Combine(dir, "pattoo-edge.db"));
        else foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    /// <summary>Each datapoint's checksum as the database holds it, read with <paramref name="column"/>, before any upgrade.</summary>
    private static Dictionary<long, string> Checksums(string file, string column)
    {
        var checksums = new Dictionary<long, string>();
        using var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False");
        old.Open();
        using var q = old.CreateCommand();
        q.CommandText = $"SELECT idx_datapoint, {column} FROM datapoint";
        using var qr = q.ExecuteReader();
        while (qr.Read()) checksums[qr.GetInt64(0)] = qr.GetString(1);
        return checksums;
    }

    /// <summary>
    /// A store written by release a176ca6 (schema 13): 100 imported series with 12,000 samples
    /// sealed and 3,000 in head.2.log, one pattoo agent datapoint in head.log's next generation.
    /// </summary>
    [Fact]
    public async Task AStoreOfSchema13OpensWithEverySampleAndWithoutTheIndexesNothingReads()
    {
        var dir = FromFixture("release-a176ca6");
        var options = new Pattoo.Edge.Storage.StorageOptions { Path = dir, Retention = TimeSpan.FromDays(36500) };
        try
        {
            var before = Checksums(options.DatabaseFile, "CASE typeof(checksum) WHEN 'blob' THEN lower(hex(checksum)) ELSE checksum END");
            Assert.Equal(101, before.Count);
            var store = Pattoo.Edge.Storage.TimeSeriesStore.Open(options);
            Assert.Equal(15_001, store.CountSamples());
            Assert.Equal(before.OrderBy(kv => kv.Key), store.ListDatapoints().Select(d => new KeyValuePair<long, string>(d.IdxDatapoint, d.Checksum)).OrderBy(kv => kv.Key));
            var p7 = store.ListDatapoints().Single(d => d.Metadata.Any(m => m.Key == "point" && m.Value == "p7"));
            Assert.Equal(150, store.ReadRaw(p7.IdxDatapoint, long.MinValue, long.MaxValue).Count);
            // Series known before the upgrade are found again (no second row), new ones are added.
            var batch = new SampleBatch();
            var known = new SeriesKey(new AgentIdentity(p7.AgentId, p7.AgentProgram, p7.AgentHostname, p7.AgentPolledTarget),
                p7.Key, p7.DataType, TimeSpan.FromMilliseconds(p7.PollingInterval), p7.Metadata);
            Assert.Equal(p7.Checksum, known.Checksum);
            batch.Add(known, 1_750_000_000_000 + 150 * 10_000, 1.5);
            batch.Add(Pattoo.Edge.Tests.Storage.TempStore.Key("new_series"), 1_750_000_000_000 + 150 * 10_000, 2.5);
            await store.WriteDurableAsync(batch, default);
            await store.SealNowAsync();
            await store.DisposeAsync();
            store = Pattoo.Edge.Storage.TimeSeriesStore.Open(options);
            Assert.Equal(102, store.ListDatapoints().Count);
            Assert.Equal(15_003, store.CountSamples());
            Assert.Equal(151, store.ReadRaw(p7.IdxDatapoint, long.MinValue, long.MaxValue).Count);
            await store.DisposeAsync();
            using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={options.DatabaseFile}");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                SELECT (SELECT group_concat(name) FROM sqlite_schema WHERE name IN ('glue_pair', 'datapoint_agent') OR name LIKE 'sqlite_autoindex_datapoint%'),
                       (SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'datapoint'),
                       (SELECT integrity_check FROM pragma_integrity_check), (SELECT user_version FROM pragma_user_version),
                       (SELECT page_size FROM pragma_page_size)
                """;
            using var r = cmd.ExecuteReader();
            Assert.True(r.Read());
            Assert.True(r.IsDBNull(0), $"indexes left: {(r.IsDBNull(0) ? "" : r.GetString(0))}");
            Assert.Equal(3, r.GetInt64(1));
            Assert.Equal("ok", r.GetString(2));
            Assert.Equal(Pattoo.Edge.Storage.Schema.LatestVersion, r.GetInt64(3));
            Assert.Equal(4096, r.GetInt64(4)); // a database keeps the page size it was made with
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task ADatabaseOfThePreviousReleaseOpensWithEverySample()
    {
        var dir = FromFixture("release-3a36005.db");
        var options = new Pattoo.Edge.Storage.StorageOptions { Path = dir, Retention = TimeSpan.FromDays(36500) };
        try
        {
            // The checksums as the old release stored them (text), to compare after the upgrade.
            var oldChecksums = Checksums(options.DatabaseFile, "checksum");
            Assert.Equal(100, oldChecksums.Count);
            // 100 series x 110 samples (10 s apart): 10,000 sealed in chunks, 1,000 in the old head table.
            var store = Pattoo.Edge.Storage.TimeSeriesStore.Open(options);
            // Schema 8 keeps them as bytes; they read back as the same text.
            Assert.Equal(oldChecksums.OrderBy(kv => kv.Key), store.ListDatapoints().Select(d => new KeyValuePair<long, string>(d.IdxDatapoint, d.Checksum)).OrderBy(kv => kv.Key));
            Assert.Equal(11_000, store.CountSamples());
            var s5 = store.ListDatapoints().Single(d => d.Metadata.Any(m => m.Key == "series" && m.Value == "s5"));
            var points = store.ReadRaw(s5.IdxDatapoint, long.MinValue, long.MaxValue);
            Assert.Equal(Enumerable.Range(0, 110).Select(i => 5000 + i + 0.5), points.Values);
            Assert.Equal(1_700_000_000_000 + 109 * 10_000, s5.LastTimestamp);
            // The first seal empties the old table; the samples stay, now all in chunks.
            await store.SealNowAsync();
            await store.DisposeAsync();
            store = Pattoo.Edge.Storage.TimeSeriesStore.Open(options);
            Assert.Equal(11_000, store.CountSamples());
            Assert.Equal(110, store.ReadRaw(s5.IdxDatapoint, long.MinValue, long.MaxValue).Count);
            await store.DisposeAsync();
            using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={options.DatabaseFile}");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT (SELECT count(*) FROM head), (SELECT sealed_generation FROM head_log), (SELECT max(last_timestamp) FROM datapoint), (SELECT count(*) FROM datapoint WHERE typeof(checksum) = 'blob' AND length(checksum) = 64)";
            using var r = cmd.ExecuteReader();
            Assert.True(r.Read());
            Assert.Equal(100, r.GetInt64(3));
            Assert.Equal(0, r.GetInt64(0));
            Assert.True(r.GetInt64(1) >= 1);
            Assert.Equal(1_700_000_000_000 + 109 * 10_000, r.GetInt64(2));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }
}
