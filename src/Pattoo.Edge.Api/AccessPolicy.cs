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

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public Access Evaluate(HttpContext context)
    {
        var token = BearerToken(context);
        if (token is not null && Matches(_write, token)) return Access.Write;
        var remote = context.Connection.RemoteIpAddress;
        bool trustedNetwork = remote is not null && InNetworks(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);
        if (trustedNetwork) return Access.Write;
        if (_read.Length == 0) return Access.Read;
        return token is not null && Matches(_read, token) ? Access.Read : Access.Denied;
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
