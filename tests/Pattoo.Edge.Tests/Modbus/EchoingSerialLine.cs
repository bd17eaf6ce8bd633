using System.IO.Ports;

namespace Pattoo.Edge.Tests.Modbus;

/// <summary>
/// A serial line whose adapter echoes, as a 2-wire RS-485 converter without echo suppression
/// does: two socat pty pairs joined by a relay that copies what the poller sends to the peer and
/// also back to the poller (the echo first, as the adapter hears its own bytes while sending),
/// and copies the peer's answers to the poller. <see cref="CorruptEchoes"/> flips one byte of
/// the next echoes (not of what reaches the peer).
/// </summary>
internal sealed class EchoingSerialLine : IAsyncDisposable
{
    private readonly PtyPair _near, _far;
    private readonly SerialPort _nearPort, _farPort;
    private readonly SemaphoreSlim _nearWrite = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _up, _down;
    private int _corruptEchoes;
    private long _echoed;

    private EchoingSerialLine(PtyPair near, PtyPair far)
    {
        _near = near;
        _far = far;
        _nearPort = Open(near.B);
        _farPort = Open(far.A);
        _up = Task.Run(UpAsync);
        _down = Task.Run(DownAsync);
    }

    /// <summary>The end the poller opens.</summary>
    public string PollerEnd => _near.A;

    /// <summary>The end the peer opens.</summary>
    public string PeerEnd => _far.B;

    /// <summary>Bytes echoed back to the poller so far.</summary>
    public long Echoed => Interlocked.Read(ref _echoed);

    /// <summary>How many of the next echoes get their last byte flipped.</summary>
    public int CorruptEchoes
    {
        get => Volatile.Read(ref _corruptEchoes);
        set => Volatile.Write(ref _corruptEchoes, value);
    }

    public static async Task<EchoingSerialLine> StartAsync()
    {
        var near = await PtyPair.StartAsync();
        try
        {
            var far = await PtyPair.StartAsync();
            try
            {
                return new EchoingSerialLine(near, far);
            }
            catch
            {
                await far.DisposeAsync();
                throw;
            }
        }
        catch
        {
            await near.DisposeAsync();
            throw;
        }
    }

    private static SerialPort Open(string path)
    {
        var port = new SerialPort(path, 9600, Parity.None, 8, StopBits.One) { Handshake = Handshake.None };
        port.Open();
        return port;
    }

    /// <summary>Poller → peer, and the echo back to the poller before the peer sees the request.</summary>
    private async Task UpAsync()
    {
        var buffer = new byte[512];
        var echo = new byte[512];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int r = await _nearPort.BaseStream.ReadAsync(buffer, _stop.Token);
                if (r <= 0) return;
                buffer.AsSpan(0, r).CopyTo(echo);
                if (Interlocked.Decrement(ref _corruptEchoes) >= 0) echo[r - 1] ^= 0x5A;
                else Interlocked.Increment(ref _corruptEchoes);
                await WriteNearAsync(echo.AsMemory(0, r));
                Interlocked.Add(ref _echoed, r);
                await _farPort.BaseStream.WriteAsync(buffer.AsMemory(0, r), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException) { }
    }

    /// <summary>Peer → poller.</summary>
    private async Task DownAsync()
    {
        var buffer = new byte[512];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int r = await _farPort.BaseStream.ReadAsync(buffer, _stop.Token);
                if (r <= 0) return;
                await WriteNearAsync(buffer.AsMemory(0, r));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException) { }
    }

    private async Task WriteNearAsync(ReadOnlyMemory<byte> bytes)
    {
        await _nearWrite.WaitAsync(_stop.Token);
        try { await _nearPort.BaseStream.WriteAsync(bytes, _stop.Token); }
        finally { _nearWrite.Release(); }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _nearPort.Dispose();
        _farPort.Dispose();
        await Task.WhenAll(_up, _down).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        await _near.DisposeAsync();
        await _far.DisposeAsync();
        _stop.Dispose();
        _nearWrite.Dispose();
    }
}
