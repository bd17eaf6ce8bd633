using System.Security.Cryptography;
using System.Text;

namespace Pattoo.Edge.Common;

/// <summary>Checksums as pattoo computes them, so a series keeps its identity in both systems.</summary>
public static class PattooChecksum
{
    /// <summary>
    /// The checksum a pattoo agent computes for a datapoint (pattoo_checksum), as
    /// pattoo-shared does: SHA-256 of the lower-cased key and the data type code ("None"
    /// for no type), then chained with each metadata name and value in order, then with the
    /// agent's hostname, id, polled target and program (docs/pattoo-compat.md section 1).
    /// </summary>
    public static string ForDatapoint(AgentIdentity agent, string key, DataType dataType, IReadOnlyList<KeyValuePair<string, string>> metadata)
    {
        string code = dataType == DataType.None ? "None" : ((int)dataType).ToString(System.Globalization.CultureInfo.InvariantCulture);
        string c = Sha256Hex(key.Trim().ToLowerInvariant() + code);
        foreach (var kv in metadata) c = Sha256Hex(string.Concat(c, kv.Key, kv.Value.Trim()));
        c = Sha256Hex(string.Concat(c, "pattoo_agent_hostname", agent.Hostname));
        c = Sha256Hex(string.Concat(c, "pattoo_agent_id", agent.AgentId));
        c = Sha256Hex(string.Concat(c, "pattoo_agent_polled_target", agent.PolledTarget));
        c = Sha256Hex(string.Concat(c, "pattoo_agent_program", agent.Program));
        return c;
    }

    /// <summary>pattoo's stored datapoint checksum: SHA-512 of agent id + polled target + agent checksum.</summary>
    public static string ForStoredDatapoint(string agentId, string polledTarget, string agentChecksum)
        => Sha512Hex(string.Concat(agentId, polledTarget, agentChecksum));

    /// <summary>
    /// pattoo agents make a random id once and keep it in a file; the in-process pollers
    /// derive theirs from the appliance name and program, so it survives reinstalls.
    /// Same form as pattoo's (64 hex characters of SHA-256).
    /// </summary>
    public static string AgentIdFor(string applianceName, string program)
        => Sha256Hex(string.Concat("pattoo-edge:", applianceName, ":", program));

    public static string Sha512Hex(string text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        Span<byte> buf = max <= 1024 ? stackalloc byte[max] : (rented = new byte[max]);
        int n = Encoding.UTF8.GetBytes(text, buf);
        Span<byte> hash = stackalloc byte[64];
        SHA512.HashData(buf[..n], hash);
        return Convert.ToHexStringLower(hash);
    }

    public static string Sha256Hex(string text)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return Convert.ToHexStringLower(hash);
    }
}
