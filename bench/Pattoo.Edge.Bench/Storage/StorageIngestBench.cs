using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Bench.Storage;

/// <summary>
/// Ingest throughput and bytes on disk per sample of the store, beside the layout pattoo
/// itself uses (a row per sample keyed by datapoint and time) on the same SQLite, same data,
/// same run. Data: 10,000 series, all series for one timestamp then the next, 10 s apart
/// with 0-250 ms jitter; 40% slow gauges, 30% counters, 20% status words, 10% noisy floats.
/// </summary>
public static class StorageIngestBench
{
    private const int Series = 10_000;
    private const int Rounds = 200;        // 2,000,000 samples
    private const int InFlight = 4;        // batches queued at once, as several pollers would

    public static async Task RunAsync(TextWriter output)
    {
        output.WriteLine($"== storage ingest: {Series} series x {Rounds} rounds = {Series * Rounds:N0} samples");
        var (ours, oursBytes) = await MeasureStore();
        var (theirs, theirsBytes) = MeasureRowPerSample();
        output.WriteLine($"pattoo-edge store      {ours,12:N0} samples/s  {oursBytes,6:F2} bytes/sample on disk");
        output.WriteLine($"row per sample (pattoo) {theirs,11:N0} samples/s  {theirsBytes,6:F2} bytes/sample on disk");
        output.WriteLine($"ratio: {ours / theirs:F1}x the ingest rate, {theirsBytes / oursBytes:F1}x smaller on disk");
    }

    private static (double[] Values, long[] Jitter) MakeRound(Random rng, double[] state, int round)
    {
        var values = new double[Series];
        var jitter = new long[Series];
        for (int s = 0; s < Series; s++)
        {
            int kind = s % 10;
            if (kind < 4) state[s] = Math.Round(state[s] + (rng.NextDouble() - 0.5) * 0.1, 2);          // slow gauge
            else if (kind < 7) state[s] += rng.Next(0, 100_000);                                          // counter
            else if (kind < 9) { if (rng.Next(100) == 0) state[s] = rng.Next(0, 8); }                     // status word
            else state[s] = rng.NextDouble() * 1000;                                                      // noisy float
            values[s] = state[s];
            jitter[s] = rng.Next(0, 250);
        }
        return (values, jitter);
    }

    private static async Task<(double SamplesPerSecond, double BytesPerSample)> MeasureStore()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var options = new StorageOptions { Path = dir, MaxHeadSamples = 100_000_000, ChunkSpan = TimeSpan.FromDays(1) };
        var agent = new AgentIdentity("bench", "bench", "bench", "bench");
        var keys = new SeriesKey[Series];
        for (int s = 0; s < Series; s++)
        {
            var type = (s % 10) switch { < 4 => DataType.Float, < 7 => DataType.Counter64, < 9 => DataType.Integer, _ => DataType.Float };
            keys[s] = new SeriesKey(agent, "v", type, TimeSpan.FromSeconds(10), [new("series", s.ToString())]);
        }
        var rng = new Random(42);
        var state = new double[Series];
        long t0 = 1_700_000_000_000;
        var rounds = new List<SampleBatch>();
        for (int r = 0; r < Rounds; r++)
        {
            var (values, jitter) = MakeRound(rng, state, r);
            var b = new SampleBatch(Series);
            for (int s = 0; s < Series; s++) b.Add(keys[s], t0 + r * 10_000L + jitter[s], values[s]);
            rounds.Add(b);
        }
        await using var store = TimeSeriesStore.Open(options);
        await store.WriteAsync(rounds[0], default); // registers the series (not timed)
        var sw = Stopwatch.StartNew();
        var inFlight = new Queue<Task>();
        for (int r = 1; r < Rounds; r++)
        {
            inFlight.Enqueue(store.WriteAsync(rounds[r], default));
            if (inFlight.Count >= InFlight) await inFlight.Dequeue();
        }
        while (inFlight.Count > 0) await inFlight.Dequeue();
        double rate = (double)(Rounds - 1) * Series / sw.Elapsed.TotalSeconds;
        await store.SealNowAsync();
        double bytes = store.DatabaseBytesInUse(); // the emptied head's pages stay free for the next head
        await store.DisposeAsync();
        Directory.Delete(dir, true);
        return (rate, bytes / ((double)Rounds * Series));
    }

    private static (double SamplesPerSecond, double BytesPerSample) MeasureRowPerSample()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-bench-rows-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "rows.db");
        SQLitePCL.Batteries_V2.Init();
        var rng = new Random(42);
        var state = new double[Series];
        long t0 = 1_700_000_000_000;
        var data = new List<(double[], long[])>();
        for (int r = 0; r < Rounds; r++) data.Add(MakeRound(rng, state, r));
        using (var db = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            db.Open();
            using (var cmd = db.CreateCommand())
            {
                cmd.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE data (idx_datapoint INTEGER NOT NULL, timestamp INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (idx_datapoint, timestamp)) WITHOUT ROWID;";
                cmd.ExecuteNonQuery();
            }
            using var insert = db.CreateCommand();
            insert.CommandText = "INSERT INTO data VALUES ($d, $t, $v)";
            var pd = insert.Parameters.Add("$d", SqliteType.Integer);
            var pt = insert.Parameters.Add("$t", SqliteType.Integer);
            var pv = insert.Parameters.Add("$v", SqliteType.Real);
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < Rounds; r++)
            {
                using var tx = db.BeginTransaction();
                insert.Transaction = tx;
                var (values, jitter) = data[r];
                for (int s = 0; s < Series; s++)
                {
                    pd.Value = s; pt.Value = t0 + r * 10_000L + jitter[s]; pv.Value = values[s];
                    insert.ExecuteNonQuery();
                }
                tx.Commit();
            }
            double rate = (double)Rounds * Series / sw.Elapsed.TotalSeconds;
            using (var cmd = db.CreateCommand()) { cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)"; cmd.ExecuteNonQuery(); }
            db.Close();
            double bytes = new FileInfo(file).Length;
            Directory.Delete(dir, true);
            return (rate, bytes / ((double)Rounds * Series));
        }
    }
}
