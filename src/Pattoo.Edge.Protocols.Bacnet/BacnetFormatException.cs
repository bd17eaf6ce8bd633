using System.Diagnostics.CodeAnalysis;

namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>
/// The one exception the codec throws for malformed input: a datagram, NPDU, APDU or tagged
/// value that breaks ASHRAE 135. Valid but unwanted input (another PDU type, a network-layer
/// message) is reported through return values, never through this.
/// </summary>
public sealed class BacnetFormatException(string message) : Exception(message)
{
    [DoesNotReturn]
    internal static void Throw(string message) => throw new BacnetFormatException(message);

    [DoesNotReturn]
    internal static T Throw<T>(string message) => throw new BacnetFormatException(message);

    [DoesNotReturn]
    internal static void Truncated(string what, int needed, int available)
        => throw new BacnetFormatException($"{what}: needs {needed} bytes, {available} left");
}
