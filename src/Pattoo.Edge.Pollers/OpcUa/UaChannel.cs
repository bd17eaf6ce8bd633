using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>
/// One UA-TCP connection with its secure channel: Hello/Acknowledge, OpenSecureChannel (and its
/// renewal at 75% of the token lifetime), requests matched to responses by request id, and a
/// clean CloseSecureChannel. A background loop reads chunks, verifies/decrypts them through the
/// pure <see cref="SecureChannelCodec"/> and completes the waiting requests. Any transport or
/// protocol failure faults the whole channel: every waiting request fails and the owner
/// reconnects.
/// </summary>
internal sealed class UaChannel : IAsyncDisposable
{
    public const uint ReceiveBufferSize = 65535;
    public const uint MaxMessageSize = 16 * 1024 * 1024;
    private const uint RequestedLifetimeMs = 3_600_000;

    private readonly Socket _socket;
    private NetworkStream _stream = null!; // made once the socket is connected
    private readonly SecureChannelCodec _codec;
    private readonly object _codecLock = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly UaWriter _body = new(4096);
    private readonly UaWriter _wire = new(8192);
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<byte[]>> _pending = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly string _label;
    private MessageAssembler _assembler = new((int)MaxMessageSize, 0);
    private Task? _receiveLoop;
    private Task? _renewLoop;
    private int _nextRequestId;
    private volatile Exception? _fault;

    private UaChannel(Socket socket, SecureChannelCodec codec, string label)
    {
        _socket = socket;
        _codec = codec;
        _label = label;
    }

    public SecurityPolicy Policy => _codec.Policy;
    public MessageSecurityMode Mode => _codec.Mode;
    public NodeId AuthenticationToken { get; set; } = NodeId.Null;
    public bool IsOpen => _fault is null && !_closing.IsCancellationRequested;
    public Exception? Fault => _fault;
    public ChannelSecurityToken? Token { get; private set; }
    /// <summary>Token renewals done (for tests and the health view).</summary>
    public int Renewals { get; private set; }

    /// <summary>Connects, says Hello and opens the secure channel.</summary>
    public static async Task<UaChannel> OpenAsync(string host, int port, string endpointUrl, SecurityPolicy policy, MessageSecurityMode mode,
        ApplicationCertificate? own, byte[]? serverCertificate, TimeSpan timeout, CancellationToken cancellationToken, TimeSpan? tokenLifetime = null)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var codec = new SecureChannelCodec(policy, mode, own?.Der, own?.Key, serverCertificate);
        var channel = new UaChannel(socket, codec, $"{host}:{port}");
        try
        {
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                limit.CancelAfter(timeout);
                try
                {
                    await socket.ConnectAsync(host, port, limit.Token).ConfigureAwait(false);
                    channel._stream = new NetworkStream(socket, ownsSocket: true);
                    await channel.HelloAsync(endpointUrl, limit.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new OpcUaConnectionException($"{host}:{port}: no answer in {Common.Duration.Format(timeout)}");
                }
                catch (SocketException e)
                {
                    throw new OpcUaConnectionException($"{host}:{port}: {e.Message}", e);
                }
                catch (IOException e)
                {
                    throw new OpcUaConnectionException($"{host}:{port}: {e.Message}", e);
                }
            }
            channel._receiveLoop = Task.Run(channel.ReceiveLoopAsync);
            uint lifetime = (uint)(tokenLifetime ?? TimeSpan.FromMilliseconds(RequestedLifetimeMs)).TotalMilliseconds;
            await channel.OpenSecureChannelAsync(0, lifetime, timeout, cancellationToken).ConfigureAwait(false);
            channel._renewLoop = Task.Run(() => channel.RenewLoopAsync(lifetime, timeout));
            return channel;
        }
        catch
        {
            await channel.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task HelloAsync(string endpointUrl, CancellationToken ct)
    {
        _wire.Clear();
        UaTcpMessages.WriteHello(_wire, new UaTcpLimits(0, ReceiveBufferSize, ReceiveBufferSize, MaxMessageSize, 0), endpointUrl);
        await _stream.WriteAsync(_wire.WrittenMemory, ct).ConfigureAwait(false);
        var (header, message) = await ReadMessageAsync(ct).ConfigureAwait(false);
        if (header.Type == UaMessageType.Error)
        {
            var (code, reason) = UaTcpMessages.ReadError(message.AsSpan(UaMessageHeader.Length));
            throw new OpcUaServiceException("Hello", code, reason);
        }
        if (header.Type != UaMessageType.Acknowledge)
            throw new OpcUaConnectionException($"{_label}: expected Acknowledge, got {UaMessageHeader.Name(header.Type)}");
        var ack = UaTcpMessages.ReadAcknowledge(message.AsSpan(UaMessageHeader.Length));
        _codec.SendChunkSize = (int)Math.Min(ReceiveBufferSize, ack.ReceiveBufferSize);
        _codec.ReceiveChunkSize = (int)ReceiveBufferSize;
        _codec.PeerMaxMessageSize = (int)Math.Min(int.MaxValue, ack.MaxMessageSize);
        _codec.PeerMaxChunkCount = (int)Math.Min(int.MaxValue, ack.MaxChunkCount);
        _assembler = new MessageAssembler((int)MaxMessageSize, 0);
    }

    /// <summary>Reads one whole message (header included) from the stream.</summary>
    private async Task<(UaMessageHeader Header, byte[] Message)> ReadMessageAsync(CancellationToken ct)
    {
        var head = new byte[UaMessageHeader.Length];
        await _stream.ReadExactlyAsync(head, ct).ConfigureAwait(false);
        UaMessageHeader.TryRead(head, (int)ReceiveBufferSize, out var header);
        var message = new byte[header.Size];
        head.CopyTo(message, 0);
        await _stream.ReadExactlyAsync(message.AsMemory(UaMessageHeader.Length), ct).ConfigureAwait(false);
        return (header, message);
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                var (header, message) = await ReadMessageAsync(_closing.Token).ConfigureAwait(false);
                if (header.Type == UaMessageType.Error)
                {
                    var (code, reason) = UaTcpMessages.ReadError(message.AsSpan(UaMessageHeader.Length));
                    Fail(new OpcUaServiceException("the connection", code, reason ?? "the server sent an Error message and closed the channel"));
                    return;
                }
                ChannelChunk chunk;
                lock (_codecLock) chunk = _codec.DecodeChunk(message, message.Length);
                if (!_assembler.Add(chunk, out byte[] body, out bool aborted)) continue;
                if (!_pending.TryRemove(chunk.RequestId, out var waiter)) continue; // answer to a request that timed out
                if (aborted)
                {
                    var (code, reason) = UaTcpMessages.ReadError(body);
                    waiter.TrySetException(new OpcUaServiceException("the request", code, reason ?? "aborted by the server"));
                }
                else
                {
                    waiter.TrySetResult(body);
                }
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (EndOfStreamException)
        {
            Fail(new OpcUaConnectionException($"{_label}: the server closed the connection"));
        }
        catch (OpcUaFormatException e)
        {
            Fail(new OpcUaConnectionException($"{_label}: malformed data from the server: {e.Message}", e));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Fail(new OpcUaConnectionException($"{_label}: connection lost: {e.Message}", e));
        }
    }

    private void Fail(Exception e)
    {
        if (_fault is not null || _closing.IsCancellationRequested) return;
        _fault = e;
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var w)) w.TrySetException(e);
        }
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception) { /* already closed */ }
        _socket.Close();
    }

    private void ThrowIfFaulted()
    {
        if (_fault is { } f) throw new OpcUaConnectionException(f.Message, f);
        if (_closing.IsCancellationRequested) throw new OpcUaConnectionException($"{_label}: the channel is closed");
    }

    private uint NextRequestId() => (uint)Interlocked.Increment(ref _nextRequestId);

    private async Task OpenSecureChannelAsync(uint requestType, uint lifetimeMs, TimeSpan timeout, CancellationToken ct)
    {
        ThrowIfFaulted();
        byte[]? clientNonce = _codec.Policy == SecurityPolicy.None ? null : RandomNumberGenerator.GetBytes(SecurityPolicies.NonceLength(_codec.Policy));
        uint requestId = NextRequestId();
        var waiter = Register(requestId);
        await SendAsync(requestId, w =>
        {
            UaServices.WriteOpenSecureChannel(_body, new RequestHeader(NodeId.Null, requestId, (uint)timeout.TotalMilliseconds), requestType, _codec.Mode, clientNonce, lifetimeMs);
            _codec.EncodeOpen(w, requestId, _body.Written);
        }, ct).ConfigureAwait(false);
        var body = await WaitAsync("OpenSecureChannel", requestId, waiter, timeout, ct).ConfigureAwait(false);
        var response = UaServices.Decode(body, EncodingIds.OpenSecureChannelResponse, UaServices.DecodeOpenSecureChannel, out var fault);
        if (fault is not null) throw new OpcUaServiceException("OpenSecureChannel", fault.ServiceResult);
        SymmetricKeys? client = null, server = null;
        if (_codec.Policy != SecurityPolicy.None)
        {
            byte[] serverNonce = response!.ServerNonce ?? [];
            if (serverNonce.Length != SecurityPolicies.NonceLength(_codec.Policy))
                throw new OpcUaConnectionException($"{_label}: the server's nonce has {serverNonce.Length} bytes, expected {SecurityPolicies.NonceLength(_codec.Policy)}");
            client = SecurityPolicies.DeriveKeys(serverNonce, clientNonce, _codec.Policy);
            server = SecurityPolicies.DeriveKeys(clientNonce, serverNonce, _codec.Policy);
        }
        await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            lock (_codecLock)
            {
                _codec.ChannelId = response!.Token.ChannelId;
                _codec.ActivateToken(response.Token.TokenId, client, server);
            }
        }
        finally
        {
            _sendLock.Release();
        }
        Token = response.Token;
    }

    private async Task RenewLoopAsync(uint requestedLifetimeMs, TimeSpan timeout)
    {
        try
        {
            while (!_closing.IsCancellationRequested && _fault is null)
            {
                uint lifetime = Token?.RevisedLifetimeMs is > 0 and var l ? l : requestedLifetimeMs;
                await Task.Delay(TimeSpan.FromMilliseconds(lifetime * 0.75), _closing.Token).ConfigureAwait(false);
                await OpenSecureChannelAsync(1, requestedLifetimeMs, timeout, _closing.Token).ConfigureAwait(false);
                Renewals++;
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Fail(new OpcUaConnectionException($"{_label}: renewing the security token failed: {e.Message}", e));
        }
    }

    private TaskCompletionSource<byte[]> Register(uint requestId)
    {
        var tcs = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[requestId] = tcs;
        return tcs;
    }

    /// <summary>Encodes under the codec lock and writes in order under the send lock.</summary>
    private async Task SendAsync(uint requestId, Action<UaWriter> encode, CancellationToken ct)
    {
        await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ThrowIfFaulted();
            lock (_codecLock)
            {
                _body.Clear();
                _wire.Clear();
                encode(_wire);
            }
            try
            {
                await _stream.WriteAsync(_wire.WrittenMemory, _closing.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                Fail(new OpcUaConnectionException($"{_label}: sending failed: {e.Message}", e));
                ThrowIfFaulted();
            }
        }
        catch
        {
            _pending.TryRemove(requestId, out _);
            throw;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task<byte[]> WaitAsync(string service, uint requestId, TaskCompletionSource<byte[]> waiter, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            return await waiter.Task.WaitAsync(timeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _pending.TryRemove(requestId, out _);
            throw new TimeoutException($"{service}: no answer from {_label} in {Common.Duration.Format(timeout)}");
        }
        catch (OperationCanceledException)
        {
            _pending.TryRemove(requestId, out _);
            throw;
        }
        catch (OpcUaConnectionException e)
        {
            throw new OpcUaConnectionException($"{service}: {e.Message}", e);
        }
    }

    /// <summary>Sends a service request and decodes its response; a ServiceFault becomes <see cref="OpcUaServiceException"/>.</summary>
    public async Task<T> CallAsync<T>(string service, Action<UaWriter, RequestHeader> write, uint responseId, UaServices.Decoder<T> decode,
        TimeSpan timeout, CancellationToken ct) where T : class
    {
        ThrowIfFaulted();
        uint requestId = NextRequestId();
        var header = new RequestHeader(AuthenticationToken, requestId, (uint)Math.Min(uint.MaxValue, timeout.TotalMilliseconds));
        var waiter = Register(requestId);
        await SendAsync(requestId, w =>
        {
            write(_body, header);
            _codec.EncodeSymmetric(w, UaMessageType.Message, requestId, _body.Written);
        }, ct).ConfigureAwait(false);
        var body = await WaitAsync(service, requestId, waiter, timeout, ct).ConfigureAwait(false);
        T? result;
        ResponseHeader? fault;
        try
        {
            result = UaServices.Decode(body, responseId, decode, out fault);
        }
        catch (OpcUaFormatException e)
        {
            throw new OpcUaConnectionException($"{service}: malformed response: {e.Message}", e);
        }
        if (fault is not null) throw new OpcUaServiceException(service, fault.ServiceResult);
        return result!;
    }

    /// <summary>Sends CloseSecureChannel (no answer is expected) and closes the socket.</summary>
    public async Task CloseAsync()
    {
        if (IsOpen && Token is not null)
        {
            try
            {
                uint requestId = NextRequestId();
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await SendAsync(requestId, w =>
                {
                    UaServices.WriteCloseSecureChannel(_body, new RequestHeader(AuthenticationToken, requestId, 0));
                    _codec.EncodeSymmetric(w, UaMessageType.CloseSecureChannel, requestId, _body.Written);
                }, limit.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OpcUaConnectionException or OperationCanceledException or IOException)
            {
                // closing anyway
            }
        }
        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_closing.IsCancellationRequested) return;
        _closing.Cancel();
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var w)) w.TrySetException(new OpcUaConnectionException($"{_label}: the channel was closed"));
        }
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception) { /* not connected */ }
        if (_stream is not null) _stream.Dispose();
        else _socket.Dispose();
        foreach (var t in new[] { _receiveLoop, _renewLoop })
        {
            if (t is null) continue;
            try { await t.ConfigureAwait(false); } catch (Exception) { /* reported through Fault */ }
        }
        lock (_codecLock) _codec.Dispose();
    }
}
