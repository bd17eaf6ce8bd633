using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Storage;

/// <summary>The writer's prepared statements, created once and re-bound per transaction.</summary>
internal sealed class WriterStatements : IDisposable
{
    private readonly SqliteCommand _sealedGeneration, _insertString, _updateLast, _upsertAgent, _upsertPair,
        _insertDatapoint, _insertGlue, _insertChunk, _clearHead, _pruneChunks, _pruneStrings, _insertRollup, _pruneRollups,
        _dayChunks, _dayRollups, _deleteChunk, _deleteRollup, _compactedThrough, _setCompactedThrough, _oldestChunkEnd, _daySeries, _pagesInUse;
    private readonly SqliteCommand[] _all;

    public WriterStatements(SqliteConnection db)
    {
        _sealedGeneration = Make(db, "UPDATE head_log SET sealed_generation = $g WHERE id = 1", "$g");
        _insertString = Make(db, "INSERT OR REPLACE INTO string_sample (idx_datapoint, ts, value) VALUES ($d, $t, $v)", "$d", "$t", "$v");
        _updateLast = Make(db, "UPDATE datapoint SET last_timestamp = $t WHERE idx_datapoint = $d", "$d", "$t");
        _upsertAgent = Make(db, """
            INSERT INTO agent (agent_id, agent_polled_target, agent_program, agent_hostname, ts_created, ts_modified)
            VALUES ($id, $target, $program, $host, $now, $now)
            ON CONFLICT (agent_id, agent_polled_target) DO UPDATE SET agent_program = excluded.agent_program, agent_hostname = excluded.agent_hostname
            RETURNING idx_agent
            """, "$id", "$target", "$program", "$host", "$now");
        _upsertPair = Make(db, """
            INSERT INTO pair (key, value, ts_created) VALUES ($k, $v, $now)
            ON CONFLICT (key, value) DO UPDATE SET key = excluded.key
            RETURNING idx_pair
            """, "$k", "$v", "$now");
        _insertDatapoint = Make(db, """
            INSERT INTO datapoint (idx_agent, checksum, data_type, polling_interval, ts_created, ts_modified)
            VALUES ($a, $c, $type, $interval, $now, $now) RETURNING idx_datapoint
            """, "$a", "$c", "$type", "$interval", "$now");
        _insertGlue = Make(db, "INSERT OR IGNORE INTO glue (idx_datapoint, idx_pair) VALUES ($d, $p)", "$d", "$p");
        _insertChunk = Make(db, "INSERT OR REPLACE INTO chunk (idx_datapoint, ts_start, ts_end, count, data) VALUES ($d, $s, $e, $n, $b)", "$d", "$s", "$e", "$n", "$b");
        _clearHead = Make(db, "DELETE FROM head");
        _pruneChunks = Make(db, """
            DELETE FROM chunk WHERE id IN
                (SELECT id FROM chunk WHERE ts_end < $cut LIMIT $n)
            RETURNING count, idx_datapoint, ts_start, data
            """, "$cut", "$n");
        // Keep each string series' newest value however old: it is still the current value.
        _pruneStrings = Make(db, """
            DELETE FROM string_sample WHERE (idx_datapoint, ts) IN
                (SELECT s.idx_datapoint, s.ts FROM string_sample s WHERE s.ts < $cut AND EXISTS
                    (SELECT 1 FROM string_sample n WHERE n.idx_datapoint = s.idx_datapoint AND n.ts > s.ts) LIMIT $n)
            """, "$cut", "$n");
        _insertRollup = Make(db, "INSERT INTO rollup (idx_datapoint, level, ts_start, ts_end, count, data) VALUES ($d, $l, $s, $e, $n, $b)", "$d", "$l", "$s", "$e", "$n", "$b");
        _pruneRollups = Make(db, "DELETE FROM rollup WHERE id IN (SELECT id FROM rollup WHERE ts_end < $cut LIMIT $n)", "$cut", "$n");
        _dayChunks = Make(db, "SELECT id, ts_start, ts_end, data FROM chunk WHERE idx_datapoint = $d AND ts_start >= $from AND ts_start < $to ORDER BY ts_start", "$d", "$from", "$to");
        _dayRollups = Make(db, "SELECT id, ts_end, data FROM rollup WHERE idx_datapoint = $d AND level = $l AND ts_start >= $from AND ts_start < $to ORDER BY ts_start, id", "$d", "$l", "$from", "$to");
        _deleteChunk = Make(db, "DELETE FROM chunk WHERE id = $id", "$id");
        _deleteRollup = Make(db, "DELETE FROM rollup WHERE id = $id", "$id");
        _compactedThrough = Make(db, "SELECT day_end FROM compaction WHERE id = 1");
        _setCompactedThrough = Make(db, "UPDATE compaction SET day_end = $e WHERE id = 1", "$e");
        _oldestChunkEnd = Make(db, "SELECT min(ts_end) FROM chunk WHERE ts_end >= $from", "$from");
        // The day's chunks through the ts_end index (without INDEXED BY the planner may walk chunk_series whole for the GROUP BY).
        _daySeries = Make(db, "SELECT idx_datapoint FROM chunk INDEXED BY chunk_end WHERE ts_end >= $from AND ts_end < $to AND ts_start >= $from GROUP BY idx_datapoint HAVING count(*) > 1", "$from", "$to");
        // In the writer's transaction: pages the database holds (allocated, not free) and the last row's id.
        _pagesInUse = Make(db, "SELECT page_count - freelist_count, last_insert_rowid() FROM pragma_page_count(), pragma_freelist_count()");
        _all = [_sealedGeneration, _insertString, _updateLast, _upsertAgent, _upsertPair, _insertDatapoint, _insertGlue, _insertChunk, _clearHead, _pruneChunks, _pruneStrings, _insertRollup, _pruneRollups,
            _dayChunks, _dayRollups, _deleteChunk, _deleteRollup, _compactedThrough, _setCompactedThrough, _oldestChunkEnd, _daySeries, _pagesInUse];
    }

    private static SqliteCommand Make(SqliteConnection db, string sql, params string[] parameters)
    {
        var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var p in parameters) cmd.Parameters.Add(new SqliteParameter { ParameterName = p });
        return cmd;
    }

    public void Bind(SqliteTransaction tx)
    {
        foreach (var c in _all) c.Transaction = tx;
    }

    /// <summary>Records that the head log's <paramref name="generation"/> is in chunks (same transaction as the chunks).</summary>
    public void SetSealedGeneration(ulong generation)
    {
        _sealedGeneration.Parameters[0].Value = (long)generation;
        _sealedGeneration.ExecuteNonQuery();
    }

    public void InsertString(long idx, long ts, string value)
    {
        var p = _insertString.Parameters;
        p[0].Value = idx; p[1].Value = ts; p[2].Value = value;
        _insertString.ExecuteNonQuery();
    }

    public void UpdateLastTimestamp(long idx, long ts)
    {
        var p = _updateLast.Parameters;
        p[0].Value = idx; p[1].Value = ts;
        _updateLast.ExecuteNonQuery();
    }

    public long UpsertAgent(AgentIdentity agent, long now)
    {
        var p = _upsertAgent.Parameters;
        p[0].Value = agent.AgentId; p[1].Value = agent.PolledTarget; p[2].Value = agent.Program; p[3].Value = agent.Hostname; p[4].Value = now;
        return (long)_upsertAgent.ExecuteScalar()!;
    }

    public long UpsertPair(string key, string value, long now)
    {
        var p = _upsertPair.Parameters;
        p[0].Value = key; p[1].Value = value; p[2].Value = now;
        return (long)_upsertPair.ExecuteScalar()!;
    }

    public long InsertDatapoint(long idxAgent, string checksum, int dataType, long interval, long now)
    {
        var p = _insertDatapoint.Parameters;
        p[0].Value = idxAgent; p[1].Value = DatapointChecksum.ToDb(checksum); p[2].Value = dataType; p[3].Value = interval; p[4].Value = now;
        return (long)_insertDatapoint.ExecuteScalar()!;
    }

    public void InsertGlue(long idx, long idxPair)
    {
        var p = _insertGlue.Parameters;
        p[0].Value = idx; p[1].Value = idxPair;
        _insertGlue.ExecuteNonQuery();
    }

    public void InsertChunk(ChunkRow row)
    {
        var p = _insertChunk.Parameters;
        p[0].Value = row.Idx; p[1].Value = row.First; p[2].Value = row.Last; p[3].Value = row.Count; p[4].Value = row.Data;
        _insertChunk.ExecuteNonQuery();
    }

    /// <summary>Inserts a chunk; then the pages in use and its id, for <see cref="ChunkPagePacker"/>.</summary>
    public (long PagesInUse, long Rowid) InsertChunkProbed(ChunkRow row)
    {
        InsertChunk(row);
        return Probe();
    }

    /// <summary>Pages the database holds, free pages not counted (in the writer's transaction).</summary>
    public long PagesInUse() => Probe().PagesInUse;

    private (long PagesInUse, long Rowid) Probe()
    {
        using var r = _pagesInUse.ExecuteReader();
        r.Read();
        return (r.GetInt64(0), r.GetInt64(1));
    }

    public void InsertRollup(long idx, long level, long start, long end, int count, byte[] data)
    {
        var p = _insertRollup.Parameters;
        p[0].Value = idx; p[1].Value = level; p[2].Value = start; p[3].Value = end; p[4].Value = count; p[5].Value = data;
        _insertRollup.ExecuteNonQuery();
    }

    /// <summary>Deletes up to <paramref name="rows"/> rollup blocks whose last bucket starts before <paramref name="cutoff"/>.</summary>
    public int PruneRollups(long cutoff, int rows)
    {
        _pruneRollups.Parameters[0].Value = cutoff; _pruneRollups.Parameters[1].Value = rows;
        return _pruneRollups.ExecuteNonQuery();
    }

    public void ClearHead() => _clearHead.ExecuteNonQuery();

    /// <summary>
    /// Deletes up to <paramref name="rows"/> expired chunks; the chunks and the samples they held.
    /// The deleted chunks go to <paramref name="deleted"/> when given (to be summarised).
    /// </summary>
    public (int Chunks, long Samples) PruneChunks(long cutoff, int rows, List<PrunedChunk>? deleted)
    {
        _pruneChunks.Parameters[0].Value = cutoff; _pruneChunks.Parameters[1].Value = rows;
        int chunks = 0;
        long samples = 0;
        using var r = _pruneChunks.ExecuteReader();
        while (r.Read())
        {
            chunks++;
            samples += r.GetInt64(0);
            deleted?.Add(new PrunedChunk(r.GetInt64(1), r.GetInt64(2), (byte[])r.GetValue(3)));
        }
        return (chunks, samples);
    }

    /// <summary>A series' chunks that start in [from, to), oldest first.</summary>
    public void DayChunks(long idx, long from, long to, List<StoredBlock> blocks)
    {
        blocks.Clear();
        var p = _dayChunks.Parameters;
        p[0].Value = idx; p[1].Value = from; p[2].Value = to;
        using var r = _dayChunks.ExecuteReader();
        while (r.Read()) blocks.Add(new StoredBlock(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), (byte[])r.GetValue(3)));
    }

    /// <summary>A series' rollup blocks of <paramref name="level"/> that start in [from, to), oldest first.</summary>
    public void DayRollups(long idx, long level, long from, long to, List<StoredBlock> blocks)
    {
        blocks.Clear();
        var p = _dayRollups.Parameters;
        p[0].Value = idx; p[1].Value = level; p[2].Value = from; p[3].Value = to;
        using var r = _dayRollups.ExecuteReader();
        while (r.Read()) blocks.Add(new StoredBlock(r.GetInt64(0), 0, r.GetInt64(1), (byte[])r.GetValue(2)));
    }

    public void DeleteChunk(long id)
    {
        _deleteChunk.Parameters[0].Value = id;
        _deleteChunk.ExecuteNonQuery();
    }

    public void DeleteRollup(long id)
    {
        _deleteRollup.Parameters[0].Value = id;
        _deleteRollup.ExecuteNonQuery();
    }

    /// <summary>The end (Unix ms) of the last day compacted; 0 before the first.</summary>
    public long CompactedThrough() => Convert.ToInt64(_compactedThrough.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);

    public void SetCompactedThrough(long dayEnd)
    {
        _setCompactedThrough.Parameters[0].Value = dayEnd;
        _setCompactedThrough.ExecuteNonQuery();
    }

    /// <summary>The earliest end of a chunk at or after <paramref name="from"/>; null when there are none.</summary>
    public long? OldestChunkEnd(long from)
    {
        _oldestChunkEnd.Parameters[0].Value = from;
        return _oldestChunkEnd.ExecuteScalar() is long end ? end : null;
    }

    /// <summary>The series with more than one chunk that lies wholly in [from, to): those a compaction of the day merges.</summary>
    public long[] DaySeries(long from, long to)
    {
        _daySeries.Parameters[0].Value = from;
        _daySeries.Parameters[1].Value = to;
        var ids = new List<long>();
        using var r = _daySeries.ExecuteReader();
        while (r.Read()) ids.Add(r.GetInt64(0));
        return [.. ids];
    }

    public int PruneStrings(long cutoff, int rows)
    {
        _pruneStrings.Parameters[0].Value = cutoff; _pruneStrings.Parameters[1].Value = rows;
        return _pruneStrings.ExecuteNonQuery();
    }

    public void Dispose()
    {
        foreach (var c in _all) c.Dispose();
    }
}

/// <summary>A chunk a prune step deleted: its series, first timestamp and encoded points.</summary>
internal readonly record struct PrunedChunk(long Idx, long Start, byte[] Data);

/// <summary>A chunk or rollup row as compaction reads it: its id, range and encoded block.</summary>
internal readonly record struct StoredBlock(long Id, long Start, long End, byte[] Data);
