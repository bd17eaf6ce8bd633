using System.Net;

namespace Pattoo.Edge.Pollers.Bacnet;

/// <summary>
/// Hands out one <see cref="BacnetTransport"/> per local address and port, shared by every
/// device and counted: the socket is bound on first use and closed when the last device using
/// it is disposed. Process-wide, so on a reload the new targets, created before the old ones
/// are disposed, take over the same socket instead of fighting for the port.
/// </summary>
internal sealed class BacnetTransportRegistry
{
    public static BacnetTransportRegistry Shared { get; } = new();

    private readonly Dictionary<string, Entry> _transports = new(StringComparer.Ordinal);

    private sealed class Entry(BacnetTransport transport)
    {
        public BacnetTransport Transport { get; } = transport;
        public int References;
    }

    /// <summary>Transports currently held (for tests).</summary>
    public int Count { get { lock (_transports) return _transports.Count; } }

    public BacnetTransportLease Acquire(BacnetOptions options)
    {
        var local = new IPEndPoint(options.LocalAddress, options.LocalPort);
        string key = local.ToString();
        lock (_transports)
        {
            if (!_transports.TryGetValue(key, out var entry))
            {
                entry = new Entry(new BacnetTransport(local));
                _transports.Add(key, entry);
            }
            entry.References++;
            return new BacnetTransportLease(this, key, entry.Transport);
        }
    }

    internal async ValueTask ReleaseAsync(string key, BacnetTransport transport)
    {
        bool last = false;
        lock (_transports)
        {
            if (_transports.TryGetValue(key, out var entry) && ReferenceEquals(entry.Transport, transport) && --entry.References == 0)
            {
                _transports.Remove(key);
                last = true;
            }
        }
        if (last) await transport.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>One device's hold on the shared socket; disposing it lets the socket close once nobody holds it.</summary>
internal sealed class BacnetTransportLease(BacnetTransportRegistry registry, string key, BacnetTransport transport) : IAsyncDisposable
{
    private int _released;

    public BacnetTransport Transport { get; } = transport;

    public ValueTask DisposeAsync()
        => Interlocked.Exchange(ref _released, 1) == 0 ? registry.ReleaseAsync(key, Transport) : ValueTask.CompletedTask;
}
