using System.Net;
using Pattoo.Edge.Pollers.Shared;

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

    private readonly SharedResources<BacnetTransport> _transports = new();

    /// <summary>Transports currently held (for tests).</summary>
    public int Count => _transports.Count;

    public Lease<BacnetTransport> Acquire(BacnetOptions options)
    {
        var local = new IPEndPoint(options.LocalAddress, options.LocalPort);
        return _transports.Acquire(local.ToString(), () => new BacnetTransport(local));
    }
}
