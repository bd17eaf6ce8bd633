namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>APDU types (clause 20.1.1, the high nibble of the first octet).</summary>
public enum PduType : byte
{
    ConfirmedRequest = 0,
    UnconfirmedRequest = 1,
    SimpleAck = 2,
    ComplexAck = 3,
    SegmentAck = 4,
    Error = 5,
    Reject = 6,
    Abort = 7,
}

/// <summary>Service choices used here (clause 21).</summary>
public static class BacnetService
{
    public const byte ConfirmedCovNotification = 1;
    public const byte SubscribeCov = 5;
    public const byte ReadProperty = 12;
    public const byte ReadPropertyMultiple = 14;
    public const byte WriteProperty = 15;
    public const byte IAm = 0;
    public const byte WhoIs = 8;
    public const byte UnconfirmedCovNotification = 2;

    public static string Name(byte confirmedChoice) => confirmedChoice switch
    {
        ReadProperty => "read-property",
        ReadPropertyMultiple => "read-property-multiple",
        WriteProperty => "write-property",
        SubscribeCov => "subscribe-cov",
        ConfirmedCovNotification => "confirmed-cov-notification",
        _ => "service " + confirmedChoice,
    };
}

/// <summary>
/// The fixed part of an APDU (clause 20.1): its type and flags, invoke id, segment numbers,
/// service choice, or the reason of a Reject or Abort. <see cref="Length"/> is where the
/// service data starts.
/// </summary>
public readonly record struct ApduHeader(
    PduType Type, byte Flags, byte InvokeId, byte ServiceChoice, byte SequenceNumber, byte ProposedWindowSize,
    int MaxSegments, int MaxApdu, byte Reason, int Length)
{
    public bool Segmented => Type is PduType.ConfirmedRequest or PduType.ComplexAck && (Flags & 0x08) != 0;
    public bool MoreFollows => Type is PduType.ConfirmedRequest or PduType.ComplexAck && (Flags & 0x04) != 0;
    public bool SegmentedResponseAccepted => Type == PduType.ConfirmedRequest && (Flags & 0x02) != 0;
    /// <summary>Segment-ACK: a negative acknowledgement.</summary>
    public bool Negative => Type == PduType.SegmentAck && (Flags & 0x02) != 0;
    /// <summary>Segment-ACK and Abort: sent by the server.</summary>
    public bool FromServer => Type is PduType.SegmentAck or PduType.Abort && (Flags & 0x01) != 0;
}

/// <summary>APDU headers (ASHRAE 135 clause 20.1): reading every type, writing the requests a client sends.</summary>
public static class Apdu
{
    /// <summary>Max-APDU-length-accepted codes (clause 20.1.2.5), index = code.</summary>
    private static readonly int[] MaxApduSizes = [50, 128, 206, 480, 1024, 1476];
    /// <summary>Max-segments-accepted codes (clause 20.1.2.4), index = code; 0 = unspecified, 7 = more than 64.</summary>
    private static readonly int[] MaxSegmentCounts = [0, 2, 4, 8, 16, 32, 64, 65];

    public const int MaxApduLength = 1476;
    public const int ConfirmedRequestHeaderLength = 4;

    /// <summary>True for a size the max-APDU field can state: 50, 128, 206, 480, 1024 or 1476.</summary>
    public static bool IsEncodableMaxApdu(int size) => Array.IndexOf(MaxApduSizes, size) >= 0;

    public static int EncodeMaxApdu(int size)
    {
        for (int i = MaxApduSizes.Length - 1; i >= 0; i--)
        {
            if (size >= MaxApduSizes[i]) return i;
        }
        return 0;
    }

    /// <summary>Segment counts per code; the largest code not above <paramref name="segments"/>.</summary>
    public static int EncodeMaxSegments(int segments)
    {
        for (int i = MaxSegmentCounts.Length - 1; i >= 1; i--)
        {
            if (segments >= MaxSegmentCounts[i]) return i;
        }
        return 0;
    }

    /// <summary>Reads the header of any APDU.</summary>
    /// <exception cref="BacnetFormatException">a truncated header or a type 8-15.</exception>
    public static ApduHeader Read(ReadOnlySpan<byte> apdu)
    {
        if (apdu.IsEmpty) BacnetFormatException.Throw("empty APDU");
        byte first = apdu[0];
        var type = (PduType)(first >> 4);
        byte flags = (byte)(first & 0x0F);
        switch (type)
        {
            case PduType.ConfirmedRequest:
            {
                bool seg = (flags & 0x08) != 0;
                int length = seg ? 6 : 4;
                Need(apdu, length, "Confirmed-Request");
                int maxSegCode = (apdu[1] >> 4) & 0x07, maxApduCode = apdu[1] & 0x0F;
                int maxApdu = maxApduCode < MaxApduSizes.Length ? MaxApduSizes[maxApduCode] : BacnetFormatException.Throw<int>($"max-APDU code {maxApduCode} is reserved");
                return new ApduHeader(type, flags, apdu[2], apdu[seg ? 5 : 3], seg ? apdu[3] : (byte)0, seg ? apdu[4] : (byte)0,
                    MaxSegmentCounts[maxSegCode], maxApdu, 0, length);
            }
            case PduType.UnconfirmedRequest:
                Need(apdu, 2, "Unconfirmed-Request");
                return new ApduHeader(type, flags, 0, apdu[1], 0, 0, 0, 0, 0, 2);
            case PduType.SimpleAck:
                Need(apdu, 3, "Simple-ACK");
                return new ApduHeader(type, flags, apdu[1], apdu[2], 0, 0, 0, 0, 0, 3);
            case PduType.ComplexAck:
            {
                bool seg = (flags & 0x08) != 0;
                int length = seg ? 5 : 3;
                Need(apdu, length, "Complex-ACK");
                if (seg && apdu[4] == 0) BacnetFormatException.Throw("Complex-ACK segment with a proposed window size of 0");
                return new ApduHeader(type, flags, apdu[1], apdu[seg ? 4 : 2], seg ? apdu[2] : (byte)0, seg ? apdu[3] : (byte)0, 0, 0, 0, length);
            }
            case PduType.SegmentAck:
                Need(apdu, 4, "Segment-ACK");
                return new ApduHeader(type, flags, apdu[1], 0, apdu[2], apdu[3], 0, 0, 0, 4);
            case PduType.Error:
                Need(apdu, 3, "Error");
                return new ApduHeader(type, flags, apdu[1], apdu[2], 0, 0, 0, 0, 0, 3);
            case PduType.Reject:
                Need(apdu, 3, "Reject");
                return new ApduHeader(type, flags, apdu[1], 0, 0, 0, 0, 0, apdu[2], 3);
            case PduType.Abort:
                Need(apdu, 3, "Abort");
                return new ApduHeader(type, flags, apdu[1], 0, 0, 0, 0, 0, apdu[2], 3);
            default:
                return BacnetFormatException.Throw<ApduHeader>($"APDU type {(int)type} is reserved");
        }
    }

    private static void Need(ReadOnlySpan<byte> apdu, int length, string what)
    {
        if (apdu.Length < length) BacnetFormatException.Truncated(what + " header", length, apdu.Length);
    }

    /// <summary>
    /// The 4-octet header of an unsegmented Confirmed-Request (clause 20.1.2): segmented
    /// responses accepted (SA) when <paramref name="maxSegmentsAccepted"/> is above 1.
    /// </summary>
    public static bool TryWriteConfirmedRequestHeader(Span<byte> destination, byte invokeId, byte service, int maxApduAccepted, int maxSegmentsAccepted, out int written)
    {
        written = 0;
        if (destination.Length < ConfirmedRequestHeaderLength) return false;
        bool segmentedAccepted = maxSegmentsAccepted > 1;
        destination[0] = (byte)(segmentedAccepted ? 0x02 : 0x00);
        destination[1] = (byte)((segmentedAccepted ? EncodeMaxSegments(maxSegmentsAccepted) << 4 : 0) | EncodeMaxApdu(maxApduAccepted));
        destination[2] = invokeId;
        destination[3] = service;
        written = ConfirmedRequestHeaderLength;
        return true;
    }

    /// <summary>A Segment-ACK (clause 20.1.6) sent by a client: acknowledges segments up to <paramref name="sequenceNumber"/>, or asks for a resend after it when negative.</summary>
    public static bool TryWriteSegmentAck(Span<byte> destination, bool negative, byte invokeId, byte sequenceNumber, byte actualWindowSize, out int written)
    {
        written = 0;
        if (destination.Length < 4) return false;
        destination[0] = (byte)(0x40 | (negative ? 0x02 : 0));
        destination[1] = invokeId;
        destination[2] = sequenceNumber;
        destination[3] = actualWindowSize;
        written = 4;
        return true;
    }

    /// <summary>An Abort sent by a client (clause 20.1.9), e.g. to give up a segmented answer.</summary>
    /// <summary>A Simple-ACK (clause 20.1.4): the answer to a confirmed request that carries no data (a confirmed COV notification).</summary>
    public static bool TryWriteSimpleAck(Span<byte> destination, byte invokeId, byte service, out int written)
    {
        written = 0;
        if (destination.Length < 3) return false;
        destination[0] = (byte)((int)PduType.SimpleAck << 4);
        destination[1] = invokeId;
        destination[2] = service;
        written = 3;
        return true;
    }

    public static bool TryWriteAbort(Span<byte> destination, byte invokeId, byte reason, out int written)
    {
        written = 0;
        if (destination.Length < 3) return false;
        destination[0] = 0x70;
        destination[1] = invokeId;
        destination[2] = reason;
        written = 3;
        return true;
    }
}
