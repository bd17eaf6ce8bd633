using System.Buffers.Binary;

namespace Pattoo.Edge.Tests.Support;

/// <summary>One protobuf field: its number, wire type, and its value (varint, fixed64) or bytes (length-delimited).</summary>
public sealed record ProtobufField(int Number, int Wire, ulong Value, byte[] Bytes);

/// <summary>
/// A minimal protobuf reader for tests, written apart from the product's encoders so a test
/// reads what they write as any protobuf library would. Also linked into the end-to-end tests.
/// </summary>
public static class ProtobufFields
{
    public static List<ProtobufField> Read(ReadOnlySpan<byte> data)
    {
        var fields = new List<ProtobufField>();
        int i = 0;
        while (i < data.Length)
        {
            ulong key = Varint(data, ref i);
            int number = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: fields.Add(new ProtobufField(number, wire, Varint(data, ref i), [])); break;
                case 1: fields.Add(new ProtobufField(number, wire, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]), [])); i += 8; break;
                case 2:
                    int n = (int)Varint(data, ref i);
                    fields.Add(new ProtobufField(number, wire, 0, data.Slice(i, n).ToArray()));
                    i += n;
                    break;
                case 5: fields.Add(new ProtobufField(number, wire, BinaryPrimitives.ReadUInt32LittleEndian(data[i..]), [])); i += 4; break;
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
        return fields;
    }

    private static ulong Varint(ReadOnlySpan<byte> data, ref int i)
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[i++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
    }
}
