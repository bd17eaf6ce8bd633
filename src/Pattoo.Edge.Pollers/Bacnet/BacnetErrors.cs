using Pattoo.Edge.Protocols.Bacnet;

namespace Pattoo.Edge.Pollers.Bacnet;

/// <summary>No answer (or no usable one) after every retry, or the socket failed: the whole poll of the device fails.</summary>
public sealed class BacnetTransportException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The device refused a whole request (Error, Reject or Abort) or every value it was asked for.</summary>
public sealed class BacnetDeviceException(string message) : Exception(message);

/// <summary>How a device answered a confirmed request: an acknowledgement with its service data, or a refusal.</summary>
internal enum ReplyKind { Ack, Error, Reject, Abort }

internal readonly record struct BacnetReply(ReplyKind Kind, byte[] Data, BacnetError Error, byte Reason)
{
    public static BacnetReply Ack(byte[] data) => new(ReplyKind.Ack, data, default, 0);

    /// <summary>"error property: unknown-property", "reject unrecognized-service", "abort segmentation-not-supported".</summary>
    public string Describe() => Kind switch
    {
        ReplyKind.Error => "error " + Error,
        ReplyKind.Reject => "reject " + BacnetNames.RejectReasonName(Reason),
        ReplyKind.Abort => "abort " + BacnetNames.AbortReasonName(Reason),
        _ => "ack",
    };

    /// <summary>The device does not do this service at all (a ReadPropertyMultiple refusal that means "use ReadProperty").</summary>
    public bool ServiceUnsupported => Kind switch
    {
        ReplyKind.Reject => Reason is 9 or 0, // unrecognized-service, other
        ReplyKind.Error => Error.Class == BacnetError.ClassServices,
        _ => false,
    };

    /// <summary>The answer would be too big: split the request.</summary>
    public bool TooBig => Kind switch
    {
        ReplyKind.Abort => Reason is 1 or 4 or 11 or 0, // buffer-overflow, segmentation-not-supported, apdu-too-long, other
        ReplyKind.Reject => Reason == 1,
        _ => false,
    };
}

/// <summary>What one shared UDP socket has seen, counted in a <see cref="Shared.Counters{TKey}"/>: read by the API (as socket.*) and the tests.</summary>
public enum BacnetSocketCounter
{
    Requests,
    Acks,
    Errors,
    Rejects,
    Aborts,
    Timeouts,
    Retries,
    /// <summary>Segments of segmented answers received.</summary>
    Segments,
    /// <summary>Datagrams dropped because they break BVLC, NPDU or APDU rules.</summary>
    Malformed,
    /// <summary>Answers nobody waits for: late, from the wrong address, or for an unknown invoke id.</summary>
    Unexpected,
    WhoIsSent,
    IAmReceived,
    /// <summary>COV notifications received for a subscription of this box.</summary>
    CovNotifications,
    /// <summary>COV notifications for no subscription of this box (one cancelled, or another client's).</summary>
    CovUnexpected,
}
