namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>What the client does after a segment arrived.</summary>
public enum SegmentAction
{
    /// <summary>Keep waiting: the window is not full yet, or the segment cannot start an answer.</summary>
    Wait,
    /// <summary>Send a Segment-ACK for <see cref="SegmentAssembler.AckSequence"/>.</summary>
    Ack,
    /// <summary>Send a negative Segment-ACK for <see cref="SegmentAssembler.AckSequence"/> (a segment was lost or repeated).</summary>
    NegativeAck,
    /// <summary>The last segment arrived: send the final Segment-ACK, then use <see cref="SegmentAssembler.Data"/>.</summary>
    Complete,
}

/// <summary>
/// Reassembles a segmented Complex-ACK as the client side of clause 5.4.5 (state
/// SEGMENTED_CONF): acknowledges the first segment and then every window of
/// <see cref="ActualWindow"/> segments, asks for a resend from the last good segment when one
/// arrives out of order, and concatenates the service data. Pure logic: the caller sends the
/// acknowledgements and keeps the timers.
/// </summary>
public sealed class SegmentAssembler(int maxWindow = 16, int maxBytes = 1 << 20)
{
    private byte[] _data = new byte[2048];
    private int _length;
    private bool _started;
    private byte _last;
    private byte _windowStart;

    public byte ServiceChoice { get; private set; }
    public byte ActualWindow { get; private set; } = 1;
    public byte AckSequence { get; private set; }
    public int Segments { get; private set; }
    public ReadOnlySpan<byte> Data => _data.AsSpan(0, _length);

    /// <summary>Takes one segment: its header and the service data after it.</summary>
    /// <exception cref="BacnetFormatException">not a segment of a Complex-ACK, a change of service, or more than the byte limit.</exception>
    public SegmentAction Accept(in ApduHeader header, ReadOnlySpan<byte> serviceData)
    {
        if (header.Type != PduType.ComplexAck || !header.Segmented) BacnetFormatException.Throw("not a segment of a Complex-ACK");
        if (!_started)
        {
            if (header.SequenceNumber != 0) return SegmentAction.Wait; // the server resends segment 0 when it gets no ACK
            _started = true;
            ServiceChoice = header.ServiceChoice;
            ActualWindow = (byte)Math.Clamp(header.ProposedWindowSize, 1, Math.Clamp(maxWindow, 1, 127));
            _last = _windowStart = 0;
            Append(serviceData);
            AckSequence = 0;
            return header.MoreFollows ? SegmentAction.Ack : SegmentAction.Complete;
        }
        if (header.ServiceChoice != ServiceChoice) BacnetFormatException.Throw($"segment for service {header.ServiceChoice} inside an answer of service {ServiceChoice}");
        if (header.SequenceNumber != (byte)(_last + 1))
        {
            // Clause 5.4.5.3: a repeated or out-of-order segment is dropped, and the server is told the last one in sequence.
            AckSequence = _last;
            _windowStart = _last;
            return SegmentAction.NegativeAck;
        }
        Append(serviceData);
        _last = header.SequenceNumber;
        AckSequence = _last;
        if (!header.MoreFollows) return SegmentAction.Complete;
        if ((byte)(_last - _windowStart) >= ActualWindow)
        {
            _windowStart = _last;
            return SegmentAction.Ack;
        }
        return SegmentAction.Wait;
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (_length + data.Length > maxBytes) BacnetFormatException.Throw($"segmented answer exceeds {maxBytes} octets");
        if (_length + data.Length > _data.Length) Array.Resize(ref _data, Math.Max(_data.Length * 2, _length + data.Length));
        data.CopyTo(_data.AsSpan(_length));
        _length += data.Length;
        Segments++;
    }
}
