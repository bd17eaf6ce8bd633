using System.Buffers;
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;

namespace Pattoo.Edge.Forwarding.Mqtt;

/// <summary>The broker refused the CONNECT (credentials, client id): a configuration error.</summary>
public sealed class MqttRefusedException(string message) : Exception(message);

/// <summary>The connection to the broker is gone; what was not acknowledged must be sent again.</summary>
public sealed class MqttConnectionLostException(string message) : IOException(message);

/// <summary>
/// One MQTT 3.1.1 session with a broker over TCP or TLS. Publishes are queued into one buffer
/// and written together (<see cref="FlushAsync"/>); a QoS 1 publish's task completes at its
/// PUBACK. A background reader dispatches what the broker sends, and a keep-alive PINGREQ goes
/// out when nothing else did; a broker that stops answering closes the session, failing every
/// publish still waiting. One producer queues and flushes; acknowledgements may come from any thread.
/// </summary>
public sealed class MqttConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly TimeSpan _keepAlive;
    private readonly Action<MqttIncomingPublish>? _onPublish;
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly ArrayBufferWriter<byte> _queued = new(64 * 1024);
    private readonly Dictionary<ushort, TaskCompletionSource<int>> _pending = new();
    private readonly Queue<(TaskCompletionSource? Waiter, long SentAt)> _pings = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _reader, _keeper;
    private ushort _lastId;
    private long _lastWrite = Stopwatch.GetTimestamp();
    private string? _closedBecause;

    private MqttConnection(TcpClient tcp, Stream stream, TimeSpan keepAlive, Action<MqttIncomingPublish>? onPublish, ReadOnlySpan<byte> leftover)
    {
        _tcp = tcp;
        _stream = stream;
        _keepAlive = keepAlive;
        _onPublish = onPublish;
        byte[] initial = leftover.ToArray();
        _reader = Task.Run(() => ReadLoopAsync(initial));
        _keeper = keepAlive > TimeSpan.Zero ? Task.Run(KeepAliveLoopAsync) : Task.CompletedTask;
    }

    /// <summary>Why the session ended, null while it is open.</summary>
    public string? ClosedBecause => Volatile.Read(ref _closedBecause);

    /// <summary>QoS 1 publishes (and subscribes) waiting for the broker's acknowledgement.</summary>
    public int Unacknowledged
    {
        get { lock (_pending) return _pending.Count; }
    }

    /// <summary>Bytes queued and not yet written.</summary>
    public int QueuedBytes => _queued.WrittenCount;

    /// <summary>
    /// Opens the session: TCP (TLS for <c>mqtts</c>), CONNECT, CONNACK within
    /// <paramref name="timeout"/>. Throws <see cref="MqttRefusedException"/> when the broker says
    /// no, <see cref="IOException"/>, <see cref="SocketException"/> or
    /// <see cref="System.Security.Authentication.AuthenticationException"/> when it cannot be reached.
    /// </summary>
    public static async Task<MqttConnection> ConnectAsync(Uri url, MqttConnect connect, RemoteCertificateValidationCallback? certificateCheck,
        TimeSpan timeout, Action<MqttIncomingPublish>? onPublish, CancellationToken stop)
    {
        bool tls = url.Scheme == "mqtts";
        int port = url.Port > 0 ? url.Port : tls ? 8883 : 1883;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
        deadline.CancelAfter(timeout);
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            try
            {
                await tcp.ConnectAsync(url.Host, port, deadline.Token).ConfigureAwait(false);
                Stream stream = tcp.GetStream();
                if (tls)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = url.IdnHost, RemoteCertificateValidationCallback = certificateCheck }, deadline.Token).ConfigureAwait(false);
                    stream = ssl;
                }
                var hello = new ArrayBufferWriter<byte>(256);
                MqttPackets.WriteConnect(hello, connect);
                await stream.WriteAsync(hello.WrittenMemory, deadline.Token).ConfigureAwait(false);
                byte[] buffer = new byte[1024];
                int have = 0;
                while (true)
                {
                    int n = await stream.ReadAsync(buffer.AsMemory(have), deadline.Token).ConfigureAwait(false);
                    if (n == 0) throw new IOException("the broker closed the connection without answering CONNECT");
                    have += n;
                    if (!MqttPackets.TryReadPacket(buffer.AsSpan(0, have), out var type, out _, out int start, out int length, out int consumed))
                    {
                        if (have == buffer.Length) throw new MqttProtocolException("the answer to CONNECT is not a CONNACK");
                        continue;
                    }
                    if (type != MqttPacketType.ConnAck) throw new MqttProtocolException($"the broker answered CONNECT with {type.ToString().ToUpperInvariant()}, not CONNACK");
                    int code = MqttPackets.ReadConnAck(buffer.AsSpan(start, length));
                    if (code != 0) throw new MqttRefusedException(MqttPackets.DescribeConnAck(code));
                    return new MqttConnection(tcp, stream, connect.KeepAlive, onPublish, buffer.AsSpan(consumed, have - consumed));
                }
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                throw new IOException($"no CONNACK within {Common.Duration.Format(timeout)}");
            }
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Queues a PUBLISH; its task completes when the broker has it (at once for QoS 0, at the PUBACK for QoS 1).</summary>
    public Task QueuePublish(string topic, ReadOnlySpan<byte> payload, int qos, bool retain = false)
    {
        ThrowIfClosed();
        if (qos == 0)
        {
            MqttPackets.WritePublish(_queued, topic, payload, 0, 0, retain);
            return Task.CompletedTask;
        }
        var ack = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        MqttPackets.WritePublish(_queued, topic, payload, qos, Register(ack), retain);
        return ack.Task;
    }

    /// <summary>Writes what was queued.</summary>
    public async Task FlushAsync(CancellationToken stop)
    {
        if (_queued.WrittenCount == 0) return;
        await WriteAsync(_queued.WrittenMemory, stop).ConfigureAwait(false);
        _queued.ResetWrittenCount();
    }

    /// <summary>
    /// Flushes, then sends a PINGREQ and waits for its PINGRESP. A broker handles a client's
    /// packets in order, so once it answers, it has every QoS 0 publish written before: the
    /// acknowledgement a QoS 0 stream (Sparkplug's) otherwise lacks.
    /// </summary>
    public async Task BarrierAsync(TimeSpan timeout, CancellationToken stop)
    {
        await FlushAsync(stop).ConfigureAwait(false);
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await SendPingAsync(answered, stop).ConfigureAwait(false);
        await WaitAsync(answered.Task, timeout, "PINGRESP", stop).ConfigureAwait(false);
    }

    /// <summary>Subscribes to <paramref name="filter"/>; returns the QoS granted (throws when refused).</summary>
    public async Task<int> SubscribeAsync(string filter, int qos, TimeSpan timeout, CancellationToken stop)
    {
        ThrowIfClosed();
        var ack = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var packet = new ArrayBufferWriter<byte>(64);
        MqttPackets.WriteSubscribe(packet, Register(ack), filter, qos);
        await WriteAsync(packet.WrittenMemory, stop).ConfigureAwait(false);
        int granted = await WaitAsync(ack.Task, timeout, "SUBACK", stop).ConfigureAwait(false);
        if (granted == 0x80) throw new MqttRefusedException($"the broker refused the subscription to \"{filter}\"");
        return granted;
    }

    /// <summary>Waits for <paramref name="task"/> (acknowledgements); the session is closed when it does not come within <paramref name="timeout"/>.</summary>
    public async Task WaitAsync(Task task, TimeSpan timeout, string what, CancellationToken stop)
    {
        try
        {
            await task.WaitAsync(timeout, stop).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Close($"no {what} within {Common.Duration.Format(timeout)}");
            throw new MqttConnectionLostException(ClosedBecause!);
        }
    }

    private async Task<T> WaitAsync<T>(Task<T> task, TimeSpan timeout, string what, CancellationToken stop)
    {
        await WaitAsync((Task)task, timeout, what, stop).ConfigureAwait(false);
        return await task.ConfigureAwait(false);
    }

    private ushort Register(TaskCompletionSource<int> ack)
    {
        lock (_pending)
        {
            if (_pending.Count >= ushort.MaxValue - 1) throw new InvalidOperationException("65,534 MQTT packets are waiting for their acknowledgement already");
            do _lastId = (ushort)(_lastId == ushort.MaxValue ? 1 : _lastId + 1);
            while (_pending.ContainsKey(_lastId));
            _pending[_lastId] = ack;
            return _lastId;
        }
    }

    private Task SendPingAsync(TaskCompletionSource? answered, CancellationToken stop)
    {
        var packet = new ArrayBufferWriter<byte>(2);
        MqttPackets.WritePingReq(packet);
        // Queued under the write lock: PINGRESPs come back in the order the PINGREQs left.
        return WriteAsync(packet.WrittenMemory, stop, () => { lock (_pings) _pings.Enqueue((answered, Stopwatch.GetTimestamp())); });
    }

    /// <summary>Writes under the write lock (<paramref name="beforeWrite"/> runs under it too); a failed write closes the session.</summary>
    private async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken stop, Action? beforeWrite = null)
    {
        await _write.WaitAsync(stop).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            beforeWrite?.Invoke();
            await _stream.WriteAsync(bytes, stop).ConfigureAwait(false);
            _lastWrite = Stopwatch.GetTimestamp();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            Close(Describe(e));
            throw new MqttConnectionLostException(ClosedBecause!);
        }
        finally
        {
            _write.Release();
        }
    }

    private void ThrowIfClosed()
    {
        if (ClosedBecause is { } why) throw new MqttConnectionLostException(why);
    }

    private async Task ReadLoopAsync(byte[] initial)
    {
        byte[] buffer = new byte[Math.Max(16 * 1024, initial.Length)];
        initial.CopyTo(buffer, 0);
        int have = initial.Length;
        try
        {
            while (true)
            {
                int at = 0;
                while (MqttPackets.TryReadPacket(buffer.AsSpan(at, have - at), out var type, out byte flags, out int start, out int length, out int consumed))
                {
                    Handle(type, flags, buffer.AsMemory(at + start, length));
                    at += consumed;
                }
                if (at > 0)
                {
                    Buffer.BlockCopy(buffer, at, buffer, 0, have - at);
                    have -= at;
                }
                if (have == buffer.Length)
                {
                    // A large incoming PUBLISH: grow up to what MQTT allows.
                    if (buffer.Length >= MqttPackets.MaxRemainingLength) throw new MqttProtocolException("a packet larger than MQTT allows");
                    Array.Resize(ref buffer, (int)Math.Min(buffer.Length * 2L, MqttPackets.MaxRemainingLength + 5L));
                }
                int n = await _stream.ReadAsync(buffer.AsMemory(have), _closing.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    Close("the broker closed the connection");
                    return;
                }
                have += n;
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or MqttProtocolException)
        {
            Close(e is MqttProtocolException ? $"the broker broke MQTT 3.1.1: {e.Message}" : Describe(e));
        }
    }

    private void Handle(MqttPacketType type, byte flags, ReadOnlyMemory<byte> body)
    {
        switch (type)
        {
            case MqttPacketType.PubAck:
            case MqttPacketType.SubAck:
                ushort id = MqttPackets.ReadPacketId(body.Span, type);
                int code = type == MqttPacketType.SubAck ? MqttPackets.ReadSubAckCode(body.Span) : 0;
                TaskCompletionSource<int>? ack;
                lock (_pending) _pending.Remove(id, out ack);
                ack?.TrySetResult(code); // an unknown id (a duplicate acknowledgement) changes nothing
                break;
            case MqttPacketType.PingResp:
                (TaskCompletionSource? Waiter, long) ping = default;
                lock (_pings)
                {
                    if (_pings.Count > 0) ping = _pings.Dequeue();
                }
                ping.Waiter?.TrySetResult();
                break;
            case MqttPacketType.Publish:
                var message = MqttPackets.ReadPublish(flags, body);
                if (message.Qos == 1)
                {
                    var packet = new ArrayBufferWriter<byte>(4);
                    MqttPackets.WritePubAck(packet, message.PacketId);
                    _ = WriteAsync(packet.WrittenMemory, CancellationToken.None).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
                }
                // The payload's bytes are reused by the next read: the handler copies what it keeps.
                _onPublish?.Invoke(message);
                break;
            default:
                throw new MqttProtocolException($"a {type.ToString().ToUpperInvariant()} packet, which a broker does not send to this client");
        }
    }

    private async Task KeepAliveLoopAsync()
    {
        // A PINGREQ when nothing was written for half the keep-alive, so the broker never times
        // the session out; no PINGRESP within the keep-alive means the broker or the path is gone.
        var half = _keepAlive / 2;
        try
        {
            while (true)
            {
                await Task.Delay(half / 2, _closing.Token).ConfigureAwait(false);
                long oldest;
                lock (_pings) oldest = _pings.Count > 0 ? _pings.Peek().SentAt : 0;
                if (oldest != 0 && Stopwatch.GetElapsedTime(oldest) > _keepAlive)
                {
                    Close($"no PINGRESP within the keep-alive ({Common.Duration.Format(_keepAlive)})");
                    return;
                }
                if (Stopwatch.GetElapsedTime(_lastWrite) >= half) await SendPingAsync(null, _closing.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or MqttConnectionLostException)
        {
        }
    }

    private static string Describe(Exception e) => Common.SystemMessages.Describe(e.InnerException ?? e);

    /// <summary>Ends the session (without DISCONNECT, so the broker publishes the will); every waiting acknowledgement fails.</summary>
    public void Close(string reason)
    {
        if (Interlocked.CompareExchange(ref _closedBecause, reason, null) is not null) return;
        _closing.Cancel();
        List<TaskCompletionSource<int>> acks;
        lock (_pending)
        {
            acks = [.. _pending.Values];
            _pending.Clear();
        }
        foreach (var a in acks) a.TrySetException(new MqttConnectionLostException(reason));
        List<TaskCompletionSource?> pings;
        lock (_pings)
        {
            pings = [.. _pings.Select(p => p.Waiter)];
            _pings.Clear();
        }
        foreach (var p in pings) p?.TrySetException(new MqttConnectionLostException(reason));
        try { _stream.Dispose(); } catch (IOException) { }
        _tcp.Dispose();
    }

    /// <summary>Sends DISCONNECT (the broker then drops the will) and closes.</summary>
    public async Task DisconnectAsync(CancellationToken stop)
    {
        try
        {
            await FlushAsync(stop).ConfigureAwait(false);
            var packet = new ArrayBufferWriter<byte>(2);
            MqttPackets.WriteDisconnect(packet);
            await WriteAsync(packet.WrittenMemory, stop).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MqttConnectionLostException or OperationCanceledException)
        {
        }
        Close("disconnected");
    }

    public async ValueTask DisposeAsync()
    {
        Close("closed");
        await Task.WhenAll(_reader, _keeper).ConfigureAwait(false);
        _closing.Dispose();
        _write.Dispose();
    }
}
