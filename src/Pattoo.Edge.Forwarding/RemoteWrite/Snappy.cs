using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Forwarding.RemoteWrite;

/// <summary>A snappy block (not framed) that cannot be decoded, with where.</summary>
public sealed class SnappyException(string message) : Exception(message);

/// <summary>
/// Snappy's block format (github.com/google/snappy, format_description.txt), as Prometheus
/// remote_write sends its bodies: the uncompressed length as a varint, then literals and
/// back-references. The compressor is greedy with a 4-byte hash table over a 64 KiB window, skipping ahead faster the longer it finds nothing (as snappy does)
/// (copies with 2-byte offsets), which is what remote_write bodies need: label names and values
/// repeat close together. Pure: bytes in, bytes out.
/// </summary>
public static class Snappy
{
    private const int HashBits = 14;
    private const int MaxOffset = 65535;

    /// <summary>The most bytes <see cref="Compress(ReadOnlySpan{byte}, Span{byte})"/> can write for <paramref name="length"/> input bytes.</summary>
    public static int MaxCompressedLength(int length) => 32 + length + length / 6;

    /// <summary>Compresses <paramref name="input"/> into <paramref name="output"/> (at least <see cref="MaxCompressedLength"/> long); returns the bytes written.</summary>
    public static int Compress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (output.Length < MaxCompressedLength(input.Length)) throw new ArgumentException("the output is too small", nameof(output));
        int o = Varint.Write(output, (ulong)input.Length);
        Span<int> table = stackalloc int[1 << HashBits];
        table.Fill(-1);
        int literalStart = 0, i = 0;
        int last = input.Length - 4; // a match needs 4 bytes to hash
        // Snappy's own heuristic: after 32 misses in a row, look at every second byte, after 48
        // every third ... A sample's 8 bytes of float are mostly incompressible, and hashing each
        // of their positions was most of the compressor's time.
        int skip = 32;
        // The loop reads by reference, without bounds checks: i <= last and every table entry
        // is -1 or an earlier i, so each 4-byte read is inside the input.
        ref byte start = ref MemoryMarshal.GetReference(input);
        ref int slots = ref MemoryMarshal.GetReference(table);
        while (i <= last)
        {
            uint word = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, i));
            ref int slot = ref Unsafe.Add(ref slots, (int)((word * 0x1E35A7BDu) >> (32 - HashBits)));
            int candidate = slot;
            slot = i;
            if (candidate < 0 || i - candidate > MaxOffset || Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, candidate)) != word)
            {
                i += skip++ >> 5;
                continue;
            }
            skip = 32;
            int length = 4;
            // Eight bytes at a time, then the first that differs.
            while (i + length + 8 <= input.Length)
            {
                ulong diff = BinaryPrimitives.ReadUInt64LittleEndian(input[(candidate + length)..]) ^ BinaryPrimitives.ReadUInt64LittleEndian(input[(i + length)..]);
                if (diff != 0)
                {
                    length += BitOperations.TrailingZeroCount(diff) >> 3;
                    goto matched;
                }
                length += 8;
            }
            while (i + length < input.Length && input[candidate + length] == input[i + length]) length++;
        matched:
            o += WriteLiteral(input[literalStart..i], output[o..]);
            o += WriteCopy(i - candidate, length, output[o..]);
            i += length;
            literalStart = i;
        }
        o += WriteLiteral(input[literalStart..], output[o..]);
        return o;
    }

    /// <summary>Compresses <paramref name="input"/> into a new array.</summary>
    public static byte[] Compress(ReadOnlySpan<byte> input)
    {
        var buffer = new byte[MaxCompressedLength(input.Length)];
        return buffer.AsSpan(0, Compress(input, buffer)).ToArray();
    }

    private static int WriteLiteral(ReadOnlySpan<byte> literal, Span<byte> output)
    {
        if (literal.IsEmpty) return 0;
        int n = literal.Length - 1, o;
        if (n < 60)
        {
            output[0] = (byte)(n << 2);
            o = 1;
        }
        else
        {
            int bytes = n < 1 << 8 ? 1 : n < 1 << 16 ? 2 : n < 1 << 24 ? 3 : 4;
            output[0] = (byte)((59 + bytes) << 2);
            for (int b = 0; b < bytes; b++) output[1 + b] = (byte)(n >> (8 * b));
            o = 1 + bytes;
        }
        literal.CopyTo(output[o..]);
        return o + literal.Length;
    }

    private static int WriteCopy(int offset, int length, Span<byte> output)
    {
        int o = 0;
        // Copies of up to 64 bytes; a longer match is several, the last at least 4 bytes long.
        while (length >= 68)
        {
            o += WriteCopy2(offset, 64, output[o..]);
            length -= 64;
        }
        if (length > 64)
        {
            o += WriteCopy2(offset, 60, output[o..]);
            length -= 60;
        }
        if (length is >= 4 and <= 11 && offset < 2048)
        {
            output[o] = (byte)(0b01 | ((length - 4) << 2) | ((offset >> 8) << 5));
            output[o + 1] = (byte)offset;
            return o + 2;
        }
        return o + WriteCopy2(offset, length, output[o..]);
    }

    private static int WriteCopy2(int offset, int length, Span<byte> output)
    {
        output[0] = (byte)(0b10 | ((length - 1) << 2));
        BinaryPrimitives.WriteUInt16LittleEndian(output[1..], (ushort)offset);
        return 3;
    }

    /// <summary>The uncompressed length a block declares.</summary>
    /// <exception cref="SnappyException">the length is missing or too large.</exception>
    public static int DecodedLength(ReadOnlySpan<byte> input, out int headerLength)
    {
        uint value = 0;
        for (int i = 0; i < 5; i++)
        {
            if (i >= input.Length) throw new SnappyException("the block ends inside its length");
            value |= (uint)(input[i] & 0x7F) << (7 * i);
            if (input[i] < 0x80)
            {
                headerLength = i + 1;
                if (value > int.MaxValue) throw new SnappyException($"a declared length of {value} bytes is too large");
                return (int)value;
            }
        }
        throw new SnappyException("the block's length is longer than 5 bytes");
    }

    /// <summary>Decompresses a block. Every malformed block is a <see cref="SnappyException"/> naming the offset.</summary>
    public static byte[] Decompress(ReadOnlySpan<byte> input, int maxLength = 64 << 20)
    {
        int length = DecodedLength(input, out int i);
        if (length > maxLength) throw new SnappyException($"the block declares {length} bytes, more than the limit of {maxLength}");
        var output = new byte[length];
        int o = 0;
        while (i < input.Length)
        {
            int at = i;
            byte tag = input[i++];
            int len, offset;
            switch (tag & 3)
            {
                case 0:
                    len = tag >> 2;
                    if (len >= 60)
                    {
                        int bytes = len - 59;
                        if (i + bytes > input.Length) throw new SnappyException($"a literal's length at byte {at} is cut off");
                        len = 0;
                        for (int b = 0; b < bytes; b++) len |= input[i + b] << (8 * b);
                        i += bytes;
                        if (len < 0) throw new SnappyException($"a literal at byte {at} is too long");
                    }
                    len++;
                    if (len > input.Length - i || len > length - o) throw new SnappyException($"the literal of {len} bytes at byte {at} runs past the end");
                    input.Slice(i, len).CopyTo(output.AsSpan(o));
                    i += len;
                    o += len;
                    continue;
                case 1:
                    if (i >= input.Length) throw new SnappyException($"the copy at byte {at} is cut off");
                    len = 4 + ((tag >> 2) & 7);
                    offset = ((tag >> 5) << 8) | input[i++];
                    break;
                case 2:
                    if (i + 2 > input.Length) throw new SnappyException($"the copy at byte {at} is cut off");
                    len = 1 + (tag >> 2);
                    offset = BinaryPrimitives.ReadUInt16LittleEndian(input[i..]);
                    i += 2;
                    break;
                default:
                    if (i + 4 > input.Length) throw new SnappyException($"the copy at byte {at} is cut off");
                    len = 1 + (tag >> 2);
                    uint wide = BinaryPrimitives.ReadUInt32LittleEndian(input[i..]);
                    if (wide > int.MaxValue) throw new SnappyException($"the copy at byte {at} reaches back {wide} bytes");
                    offset = (int)wide;
                    i += 4;
                    break;
            }
            if (offset == 0 || offset > o) throw new SnappyException($"the copy at byte {at} reaches back {offset} bytes, before the start");
            if (len > length - o) throw new SnappyException($"the copy at byte {at} runs past the declared length");
            // Byte by byte: a copy may overlap what it writes (a run).
            for (int k = 0; k < len; k++, o++) output[o] = output[o - offset];
        }
        if (o != length) throw new SnappyException($"the block holds {o} bytes, not the {length} it declares");
        return output;
    }
}
