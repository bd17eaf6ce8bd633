namespace Pattoo.Edge.Common;

/// <summary>
/// The identity of one series (a pattoo "datapoint"): who collected it (agent id, program,
/// host), what was polled (target), which value (key) and its labels (metadata).
/// Built once per series by a poller and reused every cycle, so the checksum, which names
/// the series in storage, is computed once.
/// </summary>
public sealed class SeriesKey
{
    public SeriesKey(AgentIdentity agent, string key, DataType dataType, TimeSpan pollingInterval,
        IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentException.ThrowIfNullOrEmpty(key);
        Agent = agent;
        Key = key;
        DataType = dataType;
        PollingIntervalMs = (long)pollingInterval.TotalMilliseconds;
        var list = metadata is null ? new List<KeyValuePair<string, string>>() : new List<KeyValuePair<string, string>>(metadata);
        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        for (int i = 1; i < list.Count; i++)
        {
            if (list[i].Key == list[i - 1].Key)
                throw new ArgumentException($"metadata key '{list[i].Key}' appears twice for '{key}'", nameof(metadata));
        }
        Metadata = list;
        AgentChecksum = PattooChecksum.ForDatapoint(agent, key, dataType, list);
        Checksum = PattooChecksum.ForStoredDatapoint(agent.AgentId, agent.PolledTarget, AgentChecksum);
    }

    /// <summary>For datapoints posted by pattoo agents: the agent computed its own checksum.</summary>
    public SeriesKey(AgentIdentity agent, string key, DataType dataType, long pollingIntervalMs,
        IReadOnlyList<KeyValuePair<string, string>> sortedMetadata, string agentChecksum)
    {
        Agent = agent;
        Key = key;
        DataType = dataType;
        PollingIntervalMs = pollingIntervalMs;
        Metadata = sortedMetadata;
        AgentChecksum = agentChecksum;
        Checksum = PattooChecksum.ForStoredDatapoint(agent.AgentId, agent.PolledTarget, agentChecksum);
    }

    public AgentIdentity Agent { get; }
    public string Key { get; }
    public DataType DataType { get; }
    public long PollingIntervalMs { get; }
    /// <summary>Labels, sorted by name (ordinal).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; }
    /// <summary>The checksum an agent computes (pattoo_checksum in posted JSON).</summary>
    public string AgentChecksum { get; }
    /// <summary>The stored datapoint's checksum: its identity across restarts and agents.</summary>
    public string Checksum { get; }

    /// <summary>
    /// Where a store keeps this series, set by the store the first time it sees the key: a key
    /// used again (pollers and the import caches keep theirs) then costs no lookup by checksum.
    /// Only the store's writer reads and writes it, and it checks the slot is its own.
    /// </summary>
    public object? StoreSlot { get; set; }

    public override string ToString() => $"{Agent.Program}/{Agent.PolledTarget}/{Key}";
}

/// <summary>The agent that collected a series: pattoo's agent id, program, host and polled target.</summary>
public sealed record AgentIdentity(string AgentId, string Program, string Hostname, string PolledTarget)
{
    /// <summary>The identity of an in-process poller: agent id derived from the appliance and program.</summary>
    public static AgentIdentity ForPoller(string applianceName, string program, string target)
        => new(PattooChecksum.AgentIdFor(applianceName, program), program, applianceName, target);
}
