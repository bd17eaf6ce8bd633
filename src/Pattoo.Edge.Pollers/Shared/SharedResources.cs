namespace Pattoo.Edge.Pollers.Shared;

/// <summary>
/// One resource per key (a UDP socket, a serial line, a TCP connection) shared by the targets
/// that use it and counted: made by the first <see cref="Acquire"/>, disposed when the last lease
/// is. Process-wide instances let a reload's new targets, created before the old ones are
/// disposed, take over the same socket or port instead of fighting for it.
/// </summary>
internal sealed class SharedResources<TResource> where TResource : class, IAsyncDisposable
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private sealed class Entry(TResource resource)
    {
        public TResource Resource { get; } = resource;
        public int References;
    }

    /// <summary>Resources currently held (for tests).</summary>
    public int Count { get { lock (_entries) return _entries.Count; } }

    /// <summary>A lease on the resource of <paramref name="key"/>, made by <paramref name="create"/> when nobody holds one.</summary>
    public Lease<TResource> Acquire(string key, Func<TResource> create)
    {
        lock (_entries)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                entry = new Entry(create());
                _entries.Add(key, entry);
            }
            entry.References++;
            return new Lease<TResource>(this, key, entry.Resource);
        }
    }

    internal async ValueTask ReleaseAsync(string key, TResource resource)
    {
        bool last = false;
        lock (_entries)
        {
            if (_entries.TryGetValue(key, out var entry) && ReferenceEquals(entry.Resource, resource) && --entry.References == 0)
            {
                _entries.Remove(key);
                last = true;
            }
        }
        if (last) await resource.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>One target's hold on a shared resource; disposing it lets the resource go once nobody holds it.</summary>
internal sealed class Lease<TResource>(SharedResources<TResource> owner, string key, TResource resource) : IAsyncDisposable
    where TResource : class, IAsyncDisposable
{
    private int _released;

    public TResource Resource { get; } = resource;

    public ValueTask DisposeAsync()
        => Interlocked.Exchange(ref _released, 1) == 0 ? owner.ReleaseAsync(key, Resource) : ValueTask.CompletedTask;
}
