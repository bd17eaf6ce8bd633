namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>Exception codes a server answers with (MODBUS Application Protocol V1.1b3, sec 7).</summary>
public enum ModbusExceptionCode : byte
{
    /// <summary>Not an exception: the server answered with data.</summary>
    None = 0,
    IllegalFunction = 1,
    IllegalDataAddress = 2,
    IllegalDataValue = 3,
    ServerDeviceFailure = 4,
    Acknowledge = 5,
    ServerDeviceBusy = 6,
    NegativeAcknowledge = 7,
    MemoryParityError = 8,
    GatewayPathUnavailable = 10,
    GatewayTargetFailedToRespond = 11,
}

public static class ModbusExceptionCodes
{
    /// <summary>"exception 2 (illegal data address)"; codes outside the spec are shown by number.</summary>
    public static string Describe(this ModbusExceptionCode code) => $"exception {(byte)code} ({Text(code)})";

    public static string Text(this ModbusExceptionCode code) => code switch
    {
        ModbusExceptionCode.IllegalFunction => "illegal function: the unit does not support this table",
        ModbusExceptionCode.IllegalDataAddress => "illegal data address",
        ModbusExceptionCode.IllegalDataValue => "illegal data value",
        ModbusExceptionCode.ServerDeviceFailure => "server device failure",
        ModbusExceptionCode.Acknowledge => "acknowledge: still processing",
        ModbusExceptionCode.ServerDeviceBusy => "server device busy",
        ModbusExceptionCode.NegativeAcknowledge => "negative acknowledge",
        ModbusExceptionCode.MemoryParityError => "memory parity error",
        ModbusExceptionCode.GatewayPathUnavailable => "gateway path unavailable",
        ModbusExceptionCode.GatewayTargetFailedToRespond => "gateway target device failed to respond",
        _ => "unknown exception code",
    };

    /// <summary>
    /// True when the code says the unit itself cannot answer now (busy, failed, unreachable
    /// behind a gateway), as opposed to refusing this one request.
    /// </summary>
    public static bool IsUnitUnavailable(this ModbusExceptionCode code)
        => code is ModbusExceptionCode.ServerDeviceBusy or ModbusExceptionCode.Acknowledge
            or ModbusExceptionCode.GatewayPathUnavailable or ModbusExceptionCode.GatewayTargetFailedToRespond;
}
