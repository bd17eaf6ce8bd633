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
/// </summary>
internal sealed class RtuLink : ModbusLink
{
    private readonly IRtuPort _port;
    private readonly TimeSpan _interFrame;
    private readonly TimeSpan _drainSilence;
    private readonly byte[] _tx = new byte[RtuFrame.MaxLength];
    private readonly byte[] _rx = new byte[RtuFrame.MaxLength * 2];
    private long _lastActivity;

    public RtuLink(IRtuPort port, string description, TimeSpan interFrameDelay, bool overTcp) : base(description)
    {
        _port = port;
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
        Statistics.Discarded(_port.DiscardInput());
        if (_lastActivity != 0)
        {
            var quiet = Stopwatch.GetElapsedTime(_lastActivity);
            if (quiet < _interFrame) await Task.Delay(_interFrame - quiet, cancellationToken).ConfigureAwait(false);
        }
        RtuFrame.TryWrite(_tx, unit, requestPdu.Span, out int n);
        await _port.WriteAsync(_tx.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
        _lastActivity = Stopwatch.GetTimestamp();
        int count = 0;
        while (true)
        {
            int length = TryTake(unit, responsePdu.Span, ref count);
            if (length > 0) return length;
            int r = await _port.ReadAsync(_rx.AsMemory(count), cancellationToken).ConfigureAwait(false);
            if (r == 0) throw new IOException("the port was closed");
            count += r;
            _lastActivity = Stopwatch.GetTimestamp();
        }
    }

    private int TryTake(byte unit, Span<byte> response, ref int count)
    {
        while (RtuFrame.TryReadResponse(_rx.AsSpan(0, count), out byte frameUnit, out var pdu, out int consumed))
        {
            int length = pdu.Length;
            bool mine = frameUnit == unit;
            if (mine) pdu.CopyTo(response);
            else Statistics.WrongUnit();
            _rx.AsSpan(consumed, count - consumed).CopyTo(_rx);
            count -= consumed;
            if (mine)
            {
                Statistics.Discarded(count); // trailing noise
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
        Statistics.Discarded(dropped);
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
