using System.Net;
using System.Net.Sockets;

namespace Pattoo.Edge.Tests.Support;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of a real peer, to break the network between a client and
/// the peer while the peer keeps running: <see cref="Cut"/> resets every relayed connection and
/// refuses new ones until <see cref="Restore"/>.
/// </summary>
internal sealed class TcpRelay : IAsyncDisposable
{
    private readonly int _target;
    private readonly object _gate = new();
    private readonly List<(TcpClient Client, TcpClient Upstream)> _pairs = [];
    private readonly CancellationTokenSource _stop = new();
    private TcpListener? _listener;
    private Task? _accepting;

    public TcpRelay(int targetPort)
    {
        _target = targetPort;
        Port = FreePorts.Tcp();
        Restore();
    }

    public int Port { get; }

    /// <summary>Connections relayed so far.</summary>
    public int Accepted { get; private set; }

    /// <summary>Resets every connection and stops listening (new connects are refused).</summary>
    public void Cut()
    {
        lock (_gate)
        {
            _listener?.Stop();
            _listener = null;
            foreach (var (client, upstream) in _pairs)
            {
                client.Client.LingerState = new LingerOption(true, 0); // RST, as a dropped link looks to the peers
                client.Dispose();
                upstream.Dispose();
            }
            _pairs.Clear();
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public void Restore()
    {
        lock (_gate)
        {
            if (_listener is not null) return;
            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            _accepting = AcceptAsync(listener);
        }
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException) { return; }
            var upstream = new TcpClient();
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _target);
            }
            catch (SocketException)
            {
                client.Dispose();
                upstream.Dispose();
                continue;
            }
            lock (_gate)
            {
                if (!ReferenceEquals(_listener, listener))
                {
                    client.Dispose();
                    upstream.Dispose();
                    return;
                }
                _pairs.Add((client, upstream));
                Accepted++;
            }
            _ = PumpAsync(client, upstream);
            _ = PumpAsync(upstream, client);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to)
    {
        var buffer = new byte[16384];
        try
        {
            var input = from.GetStream();
            var output = to.GetStream();
            while (true)
            {
                int n = await input.ReadAsync(buffer, _stop.Token);
                if (n == 0) break;
                await output.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
            to.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // the relay was cut or a side closed
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        Cut();
        if (_accepting is not null)
        {
            try { await _accepting; } catch (Exception) { /* stopped */ }
        }
        _stop.Dispose();
    }
}
