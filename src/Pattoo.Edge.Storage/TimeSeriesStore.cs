using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage.Encoding;

namespace Pattoo.Edge.Storage;

/// <summary>
/// The embedded time-series store: one SQLite file in WAL mode, one writer task fed by a
/// bounded queue that commits many batches per transaction, readers on their own
/// connections that never block it. Samples go first to an append-only head log (durable
/// when <see cref="WriteAsync"/> completes) and are sealed every <see cref="StorageOptions.ChunkSpan"/>
/// into one compressed chunk per series.
/// </summary>
public sealed partial class TimeSeriesStore : ISampleSink, IAsyncDisposable
{
    private const int QueueCapacity = 512;
    private const int MaxSamplesPerTransaction = 200_000;
    private const int PruneStepRows = 500;
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(10);

    private readonly StorageOptions _options;
    private readonly TimeProvider _clock;
    private readonly Channel<WriteRequest> _queue;
    private readonly SqliteConnection _db;
    private readonly string _readConnectionString;
    private readonly Dictionary<string, SeriesState> _seriesByChecksum = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, SeriesState> _seriesByIdx = new();
    private readonly Dictionary<(string, string), long> _agents = new();
    private readonly Dictionary<(string, string), long> _pairs = new();
    private readonly Task _writer;
    private readonly WriterStatements _sql;
    private int _headSamples;
    private long _headSince;
    private long _nextPruneAt;
    private bool _pruning;
    private int _disposed;
    private readonly StorageLock _lock;
    private long _failedWrites, _failedSamples;
    private bool _maintenanceFailing;
    private long _samplesWritten, _samplesRejected, _transactions, _chunksSealed;

    private enum Control { None, Seal, Prune }

    private sealed record WriteRequest(SampleBatch Batch, TaskCompletionSource Done, Control Action = Control.None);

    private TimeSeriesStore(StorageOptions options, TimeProvider clock)
    {
        _options = options;
        _clock = clock;
        SqliteSetup.Init();
        _lock = StorageLock.Acquire(options.Path);
        var file = options.DatabaseFile;
        _db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = file,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        _readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = file,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
        }.ToString();
        try
        {
            _db.Open();
            // auto_vacuum must be chosen before the first table exists; later it is a no-op.
            Exec("PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -2048;");
            Schema.Migrate(_db);
            _sql = new WriterStatements(_db);
            Load();
        }
        catch (SqliteException e)
        {
            _db.Dispose();
            _lock.Dispose();
            throw new StorageUnavailableException($"cannot open the database {file}: {e.Message}", e);
        }
        catch
        {
            // A database from a newer release, a failed migration: the lock goes with the store.
            _db.Dispose();
            _lock.Dispose();
            throw;
        }
        _nextPruneAt = Now;
        Catalog = new CatalogStore(options, clock);
        _queue = Channel.CreateBounded<WriteRequest>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = Task.Factory.StartNew(WriterLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Opens (creating or migrating) the database under <see cref="StorageOptions.Path"/>.</summary>
    /// <exception cref="StorageUnavailableException">the file cannot be opened or is from a newer release.</exception>
    public static TimeSeriesStore Open(StorageOptions options, TimeProvider? clock = null)
        => new(options, clock ?? TimeProvider.System);

    public StorageOptions Options => _options;

    /// <summary>pattoo's small tables: agents, datapoints, pairs, translations, charts, favourites.</summary>
    public CatalogStore Catalog { get; }

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <inheritdoc />
    public async Task WriteAsync(SampleBatch batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0) return;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _queue.Writer.WriteAsync(new WriteRequest(batch, done), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new StorageUnavailableException("storage is shutting down");
        }
        // Once queued the batch is the writer's until it is committed: do not give it back early.
        await done.Task.ConfigureAwait(false);
    }

    /// <summary>Counters of the writer, for logs, the API and benchmarks.</summary>
    public StoreStatistics Statistics => new(
        Interlocked.Read(ref _samplesWritten), Interlocked.Read(ref _samplesRejected),
        Interlocked.Read(ref _transactions), Interlocked.Read(ref _chunksSealed),
        Volatile.Read(ref _headSamples), _seriesByIdx.Count);

    /// <summary>Stops accepting writes, commits everything queued and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.Writer.TryComplete();
        try { await _writer.ConfigureAwait(false); }
        catch (Exception e) { Log.Error($"storage: writer stopped with an error: {e.Message}"); }
        _sql.Dispose();
        try
        {
            Exec("PRAGMA wal_checkpoint(TRUNCATE);");
        }
        catch (SqliteException e)
        {
            // Every acknowledged write is committed in the WAL, which the next start replays;
            // a checkpoint that cannot run (a full disk) loses nothing, so it is no failure.
            Log.Warning($"storage: the WAL could not be checkpointed at shutdown ({e.Message}); nothing is lost: it is applied on the next start");
        }
        _db.Dispose();
        SqliteConnection.ClearAllPools();
        _lock.Dispose();
    }

    private void Load()
    {
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT idx_datapoint, checksum, data_type, last_timestamp FROM datapoint";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var state = new SeriesState(r.GetInt64(0), (DataType)r.GetInt32(2), r.GetInt64(3));
                _seriesByChecksum[r.GetString(1)] = state;
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
        if (replayed > 0) Log.Info($"storage: replayed {replayed} unsealed samples of {_seriesByIdx.Count} series from the head log");
    }

    private async Task WriterLoop()
    {
        var pending = new List<WriteRequest>();
        var reader = _queue.Reader;
        while (true)
        {
            bool more;
            try { more = await reader.WaitToReadAsync().ConfigureAwait(false); }
            catch (Exception) { more = false; }
            if (!more) break;
            int samples = 0;
            while (samples < MaxSamplesPerTransaction && reader.TryRead(out var req))
            {
                if (req.Action != Control.None)
                {
                    if (pending.Count > 0) { Commit(pending); pending.Clear(); }
                    RunControl(req);
                    continue;
                }
                pending.Add(req);
                samples += req.Batch.Count;
            }
            if (pending.Count > 0) { Commit(pending); pending.Clear(); }
            Maintain();
        }
    }

    private void RunControl(WriteRequest req)
    {
        try
        {
            if (req.Action == Control.Seal)
            {
                if (_headSamples > 0) SealChunks();
            }
            else
            {
                long cutoff = Now - (long)_options.Retention.TotalMilliseconds;
                while (PruneStep(cutoff)) { }
                _pruning = false;
            }
            req.Done.TrySetResult();
        }
        catch (Exception e)
        {
            req.Done.TrySetException(new StorageUnavailableException($"storage {req.Action.ToString().ToLowerInvariant()} failed: {e.Message}", e));
        }
    }

    private void Commit(List<WriteRequest> requests)
    {
        var newSeries = new List<SeriesState>();
        var touched = new List<SeriesState>();
        var accepted = new List<(SeriesState, long, double)>();
        int rejected = 0;
        SqliteTransaction? tx = null;
        try
        {
            tx = _db.BeginTransaction();
            _sql.Bind(tx);
            long now = Now;
            foreach (var req in requests)
            {
                foreach (ref readonly var s in req.Batch.Items)
                {
                    var state = Resolve(s.Series, now, newSeries);
                    if (s.TimestampMs <= state.PendingTimestamp)
                    {
                        rejected++; // duplicate or out of order: pattoo keeps the first value too
                        continue;
                    }
                    if (!state.Touched) { state.Touched = true; touched.Add(state); }
                    state.PendingTimestamp = s.TimestampMs;
                    if (state.Type == DataType.String)
                    {
                        string text = s.Text ?? "";
                        if (text != state.PendingText)
                        {
                            _sql.InsertString(state.Idx, s.TimestampMs, text);
                            state.PendingText = text;
                        }
                    }
                    else
                    {
                        _sql.InsertHead(state.Idx, s.TimestampMs, s.Value);
                        accepted.Add((state, s.TimestampMs, s.Value));
                    }
                }
            }
            foreach (var state in touched) _sql.UpdateLastTimestamp(state.Idx, state.PendingTimestamp);
            tx.Commit();
        }
        catch (Exception e)
        {
            try { tx?.Rollback(); } catch (Exception) { /* the failure below is what matters */ }
            tx?.Dispose();
            foreach (var state in touched) { state.PendingTimestamp = state.LastTimestamp; state.PendingText = state.LastText; state.Touched = false; }
            foreach (var state in newSeries) { Forget(state); }
            WriteFailed(requests.Sum(r => r.Batch.Count), e);
            var failure = new StorageUnavailableException($"storage write failed: {e.Message}", e);
            foreach (var req in requests) req.Done.TrySetException(failure);
            return;
        }
        tx.Dispose();
        foreach (var state in touched)
        {
            state.LastTimestamp = state.PendingTimestamp;
            state.LastText = state.PendingText;
            state.Touched = false;
        }
        foreach (var (state, ts, value) in accepted) state.Append(ts, value);
        if (_headSamples == 0 && accepted.Count > 0) _headSince = Now;
        _headSamples += accepted.Count;
        Interlocked.Add(ref _samplesWritten, accepted.Count + (touched.Count > 0 ? CountStrings(requests) : 0));
        Interlocked.Add(ref _samplesRejected, rejected);
        Interlocked.Increment(ref _transactions);
        foreach (var req in requests) req.Done.TrySetResult();
        WriteSucceeded();
        if (rejected > 0) Log.Debug($"storage: dropped {rejected} duplicate or out-of-order samples");
    }

    /// <summary>
    /// A failing disk (full, read-only, gone) fails every write until it recovers: the first
    /// failure is logged with its cause, the rest are counted, and the recovery is logged with
    /// the count, so a full disk costs two log lines, not one per poll.
    /// </summary>
    private void WriteFailed(int samples, Exception e)
    {
        _failedWrites++;
        _failedSamples += samples;
        if (_failedWrites == 1) Log.Error($"storage: a write of {samples} samples failed and was not acknowledged: {e.Message}; further failures are counted until writes work again");
    }

    private void WriteSucceeded()
    {
        if (_failedWrites == 0) return;
        Log.Info($"storage: writes work again after {_failedWrites} failed writes ({_failedSamples} samples not acknowledged)");
        _failedWrites = 0;
        _failedSamples = 0;
    }

    private static int CountStrings(List<WriteRequest> requests)
    {
        int n = 0;
        foreach (var r in requests)
            foreach (ref readonly var s in r.Batch.Items)
                if (s.Series.DataType == DataType.String) n++;
        return n;
    }

    private void Forget(SeriesState state)
    {
        foreach (var kv in _seriesByChecksum)
        {
            if (ReferenceEquals(kv.Value, state)) { _seriesByChecksum.Remove(kv.Key); break; }
        }
        _seriesByIdx.TryRemove(state.Idx, out _);
        // Agent and pair ids may belong to the rolled-back transaction: reload lazily.
        _agents.Clear();
        _pairs.Clear();
    }

    private SeriesState Resolve(SeriesKey key, long now, List<SeriesState> created)
    {
        if (_seriesByChecksum.TryGetValue(key.Checksum, out var state)) return state;
        long idxAgent = AgentIndex(key.Agent, now);
        long idx = _sql.InsertDatapoint(idxAgent, key.Checksum, (int)key.DataType, key.PollingIntervalMs, now);
        string program = key.Agent.Program;
        _sql.InsertGlue(idx, PairIndex("pattoo_key", $"{program}_{key.Key}", now));
        foreach (var (name, value) in key.Metadata)
            _sql.InsertGlue(idx, PairIndex($"{program}_{name}", value, now));
        state = new SeriesState(idx, key.DataType, long.MinValue);
        _seriesByChecksum[key.Checksum] = state;
        _seriesByIdx[idx] = state;
        created.Add(state);
        return state;
    }

    private long AgentIndex(AgentIdentity agent, long now)
    {
        if (_agents.TryGetValue((agent.AgentId, agent.PolledTarget), out long idx)) return idx;
        idx = _sql.UpsertAgent(agent, now);
        _agents[(agent.AgentId, agent.PolledTarget)] = idx;
        return idx;
    }

    private long PairIndex(string key, string value, long now)
    {
        if (_pairs.TryGetValue((key, value), out long idx)) return idx;
        idx = _sql.UpsertPair(key, value, now);
        _pairs[(key, value)] = idx;
        return idx;
    }

    /// <summary>Seals the head into chunks when due and prunes expired data a step at a time.</summary>
    private void Maintain()
    {
        try
        {
            long now = Now;
            bool worked = false;
            if (_headSamples > 0 &&
                (_headSamples >= _options.MaxHeadSamples || now - _headSince >= (long)_options.ChunkSpan.TotalMilliseconds))
            {
                SealChunks();
                worked = true;
            }
            if (now >= _nextPruneAt) { _pruning = true; _nextPruneAt = now + (long)PruneEvery.TotalMilliseconds; }
            if (_pruning)
            {
                _pruning = PruneStep(now - (long)_options.Retention.TotalMilliseconds);
                worked = true;
            }
            if (worked && _maintenanceFailing)
            {
                Log.Info("storage: maintenance works again");
                _maintenanceFailing = false;
            }
        }
        catch (Exception e)
        {
            // Maintenance failing must not stop ingest; it is retried on the next turn.
            if (!_maintenanceFailing) Log.Error($"storage: maintenance failed (retried on every write until it works; logged again when it does): {e.Message}");
            _maintenanceFailing = true;
        }
    }

    /// <summary>Writes every series' head as one chunk and empties the head log, in one transaction.</summary>
    private void SealChunks()
    {
        var sw = Stopwatch.StartNew();
        var sealedSeries = new List<SeriesState>();
        int points = 0;
        using (var tx = _db.BeginTransaction())
        {
            _sql.Bind(tx);
            foreach (var state in _seriesByIdx.Values)
            {
                var (ts, values, count) = state.HeadForSealing();
                if (count == 0) continue;
                byte[] data = ChunkEncoder.Encode(ts.AsSpan(0, count), values.AsSpan(0, count));
                _sql.InsertChunk(state.Idx, ts[0], ts[count - 1], count, data);
                sealedSeries.Add(state);
                points += count;
            }
            _sql.ClearHead();
            tx.Commit();
        }
        foreach (var state in sealedSeries) state.ClearHead();
        _headSamples = 0;
        _headSince = Now;
        Interlocked.Add(ref _chunksSealed, sealedSeries.Count);
        Log.Info($"storage: sealed {points} samples of {sealedSeries.Count} series into chunks in {sw.ElapsedMilliseconds} ms");
    }

    /// <summary>Deletes one step of expired chunks; true while more remain.</summary>
    private bool PruneStep(long cutoff)
    {
        int deleted;
        using (var tx = _db.BeginTransaction())
        {
            _sql.Bind(tx);
            deleted = _sql.PruneChunks(cutoff, PruneStepRows) + _sql.PruneStrings(cutoff, PruneStepRows);
            tx.Commit();
        }
        if (deleted > 0)
        {
            Log.Debug($"storage: pruned {deleted} rows older than retention");
            return true;
        }
        Exec("PRAGMA incremental_vacuum(2000);");
        return false;
    }

    /// <summary>Prunes everything older than the retention now (CLI and tests); normally a step every turn.</summary>
    public Task PruneNowAsync() => ControlAsync(Control.Prune);

    /// <summary>Seals every head into chunks now (CLI and tests); normally done every chunk span.</summary>
    public Task SealNowAsync() => ControlAsync(Control.Seal);

    private async Task ControlAsync(Control action)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try { await _queue.Writer.WriteAsync(new WriteRequest(new SampleBatch(4), done, action)).ConfigureAwait(false); }
        catch (ChannelClosedException) { throw new StorageUnavailableException("storage is shutting down"); }
        await done.Task.ConfigureAwait(false);
    }

    private void Exec(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    internal SqliteConnection OpenReader()
    {
        var c = new SqliteConnection(_readConnectionString);
        c.Open();
        return c;
    }
}

public readonly record struct StoreStatistics(long SamplesWritten, long SamplesRejected, long Transactions, long ChunksSealed, int HeadSamples, int Series);
