namespace Pattoo.Edge.Protocols.Snmp;

/// <summary>The msgVersion field: 0 for SNMPv1, 1 for SNMPv2c, 3 for SNMPv3 (RFC 3412 sec 6).</summary>
public enum SnmpVersion
{
    V1 = 0,
    V2c = 1,
    V3 = 3,
}

/// <summary>PDU tags: context-specific, constructed (RFC 3416 sec 3).</summary>
public enum PduType : byte
{
    GetRequest = 0xA0,
    GetNextRequest = 0xA1,
    Response = 0xA2,
    SetRequest = 0xA3,
    TrapV1 = 0xA4,
    GetBulkRequest = 0xA5,
    InformRequest = 0xA6,
    TrapV2 = 0xA7,
    Report = 0xA8,
}

/// <summary>
/// The identifier octet of a varbind value (RFC 2578 sec 7.1, RFC 3416 sec 3): universal
/// INTEGER, OCTET STRING, NULL, OBJECT IDENTIFIER, the SMI application types and the three
/// context-specific exceptions of SNMPv2.
/// </summary>
public enum SnmpValueType : byte
{
    Integer = 0x02,
    OctetString = 0x04,
    Null = 0x05,
    ObjectIdentifier = 0x06,
    IpAddress = 0x40,
    Counter32 = 0x41,
    Gauge32 = 0x42,
    TimeTicks = 0x43,
    Opaque = 0x44,
    Counter64 = 0x46,
    NoSuchObject = 0x80,
    NoSuchInstance = 0x81,
    EndOfMibView = 0x82,
}

/// <summary>error-status of a response (RFC 3416 sec 3; 0-5 are SNMPv1's).</summary>
public enum SnmpErrorStatus
{
    NoError = 0,
    TooBig = 1,
    NoSuchName = 2,
    BadValue = 3,
    ReadOnly = 4,
    GenErr = 5,
    NoAccess = 6,
    WrongType = 7,
    WrongLength = 8,
    WrongEncoding = 9,
    WrongValue = 10,
    NoCreation = 11,
    InconsistentValue = 12,
    ResourceUnavailable = 13,
    CommitFailed = 14,
    UndoFailed = 15,
    AuthorizationError = 16,
    NotWritable = 17,
    InconsistentName = 18,
}

/// <summary>msgFlags bits (RFC 3412 sec 6.4).</summary>
[Flags]
public enum SnmpV3Flags : byte
{
    None = 0,
    Auth = 1,
    Priv = 2,
    Reportable = 4,
}

/// <summary>A slice of a buffer: where a field lies in the datagram it was read from.</summary>
public readonly record struct Segment(int Offset, int Length)
{
    public int End => Offset + Length;
    public ReadOnlySpan<byte> Of(ReadOnlySpan<byte> buffer) => buffer.Slice(Offset, Length);
    public Span<byte> Of(Span<byte> buffer) => buffer.Slice(Offset, Length);
}

public static class SnmpValueTypes
{
    /// <summary>True for noSuchObject, noSuchInstance and endOfMibView.</summary>
    public static bool IsException(this SnmpValueType t) => (byte)t >= 0x80;

    public static string Name(this SnmpValueType t) => t switch
    {
        SnmpValueType.Integer => "INTEGER",
        SnmpValueType.OctetString => "OCTET STRING",
        SnmpValueType.Null => "NULL",
        SnmpValueType.ObjectIdentifier => "OBJECT IDENTIFIER",
        SnmpValueType.IpAddress => "IpAddress",
        SnmpValueType.Counter32 => "Counter32",
        SnmpValueType.Gauge32 => "Gauge32",
        SnmpValueType.TimeTicks => "TimeTicks",
        SnmpValueType.Opaque => "Opaque",
        SnmpValueType.Counter64 => "Counter64",
        SnmpValueType.NoSuchObject => "noSuchObject",
        SnmpValueType.NoSuchInstance => "noSuchInstance",
        SnmpValueType.EndOfMibView => "endOfMibView",
        _ => $"tag 0x{(byte)t:X2}",
    };

    public static string Name(this SnmpErrorStatus s) => s switch
    {
        SnmpErrorStatus.NoError => "noError",
        SnmpErrorStatus.TooBig => "tooBig",
        SnmpErrorStatus.NoSuchName => "noSuchName",
        SnmpErrorStatus.BadValue => "badValue",
        SnmpErrorStatus.ReadOnly => "readOnly",
        SnmpErrorStatus.GenErr => "genErr",
        SnmpErrorStatus.NoAccess => "noAccess",
        SnmpErrorStatus.WrongType => "wrongType",
        SnmpErrorStatus.WrongLength => "wrongLength",
        SnmpErrorStatus.WrongEncoding => "wrongEncoding",
        SnmpErrorStatus.WrongValue => "wrongValue",
        SnmpErrorStatus.NoCreation => "noCreation",
        SnmpErrorStatus.InconsistentValue => "inconsistentValue",
        SnmpErrorStatus.ResourceUnavailable => "resourceUnavailable",
        SnmpErrorStatus.CommitFailed => "commitFailed",
        SnmpErrorStatus.UndoFailed => "undoFailed",
        SnmpErrorStatus.NotWritable => "notWritable",
        SnmpErrorStatus.InconsistentName => "inconsistentName",
        SnmpErrorStatus.AuthorizationError => "authorizationError",
        _ => $"error-status {(int)s}",
    };
}
