using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Pattoo.Edge.Api;

public enum Access { Denied, Read, Write }

/// <summary>
/// Decides what a request may do. Reads are open unless read tokens are set; writes
/// (ingest, mutations) need a write token or a client address in ingest_allow, because
/// pattoo agents send no token.
/// </summary>
public sealed class AccessPolicy(ApiOptions options)
{
    // Tokens are compared as SHA-256 digests: FixedTimeEquals returns at once on a length
    // mismatch, which would tell a client how long a configured token is.
    private readonly byte[][] _read = options.ReadTokens.Select(Digest).ToArray();
    private readonly byte[][] _write = options.WriteTokens.Select(Digest).ToArray();
    private readonly (string Name, byte[] Digest)[] _control = options.ControlTokens.Select(t => (t.Key, Digest(t.Value))).ToArray();

    /// <summary>Whether any control token is configured.</summary>
    public bool HasControlTokens => _control.Length > 0;

    /// <summary>
    /// Who the request is for write-back: the name of the control token it carries (null when it
    /// carries none, or one that is not a control token) and its client address.
    /// </summary>
    public Control.ControlCaller Caller(HttpContext context)
    {
        var token = BearerToken(context);
        string? name = null;
        if (token is not null)
        {
            var bytes = Digest(token);
            foreach (var (n, digest) in _control)
            {
                if (CryptographicOperations.FixedTimeEquals(digest, bytes)) name = n;
            }
        }
        var remote = context.Connection.RemoteIpAddress;
        return new Control.ControlCaller(name, token is not null, remote is null ? "unknown" : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString());
    }

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public Access Evaluate(HttpContext context)
    {
        var token = BearerToken(context);
        if (token is not null && Matches(_write, token)) return Access.Write;
        var remote = context.Connection.RemoteIpAddress;
        bool trustedNetwork = remote is not null && InNetworks(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);
        if (trustedNetwork) return Access.Write;
        if (_read.Length == 0) return Access.Read;
        // A control token reads too: the dashboard's write control shows the point it writes.
        return token is not null && (Matches(_read, token) || _control.Any(c => CryptographicOperations.FixedTimeEquals(c.Digest, Digest(token)))) ? Access.Read : Access.Denied;
    }

    private bool InNetworks(IPAddress address)
    {
        foreach (var n in options.IngestAllow)
        {
            if (n.Contains(address)) return true;
        }
        return false;
    }

    private static string? BearerToken(HttpContext context)
    {
        string? header = context.Request.Headers.Authorization;
        if (header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header[7..].Trim();
        return null;
    }

    private static bool Matches(byte[][] tokens, string candidate)
    {
        var bytes = Digest(candidate);
        bool found = false;
        foreach (var t in tokens) found |= CryptographicOperations.FixedTimeEquals(t, bytes);
        return found;
    }
}
