using System.Net.Sockets;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>
/// A TCP connection, used by <see cref="MbapLink"/> (Modbus TCP) and <see cref="RtuLink"/>
/// (RTU over TCP): connect with a timeout, Nagle off, keep-alive on so a peer that vanished
/// without closing is noticed.
/// </summary>
internal sealed class TcpConnection(string host, int port)
{
    public Socket? Socket { get; private set; }

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 10);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 5);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
            await socket.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        Socket = socket;
    }

    public void Close()
    {
        var s = Socket;
        Socket = null;
        s?.Dispose();
    }

    public Socket Open => Socket ?? throw new IOException("not connected");
}

/// <summary>
/// Modbus TCP: MBAP frames with a fresh transaction id per request. A late answer to an
/// earlier (timed-out) request carries an old transaction id and is skipped and counted,
/// so the connection survives timeouts; a frame that breaks the MBAP header closes it.
/// </summary>
internal sealed class MbapLink(string host, int port, string description) : ModbusLink(description)
{
    private readonly TcpConnection _connection = new(host, port);
    private readonly byte[] _tx = new byte[MbapFrame.MaxLength];
    private readonly byte[] _rx = new byte[MbapFrame.MaxLength * 4];
    private int _rxCount;
    private ushort _transaction;

    protected override int TimeoutsBeforeReconnect => 3;

    protected override async Task OpenAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await _connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        _rxCount = 0;
    }

    protected override void Close()
    {
        _connection.Close();
        _rxCount = 0;
    }

    protected override async Task<int> TransactAsync(byte unit, ReadOnlyMemory<byte> requestPdu, Memory<byte> responsePdu, CancellationToken cancellationToken)
    {
        var socket = _connection.Open;
        ushort tid = ++_transaction;
        MbapFrame.TryWrite(_tx, tid, unit, requestPdu.Span, out int n);
        await socket.SendAsync(_tx.AsMemory(0, n), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            int pduLength = TryTake(tid, unit, responsePdu.Span);
            if (pduLength > 0) return pduLength;
            if (_rxCount == _rx.Length) throw new IOException("receive buffer full without a frame");
            int r = await socket.ReceiveAsync(_rx.AsMemory(_rxCount), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (r == 0) throw new IOException("connection closed by the peer");
            _rxCount += r;
        }
    }

    /// <summary>Takes whole frames off the buffer: the answer's PDU length, or 0 when more bytes are needed.</summary>
    private int TryTake(ushort tid, byte unit, Span<byte> response)
    {
        while (true)
        {
            bool complete;
            ushort frameTid;
            byte frameUnit;
            ReadOnlySpan<byte> pdu;
            int consumed;
            try
            {
                complete = MbapFrame.TryRead(_rx.AsSpan(0, _rxCount), out frameTid, out frameUnit, out pdu, out consumed);
            }
            catch (ModbusFormatException)
            {
                // The stream is out of step: nothing after this can be trusted.
                Close();
                throw;
            }
            if (!complete) return 0;
            int length = pdu.Length;
            bool mine = frameTid == tid && frameUnit == unit;
            if (mine) pdu.CopyTo(response);
            else if (frameTid != tid) Statistics.Increment(ModbusLinkCounter.WrongTransactionIds);
            else Statistics.Increment(ModbusLinkCounter.WrongUnitIds);
            _rx.AsSpan(consumed, _rxCount - consumed).CopyTo(_rx);
            _rxCount -= consumed;
            if (mine) return length;
        }
    }
}
