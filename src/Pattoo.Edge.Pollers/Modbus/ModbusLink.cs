using System.Net.Sockets;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Shared;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>
/// One way to reach units: a TCP connection or a serial port. Devices that share it take
/// turns, one request at a time. It opens on first use, reconnects with backoff after a
/// failure, retries timeouts and garbled answers, and counts every frame it rejects.
/// Subclasses only frame bytes: MBAP over TCP, RTU over a serial port or a TCP stream.
/// </summary>
internal abstract class ModbusLink : IAsyncDisposable
{
    internal static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500);
    internal static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly byte[] _request = new byte[ModbusPdu.ReadRequestLength];
    private readonly Backoff _backoff = new(FirstBackoff, MaxBackoff);
    private string? _lastConnectError;
    private bool _open;
    private bool _disposed;
    private int _consecutiveTimeouts;

    protected ModbusLink(string description) => Description = description;

    /// <summary>"tcp 192.0.2.20:502", "rtu /dev/ttyUSB0 9600 8N1".</summary>
    public string Description { get; }

    public Counters<ModbusLinkCounter> Statistics { get; } = new();

    /// <summary>Consecutive timeouts after which a TCP link drops its connection (the peer may be half-open).</summary>
    protected virtual int TimeoutsBeforeReconnect => int.MaxValue;

    /// <summary>Opens the connection or port.</summary>
    protected abstract Task OpenAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Closes it; the next request opens it again. Must not throw.</summary>
    protected abstract void Close();

    /// <summary>
    /// Sends <paramref name="requestPdu"/> to <paramref name="unit"/> and reads the answer's PDU
    /// into <paramref name="responsePdu"/>, skipping (and counting) frames for another unit or
    /// transaction. Cancelled when the timeout expires.
    /// </summary>
    /// <exception cref="ModbusFormatException">a frame that cannot be an answer.</exception>
    /// <exception cref="IOException">the connection was closed or failed.</exception>
    protected abstract Task<int> TransactAsync(byte unit, ReadOnlyMemory<byte> requestPdu, Memory<byte> responsePdu, CancellationToken cancellationToken);

    /// <summary>After a timeout or a rejected frame: gets the line back in step (drains late bytes).</summary>
    protected virtual Task RecoverAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Reads <paramref name="quantity"/> items of <paramref name="function"/> at
    /// <paramref name="address"/> from <paramref name="unit"/>. Returns the length of the
    /// answer's PDU in <paramref name="responsePdu"/>: data or an exception code, already
    /// checked against the request.
    /// </summary>
    /// <exception cref="ModbusTransportException">no usable answer after every retry, or no connection.</exception>
    public async Task<int> ReadAsync(byte unit, ModbusFunction function, ushort address, ushort quantity, Memory<byte> responsePdu,
        TimeSpan timeout, int retries, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ModbusPdu.TryWriteReadRequest(_request, function, address, quantity, out _);
            return await ExchangeAsync(unit, _request, responsePdu, static (answer, request) =>
                ModbusPdu.ReadResponse(answer, (ModbusFunction)request[0], System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(request[3..]), out _),
                timeout, retries, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Sends a write request PDU (<see cref="ModbusWritePdu"/>) to <paramref name="unit"/> and
    /// returns the answer's exception code (<see cref="ModbusExceptionCode.None"/> when it was
    /// written). A write that timed out is sent again: every write function sets absolute
    /// values, so a repeat leaves the device as one write would.
    /// </summary>
    /// <exception cref="ModbusTransportException">no usable answer after every retry, or no connection.</exception>
    public async Task<ModbusExceptionCode> WriteAsync(byte unit, ReadOnlyMemory<byte> requestPdu, TimeSpan timeout, int retries, CancellationToken cancellationToken)
    {
        var answer = new byte[ModbusPdu.MaxLength];
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int n = await ExchangeAsync(unit, requestPdu, answer, static (a, request) => ModbusWritePdu.ReadResponse(a, request),
                timeout, retries, cancellationToken).ConfigureAwait(false);
            return ModbusWritePdu.ReadResponse(answer.AsSpan(0, n), requestPdu.Span);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Checks an answer against its request: its exception code, or throws <see cref="ModbusFormatException"/>.</summary>
    private delegate ModbusExceptionCode AnswerCheck(ReadOnlySpan<byte> answer, ReadOnlySpan<byte> request);

    /// <summary>One request and its answer, with retries; the caller holds the gate.</summary>
    private async Task<int> ExchangeAsync(byte unit, ReadOnlyMemory<byte> request, Memory<byte> responsePdu, AnswerCheck check,
        TimeSpan timeout, int retries, CancellationToken cancellationToken)
    {
        {
            bool reconnectedForFree = false;
            for (int attempt = 0; ; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                bool reused = await EnsureOpenAsync(timeout, cancellationToken).ConfigureAwait(false);
                ModbusFailure failure;
                string problem;
                using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    limit.CancelAfter(timeout);
                    Statistics.Increment(ModbusLinkCounter.Requests);
                    try
                    {
                        int n = await TransactAsync(unit, request, responsePdu, limit.Token).ConfigureAwait(false);
                        var code = check(responsePdu.Span[..n], request.Span);
                        if (code == ModbusExceptionCode.None) Statistics.Increment(ModbusLinkCounter.Responses);
                        else Statistics.Increment(ModbusLinkCounter.ExceptionResponses);
                        _consecutiveTimeouts = 0;
                        return n;
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        Statistics.Increment(ModbusLinkCounter.Timeouts);
                        failure = ModbusFailure.Timeout;
                        problem = $"no answer within {Duration.Format(timeout)}";
                        if (++_consecutiveTimeouts >= TimeoutsBeforeReconnect)
                        {
                            Log.Debug($"{Description}: {_consecutiveTimeouts} timeouts in a row, reconnecting");
                            CloseLink();
                            _consecutiveTimeouts = 0;
                        }
                    }
                    catch (ModbusEchoException e)
                    {
                        cancellationToken.ThrowIfCancellationRequested(); // a missing echo is also noticed when the poll is cancelled
                        if (e.Unexpected) Statistics.Increment(ModbusLinkCounter.UnexpectedEchoes);
                        else Statistics.Increment(ModbusLinkCounter.EchoMismatches);
                        failure = ModbusFailure.Garbled;
                        problem = e.Message;
                        Log.Debug($"{Description}: unit {unit}: {problem}");
                    }
                    catch (ModbusFormatException e)
                    {
                        Statistics.Increment(e.Error == ModbusFrameError.BadCrc ? ModbusLinkCounter.CrcErrors : ModbusLinkCounter.GarbledFrames);
                        failure = ModbusFailure.Garbled;
                        problem = $"rejected answer: {e.Message}";
                        Log.Debug($"{Description}: unit {unit}: {problem}");
                    }
                    catch (Exception e) when (IsConnectionFault(e))
                    {
                        Statistics.Increment(ModbusLinkCounter.ConnectionLosses);
                        CloseLink();
                        if (reused && !reconnectedForFree)
                        {
                            // A connection that sat idle may have been closed by the peer (a gateway's idle
                            // timeout, a server restart): one immediate reconnect does not count as a retry.
                            reconnectedForFree = true;
                            attempt--;
                            continue;
                        }
                        throw new ModbusTransportException(ModbusFailure.Connection, $"{Description}: connection lost: {e.Message}", e);
                    }
                }
                if (_open)
                {
                    try { await RecoverAsync(cancellationToken).ConfigureAwait(false); }
                    catch (Exception e) when (IsConnectionFault(e)) { Statistics.Increment(ModbusLinkCounter.ConnectionLosses); CloseLink(); }
                }
                if (attempt >= retries)
                    throw new ModbusTransportException(failure, $"{problem} ({attempt + 1} attempt{(attempt == 0 ? "" : "s")})");
                Statistics.Increment(ModbusLinkCounter.Retries);
            }
        }
    }

    /// <summary>True when the link was already open, false when this call opened it.</summary>
    private async Task<bool> EnsureOpenAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_open) return true;
        if (_backoff.Waiting)
        {
            // The same words as the failure that started the backoff: the scheduler logs a
            // failure when its text changes, and a countdown in it made one line per poll.
            throw new ModbusTransportException(ModbusFailure.Connection, _lastConnectError ?? $"cannot open {Description}");
        }
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var connectTimeout = timeout < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : timeout;
            limit.CancelAfter(connectTimeout);
            try
            {
                await OpenAsync(connectTimeout, limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"timed out after {Duration.Format(connectTimeout)}");
            }
        }
        catch (ModbusTransportException e)
        {
            Failed(e.Message);
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var failure = new ModbusTransportException(ModbusFailure.Connection, $"cannot open {Description}: {e.Message}", e);
            Failed(failure.Message);
            throw failure;
        }
        _open = true;
        _backoff.Succeeded();
        _consecutiveTimeouts = 0;
        Statistics.Increment(ModbusLinkCounter.Connects);
        return false;

        void Failed(string message)
        {
            Close();
            Statistics.Increment(ModbusLinkCounter.ConnectFailures);
            _lastConnectError = message;
            _backoff.Failed();
        }
    }

    private void CloseLink()
    {
        _open = false;
        Close();
    }

    private static bool IsConnectionFault(Exception e)
        => e is IOException or SocketException or ObjectDisposedException or UnauthorizedAccessException or InvalidOperationException;

    public async ValueTask DisposeAsync()
    {
        // The last device using the link is gone: wait (briefly) for a request in flight, then close.
        bool entered = await _gate.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        try
        {
            _disposed = true;
            CloseLink();
        }
        finally
        {
            if (entered) _gate.Release();
        }
    }
}
