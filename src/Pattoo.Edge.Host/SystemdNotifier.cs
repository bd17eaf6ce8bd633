using System.Net.Sockets;
using System.Text;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Host;

/// <summary>
/// sd_notify(3) without libsystemd: one datagram per message to $NOTIFY_SOCKET. Does
/// nothing when not started by systemd with Type=notify.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;

    public SystemdNotifier()
    {
        var path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path)) return;
        // A leading '@' names a socket in the abstract namespace.
        if (path[0] == '@') path = "\0" + path[1..];
        try
        {
            _endpoint = new UnixDomainSocketEndPoint(path);
            _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        }
        catch (Exception e)
        {
            Log.Warning($"systemd: cannot use NOTIFY_SOCKET: {e.Message}");
        }
    }

    public bool Enabled => _socket is not null;

    /// <summary>Half the watchdog timeout systemd asked for (WatchdogSec=), or null.</summary>
    public static TimeSpan? WatchdogInterval()
    {
        var usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!long.TryParse(usec, out long us) || us <= 0) return null;
        if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)) return null;
        return TimeSpan.FromMicroseconds(us / 2);
    }

    public void Ready(string status) => Send($"READY=1\nSTATUS={status}\nMAINPID={Environment.ProcessId}");
    public void Reloading() => Send($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds()}");
    public void ReloadDone(string status) => Send($"READY=1\nSTATUS={status}");
    public void Stopping() => Send("STOPPING=1");
    public void Watchdog() => Send("WATCHDOG=1");
    public void Status(string status) => Send($"STATUS={status}");

    private void Send(string message)
    {
        if (_socket is null || _endpoint is null) return;
        try { _socket.SendTo(Encoding.UTF8.GetBytes(message), _endpoint); }
        catch (SocketException e) { Log.Debug($"systemd: notify failed: {e.Message}"); }
    }

    // Stopwatch reads CLOCK_MONOTONIC on Linux, the clock systemd compares against.
    private static long MonotonicMicroseconds() => (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000.0 / System.Diagnostics.Stopwatch.Frequency));

    public void Dispose() => _socket?.Dispose();
}
