using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>Why a request got no usable answer.</summary>
public enum ModbusFailure
{
    /// <summary>No (matching) answer within the timeout, after every retry.</summary>
    Timeout,
    /// <summary>Answers arrived but were rejected (CRC, length, function), after every retry.</summary>
    Garbled,
    /// <summary>The connection or port could not be opened, or was lost.</summary>
    Connection,
    /// <summary>Serial support is missing: libSystem.IO.Ports.Native.so could not be loaded.</summary>
    SerialSupportMissing,
}

/// <summary>A request that failed on the way: the whole poll of the device fails with it.</summary>
public sealed class ModbusTransportException(ModbusFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public ModbusFailure Failure { get; } = failure;
}

/// <summary>
/// The echo of a request (transport "rtu" with <c>echo = true</c>) was missing or differed from
/// the request, or (<see cref="Unexpected"/>, <c>echo = false</c>) our own request came back
/// before the answer. Handled like a garbled frame: counted, retried, never thrown past the link.
/// </summary>
internal sealed class ModbusEchoException(string message, bool unexpected = false, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The line echoed our request although the port is set up without echo.</summary>
    public bool Unexpected { get; } = unexpected;
}

/// <summary>The unit answered with an exception code to a read.</summary>
public sealed class ModbusDeviceException(string message, ModbusExceptionCode code) : Exception(message)
{
    public ModbusExceptionCode Code { get; } = code;
}

/// <summary>
/// What a link (a TCP connection or a serial port, shared by its devices) has seen, counted in a
/// <see cref="Shared.Counters{TKey}"/>: read by the API (as link.*) and the tests. Every rejected
/// frame is counted here, never thrown past the poller.
/// </summary>
public enum ModbusLinkCounter
{
    Requests,
    Responses,
    ExceptionResponses,
    Timeouts,
    Retries,
    CrcErrors,
    /// <summary>Frames rejected for anything but their CRC: lengths, function codes, byte counts.</summary>
    GarbledFrames,
    WrongTransactionIds,
    WrongUnitIds,
    /// <summary>Bytes dropped between frames: late answers, line noise.</summary>
    DiscardedBytes,
    Connects,
    ConnectFailures,
    ConnectionLosses,
    /// <summary>Requests whose echo was read and compared (serial ports with echo = true).</summary>
    EchoesChecked,
    /// <summary>Echoes that were missing, cut short, or differed from the request.</summary>
    EchoMismatches,
    /// <summary>Our own request read back on a port set up without echo (the adapter echoes: set echo = true).</summary>
    UnexpectedEchoes,
}
