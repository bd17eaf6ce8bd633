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

/// <summary>What one shared UDP socket has seen; read by the API and the tests.</summary>
public sealed class BacnetTransportStatistics
{
    private long _requests, _acks, _errors, _rejects, _aborts, _timeouts, _retries, _segments, _malformed, _unexpected, _whoIs, _iAm;

    public long Requests => Volatile.Read(ref _requests);
    public long Acks => Volatile.Read(ref _acks);
    public long Errors => Volatile.Read(ref _errors);
    public long Rejects => Volatile.Read(ref _rejects);
    public long Aborts => Volatile.Read(ref _aborts);
    public long Timeouts => Volatile.Read(ref _timeouts);
    public long Retries => Volatile.Read(ref _retries);
    /// <summary>Segments of segmented answers received.</summary>
    public long Segments => Volatile.Read(ref _segments);
    /// <summary>Datagrams dropped because they break BVLC, NPDU or APDU rules.</summary>
    public long Malformed => Volatile.Read(ref _malformed);
    /// <summary>Answers nobody waits for: late, from the wrong address, or for an unknown invoke id.</summary>
    public long Unexpected => Volatile.Read(ref _unexpected);
    public long WhoIsSent => Volatile.Read(ref _whoIs);
    public long IAmReceived => Volatile.Read(ref _iAm);

    internal void Request() => Interlocked.Increment(ref _requests);
    internal void Reply(ReplyKind kind)
    {
        switch (kind)
        {
            case ReplyKind.Ack: Interlocked.Increment(ref _acks); break;
            case ReplyKind.Error: Interlocked.Increment(ref _errors); break;
            case ReplyKind.Reject: Interlocked.Increment(ref _rejects); break;
            default: Interlocked.Increment(ref _aborts); break;
        }
    }
    internal void Timeout() => Interlocked.Increment(ref _timeouts);
    internal void Retry() => Interlocked.Increment(ref _retries);
    internal void Segment() => Interlocked.Increment(ref _segments);
    internal void MalformedDatagram() => Interlocked.Increment(ref _malformed);
    internal void UnexpectedDatagram() => Interlocked.Increment(ref _unexpected);
    internal void WhoIs() => Interlocked.Increment(ref _whoIs);
    internal void IAm() => Interlocked.Increment(ref _iAm);

    public override string ToString()
        => $"requests {Requests}, acks {Acks}, errors {Errors}, rejects {Rejects}, aborts {Aborts}, timeouts {Timeouts}, retries {Retries}, "
         + $"segments {Segments}, malformed {Malformed}, unexpected {Unexpected}, who-is {WhoIsSent}, i-am {IAmReceived}";
}
