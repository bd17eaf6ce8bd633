using System.Diagnostics.CodeAnalysis;

namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>Why a frame was rejected.</summary>
public enum ModbusFrameError
{
    /// <summary>The CRC-16 of an RTU frame does not match its content.</summary>
    BadCrc,
    /// <summary>An MBAP header whose protocol identifier is not 0.</summary>
    BadProtocolId,
    /// <summary>A length field (MBAP length, byte count) that cannot be right.</summary>
    BadLength,
    /// <summary>A function code this codec cannot frame, or not the one asked for.</summary>
    UnexpectedFunction,
    /// <summary>A response whose byte count does not match the request's quantity.</summary>
    CountMismatch,
    /// <summary>An exception response carrying code 0.</summary>
    BadExceptionCode,
    /// <summary>A request field outside the spec's range (quantity 0, past address 65535).</summary>
    BadRequest,
}

/// <summary>Malformed Modbus data: the one exception type this codec throws for bad bytes.</summary>
public sealed class ModbusFormatException(ModbusFrameError error, string message) : Exception(message)
{
    public ModbusFrameError Error { get; } = error;

    [DoesNotReturn]
    internal static void Throw(ModbusFrameError error, string message) => throw new ModbusFormatException(error, message);
}
