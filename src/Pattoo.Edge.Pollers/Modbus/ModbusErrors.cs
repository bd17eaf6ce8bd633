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
/// What a link (a TCP connection or a serial port, shared by its devices) has seen; read
/// by the API and the tests. Every rejected frame is counted here, never thrown past the poller.
/// </summary>
public sealed class ModbusLinkStatistics
{
    private long _requests, _responses, _exceptions, _timeouts, _retries, _crcErrors, _garbled,
        _wrongTransaction, _wrongUnit, _discardedBytes, _connects, _connectFailures, _connectionLosses,
        _echoesChecked, _echoMismatches, _unexpectedEchoes;

    public long Requests => Volatile.Read(ref _requests);
    public long Responses => Volatile.Read(ref _responses);
    public long ExceptionResponses => Volatile.Read(ref _exceptions);
    public long Timeouts => Volatile.Read(ref _timeouts);
    public long Retries => Volatile.Read(ref _retries);
    public long CrcErrors => Volatile.Read(ref _crcErrors);
    /// <summary>Frames rejected for anything but their CRC: lengths, function codes, byte counts.</summary>
    public long GarbledFrames => Volatile.Read(ref _garbled);
    public long WrongTransactionIds => Volatile.Read(ref _wrongTransaction);
    public long WrongUnitIds => Volatile.Read(ref _wrongUnit);
    /// <summary>Bytes dropped between frames: late answers, line noise.</summary>
    public long DiscardedBytes => Volatile.Read(ref _discardedBytes);
    public long Connects => Volatile.Read(ref _connects);
    public long ConnectFailures => Volatile.Read(ref _connectFailures);
    public long ConnectionLosses => Volatile.Read(ref _connectionLosses);
    /// <summary>Requests whose echo was read and compared (serial ports with echo = true).</summary>
    public long EchoesChecked => Volatile.Read(ref _echoesChecked);
    /// <summary>Echoes that were missing, cut short, or differed from the request.</summary>
    public long EchoMismatches => Volatile.Read(ref _echoMismatches);
    /// <summary>Our own request read back on a port set up without echo (the adapter echoes: set echo = true).</summary>
    public long UnexpectedEchoes => Volatile.Read(ref _unexpectedEchoes);

    internal void Request() => Interlocked.Increment(ref _requests);
    internal void Response() => Interlocked.Increment(ref _responses);
    internal void ExceptionResponse() => Interlocked.Increment(ref _exceptions);
    internal void Timeout() => Interlocked.Increment(ref _timeouts);
    internal void Retry() => Interlocked.Increment(ref _retries);
    internal void WrongTransaction() => Interlocked.Increment(ref _wrongTransaction);
    internal void WrongUnit() => Interlocked.Increment(ref _wrongUnit);
    internal void Discarded(long bytes) { if (bytes > 0) Interlocked.Add(ref _discardedBytes, bytes); }
    internal void Connected() => Interlocked.Increment(ref _connects);
    internal void ConnectFailed() => Interlocked.Increment(ref _connectFailures);
    internal void ConnectionLost() => Interlocked.Increment(ref _connectionLosses);
    internal void EchoChecked() => Interlocked.Increment(ref _echoesChecked);
    internal void EchoMismatch() => Interlocked.Increment(ref _echoMismatches);
    internal void UnexpectedEcho() => Interlocked.Increment(ref _unexpectedEchoes);

    internal void Rejected(ModbusFrameError error)
    {
        if (error == ModbusFrameError.BadCrc) Interlocked.Increment(ref _crcErrors);
        else Interlocked.Increment(ref _garbled);
    }

    public override string ToString()
        => $"requests {Requests}, responses {Responses}, exceptions {ExceptionResponses}, timeouts {Timeouts}, retries {Retries}, "
         + $"CRC errors {CrcErrors}, garbled {GarbledFrames}, wrong transaction {WrongTransactionIds}, wrong unit {WrongUnitIds}, "
         + $"discarded bytes {DiscardedBytes}, connects {Connects}, connect failures {ConnectFailures}, connections lost {ConnectionLosses}, "
         + $"echoes checked {EchoesChecked}, echo mismatches {EchoMismatches}, unexpected echoes {UnexpectedEchoes}";
}
