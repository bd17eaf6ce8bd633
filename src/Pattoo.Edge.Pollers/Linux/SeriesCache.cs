namespace Pattoo.Edge.Pollers.Linux;

/// <summary>
/// Per-name series (a disk's, an interface's) found by the name as it appears in the parsed
/// text, so a steady-state cycle looks them up without allocating a string. Names not seen for
/// a while are dropped so that short-lived interfaces (veth of containers) do not pile up.
/// </summary>
internal sealed class SeriesCache<T> where T : class
{
    private sealed class Entry(T value, long lastSeen)
    {
        public readonly T Value = value;
        public long LastSeen = lastSeen;
    }

    private readonly Dictionary<string, Entry> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public SeriesCache() => _bySpan = _byName.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The entry for <paramref name="name"/>, marked as seen in <paramref name="cycle"/>.</summary>
    public T? Find(ReadOnlySpan<char> name, long cycle)
    {
        if (!_bySpan.TryGetValue(name, out var entry)) return null;
        entry.LastSeen = cycle;
        return entry.Value;
    }

    public T Add(string name, T value, long cycle)
    {
        _byName[name] = new Entry(value, cycle);
        return value;
    }

    public void PruneUnseenSince(long cycle)
    {
        foreach (var pair in _byName)
        {
            if (pair.Value.LastSeen < cycle) _byName.Remove(pair.Key);
        }
    }
}
