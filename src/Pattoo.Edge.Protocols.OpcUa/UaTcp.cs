using System.Buffers.Binary;

namespace Pattoo.Edge.Protocols.OpcUa;

/// <summary>UA-TCP message types (Part 6, sec 7.1.2.2): the first three header bytes.</summary>
public enum UaMessageType : uint
{
    Hello = 'H' | ('E' << 8) | ('L' << 16),
    Acknowledge = 'A' | ('C' << 8) | ('K' << 16),
    Error = 'E' | ('R' << 8) | ('R' << 16),
    ReverseHello = 'R' | ('H' << 8) | ('E' << 16),
    OpenSecureChannel = 'O' | ('P' << 8) | ('N' << 16),
    Message = 'M' | ('S' << 8) | ('G' << 16),
    CloseSecureChannel = 'C' | ('L' << 8) | ('O' << 16),
}

/// <summary>The 8-byte header of every UA-TCP message: type, chunk type ('F' final, 'C' more follow, 'A' abort), size.</summary>
public readonly record struct UaMessageHeader(UaMessageType Type, byte ChunkType, int Size)
{
    public const int Length = 8;
    public const byte Final = (byte)'F';
    public const byte Intermediate = (byte)'C';
    public const byte Abort = (byte)'A';

    /// <summary>Writes a header; the size may be patched later with <see cref="PatchSize"/>.</summary>
    public static void Write(Span<byte> destination, UaMessageType type, byte chunkType, int size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)type | ((uint)chunkType << 24));
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], size);
    }

    public static void PatchSize(Span<byte> message, int size) => BinaryPrimitives.WriteInt32LittleEndian(message[4..], size);

    /// <summary>
    /// Reads the header at the start of <paramref name="buffer"/>. False when fewer than 8 bytes
    /// are there. The size is checked against 8..<paramref name="maxSize"/>.
    /// </summary>
    /// <exception cref="OpcUaFormatException">an unknown message or chunk type, a size out of range.
    /// The stream cannot be resynchronised: close the connection.</exception>
    public static bool TryRead(ReadOnlySpan<byte> buffer, int maxSize, out UaMessageHeader header)
    {
        header = default;
        if (buffer.Length < Length) return false;
        uint word = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        var type = (UaMessageType)(word & 0xFFFFFF);
        byte chunk = (byte)(word >> 24);
        if (type is not (UaMessageType.Hello or UaMessageType.Acknowledge or UaMessageType.Error or UaMessageType.ReverseHello
            or UaMessageType.OpenSecureChannel or UaMessageType.Message or UaMessageType.CloseSecureChannel))
            OpcUaFormatException.Throw(OpcUaFormatError.BadHeader, $"unknown message type 0x{word & 0xFFFFFF:X6}");
        if (chunk is not (Final or Intermediate or Abort))
            OpcUaFormatException.Throw(OpcUaFormatError.BadHeader, $"unknown chunk type 0x{chunk:X2}");
        if (chunk != Final && type is not (UaMessageType.Message or UaMessageType.OpenSecureChannel or UaMessageType.CloseSecureChannel))
            OpcUaFormatException.Throw(OpcUaFormatError.BadHeader, $"a {Name(type)} message must be final ('F')");
        int size = BinaryPrimitives.ReadInt32LittleEndian(buffer[4..]);
        if (size < Length + 4 || size > maxSize)
            OpcUaFormatException.Throw(OpcUaFormatError.BadHeader, $"{Name(type)} message size {size}, expected {Length + 4} to {maxSize}");
        header = new UaMessageHeader(type, chunk, size);
        return true;
    }

    public static string Name(UaMessageType type) => type switch
    {
        UaMessageType.Hello => "HEL",
        UaMessageType.Acknowledge => "ACK",
        UaMessageType.Error => "ERR",
        UaMessageType.ReverseHello => "RHE",
        UaMessageType.OpenSecureChannel => "OPN",
        UaMessageType.Message => "MSG",
        _ => "CLO",
    };
}

/// <summary>Buffer and size limits each side announces in Hello / Acknowledge (Part 6, sec 7.1.2.3-4).</summary>
public readonly record struct UaTcpLimits(uint ProtocolVersion, uint ReceiveBufferSize, uint SendBufferSize, uint MaxMessageSize, uint MaxChunkCount)
{
    /// <summary>The smallest buffer the spec allows.</summary>
    public const uint MinBufferSize = 8192;
}

/// <summary>Hello, Acknowledge and Error messages (Part 6, sec 7.1.2.3-5).</summary>
public static class UaTcpMessages
{
    /// <summary>The whole Hello message (header included).</summary>
    public static void WriteHello(UaWriter w, in UaTcpLimits limits, string endpointUrl)
    {
        int start = w.Length;
        w.Reserve(UaMessageHeader.Length);
        w.UInt32(limits.ProtocolVersion);
        w.UInt32(limits.ReceiveBufferSize);
        w.UInt32(limits.SendBufferSize);
        w.UInt32(limits.MaxMessageSize);
        w.UInt32(limits.MaxChunkCount);
        w.String(endpointUrl);
        UaMessageHeader.Write(w.At(start, 8), UaMessageType.Hello, UaMessageHeader.Final, w.Length - start);
    }

    public static void WriteAcknowledge(UaWriter w, in UaTcpLimits limits)
    {
        int start = w.Length;
        w.Reserve(UaMessageHeader.Length);
        w.UInt32(limits.ProtocolVersion);
        w.UInt32(limits.ReceiveBufferSize);
        w.UInt32(limits.SendBufferSize);
        w.UInt32(limits.MaxMessageSize);
        w.UInt32(limits.MaxChunkCount);
        UaMessageHeader.Write(w.At(start, 8), UaMessageType.Acknowledge, UaMessageHeader.Final, w.Length - start);
    }

    public static void WriteError(UaWriter w, StatusCode error, string? reason)
    {
        int start = w.Length;
        w.Reserve(UaMessageHeader.Length);
        w.StatusCode(error);
        w.String(reason);
        UaMessageHeader.Write(w.At(start, 8), UaMessageType.Error, UaMessageHeader.Final, w.Length - start);
    }

    /// <summary>Reads an Acknowledge body (after the 8-byte header) and checks its buffer sizes.</summary>
    /// <exception cref="OpcUaFormatException">truncated, trailing bytes, or a buffer below 8192 bytes.</exception>
    public static UaTcpLimits ReadAcknowledge(ReadOnlySpan<byte> body)
    {
        var r = new UaReader(body);
        var limits = new UaTcpLimits(r.UInt32(), r.UInt32(), r.UInt32(), r.UInt32(), r.UInt32());
        r.ExpectEnd("Acknowledge");
        if (limits.ReceiveBufferSize < UaTcpLimits.MinBufferSize || limits.SendBufferSize < UaTcpLimits.MinBufferSize)
            OpcUaFormatException.Throw(OpcUaFormatError.BadLength,
                $"Acknowledge buffer sizes {limits.ReceiveBufferSize}/{limits.SendBufferSize}, the minimum is {UaTcpLimits.MinBufferSize}");
        return limits;
    }

    public static UaTcpLimits ReadHello(ReadOnlySpan<byte> body, out string? endpointUrl)
    {
        var r = new UaReader(body);
        var limits = new UaTcpLimits(r.UInt32(), r.UInt32(), r.UInt32(), r.UInt32(), r.UInt32());
        endpointUrl = r.String();
        r.ExpectEnd("Hello");
        return limits;
    }

    /// <summary>Reads an Error body (or an abort chunk's body): a status code and a reason.</summary>
    public static (StatusCode Error, string? Reason) ReadError(ReadOnlySpan<byte> body)
    {
        var r = new UaReader(body);
        var code = r.StatusCode();
        string? reason = r.String();
        return (code, reason);
    }
}
