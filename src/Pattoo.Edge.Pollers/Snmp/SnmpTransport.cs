using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Shared;
using Pattoo.Edge.Protocols.Snmp;

namespace Pattoo.Edge.Pollers.Snmp;

/// <summary>Receives the datagram a request is waiting for; called on the transport's receive loop.</summary>
internal interface ISnmpResponseSink
{
    /// <summary>Checks and takes the datagram (it is only valid during the call); false drops it.</summary>
    bool TryAccept(ReadOnlySpan<byte> datagram);
}

/// <summary>
/// One UDP socket shared by every SNMP target: requests go out through it and one receive
/// loop hands each response to the session waiting for its id (request-id for v1/v2c, msgID
/// for v3), if it came from the address that session sent to. Anything else is dropped and
/// counted: malformed datagrams, unknown or late ids, wrong sources, and responses the
/// session rejects (wrong community, bad digest). The shared instance is leased
/// (<see cref="SharedResources{TResource}"/>): created by the first target, closed with the last.
/// </summary>
internal sealed class SnmpTransport : IAsyncDisposable
{
    /// <summary>The process-wide socket every target shares (one key: one socket for every agent).</summary>
    private static readonly SharedResources<SnmpTransport> Shared = new();

    private readonly object _gate = new();
    private readonly ConcurrentDictionary<int, Registration> _pending = new();
    private int _nextId = Random.Shared.Next(1, 1 << 30);
    private Socket? _socket;
    private bool _dualMode;
    private CancellationTokenSource? _stop;
    private Thread? _loop;

    private sealed record Registration(SocketAddress From, ISnmpResponseSink Sink);

    /// <summary>A lease on the shared transport; disposing the last one closes the socket.</summary>
    public static Lease<SnmpTransport> Acquire() => Shared.Acquire("udp", static () => new SnmpTransport());

    /// <summary>A transport of its own (tests, benchmarks), closed with its lease.</summary>
    public static Lease<SnmpTransport> CreatePrivate() => new SharedResources<SnmpTransport>().Acquire("udp", static () => new SnmpTransport());

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    /// <summary>What the socket has seen (the API shows it as socket.* of every SNMP target).</summary>
    public Counters<SnmpSocketCounter> Counters { get; } = new();

    /// <summary>A fresh id for request-id or msgID: positive, wrapping, shared by all targets so ids never collide.</summary>
    public int NextId()
    {
        int id = Interlocked.Increment(ref _nextId) & 0x7FFF_FFFF;
        return id == 0 ? 1 : id;
    }

    /// <summary>The socket address datagrams to and from <paramref name="endpoint"/> carry on this socket.</summary>
    public SocketAddress AddressOf(IPEndPoint endpoint)
    {
        EnsureOpen();
        var ep = _dualMode && endpoint.AddressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(endpoint.Address.MapToIPv6(), endpoint.Port)
            : endpoint;
        if (!_dualMode && ep.AddressFamily == AddressFamily.InterNetworkV6)
            throw new SocketException((int)SocketError.AddressFamilyNotSupported);
        return ep.Serialize();
    }

    public void Register(int id, SocketAddress from, ISnmpResponseSink sink) => _pending[id] = new Registration(from, sink);

    public void Unregister(int id) => _pending.TryRemove(id, out _);

    /// <summary>
    /// Sends at once: a UDP send does not wait for the network. Synchronous on purpose: the
    /// socket is only ever used synchronously, so it stays a blocking socket and the receive
    /// thread sleeps in the kernel (see <see cref="ReceiveLoop"/>).
    /// </summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, SocketAddress to, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var socket = EnsureOpen();
        socket.SendTo(datagram.Span, SocketFlags.None, to);
        Counters.Increment(SnmpSocketCounter.Sent);
        return ValueTask.CompletedTask;
    }

    private Socket EnsureOpen()
    {
        lock (_gate)
        {
            if (_socket is not null) return _socket;
            Socket socket;
            try
            {
                socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
                socket.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
                _dualMode = true;
            }
            catch (SocketException)
            {
                // A kernel booted with ipv6.disable=1: IPv4 only.
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.Bind(new IPEndPoint(IPAddress.Any, 0));
                _dualMode = false;
            }
            try { socket.ReceiveBufferSize = 1 << 20; } catch (SocketException) { }
            // The receive thread wakes at least this often to see whether the transport closed.
            socket.ReceiveTimeout = 1000;
            _socket = socket;
            _stop = new CancellationTokenSource();
            var stop = _stop.Token;
            _loop = new Thread(() => ReceiveLoop(socket, stop)) { IsBackground = true, Name = "snmp receive" };
            _loop.Start();
            if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"snmp: opened {socket.LocalEndPoint}");
            return socket;
        }
    }

    /// <summary>
    /// A thread of its own, blocked in the kernel's recvfrom between datagrams. An awaited
    /// receive cost a wake of the socket engine's thread and a thread-pool hop for every
    /// answer before the poll's own: a walk of MIB-2 is ~280 answers, and on a small box those
    /// wake-ups were a third of the CPU a polled value cost.
    /// </summary>
    private void ReceiveLoop(Socket socket, CancellationToken stop)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(65536);
        var from = new SocketAddress(socket.AddressFamily);
        while (!stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (ObjectDisposedException) { break; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock) { continue; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.NotSocket or SocketError.Shutdown) { break; }
            catch (Exception e) when (e is SocketException or InvalidOperationException)
            {
                if (stop.IsCancellationRequested) break;
                // ICMP errors surface here on some stacks; they belong to no request in particular.
                if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"snmp: receive: {e.GetType().Name}: {e.Message}");
                continue;
            }
            Counters.Increment(SnmpSocketCounter.Received);
            if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"snmp: {n} octets from {Describe(from)}");
            try { Dispatch(buffer.AsSpan(0, n), from); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Nothing a datagram holds may end the thread every target's answers arrive on.
                Log.Warning($"snmp: a datagram from {Describe(from)} could not be routed: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>Routes one datagram; exposed for tests that feed datagrams without a network.</summary>
    /// <summary>"127.0.0.1:16161" rather than SocketAddress's "InterNetworkV6:28:{...}" (a v4 peer on the dual-mode socket is shown as v4).</summary>
    internal static string Describe(SocketAddress address)
    {
        var ep = (IPEndPoint)new IPEndPoint(address.Family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0).Create(address);
        return ep.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(ep.Address.MapToIPv4(), ep.Port).ToString() : ep.ToString();
    }

    internal void Dispatch(ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        if (!SnmpDecoder.TryReadRoutingId(datagram, out _, out int id))
        {
            Counters.Increment(SnmpSocketCounter.DroppedMalformed);
            return;
        }
        if (!_pending.TryGetValue(id, out var reg) || !reg.From.Equals(from))
        {
            Counters.Increment(SnmpSocketCounter.DroppedUnmatched);
            if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"snmp: dropped a datagram for id {id}: {(reg is null ? "nobody waits for it" : "from another address than asked")}");
            return;
        }
        bool accepted;
        string? why = null;
        try { accepted = reg.Sink.TryAccept(datagram); }
        catch (SnmpFormatException e) { accepted = false; why = e.Message; }
        if (accepted) return;
        Counters.Increment(SnmpSocketCounter.DroppedRejected);
        if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"snmp: dropped a response to id {id}{(why is null ? "" : ": " + why)}: {Convert.ToHexString(datagram)}");
    }

    private void Close()
    {
        Socket? socket;
        CancellationTokenSource? stop;
        lock (_gate)
        {
            socket = _socket;
            stop = _stop;
            _socket = null;
            _stop = null;
            _loop = null;
        }
        if (socket is null) return;
        if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"snmp: closing {socket.LocalEndPoint}");
        stop?.Cancel();
        socket.Dispose();
        stop?.Dispose();
    }
}

/// <summary>What the shared SNMP socket has seen, counted in a <see cref="Counters{TKey}"/>.</summary>
public enum SnmpSocketCounter
{
    Sent,
    Received,
    /// <summary>Datagrams that were not SNMP messages at all.</summary>
    DroppedMalformed,
    /// <summary>Responses nobody waits for (late, duplicated, spoofed id) or from another address than asked.</summary>
    DroppedUnmatched,
    /// <summary>Responses the waiting session refused: wrong community, bad digest, undecodable PDU.</summary>
    DroppedRejected,
}
