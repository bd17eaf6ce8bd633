using System.Net;
using System.Net.Sockets;

namespace Pattoo.Edge.Tests.Support;

/// <summary>
/// Ports free on 127.0.0.1 now, picked by the OS (its ephemeral range: high ports), so that tests
/// running in parallel never fight over a fixed port.
/// </summary>
internal static class FreePorts
{
    public static int Tcp() => Pick(SocketType.Stream, ProtocolType.Tcp);

    public static int Udp() => Pick(SocketType.Dgram, ProtocolType.Udp);

    private static int Pick(SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
