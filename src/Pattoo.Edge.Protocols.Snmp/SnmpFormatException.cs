using System.Diagnostics.CodeAnalysis;

namespace Pattoo.Edge.Protocols.Snmp;

/// <summary>
/// A datagram that is not a well-formed SNMP message: bad BER, a field of the wrong type or
/// size, trailing bytes. The only exception the decoder throws for malformed input.
/// </summary>
public sealed class SnmpFormatException : Exception
{
    public SnmpFormatException(string message) : base(message) { }
    public SnmpFormatException(string message, Exception inner) : base(message, inner) { }

    [DoesNotReturn]
    internal static void Throw(string message) => throw new SnmpFormatException(message);

    [DoesNotReturn]
    internal static T Throw<T>(string message) => throw new SnmpFormatException(message);
}
