using Pattoo.Edge.Common;

namespace Pattoo.Edge.Storage;

/// <summary>Series identity on the writer's thread: a key's checksum to its row and state, new series, agent and pair rows.</summary>
public sealed partial class TimeSeriesStore
{
    private void Forget(SeriesState state)
    {
        state.Forgotten = true;
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
        if (key.StoreSlot is SeriesState known && ReferenceEquals(known.Owner, this) && !known.Forgotten) return known;
        if (_seriesByChecksum.TryGetValue(key.Checksum, out var state))
        {
            key.StoreSlot = state;
            return state;
        }
        EnsureTransaction();
        long idxAgent = AgentIndex(key.Agent, now);
        long idx = _sql.InsertDatapoint(idxAgent, key.Checksum, (int)key.DataType, key.PollingIntervalMs, now);
        string program = key.Agent.Program;
        _sql.InsertGlue(idx, PairIndex("pattoo_key", $"{program}_{key.Key}", now));
        foreach (var (name, value) in key.Metadata)
            _sql.InsertGlue(idx, PairIndex($"{program}_{name}", value, now));
        state = new SeriesState(idx, key.DataType, long.MinValue) { Owner = this };
        key.StoreSlot = state;
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
}
