using System.Buffers;
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
    public void ASealGivesBackTheRoomABurstTookAndKeepsWhatASteadyGenerationUses()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-headlog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, HeadLogFile.FileName);
        try
        {
            using var log = HeadLogFile.Open(dir, 64 << 20, 0, _ => { }, out _);
            // A burst: about 3.5 MiB of records in one generation.
            while (log.Used < 3_500_000) { Append(log, 1, 10_000); log.Sync(); }
            Assert.Equal(4L << 20, new FileInfo(path).Length);
            log.Restart(); // the sealed generation used 3.5 MiB: the next most likely needs as much
            Assert.Equal(4L << 20, new FileInfo(path).Length);
            Append(log, 1, 1000);
            log.Sync();
            log.Restart(); // a small generation: the burst's room goes back to the file system
            Assert.Equal(1L << 20, new FileInfo(path).Length);
            // Steady generations reuse the room they keep: the file neither grows nor shrinks.
            for (int g = 0; g < 3; g++)
            {
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
        HeadRecord.Write(buffer, log.Generation, Enumerable.Range(0, count).Select(i => new HeadSample(firstIdx + i, T0 + i, i)).ToArray());
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
    [Fact]
    public async Task ADatabaseOfThePreviousReleaseOpensWithEverySample()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-upgrade-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(Pattoo.Edge.Tests.Support.RepoPaths.Root, "tests", "Pattoo.Edge.Tests", "Storage", "data", "release-3a36005.db"), Path.Combine(dir, "pattoo-edge.db"));
        var options = new Pattoo.Edge.Storage.StorageOptions { Path = dir, Retention = TimeSpan.FromDays(36500) };
        try
        {
            // 100 series x 110 samples (10 s apart): 10,000 sealed in chunks, 1,000 in the old head table.
            var store = Pattoo.Edge.Storage.TimeSeriesStore.Open(options);
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
            cmd.CommandText = "SELECT (SELECT count(*) FROM head), (SELECT sealed_generation FROM head_log), (SELECT max(last_timestamp) FROM datapoint)";
            using var r = cmd.ExecuteReader();
            Assert.True(r.Read());
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
