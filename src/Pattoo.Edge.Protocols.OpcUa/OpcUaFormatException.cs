using System.Diagnostics.CodeAnalysis;

namespace Pattoo.Edge.Protocols.OpcUa;

/// <summary>Why bytes were rejected.</summary>
public enum OpcUaFormatError
{
    /// <summary>The data ends before the field it announces (a length past the end, a cut message).</summary>
    Truncated,
    /// <summary>A length, count or size that cannot be right (negative, beyond the limits).</summary>
    BadLength,
    /// <summary>An encoding byte, type id or enum value this codec does not know.</summary>
    BadEncoding,
    /// <summary>Structures nested deeper than the codec allows (Variant in Variant, DiagnosticInfo).</summary>
    TooDeep,
    /// <summary>A UA-TCP header that is not HEL/ACK/ERR/OPN/MSG/CLO with F/C/A, or a size outside the limits.</summary>
    BadHeader,
    /// <summary>A signature that does not verify, a padding that is wrong, a block that does not decrypt.</summary>
    BadSecurity,
    /// <summary>A chunk that does not fit the channel (unknown channel id or token, sequence gap, limits).</summary>
    BadSequence,
    /// <summary>A string form of a NodeId that does not parse.</summary>
    BadNodeId,
}

/// <summary>Malformed OPC UA data: the one exception type this codec throws for bad bytes.</summary>
public sealed class OpcUaFormatException(OpcUaFormatError error, string message) : Exception(message)
{
    public OpcUaFormatError Error { get; } = error;

    [DoesNotReturn]
    internal static void Throw(OpcUaFormatError error, string message) => throw new OpcUaFormatException(error, message);

    [DoesNotReturn]
    internal static void Truncated(string what) => throw new OpcUaFormatException(OpcUaFormatError.Truncated, $"data ends inside {what}");
}
