using System.IO.Ports;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>A serial port (RS-485 or RS-232) through System.IO.Ports, 8 data bits, no flow control.</summary>
internal sealed class SerialRtuPort(SerialLineOptions line) : IRtuPort
{
    private SerialPort? _port;
    private Stream? _stream;

    public Task OpenAsync(CancellationToken cancellationToken)
    {
        SerialNative.EnsureResolver();
        SerialPort? port = null;
        try
        {
            port = new SerialPort(line.Port, line.BaudRate, line.Parity, line.DataBits, line.StopBits)
            {
                Handshake = Handshake.None,
                DtrEnable = false,
                RtsEnable = false,
                WriteTimeout = 5000,
            };
            port.Open();
            _stream = port.BaseStream;
            _port = port;
            return Task.CompletedTask;
        }
        catch (Exception e) when (SerialNative.IsMissing(e))
        {
            port?.Dispose();
            throw new ModbusTransportException(ModbusFailure.SerialSupportMissing, SerialNative.MissingMessage(line.Port), e);
        }
        catch
        {
            port?.Dispose();
            throw;
        }
    }

    public void Close()
    {
        var port = _port;
        _port = null;
        _stream = null;
        try { port?.Dispose(); }
        catch (Exception) { /* closing a port whose device vanished can throw; it is gone either way */ }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        var stream = _stream ?? throw new IOException("port not open");
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var stream = _stream ?? throw new IOException("port not open");
        return stream.ReadAsync(buffer, cancellationToken);
    }

    public int DiscardInput()
    {
        var port = _port;
        if (port is null) return 0;
        int pending = port.BytesToRead;
        if (pending > 0) port.DiscardInBuffer();
        return pending;
    }
}
