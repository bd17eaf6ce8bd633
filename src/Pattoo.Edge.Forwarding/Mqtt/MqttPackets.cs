using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Pattoo.Edge.Forwarding.Mqtt;

/// <summary>MQTT 3.1.1 control packet types (section 2.2.1).</summary>
public enum MqttPacketType : byte
{
    Connect = 1, ConnAck = 2, Publish = 3, PubAck = 4, PubRec = 5, PubRel = 6, PubComp = 7,
    Subscribe = 8, SubAck = 9, Unsubscribe = 10, UnsubAck = 11, PingReq = 12, PingResp = 13, Disconnect = 14,
}

/// <summary>A message the broker publishes when the client's connection dies without a DISCONNECT (3.1.2.5).</summary>
public sealed record MqttWill(string Topic, byte[] Payload, int Qos, bool Retain);

/// <summary>What a CONNECT says (3.1).</summary>
public sealed record MqttConnect(string ClientId, TimeSpan KeepAlive, bool CleanSession, string? Username, string? Password, MqttWill? Will);

/// <summary>A PUBLISH the broker sent (3.3).</summary>
public readonly record struct MqttIncomingPublish(string Topic, int Qos, ushort PacketId, ReadOnlyMemory<byte> Payload);

/// <summary>A packet that breaks MQTT 3.1.1, named with what is wrong.</summary>
public sealed class MqttProtocolException(string message) : Exception(message);

/// <summary>
/// MQTT 3.1.1 (OASIS standard, 2014) packets, encoded and decoded; pure (bytes in, bytes out),
/// so it is tested and fuzzed without a broker. Only what a publishing client needs: CONNECT
/// with a will, PUBLISH at QoS 0 and 1, SUBSCRIBE, PINGREQ, DISCONNECT out; CONNACK, PUBACK,
/// SUBACK, PINGRESP and PUBLISH in.
/// </summary>
public static class MqttPackets
{
    /// <summary>The largest remaining length four length bytes can say (2.2.3).</summary>
    public const int MaxRemainingLength = 268_435_455;

    private static readonly byte[] ProtocolName = "\0\u0004MQTT"u8.ToArray();

    public static void WriteConnect(IBufferWriter<byte> output, MqttConnect c)
    {
        int length = ProtocolName.Length + 1 + 1 + 2 + StringSize(c.ClientId);
        if (c.Will is { } will) length += StringSize(will.Topic) + 2 + will.Payload.Length;
        if (c.Username is not null) length += StringSize(c.Username);
        if (c.Password is not null) length += StringSize(c.Password);
        var span = Begin(output, MqttPacketType.Connect, 0, length, out int o);
        ProtocolName.CopyTo(span[o..]);
        o += ProtocolName.Length;
        span[o++] = 4; // protocol level: 3.1.1
        int flags = (c.CleanSession ? 0x02 : 0)
            | (c.Will is { } w ? 0x04 | (w.Qos << 3) | (w.Retain ? 0x20 : 0) : 0)
            | (c.Password is not null ? 0x40 : 0) | (c.Username is not null ? 0x80 : 0);
        span[o++] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(span[o..], (ushort)Math.Clamp(c.KeepAlive.TotalSeconds, 0, ushort.MaxValue));
        o += 2;
        o += WriteString(span[o..], c.ClientId);
        if (c.Will is { } will2)
        {
            o += WriteString(span[o..], will2.Topic);
            BinaryPrimitives.WriteUInt16BigEndian(span[o..], checked((ushort)will2.Payload.Length));
            will2.Payload.CopyTo(span[(o + 2)..]);
            o += 2 + will2.Payload.Length;
        }
        if (c.Username is not null) o += WriteString(span[o..], c.Username);
        if (c.Password is not null) o += WriteString(span[o..], c.Password);
        output.Advance(o);
    }

    /// <summary>A PUBLISH of <paramref name="payload"/> to <paramref name="topic"/>; <paramref name="packetId"/> is sent only at QoS 1.</summary>
    public static void WritePublish(IBufferWriter<byte> output, string topic, ReadOnlySpan<byte> payload, int qos, ushort packetId, bool retain = false)
    {
        if (qos is not (0 or 1)) throw new ArgumentOutOfRangeException(nameof(qos), qos, "QoS 0 or 1");
        int length = StringSize(topic) + (qos > 0 ? 2 : 0) + payload.Length;
        var span = Begin(output, MqttPacketType.Publish, (byte)((qos << 1) | (retain ? 1 : 0)), length, out int o);
        o += WriteString(span[o..], topic);
        if (qos > 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[o..], packetId);
            o += 2;
        }
        payload.CopyTo(span[o..]);
        output.Advance(o + payload.Length);
    }

    /// <summary>A SUBSCRIBE to one topic filter.</summary>
    public static void WriteSubscribe(IBufferWriter<byte> output, ushort packetId, string filter, int qos)
    {
        var span = Begin(output, MqttPacketType.Subscribe, 0x02, 2 + StringSize(filter) + 1, out int o);
        BinaryPrimitives.WriteUInt16BigEndian(span[o..], packetId);
        o += 2;
        o += WriteString(span[o..], filter);
        span[o++] = (byte)qos;
        output.Advance(o);
    }

    public static void WritePubAck(IBufferWriter<byte> output, ushort packetId)
    {
        var span = Begin(output, MqttPacketType.PubAck, 0, 2, out int o);
        BinaryPrimitives.WriteUInt16BigEndian(span[o..], packetId);
        output.Advance(o + 2);
    }

    public static void WritePingReq(IBufferWriter<byte> output) => WriteEmpty(output, MqttPacketType.PingReq);

    public static void WriteDisconnect(IBufferWriter<byte> output) => WriteEmpty(output, MqttPacketType.Disconnect);

    private static void WriteEmpty(IBufferWriter<byte> output, MqttPacketType type)
    {
        Begin(output, type, 0, 0, out int o);
        output.Advance(o);
    }

    /// <summary>Bytes a topic or other string takes: its UTF-8 and a two-byte length (1.5.3).</summary>
    public static int StringSize(string text)
    {
        int n = Encoding.UTF8.GetByteCount(text);
        if (n > ushort.MaxValue) throw new ArgumentException($"\"{text[..40]}...\" is longer than MQTT's 65,535 bytes", nameof(text));
        return 2 + n;
    }

    private static Span<byte> Begin(IBufferWriter<byte> output, MqttPacketType type, byte flags, int length, out int o)
    {
        if (length > MaxRemainingLength) throw new ArgumentException($"an MQTT packet of {length:N0} bytes is over the protocol's {MaxRemainingLength:N0}");
        var span = output.GetSpan(5 + length);
        span[0] = (byte)(((int)type << 4) | flags);
        o = 1;
        uint rest = (uint)length;
        do
        {
            byte b = (byte)(rest & 0x7F);
            rest >>= 7;
            span[o++] = rest > 0 ? (byte)(b | 0x80) : b;
        }
        while (rest > 0);
        return span;
    }

    private static int WriteString(Span<byte> span, string text)
    {
        int n = Encoding.UTF8.GetBytes(text, span[2..]);
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)n);
        return 2 + n;
    }

    /// <summary>
    /// Finds the first whole packet in <paramref name="buffer"/>: false when more bytes are
    /// needed; <paramref name="bodyStart"/>..+<paramref name="bodyLength"/> is what follows the
    /// fixed header, <paramref name="consumed"/> the whole packet.
    /// </summary>
    public static bool TryReadPacket(ReadOnlySpan<byte> buffer, out MqttPacketType type, out byte flags, out int bodyStart, out int bodyLength, out int consumed)
    {
        type = 0;
        flags = 0;
        bodyStart = bodyLength = consumed = 0;
        if (buffer.Length < 2) return false;
        int length = 0, shift = 0, o = 1;
        while (true)
        {
            if (o >= buffer.Length) return false;
            if (o > 4) throw new MqttProtocolException("a remaining length of more than four bytes (2.2.3)");
            byte b = buffer[o++];
            length |= (b & 0x7F) << shift;
            if (b < 0x80) break;
            shift += 7;
        }
        int kind = buffer[0] >> 4;
        if (kind is 0 or 15) throw new MqttProtocolException($"packet type {kind} is reserved (2.2.1)");
        if (buffer.Length - o < length) return false;
        type = (MqttPacketType)kind;
        flags = (byte)(buffer[0] & 0x0F);
        bodyStart = o;
        bodyLength = length;
        consumed = o + length;
        return true;
    }

    /// <summary>A CONNACK's return code (3.2.2.3): 0 accepted, else why the broker refused.</summary>
    public static int ReadConnAck(ReadOnlySpan<byte> body)
    {
        if (body.Length != 2) throw new MqttProtocolException($"a CONNACK of {body.Length} bytes, expected 2 (3.2)");
        return body[1];
    }

    /// <summary>What a refused CONNACK's return code means (3.2.2.3).</summary>
    public static string DescribeConnAck(int code) => code switch
    {
        1 => "the broker does not speak MQTT 3.1.1 (return code 1)",
        2 => "the broker rejected the client id (return code 2)",
        3 => "the broker is unavailable (return code 3)",
        4 => "the broker refused the user name or password (return code 4)",
        5 => "the broker says the client is not authorized (return code 5)",
        _ => $"the broker refused the connection with return code {code}",
    };

    /// <summary>The packet id a PUBACK (or SUBACK's first two bytes) acknowledges.</summary>
    public static ushort ReadPacketId(ReadOnlySpan<byte> body, MqttPacketType type)
    {
        if (body.Length < 2 || (type == MqttPacketType.PubAck && body.Length != 2))
            throw new MqttProtocolException($"a {type.ToString().ToUpperInvariant()} of {body.Length} bytes has no packet id");
        return BinaryPrimitives.ReadUInt16BigEndian(body);
    }

    /// <summary>A SUBACK's granted QoS (0x80: refused) for its single filter.</summary>
    public static int ReadSubAckCode(ReadOnlySpan<byte> body)
    {
        if (body.Length != 3) throw new MqttProtocolException($"a SUBACK of {body.Length} bytes for one filter, expected 3 (3.9)");
        return body[2];
    }

    /// <summary>Decodes a PUBLISH the broker sent (3.3).</summary>
    public static MqttIncomingPublish ReadPublish(byte flags, ReadOnlyMemory<byte> body)
    {
        int qos = (flags >> 1) & 3;
        if (qos == 3) throw new MqttProtocolException("a PUBLISH with QoS 3 (3.3.1.2)");
        var span = body.Span;
        if (span.Length < 2) throw new MqttProtocolException("a PUBLISH without a topic");
        int n = BinaryPrimitives.ReadUInt16BigEndian(span);
        int o = 2 + n;
        if (o > span.Length) throw new MqttProtocolException($"a PUBLISH topic of {n} bytes in a packet of {span.Length}");
        string topic;
        try { topic = new UTF8Encoding(false, true).GetString(span.Slice(2, n)); }
        catch (DecoderFallbackException) { throw new MqttProtocolException("a PUBLISH topic that is not UTF-8 (1.5.3)"); }
        ushort id = 0;
        if (qos > 0)
        {
            if (o + 2 > span.Length) throw new MqttProtocolException("a QoS 1 PUBLISH without a packet id");
            id = BinaryPrimitives.ReadUInt16BigEndian(span[o..]);
            o += 2;
        }
        return new MqttIncomingPublish(topic, qos, id, body[o..]);
    }
}
