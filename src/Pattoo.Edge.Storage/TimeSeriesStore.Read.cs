using System.Buffers;
using System.Runtime.InteropServices;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage.Encoding;

namespace Pattoo.Edge.Storage;

/// <summary>Points of one series, oldest first.</summary>
public sealed class SeriesPoints
{
    public List<long> Timestamps { get; } = new();
    public List<double> Values { get; } = new();
    public int Count => Timestamps.Count;

    public void Clear()
    {
        Timestamps.Clear();
        Values.Clear();
    }

    // A chart's read decodes a day of 10 s samples (8,640 points, 138 KB of lists) only to
    // summarise it into buckets: fresh lists per request were most of a request's allocation,
    // and the collector's clearing of that memory most of the cost of the first thousand reads.
    private const int PooledCount = 4, MaxPooledPoints = 1 << 20;
    private static readonly SeriesPoints?[] Pool = new SeriesPoints?[PooledCount];

    /// <summary>An empty instance for a read whose points are dropped after use; give it back with <see cref="Return"/>.</summary>
    public static SeriesPoints Rent()
    {
        for (int i = 0; i < Pool.Length; i++)
            if (Interlocked.Exchange(ref Pool[i], null) is { } pooled) return pooled;
        return new SeriesPoints();
    }

    /// <summary>Takes back a rented instance (nothing may use it after); very large ones are left to the collector.</summary>
    public static void Return(SeriesPoints points)
    {
        if (points.Timestamps.Capacity > MaxPooledPoints || points.Values.Capacity > MaxPooledPoints) return;
        points.Clear();
        for (int i = 0; i < Pool.Length; i++)
            if (Interlocked.CompareExchange(ref Pool[i], points, null) is null) return;
    }
}

/// <summary>A stored datapoint with its agent and labels, as the API lists them.</summary>
public sealed record DatapointInfo(long IdxDatapoint, long IdxAgent, string Checksum, DataType DataType,
    long LastTimestamp, long PollingInterval, string AgentId, string AgentProgram, string AgentHostname,
    string AgentPolledTarget, string Key, IReadOnlyList<KeyValuePair<string, string>> Metadata);

public sealed partial class TimeSeriesStore
{
    /// <summary>Stored values of a numeric series in [from, to] (ms), counters raw; into <paramref name="into"/> (emptied first) when given.</summary>
    public SeriesPoints ReadRaw(long idxDatapoint, long fromMs, long toMs, SeriesPoints? into = null)
    {
        var result = into ?? new SeriesPoints();
        result.Clear();
        if (!_seriesByIdx.TryGetValue(idxDatapoint, out var state) || state.Type == DataType.String) return result;
        // Copy the head before reading chunks: a seal in between moves points into chunks,
        // which the merge below drops as duplicates; the other order could lose them. Copied
        // straight into the result: most reads (a chart of the last hours, a forwarder) need
        // nothing older.
        state.CopyHead(fromMs, toMs, result.Timestamps, result.Values);
        // Read after the copy: a seal that moved points out of the head set it first.
        if (fromMs > Volatile.Read(ref state.ChunkedThrough)) return result;
        var headTs = result.Timestamps.ToArray();
        var headValues = result.Values.ToArray();
        result.Timestamps.Clear();
        result.Values.Clear();
        using (var db = OpenReader())
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT data FROM chunk WHERE idx_datapoint = $d AND ts_end >= $from AND ts_start <= $to ORDER BY ts_start";
            cmd.Parameters.AddWithValue("$d", idxDatapoint);
            cmd.Parameters.AddWithValue("$from", fromMs);
            cmd.Parameters.AddWithValue("$to", toMs);
            using var r = cmd.ExecuteReader();
            // Decoded straight into the result and cut to the range in place: copying through
            // scratch lists grew both by doubling, past the large object heap's threshold at a
            // day of 10 s samples, and the full collections that cost showed as the p99.
            var ts = result.Timestamps;
            var values = result.Values;
            while (r.Read())
            {
                int start = ts.Count;
                if (!TryDecodeChunkInto((byte[])r.GetValue(0), idxDatapoint, ts, values)) continue;
                var spanTs = CollectionsMarshal.AsSpan(ts);
                var spanValues = CollectionsMarshal.AsSpan(values);
                int kept = start;
                for (int i = start; i < spanTs.Length; i++)
                {
                    if (spanTs[i] < fromMs || spanTs[i] > toMs) continue;
                    spanTs[kept] = spanTs[i];
                    spanValues[kept] = spanValues[i];
                    kept++;
                }
                CollectionsMarshal.SetCount(ts, kept);
                CollectionsMarshal.SetCount(values, kept);
            }
        }
        long last = result.Count > 0 ? result.Timestamps[^1] : long.MinValue;
        for (int i = 0; i < headTs.Length; i++)
        {
            if (headTs[i] <= last) continue;
            result.Timestamps.Add(headTs[i]);
            result.Values.Add(headValues[i]);
        }
        return result;
    }

    /// <summary>
    /// A numeric series over [from, to] in buckets of <paramref name="level"/> (one of
    /// <see cref="RollupLevels"/>), oldest first, a counter's as per-second rates. Hourly: the
    /// rollups written at each seal, then the head summarised the same way; a sealed range older
    /// than the first rollup (written before rollups existed) is summarised from its chunks; null
    /// when the series has no hourly rollups yet (read the raw points instead). 5-minute: the
    /// blocks of pruned time, then the samples still stored, summarised; null when the range
    /// holds no block (read the raw points instead).
    /// </summary>
    public List<RollupBucket>? ReadRollups(long idxDatapoint, long fromMs, long toMs, long level)
    {
        // A seal moves points from the head into rollups: a read that overlaps one could count
        // them twice or not at all, so it is read again (the sequence is odd while sealing).
        for (int attempt = 0; ; attempt++)
        {
            long before = Volatile.Read(ref _sealSequence);
            var result = ReadRollupsOnce(idxDatapoint, fromMs, toMs, level);
            if ((before & 1) == 0 && Volatile.Read(ref _sealSequence) == before) return result;
            if (attempt == 20) return result; // sealing for a long time: a chart may be slightly off for this once
            Thread.Sleep(5);
        }
    }

    private List<RollupBucket>? ReadRollupsOnce(long idxDatapoint, long fromMs, long toMs, long level)
    {
        if (!_seriesByIdx.TryGetValue(idxDatapoint, out var state) || state.Type == DataType.String) return null;
        if (level == FiveMinuteLevel) return ReadFiveMinutesOnce(idxDatapoint, state, fromMs, toMs);
        var headTs = new List<long>();
        var headValues = new List<double>();
        state.CopyHead(long.MinValue, toMs, headTs, headValues);
        long sealedTs = state.SealedTimestamp;
        double sealedValue = state.SealedValue;
        var buckets = new List<RollupBucket>();
        long firstRollup;
        using (var db = OpenReader())
        {
            using (var cmd = db.CreateCommand())
            {
                cmd.CommandText = "SELECT min(ts_start) FROM rollup WHERE idx_datapoint = $d AND level = $l";
                cmd.Parameters.AddWithValue("$d", idxDatapoint);
                cmd.Parameters.AddWithValue("$l", level);
                if (cmd.ExecuteScalar() is not long first) return null;
                firstRollup = first;
            }
            ReadRollupBlocks(db, idxDatapoint, level, fromMs, toMs, buckets);
        }
        var older = new List<RollupBucket>();
        if (fromMs < firstRollup)
        {
            // Sealed before this release wrote rollups: summarise the chunks.
            var raw = ReadValues(idxDatapoint, state.Type.IsCounter() ? fromMs - level : fromMs, Math.Min(toMs, firstRollup - 1));
            int skip = 0;
            while (skip < raw.Count && raw.Timestamps[skip] < fromMs) skip++;
            RollupBlock.Summarise(CollectionsMarshal.AsSpan(raw.Timestamps)[skip..], CollectionsMarshal.AsSpan(raw.Values)[skip..], level, older);
        }
        var head = new List<RollupBucket>();
        if (headTs.Count > 0)
        {
            var points = new SeriesPoints();
            if (state.Type.IsCounter() && sealedTs != long.MinValue && sealedTs < headTs[0]) { points.Timestamps.Add(sealedTs); points.Values.Add(sealedValue); }
            points.Timestamps.AddRange(headTs);
            points.Values.AddRange(headValues);
            if (state.Type.IsCounter()) CounterRates.ToRates(points, state.Type); // a copy of the head already
            int skip = 0;
            while (skip < points.Count && points.Timestamps[skip] < fromMs) skip++;
            RollupBlock.Summarise(CollectionsMarshal.AsSpan(points.Timestamps)[skip..], CollectionsMarshal.AsSpan(points.Values)[skip..], level, head);
        }
        return MergeByStart([.. older, .. buckets, .. head]);
    }

    /// <summary>
    /// 5-minute buckets: the blocks written for pruned time, then every sample still stored
    /// (chunks and head) summarised the same way. A prune step writes the blocks and deletes the
    /// chunks in one transaction, so each sample is in exactly one of the two. Null when no block
    /// falls in the range: the raw samples are all there is, read them (a sparse series then
    /// charts every sample, as it always did).
    /// </summary>
    private List<RollupBucket>? ReadFiveMinutesOnce(long idxDatapoint, SeriesState state, long fromMs, long toMs)
    {
        var buckets = new List<RollupBucket>();
        using (var db = OpenReader())
            ReadRollupBlocks(db, idxDatapoint, FiveMinuteLevel, fromMs, toMs, buckets);
        if (buckets.Count == 0) return null;
        var raw = ReadValues(idxDatapoint, state.Type.IsCounter() ? fromMs - FiveMinuteLevel : fromMs, toMs);
        int skip = 0;
        while (skip < raw.Count && raw.Timestamps[skip] < fromMs) skip++;
        RollupBlock.Summarise(CollectionsMarshal.AsSpan(raw.Timestamps)[skip..], CollectionsMarshal.AsSpan(raw.Values)[skip..], FiveMinuteLevel, buckets);
        return MergeByStart(buckets);
    }

    /// <summary>Appends the buckets of the series' blocks of <paramref name="level"/> that fall in [from, to]; corrupt blocks are logged and skipped.</summary>
    private static void ReadRollupBlocks(Microsoft.Data.Sqlite.SqliteConnection db, long idxDatapoint, long level, long fromMs, long toMs, List<RollupBucket> buckets)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT data FROM rollup WHERE idx_datapoint = $d AND level = $l AND ts_end >= $from AND ts_start <= $to ORDER BY ts_start";
        cmd.Parameters.AddWithValue("$d", idxDatapoint);
        cmd.Parameters.AddWithValue("$l", level);
        cmd.Parameters.AddWithValue("$from", fromMs - level);
        cmd.Parameters.AddWithValue("$to", toMs);
        using var r = cmd.ExecuteReader();
        var block = new List<RollupBucket>();
        while (r.Read())
        {
            block.Clear();
            try { RollupBlock.Decode((byte[])r.GetValue(0), block); }
            catch (ChunkFormatException e)
            {
                Log.Error($"storage: datapoint {idxDatapoint}: skipping a corrupt rollup block: {e.Message}");
                continue;
            }
            foreach (var b in block) if (b.Start + level > fromMs && b.Start <= toMs) buckets.Add(b);
        }
    }

    /// <summary>
    /// Buckets sorted by start, those of equal start (a bucket a seal cut in two) merged. The
    /// parts' sums were rounded to the values' decimals when they were written; the float sum of
    /// two drifts off them (2012.3000000000002), which would cost a compacted block's sum column
    /// the XOR codec (42 bytes where 15 do, in 70% of the scale bench's day blocks): a merged sum is
    /// rounded again to the decimals every sum has, which makes it their exact decimal sum.
    /// </summary>
    private static List<RollupBucket> MergeByStart(List<RollupBucket> buckets)
    {
        var merged = new List<RollupBucket>(buckets.Count);
        int decimals = int.MinValue; // found at the first merge
        // Stable: of equal starts the later part comes later (its last is the bucket's last).
        foreach (var b in buckets.OrderBy(static b => b.Start))
        {
            if (merged.Count > 0 && merged[^1].Start == b.Start)
            {
                var m = merged[^1];
                if (decimals == int.MinValue) decimals = SumDecimals(buckets);
                double sum = decimals >= 0 ? Math.Round(m.Sum + b.Sum, decimals) : m.Sum + b.Sum;
                merged[^1] = new RollupBucket(m.Start, Math.Min(m.Min, b.Min), Math.Max(m.Max, b.Max), sum, m.Count + b.Count, b.Last);
            }
            else merged.Add(b);
        }
        return merged;
    }

    /// <summary>The fewest decimals every bucket's sum has (<see cref="ChunkEncoder.DecimalScale"/>), or -1.</summary>
    private static int SumDecimals(List<RollupBucket> buckets)
    {
        var sums = ArrayPool<double>.Shared.Rent(buckets.Count);
        try
        {
            for (int i = 0; i < buckets.Count; i++) sums[i] = buckets[i].Sum;
            return ChunkEncoder.DecimalScale(sums.AsSpan(0, buckets.Count));
        }
        finally { ArrayPool<double>.Shared.Return(sums); }
    }

    /// <summary>Decodes a chunk into the (cleared) lists; a corrupt one is skipped, and logged when read for a datapoint's data.</summary>
    private static bool TryDecodeChunk(byte[] blob, long? idxDatapoint, List<long> ts, List<double> values)
    {
        ts.Clear();
        values.Clear();
        return TryDecodeChunkInto(blob, idxDatapoint, ts, values);
    }

    /// <summary>Appends a chunk's points to the lists; a corrupt one leaves them as they were and is skipped (and logged, as above).</summary>
    private static bool TryDecodeChunkInto(byte[] blob, long? idxDatapoint, List<long> ts, List<double> values)
    {
        try
        {
            ChunkEncoder.Decode(blob, ts, values);
            return true;
        }
        catch (ChunkFormatException e)
        {
            if (idxDatapoint is { } idx) Log.Error($"storage: datapoint {idx}: skipping a corrupt chunk: {e.Message}");
            return false;
        }
    }

    /// <summary>
    /// Values as people chart them: gauges as stored, counters as per-second rates between
    /// neighbouring samples. A counter that went down wrapped when the wrapped difference is
    /// under half its range (2^32 or 2^64); otherwise it was reset, and that interval is left out.
    /// </summary>
    /// <param name="into">where the points go (emptied first), or null for a new instance.</param>
    public SeriesPoints ReadValues(long idxDatapoint, long fromMs, long toMs, SeriesPoints? into = null)
    {
        if (!_seriesByIdx.TryGetValue(idxDatapoint, out var state))
        {
            into?.Clear();
            return into ?? new SeriesPoints();
        }
        var raw = ReadRaw(idxDatapoint, fromMs, toMs, into);
        if (state.Type.IsCounter()) CounterRates.ToRates(raw, state.Type);
        return raw;
    }

    /// <summary>
    /// The latest value of a series as a person reads it: a gauge's last sample, a counter's
    /// last per-second rate, a string's last text. Null when nothing is stored (or a counter
    /// has a single sample).
    /// </summary>
    public (long Timestamp, double? Value, string? Text)? Latest(long idxDatapoint)
    {
        if (!_seriesByIdx.TryGetValue(idxDatapoint, out var state) || state.LastTimestamp <= 0) return null;
        long last = state.LastTimestamp;
        if (state.Type == DataType.String)
        {
            if (state.LastText is { } known) return (last, null, known);
            var texts = ReadStrings(idxDatapoint, 0, last);
            return texts.Count == 0 ? null : (texts[^1].Timestamp, null, texts[^1].Value);
        }
        // A counter's rate needs the sample before the last one; an hour back finds it at any
        // sensible polling interval without decoding more than a chunk or two.
        var points = ReadValues(idxDatapoint, state.Type.IsCounter() ? last - 3_600_000 : last, last);
        return points.Count == 0 ? null : (points.Timestamps[^1], points.Values[^1], null);
    }

    /// <summary>
    /// Samples stored at or after <paramref name="sinceMs"/>, per agent (program, polled
    /// target): what "samples today" starts from after a restart. One pass over each table;
    /// only the chunks that straddle the start are decoded.
    /// </summary>
    public Dictionary<(string Program, string Target), long> CountSamplesSince(long sinceMs)
    {
        var byAgent = new Dictionary<long, long>();
        void Add(long agent, long n) => byAgent[agent] = byAgent.GetValueOrDefault(agent) + n;
        using var db = OpenReader();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = """
                SELECT d.idx_agent, SUM(c.count) FROM chunk c JOIN datapoint d ON d.idx_datapoint = c.idx_datapoint WHERE c.ts_start >= $s GROUP BY d.idx_agent
                UNION ALL
                SELECT d.idx_agent, COUNT(*) FROM string_sample x JOIN datapoint d ON d.idx_datapoint = x.idx_datapoint WHERE x.ts >= $s GROUP BY d.idx_agent
                """;
            cmd.Parameters.AddWithValue("$s", sinceMs);
            using var r = cmd.ExecuteReader();
            while (r.Read()) Add(r.GetInt64(0), r.GetInt64(1));
        }
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT d.idx_agent, c.data FROM chunk c JOIN datapoint d ON d.idx_datapoint = c.idx_datapoint WHERE c.ts_end >= $s AND c.ts_start < $s";
            cmd.Parameters.AddWithValue("$s", sinceMs);
            using var r = cmd.ExecuteReader();
            var ts = new List<long>();
            var values = new List<double>();
            while (r.Read())
            {
                if (!TryDecodeChunk((byte[])r.GetValue(1), null, ts, values)) continue;
                long n = 0;
                foreach (long t in ts) if (t >= sinceMs) n++;
                Add(r.GetInt64(0), n);
            }
        }
        // The heads (not yet in chunks) are in memory.
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT idx_datapoint, idx_agent FROM datapoint";
            using var r = cmd.ExecuteReader();
            var ts = new List<long>();
            var values = new List<double>();
            while (r.Read())
            {
                if (!_seriesByIdx.TryGetValue(r.GetInt64(0), out var state) || state.HeadCount == 0) continue;
                ts.Clear();
                values.Clear();
                state.CopyHead(sinceMs, long.MaxValue, ts, values);
                if (ts.Count > 0) Add(r.GetInt64(1), ts.Count);
            }
        }
        var result = new Dictionary<(string, string), long>();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT idx_agent, agent_program, agent_polled_target FROM agent";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (!byAgent.TryGetValue(r.GetInt64(0), out long n)) continue;
                var key = (r.GetString(1), r.GetString(2));
                result[key] = result.GetValueOrDefault(key) + n;
            }
        }
        return result;
    }

    /// <summary>String values in [from, to]: one entry per change.</summary>
    public List<(long Timestamp, string Value)> ReadStrings(long idxDatapoint, long fromMs, long toMs)
    {
        var result = new List<(long, string)>();
        using var db = OpenReader();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT ts, value FROM string_sample WHERE idx_datapoint = $d AND ts BETWEEN $from AND $to ORDER BY ts";
        cmd.Parameters.AddWithValue("$d", idxDatapoint);
        cmd.Parameters.AddWithValue("$from", fromMs);
        cmd.Parameters.AddWithValue("$to", toMs);
        using var r = cmd.ExecuteReader();
        while (r.Read()) result.Add((r.GetInt64(0), r.GetString(1)));
        return result;
    }

    /// <summary>Every datapoint with its agent and labels (pattoo's pairs, program prefix removed).</summary>
    public List<DatapointInfo> ListDatapoints()
    {
        var result = new List<DatapointInfo>();
        var labels = new Dictionary<long, List<KeyValuePair<string, string>>>();
        using var db = OpenReader();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT g.idx_datapoint, p.key, p.value FROM glue g JOIN pair p ON p.idx_pair = g.idx_pair ORDER BY g.idx_datapoint, p.key";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                long d = r.GetInt64(0);
                if (!labels.TryGetValue(d, out var list)) labels[d] = list = new();
                list.Add(new(r.GetString(1), r.GetString(2)));
            }
        }
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = """
                SELECT d.idx_datapoint, d.idx_agent, d.checksum, d.data_type, d.last_timestamp, d.polling_interval,
                       a.agent_id, a.agent_program, a.agent_hostname, a.agent_polled_target
                FROM datapoint d JOIN agent a ON a.idx_agent = d.idx_agent ORDER BY d.idx_datapoint
                """;
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                long idx = r.GetInt64(0);
                string program = r.GetString(7);
                string prefix = program + "_";
                string key = "";
                var meta = new List<KeyValuePair<string, string>>();
                if (labels.TryGetValue(idx, out var pairs))
                {
                    foreach (var (k, v) in pairs)
                    {
                        if (k == "pattoo_key") key = v.StartsWith(prefix, StringComparison.Ordinal) ? v[prefix.Length..] : v;
                        else meta.Add(new(k.StartsWith(prefix, StringComparison.Ordinal) ? k[prefix.Length..] : k, v));
                    }
                }
                result.Add(new DatapointInfo(idx, r.GetInt64(1), DatapointChecksum.FromDb(r, 2), (DataType)r.GetInt32(3), Math.Max(r.GetInt64(4), LiveLastTimestamp(idx)), r.GetInt64(5),
                    r.GetString(6), program, r.GetString(8), r.GetString(9), key, meta));
            }
        }
        return result;
    }

    /// <summary>Samples stored: sealed in chunks plus the head.</summary>
    public long CountSamples()
        // Kept by the writer: a count over the chunk table grew with the catalog and made the
        // cheapest API request (the appliance's facts) cost 28 ms at 10,000 series.
        => Interlocked.Read(ref _storedSamples) + Volatile.Read(ref _headSamples) + Volatile.Read(ref _frozenSamples);

    /// <summary>
    /// Bytes of the database's pages that hold data: the file less its free pages (pages the head
    /// log gave back at a seal are kept for the next head, not returned to the file system).
    /// </summary>
    public long DatabaseBytesInUse()
    {
        using var db = OpenReader();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size";
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>Bytes the database occupies on disk (main file and WAL).</summary>
    public long DatabaseBytes()
    {
        long size = 0;
        foreach (var f in new[] { _options.DatabaseFile, _options.DatabaseFile + "-wal", Path.Combine(_options.Path, HeadLog.HeadLogFile.FileName), Path.Combine(_options.Path, HeadLog.HeadLogFile.AlternateFileName) })
        {
            var info = new FileInfo(f);
            if (info.Exists) size += info.Length;
        }
        return size;
    }
}

/// <summary>Turns raw counter samples into per-second rates (pure, so tests can pin it).</summary>
public static class CounterRates
{
    public static SeriesPoints FromRaw(SeriesPoints raw, DataType type)
    {
        var result = new SeriesPoints();
        result.Timestamps.AddRange(raw.Timestamps);
        result.Values.AddRange(raw.Values);
        ToRates(result, type);
        return result;
    }

    /// <summary>Replaces raw counter samples by the rates between them, in place (one fewer point, fewer at resets).</summary>
    public static void ToRates(SeriesPoints points, DataType type)
    {
        double modulus = type.CounterModulus();
        var ts = CollectionsMarshal.AsSpan(points.Timestamps);
        var values = CollectionsMarshal.AsSpan(points.Values)[..ts.Length];
        int kept = 0;
        if (ts.Length > 0)
        {
            // Each rate is written at or before the sample it reads, so the sample before it is kept aside.
            long t0 = ts[0];
            double v0 = values[0];
            for (int i = 1; i < ts.Length; i++)
            {
                long t1 = ts[i];
                double v1 = values[i];
                if (TryRate(t0, v0, t1, v1, modulus, out double rate))
                {
                    ts[kept] = t1;
                    values[kept] = rate;
                    kept++;
                }
                t0 = t1;
                v0 = v1;
            }
        }
        CollectionsMarshal.SetCount(points.Timestamps, kept);
        CollectionsMarshal.SetCount(points.Values, kept);
    }

    /// <summary>The per-second rate between two samples; false for a reset (or no time between them).</summary>
    public static bool TryRate(long t0, double v0, long t1, double v1, double modulus, out double rate)
    {
        rate = 0;
        double seconds = (t1 - t0) / 1000.0;
        if (seconds <= 0) return false;
        double delta = v1 - v0;
        if (delta < 0)
        {
            double wrapped = delta + modulus;
            if (wrapped < 0 || wrapped > modulus / 2) return false; // a reset, not a wrap
            delta = wrapped;
        }
        rate = delta / seconds;
        return true;
    }
}
