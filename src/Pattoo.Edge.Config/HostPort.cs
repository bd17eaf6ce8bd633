using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Pattoo.Edge.Config;

/// <summary>A device's address as a config file writes it: "host", "host:port", "[v6]:port" or a bare IPv6 address.</summary>
public static class HostPort
{
    /// <summary>
    /// Parses <paramref name="text"/>; the port is <paramref name="defaultPort"/> when none is written.
    /// Host names must be valid DNS names or IPv4 addresses; IPv6 addresses are bracketed when a port follows.
    /// </summary>
    public static bool TryParse(string text, int defaultPort, out string host, out int port)
    {
        host = "";
        port = defaultPort;
        var s = text.Trim();
        if (s.Length == 0) return false;
        string portText = "";
        if (s.StartsWith('['))
        {
            int close = s.IndexOf(']');
            if (close < 0) return false;
            host = s[1..close];
            var rest = s[(close + 1)..];
            if (rest.Length > 0)
            {
                if (!rest.StartsWith(':')) return false;
                portText = rest[1..];
            }
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6) return false;
        }
        else if (s.Count(c => c == ':') > 1)
        {
            // A bare IPv6 address: no port.
            if (!IPAddress.TryParse(s, out _)) return false;
            host = s;
        }
        else
        {
            int colon = s.IndexOf(':');
            host = colon < 0 ? s : s[..colon];
            portText = colon < 0 ? "" : s[(colon + 1)..];
            if (host.Length == 0 || Uri.CheckHostName(host) is UriHostNameType.Unknown or UriHostNameType.IPv6) return false;
        }
        if (portText.Length > 0 || s.EndsWith(':'))
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535) return false;
        }
        return true;
    }
}
