using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Shared;
using Pattoo.Edge.Protocols.Bacnet;

namespace Pattoo.Edge.Pollers.Bacnet;

/// <summary>Where a device is reached: its B/IP address (or its router's) and, behind a router, its network and MAC.</summary>
internal readonly record struct DeviceAddress(IPEndPoint EndPoint, BacnetRoute Route)
{
    public override string ToString() => Route.IsLocal ? EndPoint.ToString() : $"{EndPoint} {Route}";
}

/// <summary>A device found by Who-Is: where it answered from and what its I-Am said.</summary>
internal readonly record struct LocatedDevice(DeviceAddress Address, IAm IAm);

/// <summary>Limits a confirmed request states and uses.</summary>
internal readonly record struct RequestLimits(int MaxApduAccepted, int MaxSegmentsAccepted, TimeSpan Timeout, int Retries);

/// <summary>
/// One UDP socket shared by every BACnet device of the appliance (BACnet/IP, Annex J), and the
/// client side of the transaction state machine (clause 5.4): invoke ids unique across all
/// outstanding requests, timeouts and retries, reassembly of segmented Complex-ACKs with
/// Segment-ACKs, and Who-Is/I-Am. The socket is bound on first use, so a port held by another
/// program fails polls (and is tried again) instead of failing the start.
/// </summary>
internal sealed class BacnetTransport : IAsyncDisposable
{
    private readonly IPEndPoint _local;
    private readonly object _gate = new();
    private readonly Pending?[] _pending = new Pending?[256];
    private readonly SemaphoreSlim _slots = new(256, 256);
    private readonly Dictionary<int, LocatedDevice> _seen = new();
    private readonly List<(int Instance, TaskCompletionSource<LocatedDevice> Found)> _waiters = new();
    private readonly CancellationTokenSource _stop = new();
    private Socket? _socket;
    private Task? _receiveLoop;
    private int _nextInvoke;
    private bool _disposed;

    public BacnetTransport(IPEndPoint local)
    {
        _local = local;
        Description = "udp " + local;
    }

    public string Description { get; }
    public Counters<BacnetSocketCounter> Statistics { get; } = new();

    /// <summary>The port actually bound (differs from the configured one only when that was 0).</summary>
    public int LocalPort => (_socket?.LocalEndPoint as IPEndPoint)?.Port ?? _local.Port;

    private sealed class Pending(DeviceAddress expected)
    {
        public DeviceAddress Expected { get; } = expected;
        public Channel<byte[]> Replies { get; } = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest });
    }

    private Socket Open()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_socket is not null) return _socket;
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.EnableBroadcast = true;
                socket.Bind(_local);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new BacnetTransportException($"cannot bind {Description}: {e.Message}"
                    + (e.SocketErrorCode == SocketError.AddressAlreadyInUse ? " (another BACnet program on this box? set bacnet.local_port)" : ""), e);
            }
            _socket = socket;
            _receiveLoop = Task.Run(() => ReceiveLoopAsync(socket, _stop.Token));
            return socket;
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken stop)
    {
        var buffer = new byte[Bvlc.MaxDatagram + 512];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException e)
            {
                if (stop.IsCancellationRequested) break;
                Log.Debug($"bacnet {Description}: receive failed: {e.Message}");
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            Dispatch(buffer.AsSpan(0, r.ReceivedBytes), (IPEndPoint)r.RemoteEndPoint);
        }
    }

    /// <summary>Routes one datagram: I-Am to discovery, answers to the request with their invoke id; everything else is dropped.</summary>
    internal void Dispatch(ReadOnlySpan<byte> datagram, IPEndPoint from)
    {
        try
        {
            if (!BacnetDatagrams.TryRead(datagram, out var message) || !message.HasApdu) return;
            var source = message.Bvlc.Function == BvlcFunction.ForwardedNpdu
                ? new IPEndPoint(new IPAddress([(byte)(message.Bvlc.ForwardedAddress >> 24), (byte)(message.Bvlc.ForwardedAddress >> 16), (byte)(message.Bvlc.ForwardedAddress >> 8), (byte)message.Bvlc.ForwardedAddress]), message.Bvlc.ForwardedPort)
                : from;
            var route = message.Npdu.HasSource ? message.Npdu.Source : BacnetRoute.Local;
            var apdu = datagram[message.ApduOffset..];
            var header = Apdu.Read(apdu);
            switch (header.Type)
            {
                case PduType.UnconfirmedRequest when header.ServiceChoice == BacnetService.IAm:
                    OnIAm(new LocatedDevice(new DeviceAddress(source, route), BacnetServices.ReadIAm(apdu[header.Length..])));
                    break;
                case PduType.UnconfirmedRequest when header.ServiceChoice == BacnetService.UnconfirmedCovNotification:
                    OnCov(BacnetServices.ReadCovNotification(apdu[header.Length..]), new DeviceAddress(source, route));
                    break;
                case PduType.ConfirmedRequest when header.ServiceChoice == BacnetService.ConfirmedCovNotification && !header.Segmented:
                    // Acknowledged once read: the device repeats an unanswered one.
                    var notification = BacnetServices.ReadCovNotification(apdu[header.Length..]);
                    var ack = new byte[3];
                    Apdu.TryWriteSimpleAck(ack, header.InvokeId, BacnetService.ConfirmedCovNotification, out _);
                    if (_socket is { } socket) _ = SendApduAsync(socket, new DeviceAddress(source, route), ack, CancellationToken.None);
                    OnCov(notification, new DeviceAddress(source, route));
                    break;
                case PduType.SimpleAck or PduType.ComplexAck or PduType.Error or PduType.Reject or PduType.Abort or PduType.SegmentAck:
                    Pending? pending;
                    lock (_gate) pending = _pending[header.InvokeId];
                    if (pending is null || !pending.Expected.EndPoint.Equals(source) || pending.Expected.Route != route
                        || !pending.Replies.Writer.TryWrite(apdu.ToArray()))
                        Statistics.Increment(BacnetSocketCounter.Unexpected);
                    break;
                default:
                    break; // requests to us (we are no device) and other unconfirmed services
            }
        }
        catch (BacnetFormatException e)
        {
            Statistics.Increment(BacnetSocketCounter.Malformed);
            if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"bacnet {Description}: dropped a malformed datagram from {from}: {e.Message}");
        }
    }

    /// <summary>Who takes the COV notifications of each subscriber process id (a poller's subscriptions).</summary>
    private readonly Dictionary<uint, Action<CovNotification, DeviceAddress>> _covSinks = new();
    private uint _nextProcessId = (uint)Random.Shared.Next(1, 1 << 20);

    /// <summary>A subscriber process id of its own for a poller; its notifications go to <paramref name="sink"/> (on the receive loop: keep it short).</summary>
    public uint RegisterCovSink(Action<CovNotification, DeviceAddress> sink)
    {
        lock (_gate)
        {
            uint id = ++_nextProcessId;
            _covSinks[id] = sink;
            return id;
        }
    }

    public void UnregisterCovSink(uint processId)
    {
        lock (_gate) _covSinks.Remove(processId);
    }

    private void OnCov(CovNotification n, DeviceAddress from)
    {
        Action<CovNotification, DeviceAddress>? sink;
        lock (_gate) _covSinks.TryGetValue(n.SubscriberProcessId, out sink);
        if (sink is null)
        {
            Statistics.Increment(BacnetSocketCounter.CovUnexpected);
            return;
        }
        Statistics.Increment(BacnetSocketCounter.CovNotifications);
        sink(n, from);
    }

    private void OnIAm(in LocatedDevice device)
    {
        Statistics.Increment(BacnetSocketCounter.IAmReceived);
        List<TaskCompletionSource<LocatedDevice>>? found = null;
        lock (_gate)
        {
            _seen[device.IAm.DeviceInstance] = device;
            foreach (var (instance, tcs) in _waiters)
            {
                if (instance == device.IAm.DeviceInstance) (found ??= new()).Add(tcs);
            }
        }
        if (found is null) return;
        foreach (var tcs in found) tcs.TrySetResult(device);
    }

    /// <summary>The device of this instance as last seen in an I-Am, if any.</summary>
    public bool TryGetSeen(int instance, out LocatedDevice device)
    {
        lock (_gate) return _seen.TryGetValue(instance, out device);
    }

    /// <summary>Every device seen in an I-Am so far, by instance.</summary>
    public List<LocatedDevice> Seen()
    {
        lock (_gate) return [.. _seen.Values.OrderBy(d => d.IAm.DeviceInstance)];
    }

    /// <summary>
    /// Sends one Who-Is (clause 16.10), global or for the instances <paramref name="low"/> to
    /// <paramref name="high"/>, without waiting: the I-Ams that answer are kept (<see cref="Seen"/>).
    /// </summary>
    public async Task SendWhoIsAsync(int? low, int? high, IPEndPoint target, bool broadcast, CancellationToken cancellationToken)
    {
        var socket = Open();
        var apdu = new byte[16];
        BacnetServices.TryWriteWhoIs(apdu, low, high, out int apduLength);
        var datagram = new byte[64];
        if (!BacnetDatagrams.TryWrite(datagram, broadcast, BacnetRoute.Local, expectingReply: false, apdu.AsSpan(0, apduLength), out int n))
            throw new InvalidOperationException("Who-Is does not fit its buffer");
        Statistics.Increment(BacnetSocketCounter.WhoIsSent);
        await SendAsync(socket, datagram.AsMemory(0, n), target, cancellationToken).ConfigureAwait(false);
    }

    public void Forget(int instance)
    {
        lock (_gate) _seen.Remove(instance);
    }

    /// <summary>
    /// Sends Who-Is for one instance (clause 16.10) to <paramref name="target"/>, as a broadcast or
    /// directed, and waits for its I-Am, retrying after each timeout.
    /// </summary>
    /// <exception cref="BacnetTransportException">no I-Am after every attempt, or the socket failed.</exception>
    public async Task<LocatedDevice> WhoIsAsync(int instance, IPEndPoint target, bool broadcast, BacnetRoute route, TimeSpan timeout, int retries, CancellationToken cancellationToken)
    {
        var socket = Open();
        var found = new TaskCompletionSource<LocatedDevice>(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiter = (instance, found);
        lock (_gate) _waiters.Add(waiter);
        try
        {
            Span<byte> apdu = stackalloc byte[16];
            BacnetServices.TryWriteWhoIs(apdu, instance, instance, out int apduLength);
            var datagram = new byte[64];
            if (!BacnetDatagrams.TryWrite(datagram, broadcast, route, expectingReply: false, apdu[..apduLength], out int n))
                throw new InvalidOperationException("Who-Is does not fit its buffer");
            for (int attempt = 0; ; attempt++)
            {
                Statistics.Increment(BacnetSocketCounter.WhoIsSent);
                await SendAsync(socket, datagram.AsMemory(0, n), target, cancellationToken).ConfigureAwait(false);
                try
                {
                    return await found.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException) when (attempt < retries)
                {
                    Statistics.Increment(BacnetSocketCounter.Retries);
                }
                catch (TimeoutException)
                {
                    Statistics.Increment(BacnetSocketCounter.Timeouts);
                    throw new BacnetTransportException($"no I-Am from device {instance} within {Duration.Format(timeout)} ({1 + retries} Who-Is {(broadcast ? "broadcast" : "sent")} to {target}{(route.IsLocal ? "" : " " + route)})");
                }
            }
        }
        finally
        {
            lock (_gate) _waiters.Remove(waiter);
        }
    }

    /// <summary>
    /// Sends a confirmed request and returns the device's answer (an acknowledgement with its
    /// service data, reassembled when segmented, or an Error, Reject or Abort), retrying the same
    /// invoke id after each timeout.
    /// </summary>
    /// <exception cref="BacnetTransportException">no answer after every attempt, the request does not fit, or the socket failed.</exception>
    public async Task<BacnetReply> RequestAsync(DeviceAddress to, byte service, ReadOnlyMemory<byte> serviceData, RequestLimits limits, CancellationToken cancellationToken)
    {
        var socket = Open();
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        var pending = new Pending(to);
        byte id = Register(pending);
        try
        {
            var apdu = new byte[Apdu.ConfirmedRequestHeaderLength + serviceData.Length];
            Apdu.TryWriteConfirmedRequestHeader(apdu, id, service, limits.MaxApduAccepted, limits.MaxSegmentsAccepted, out int h);
            serviceData.Span.CopyTo(apdu.AsSpan(h));
            var datagram = new byte[Bvlc.MaxDatagram + 64];
            if (!BacnetDatagrams.TryWrite(datagram, false, to.Route, expectingReply: true, apdu, out int n))
                throw new BacnetTransportException($"{BacnetService.Name(service)} request of {apdu.Length} octets is too large for one datagram");
            for (int attempt = 0; ; attempt++)
            {
                Statistics.Increment(BacnetSocketCounter.Requests);
                await SendAsync(socket, datagram.AsMemory(0, n), to.EndPoint, cancellationToken).ConfigureAwait(false);
                var reply = await AwaitReplyAsync(socket, pending, id, service, limits, cancellationToken).ConfigureAwait(false);
                if (reply is BacnetReply r)
                {
                    Statistics.Increment(r.Kind switch { ReplyKind.Ack => BacnetSocketCounter.Acks, ReplyKind.Error => BacnetSocketCounter.Errors, ReplyKind.Reject => BacnetSocketCounter.Rejects, _ => BacnetSocketCounter.Aborts });
                    return r;
                }
                Statistics.Increment(BacnetSocketCounter.Timeouts);
                if (attempt >= limits.Retries)
                    throw new BacnetTransportException($"no answer to {BacnetService.Name(service)} within {Duration.Format(limits.Timeout)} ({1 + limits.Retries} attempt{(limits.Retries == 0 ? "" : "s")})");
                Statistics.Increment(BacnetSocketCounter.Retries);
            }
        }
        finally
        {
            lock (_gate) _pending[id] = null;
            _slots.Release();
        }
    }

    private byte Register(Pending pending)
    {
        lock (_gate)
        {
            for (int i = 0; i < 256; i++)
            {
                int id = (_nextInvoke + i) & 0xFF;
                if (_pending[id] is not null) continue;
                _pending[id] = pending;
                _nextInvoke = id + 1;
                return (byte)id;
            }
        }
        throw new InvalidOperationException("no free invoke id"); // the semaphore admits at most 256
    }

    /// <summary>One attempt: the answer, or null after <see cref="RequestLimits.Timeout"/> without one (the segment timer restarts with every segment).</summary>
    private async Task<BacnetReply?> AwaitReplyAsync(Socket socket, Pending pending, byte id, byte service, RequestLimits limits, CancellationToken cancellationToken)
    {
        SegmentAssembler? assembler = null;
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(limits.Timeout);
        while (true)
        {
            byte[] apdu;
            try
            {
                apdu = await pending.Replies.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (assembler is not null) await SendApduAsync(socket, pending.Expected, Abort(id, 10), CancellationToken.None).ConfigureAwait(false); // tsm-timeout
                return null;
            }
            ApduHeader h;
            try
            {
                h = Apdu.Read(apdu);
                switch (h.Type)
                {
                    case PduType.SimpleAck when h.ServiceChoice == service:
                        return BacnetReply.Ack([]);
                    case PduType.ComplexAck when h.ServiceChoice == service && !h.Segmented:
                        return BacnetReply.Ack(apdu[h.Length..]);
                    case PduType.ComplexAck when h.ServiceChoice == service:
                        Statistics.Increment(BacnetSocketCounter.Segments);
                        assembler ??= new SegmentAssembler(maxWindow: 16, maxBytes: limits.MaxApduAccepted * Math.Max(limits.MaxSegmentsAccepted, 1));
                        var action = assembler.Accept(h, apdu.AsSpan(h.Length));
                        if (action != SegmentAction.Wait)
                        {
                            var ack = new byte[4];
                            Apdu.TryWriteSegmentAck(ack, action == SegmentAction.NegativeAck, id, assembler.AckSequence, assembler.ActualWindow, out _);
                            await SendApduAsync(socket, pending.Expected, ack, cancellationToken).ConfigureAwait(false);
                        }
                        if (action == SegmentAction.Complete) return BacnetReply.Ack(assembler.Data.ToArray());
                        timer.CancelAfter(limits.Timeout);
                        continue;
                    case PduType.Error when h.ServiceChoice == service:
                        return new BacnetReply(ReplyKind.Error, [], BacnetServices.ReadError(apdu.AsSpan(h.Length)), 0);
                    case PduType.Reject:
                        return new BacnetReply(ReplyKind.Reject, [], default, h.Reason);
                    case PduType.Abort:
                        return new BacnetReply(ReplyKind.Abort, [], default, h.Reason);
                    default:
                        Statistics.Increment(BacnetSocketCounter.Unexpected); // another service's answer, or a Segment-ACK we never asked for
                        continue;
                }
            }
            catch (BacnetFormatException e)
            {
                Statistics.Increment(BacnetSocketCounter.Malformed);
                if (assembler is not null)
                {
                    await SendApduAsync(socket, pending.Expected, Abort(id, 0), CancellationToken.None).ConfigureAwait(false);
                    throw new BacnetTransportException($"garbled segmented answer to {BacnetService.Name(service)}: {e.Message}", e);
                }
                if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"bacnet {Description}: dropped a malformed answer from {pending.Expected}: {e.Message}");
            }
        }
    }

    private static byte[] Abort(byte id, byte reason)
    {
        var abort = new byte[3];
        Apdu.TryWriteAbort(abort, id, reason, out _);
        return abort;
    }

    private async Task SendApduAsync(Socket socket, DeviceAddress to, byte[] apdu, CancellationToken cancellationToken)
    {
        var datagram = new byte[64];
        if (!BacnetDatagrams.TryWrite(datagram, false, to.Route, expectingReply: false, apdu, out int n)) return;
        try
        {
            await SendAsync(socket, datagram.AsMemory(0, n), to.EndPoint, cancellationToken).ConfigureAwait(false);
        }
        catch (BacnetTransportException) { /* the request's timer reports it */ }
    }

    private async Task SendAsync(Socket socket, ReadOnlyMemory<byte> datagram, IPEndPoint to, CancellationToken cancellationToken)
    {
        try
        {
            await socket.SendToAsync(datagram, SocketFlags.None, to, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new BacnetTransportException($"cannot send to {to} from {Description}: {e.Message}", e);
        }
        catch (ObjectDisposedException e)
        {
            throw new BacnetTransportException($"{Description} is closed", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Socket? socket;
        Task? loop;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            socket = _socket;
            loop = _receiveLoop;
            _socket = null;
        }
        _stop.Cancel();
        socket?.Dispose();
        if (loop is not null)
        {
            try { await loop.ConfigureAwait(false); }
            catch (Exception e) { Log.Debug($"bacnet {Description}: receive loop ended with {e.Message}"); }
        }
        _stop.Dispose();
    }
}
