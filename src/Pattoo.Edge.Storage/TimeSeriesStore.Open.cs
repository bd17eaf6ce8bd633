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
                string checksum = DatapointChecksum.FromDb(r, 1);
                // Schema 14 leaves uniqueness to the writer's catalog; a second row would be a bug: say so, keep the first.
                if (!_seriesByChecksum.TryAdd(checksum, state))
                {
                    long first = _seriesByChecksum[checksum].Idx;
                    Log.Error($"storage: datapoint {state.Idx} has the checksum of datapoint {first}; new samples of that series go to datapoint {first}");
                }
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

    /// <summary>
    /// Opens the head log and replays the samples it holds that no chunk holds yet. Of its two
    /// files the one of the newer unsealed generation is the writer's; when both hold one (a
    /// crash during a seal beside the writer), the older is replayed first.
    /// </summary>
    private HeadLogFile OpenHeadLog()
    {
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT sealed_generation FROM head_log WHERE id = 1";
            _sealedGeneration = (ulong)(long)(cmd.ExecuteScalar() ?? 0L);
        }
        try
        {
            ulong main = HeadLogFile.PeekGeneration(_options.Path, HeadLogFile.FileName);
            ulong other = HeadLogFile.PeekGeneration(_options.Path, HeadLogFile.AlternateFileName);
            if (main > _sealedGeneration && other > _sealedGeneration)
            {
                var (older, newer) = main < other ? (HeadLogFile.FileName, HeadLogFile.AlternateFileName) : (HeadLogFile.AlternateFileName, HeadLogFile.FileName);
                _otherLog = OpenLogFile(older, 0);
                _otherLogUnsealed = true;
                return OpenLogFile(newer, _otherLog.Generation);
            }
            // The newer unsealed one, or (none unsealed) head.log in a new generation; the other opens at the next seal.
            return OpenLogFile(other > _sealedGeneration ? HeadLogFile.AlternateFileName : HeadLogFile.FileName, Math.Max(main, other));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _otherLog?.Dispose();
            throw new StorageUnavailableException($"cannot open the head log in {_options.Path}: {SystemMessages.Describe(e)}", e);
        }
    }

    private HeadLogFile OpenLogFile(string fileName, ulong startAfter)
    {
        var log = HeadLogFile.Open(_options.Path, HeadLogBytes, _sealedGeneration, samples =>
        {
            foreach (var s in samples)
            {
                if (!_seriesByIdx.TryGetValue(s.Idx, out var state) || s.Timestamp <= state.LastTimestamp) continue;
                state.Append(s.Timestamp, s.Value);
                state.LastTimestamp = state.PendingTimestamp = s.Timestamp;
                _headSamples++;
            }
        }, out int replayed, fileName: fileName, startAfter: startAfter);
        if (replayed > 0) Log.Info($"storage: replayed {replayed} unsealed samples from {fileName} (generation {log.Generation})");
        Log.Info(log.WriteUnit < 4096
            ? $"storage: {fileName} syncs write only the {log.WriteUnit}-byte sectors they touch (direct I/O)"
            : $"storage: {fileName} syncs write whole 4 KiB pages (no direct I/O on this file system)");
        // The replay's read buffers are garbage now; a big head's would keep the heap large until the GC next needs room.
        if (replayed >= 100_000) HeapTrim.Soon();
        return log;
    }
}
