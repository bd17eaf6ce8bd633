using Pattoo.Edge.Common;
using Pattoo.Edge.Storage.HeadLog;

namespace Pattoo.Edge.Storage;

/// <summary>Opening: the catalog into memory, then the head log replayed.</summary>
public sealed partial class TimeSeriesStore
{
    private void Load()
    {
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT idx_datapoint, checksum, data_type, last_timestamp FROM datapoint";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var state = new SeriesState(r.GetInt64(0), (DataType)r.GetInt32(2), r.GetInt64(3)) { Owner = this };
                _seriesByChecksum[DatapointChecksum.FromDb(r, 1)] = state;
                _seriesByIdx[state.Idx] = state;
            }
        }
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT s.idx_datapoint, s.value FROM string_sample s JOIN (SELECT idx_datapoint, max(ts) AS ts FROM string_sample GROUP BY idx_datapoint) m ON s.idx_datapoint = m.idx_datapoint AND s.ts = m.ts";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (_seriesByIdx.TryGetValue(r.GetInt64(0), out var s)) s.LastText = s.PendingText = r.GetString(1);
            }
        }
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT coalesce(sum(count), 0) + (SELECT count(*) FROM string_sample) FROM chunk";
            _storedSamples = Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        // Replay the head log: samples acknowledged but not yet sealed into chunks.
        int replayed = 0;
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT idx_datapoint, ts, value FROM head ORDER BY seq";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (!_seriesByIdx.TryGetValue(r.GetInt64(0), out var s)) continue;
                s.Append(r.GetInt64(1), r.GetDouble(2));
                replayed++;
            }
        }
        _headSamples = replayed;
        _headSince = Now;
        if (replayed > 0) Log.Info($"storage: replayed {replayed} unsealed samples of {_seriesByIdx.Count} series from the head table of an earlier release");
    }

    /// <summary>Opens the head log and replays the samples it holds that no chunk holds yet.</summary>
    private HeadLogFile OpenHeadLog()
    {
        ulong sealedGeneration;
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT sealed_generation FROM head_log WHERE id = 1";
            sealedGeneration = (ulong)(long)(cmd.ExecuteScalar() ?? 0L);
        }
        HeadLogFile log;
        int replayed;
        try
        {
            log = HeadLogFile.Open(_options.Path, HeadLogBytes, sealedGeneration, samples =>
            {
                foreach (var s in samples)
                {
                    if (!_seriesByIdx.TryGetValue(s.Idx, out var state) || s.Timestamp <= state.LastTimestamp) continue;
                    state.Append(s.Timestamp, s.Value);
                    state.LastTimestamp = state.PendingTimestamp = s.Timestamp;
                    _headSamples++;
                }
            }, out replayed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageUnavailableException($"cannot open the head log in {_options.Path}: {SystemMessages.Describe(e)}", e);
        }
        if (replayed > 0) Log.Info($"storage: replayed {replayed} unsealed samples from {HeadLogFile.FileName} (generation {log.Generation})");
        Log.Info(log.WriteUnit < 4096
            ? $"storage: {HeadLogFile.FileName} syncs write only the {log.WriteUnit}-byte sectors they touch (direct I/O)"
            : $"storage: {HeadLogFile.FileName} syncs write whole 4 KiB pages (no direct I/O on this file system)");
        // The replay's read buffers are garbage now; a big head's would keep the heap large until the GC next needs room.
        if (replayed >= 100_000) HeapTrim.Soon();
        return log;
    }
}
