using System.Diagnostics;
using System.Net.Sockets;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>A byte pipe RTU frames travel over: a serial port or a TCP stream to a serial gateway.</summary>
internal interface IRtuPort
{
    Task OpenAsync(CancellationToken cancellationToken);
    void Close();
    ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken);
    /// <summary>Bytes read, 0 when the other end closed.</summary>
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken);
    /// <summary>Drops what has been received and not read; returns how many bytes (when known).</summary>
    int DiscardInput();
}

/// <summary>
/// Modbus RTU: unit address, PDU, CRC (<see cref="RtuFrame"/>). Frames are told apart by
/// silence, so before each request the link waits out 3.5 character times since the line was
/// last busy and drops anything left over; after a timeout or a rejected frame it reads until
/// the line falls silent, so a late answer cannot be taken for the next one. A response is
/// complete when its function code and byte count say so; its CRC is checked, and a frame
/// from another unit is skipped and counted.
/// <para>
/// Echo (serial ports with <c>echo = true</c>: adapters that read back what they send): after
/// writing a request the link reads exactly the request's length and compares it byte for byte
/// before reading the answer; a missing, short or different echo is a
/// <see cref="ModbusEchoException"/> (retried like a garbled frame). Timing: the timeout still
/// starts when the request is written and covers echo and answer together. The adapter echoes
/// while the request is on the wire, and the unit cannot answer before the request has left it,
/// so the echo costs no time the answer did not already have to wait for. The echo's bytes count
/// as line activity for the inter-frame silence, like the answer's. Without echo, a
/// rejected or missing answer whose bytes start with our own request is reported as an
/// adapter that echoes (set echo = true) rather than as a CRC error or a timeout.
/// </para>
/// </summary>
internal sealed class RtuLink : ModbusLink
{
    private readonly IRtuPort _port;
    private readonly TimeSpan _interFrame;
    private readonly TimeSpan _drainSilence;
    private readonly bool _echo;
    private readonly string _portName;
    private readonly byte[] _tx = new byte[RtuFrame.MaxLength];
    private readonly byte[] _rx = new byte[RtuFrame.MaxLength * 2];
    private long _lastActivity;

    /// <param name="echo">the line returns every byte we send (serial ports only).</param>
    /// <param name="portName">the serial device or address, for echo messages ("/dev/ttyUSB0").</param>
    public RtuLink(IRtuPort port, string description, TimeSpan interFrameDelay, bool overTcp, bool echo = false, string? portName = null)
        : base(description)
    {
        _port = port;
        _echo = echo;
        _portName = portName ?? description;
        _interFrame = interFrameDelay;
        // A USB adapter delivers bytes in bursts up to 16 ms apart; a TCP gateway in packets.
        var floor = TimeSpan.FromMilliseconds(overTcp ? 50 : 20);
        _drainSilence = interFrameDelay * 3 > floor ? interFrameDelay * 3 : floor;
        OverTcp = overTcp;
    }

    public bool OverTcp { get; }

    protected override int TimeoutsBeforeReconnect => OverTcp ? 3 : int.MaxValue;

    protected override Task OpenAsync(TimeSpan timeout, CancellationToken cancellationToken) => _port.OpenAsync(cancellationToken);

    protected override void Close() => _port.Close();

    protected override async Task<int> TransactAsync(byte unit, ReadOnlyMemory<byte> requestPdu, Memory<byte> responsePdu, CancellationToken cancellationToken)
    {
        Statistics.Add(ModbusLinkCounter.DiscardedBytes, _port.DiscardInput());
        if (_lastActivity != 0)
        {
            var quiet = Stopwatch.GetElapsedTime(_lastActivity);
            if (quiet < _interFrame) await Task.Delay(_interFrame - quiet, cancellationToken).ConfigureAwait(false);
        }
        RtuFrame.TryWrite(_tx, unit, requestPdu.Span, out int n);
        await _port.WriteAsync(_tx.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
        _lastActivity = Stopwatch.GetTimestamp();
        int count = _echo ? await ReadEchoAsync(n, cancellationToken).ConfigureAwait(false) : 0;
        // Without echo: a frame rejected while the bytes so far are the start of our own request
        // may be its echo; read on until the whole request is there (or the bytes part ways).
        ModbusFormatException? echoSuspect = null;
        bool detectEcho = !_echo && !OverTcp;
        while (true)
        {
            if (echoSuspect is null)
            {
                try
                {
                    int length = TryTake(unit, responsePdu.Span, ref count);
                    if (length > 0) return length;
                }
                catch (ModbusFormatException e) when (detectEcho && count > 0 && _rx.AsSpan(0, Math.Min(count, n)).SequenceEqual(_tx.AsSpan(0, Math.Min(count, n))))
                {
                    echoSuspect = e;
                }
            }
            if (echoSuspect is not null)
            {
                if (!_rx.AsSpan(0, Math.Min(count, n)).SequenceEqual(_tx.AsSpan(0, Math.Min(count, n)))) throw echoSuspect;
                if (count >= n)
                {
                    await SkipAnswerAsync(n, count, cancellationToken).ConfigureAwait(false);
                    throw UnexpectedEcho(n, null);
                }
            }
            int r;
            try
            {
                r = await _port.ReadAsync(_rx.AsMemory(count), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (detectEcho && count >= n && _rx.AsSpan(0, n).SequenceEqual(_tx.AsSpan(0, n)))
            {
                // The echo made the frame look longer than what followed it: no answer "arrived" in time.
                throw UnexpectedEcho(n, e);
            }
            catch (OperationCanceledException) when (echoSuspect is not null)
            {
                throw echoSuspect; // part of our request came back, then nothing: report what was rejected
            }
            if (r == 0) throw new IOException("the port was closed");
            count += r;
            _lastActivity = Stopwatch.GetTimestamp();
        }
    }

    private ModbusEchoException UnexpectedEcho(int n, Exception? inner)
        => new($"{_portName}: received our own {n}-byte request back before the answer: the adapter echoes what it sends, set echo = true",
            unexpected: true, inner);

    /// <summary>
    /// Reads the echo of the <paramref name="n"/>-byte request in <see cref="_tx"/> and checks it;
    /// returns how many bytes after it (the start of the answer) are left at the start of <see cref="_rx"/>.
    /// </summary>
    private async Task<int> ReadEchoAsync(int n, CancellationToken cancellationToken)
    {
        Statistics.Increment(ModbusLinkCounter.EchoesChecked);
        int count = 0;
        try
        {
            while (count < n)
            {
                int r = await _port.ReadAsync(_rx.AsMemory(count), cancellationToken).ConfigureAwait(false);
                if (r == 0) throw new IOException("the port was closed");
                int from = count;
                count += r;
                _lastActivity = Stopwatch.GetTimestamp();
                for (int i = from; i < Math.Min(count, n); i++)
                {
                    if (_rx[i] != _tx[i]) throw await EchoDiffersAsync(n, i, count, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException e)
        {
            string hint = count == 0 ? " (does this adapter echo? if not, set echo = false)" : "";
            throw new ModbusEchoException($"{_portName}: expected the echo of our {n}-byte request, got {count} byte{(count == 1 ? "" : "s")}{hint}", inner: e);
        }
        _rx.AsSpan(n, count - n).CopyTo(_rx);
        return count - n;
    }

    /// <summary>
    /// The echo differs at byte <paramref name="at"/>. When the bytes look like the start of our
    /// unit's answer, reads on (within the timeout) to tell an adapter that does not echo from
    /// line noise; otherwise waits for the answer that follows the (bad) echo, so it cannot be
    /// taken for the echo or the answer of the retry.
    /// </summary>
    private async Task<ModbusEchoException> EchoDiffersAsync(int n, int at, int count, CancellationToken cancellationToken)
    {
        bool mayBeAnswer = _rx[0] == _tx[0] && (at >= 2 || (at == 1 && _rx[1] == (_tx[1] | 0x80)));
        try
        {
            while (mayBeAnswer)
            {
                if (RtuFrame.TryReadResponse(_rx.AsSpan(0, count), out byte frameUnit, out _, out _))
                {
                    if (frameUnit != _tx[0]) break;
                    return new ModbusEchoException(
                        $"{_portName}: the answer came without the echo of our request: the adapter does not echo, set echo = false");
                }
                count = await ReadMoreAsync(count, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ModbusFormatException) { /* not an answer either */ }
        catch (OperationCanceledException) { /* nothing more came */ }
        await SkipAnswerAsync(n, count, cancellationToken).ConfigureAwait(false);
        return new ModbusEchoException($"{_portName}: the echo differs from the request at byte {at + 1} (line noise or echo = true on an adapter that does not echo)");
    }

    /// <summary>
    /// After a failed echo check: waits (within the timeout) until the frame that starts at
    /// <paramref name="start"/> (the answer after the echo) is complete or cannot be one, then
    /// leaves the rest to <see cref="RecoverAsync"/>. A unit answers only after it has read the
    /// whole request, often later than the recovery's silence, and RTU has no transaction id.
    /// </summary>
    private async Task SkipAnswerAsync(int start, int count, CancellationToken cancellationToken)
    {
        try
        {
            while (count < start || !RtuFrame.TryReadResponse(_rx.AsSpan(start, count - start), out _, out _, out _))
                count = await ReadMoreAsync(count, cancellationToken).ConfigureAwait(false);
        }
        catch (ModbusFormatException) { /* not a frame: the recovery drains it */ }
        catch (OperationCanceledException) { /* no answer: nothing to wait for */ }
        Statistics.Add(ModbusLinkCounter.DiscardedBytes, count - start);
    }

    private async Task<int> ReadMoreAsync(int count, CancellationToken cancellationToken)
    {
        if (count == _rx.Length) throw new ModbusFormatException(ModbusFrameError.BadLength, "too many bytes");
        int r = await _port.ReadAsync(_rx.AsMemory(count), cancellationToken).ConfigureAwait(false);
        if (r == 0) throw new IOException("the port was closed");
        _lastActivity = Stopwatch.GetTimestamp();
        return count + r;
    }

    private int TryTake(byte unit, Span<byte> response, ref int count)
    {
        while (RtuFrame.TryReadResponse(_rx.AsSpan(0, count), out byte frameUnit, out var pdu, out int consumed))
        {
            int length = pdu.Length;
            bool mine = frameUnit == unit;
            if (mine) pdu.CopyTo(response);
            else Statistics.Increment(ModbusLinkCounter.WrongUnitIds);
            _rx.AsSpan(consumed, count - consumed).CopyTo(_rx);
            count -= consumed;
            if (mine)
            {
                Statistics.Add(ModbusLinkCounter.DiscardedBytes, count); // trailing noise
                return length;
            }
        }
        return 0;
    }

    /// <summary>Reads and drops bytes until the line has been silent for a while (at most one second).</summary>
    protected override async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        long dropped = _port.DiscardInput();
        while (Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(1))
        {
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            quiet.CancelAfter(_drainSilence);
            int r;
            try
            {
                r = await _port.ReadAsync(_rx, quiet.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break; // silence
            }
            if (r == 0) throw new IOException("the port was closed");
            dropped += r;
            _lastActivity = Stopwatch.GetTimestamp();
        }
        Statistics.Add(ModbusLinkCounter.DiscardedBytes, dropped);
    }
}

/// <summary>RTU frames in a TCP stream (serial-to-Ethernet converters in "raw"/"transparent" mode).</summary>
internal sealed class TcpRtuPort(string host, int port) : IRtuPort
{
    private readonly TcpConnection _connection = new(host, port);
    private byte[]? _scratch;

    public Task OpenAsync(CancellationToken cancellationToken) => _connection.OpenAsync(cancellationToken);

    public void Close() => _connection.Close();

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
        => await _connection.Open.SendAsync(frame, SocketFlags.None, cancellationToken).ConfigureAwait(false);

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        => _connection.Open.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public int DiscardInput()
    {
        var socket = _connection.Socket;
        if (socket is null) return 0;
        int dropped = 0;
        while (socket.Available > 0)
        {
            _scratch ??= new byte[512];
            int r = socket.Receive(_scratch, SocketFlags.None);
            if (r <= 0) break;
            dropped += r;
        }
        return dropped;
    }
}
