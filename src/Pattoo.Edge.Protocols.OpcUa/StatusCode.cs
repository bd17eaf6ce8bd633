using System.Globalization;

namespace Pattoo.Edge.Protocols.OpcUa;

/// <summary>
/// A 32-bit OPC UA StatusCode (Part 4, sec 7.39): the top two bits give the severity
/// (00 Good, 01 Uncertain, 10 Bad), the next 14 the code, the low 16 info bits.
/// </summary>
public readonly partial record struct StatusCode(uint Code)
{
    public static readonly StatusCode Good = new(0);
    public static readonly StatusCode BadUnexpectedError = new(0x80010000);
    public static readonly StatusCode BadCommunicationError = new(0x80050000);
    public static readonly StatusCode BadDecodingError = new(0x80070000);
    public static readonly StatusCode BadTimeout = new(0x800A0000);
    public static readonly StatusCode BadSecurityChecksFailed = new(0x80130000);
    public static readonly StatusCode BadCertificateUntrusted = new(0x801A0000);
    public static readonly StatusCode BadUserAccessDenied = new(0x801F0000);
    public static readonly StatusCode BadIdentityTokenRejected = new(0x80210000);
    public static readonly StatusCode BadSessionIdInvalid = new(0x80250000);
    public static readonly StatusCode BadSessionClosed = new(0x80260000);
    public static readonly StatusCode BadSubscriptionIdInvalid = new(0x80280000);
    public static readonly StatusCode BadNodeIdUnknown = new(0x80340000);
    public static readonly StatusCode BadTooManyPublishRequests = new(0x80780000);
    public static readonly StatusCode BadNoSubscription = new(0x80790000);
    public static readonly StatusCode BadSequenceNumberUnknown = new(0x807A0000);
    public static readonly StatusCode BadMessageNotAvailable = new(0x807B0000);
    public static readonly StatusCode BadTcpMessageTooLarge = new(0x80800000);
    public static readonly StatusCode BadSecureChannelClosed = new(0x80860000);
    public static readonly StatusCode BadSecureChannelTokenUnknown = new(0x80870000);

    public bool IsGood => (Code & 0xC0000000) == 0;
    public bool IsUncertain => (Code & 0xC0000000) == 0x40000000;
    public bool IsBad => (Code & 0x80000000) != 0;

    /// <summary>The code without its info bits, for comparisons.</summary>
    public uint CodeBits => Code & 0xFFFF0000;

    /// <summary>"BadNodeIdUnknown (0x80340000)"; unknown codes print as hex alone.</summary>
    public override string ToString()
    {
        string hex = "0x" + Code.ToString("X8", CultureInfo.InvariantCulture);
        string? name = Lookup(Code) ?? Lookup(CodeBits);
        return name is null ? hex : $"{name} ({hex})";
    }

    /// <summary>The symbolic name ("BadNodeIdUnknown") or hex.</summary>
    public string Name => Lookup(Code) ?? Lookup(CodeBits) ?? "0x" + Code.ToString("X8", CultureInfo.InvariantCulture);
}
