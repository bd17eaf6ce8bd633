using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pattoo.Edge.Storage.Encoding;

/// <summary>
/// Reads bits MSB-first, as <see cref="BitWriter"/> writes them. Every read is checked against
/// the end of the data and throws <see cref="ChunkFormatException"/> (with the bit offset from
/// the start of the chunk) instead of reading past it. <see cref="Peek"/> is the fast path:
/// one unaligned 8-byte load gives the next 57 bits or more.
/// </summary>
internal ref struct BitReader
{
    /// <summary>Bits of a <see cref="Peek"/> result that are always valid (64 minus up to 7 skipped).</summary>
    public const int PeekBits = 57;

    private readonly ReadOnlySpan<byte> _data;
    private readonly long _bitLength;
    private long _bitPos;

    /// <summary>A reader over all of <paramref name="data"/>, starting at byte <paramref name="startByte"/>.</summary>
    public BitReader(ReadOnlySpan<byte> data, int startByte)
    {
        if ((uint)startByte > (uint)data.Length) throw new ArgumentOutOfRangeException(nameof(startByte));
        _data = data;
        _bitLength = data.Length * 8L;
        _bitPos = startByte * 8L;
    }

    /// <summary>Bit offset of the next bit from the start of the data.</summary>
    public readonly long Position => _bitPos;

    /// <summary>Bits left before the end of the data.</summary>
    public readonly long Remaining => _bitLength - _bitPos;

    /// <summary>
    /// The next bits, left-aligned: at least the top <see cref="PeekBits"/> bits are the data's next bits,
    /// and bits past the end of the data read as 0. Does not advance; callers then <see cref="Skip"/> what they used.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong Peek()
    {
        long bytePos = _bitPos >> 3;
        if (bytePos + 8 <= _data.Length)
        {
            ulong raw = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetReference(_data), (nint)bytePos));
            if (BitConverter.IsLittleEndian) raw = BinaryPrimitives.ReverseEndianness(raw);
            return raw << (int)(_bitPos & 7);
        }
        return PeekTail(bytePos);
    }

    /// <summary>Advances by <paramref name="count"/> bits (at least 0), which must all lie within the data.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Skip(int count)
    {
        long next = _bitPos + count;
        if (next > _bitLength) ThrowTruncated(count);
        _bitPos = next;
    }

    /// <summary>Reads <paramref name="count"/> bits (0..64) as an unsigned number, first bit most significant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadBits(int count)
    {
        if ((uint)count <= PeekBits)
        {
            if (count == 0) return 0;
            ulong v = Peek() >> (64 - count);
            Skip(count);
            return v;
        }
        return ReadLong(count);
    }

    /// <summary>Reads one bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ReadBit()
    {
        bool bit = (long)Peek() < 0;
        Skip(1);
        return bit;
    }

    /// <summary>
    /// Checks that the data ends within the current byte and that the remaining padding bits are 0;
    /// throws <see cref="ChunkFormatException"/> otherwise.
    /// </summary>
    public readonly void ExpectEnd()
    {
        long padded = (_bitPos + 7) & ~7L;
        if (padded != _bitLength)
        {
            ChunkFormatException.Throw(
                $"{(_bitLength - padded) >> 3} unexpected byte(s) after the end of the bit stream", padded);
        }
        int pad = (int)(padded - _bitPos);
        if (pad > 0 && (Peek() >> (64 - pad)) != 0)
        {
            ChunkFormatException.Throw("non-zero padding bits after the end of the bit stream", _bitPos);
        }
    }

    private ulong ReadLong(int count)
    {
        if ((uint)count > 64) throw new ArgumentOutOfRangeException(nameof(count), count, "A read takes 0 to 64 bits.");
        if (count > Remaining) ThrowTruncated(count);
        ulong high = ReadBits(count - 32);
        return (high << 32) | ReadBits(32);
    }

    private readonly ulong PeekTail(long bytePos)
    {
        ulong raw = 0;
        int shift = 56;
        for (long i = bytePos; i < _data.Length && shift >= 0; i++, shift -= 8)
        {
            raw |= (ulong)_data[(int)i] << shift;
        }
        return raw << (int)(_bitPos & 7);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void ThrowTruncated(int count) =>
        ChunkFormatException.Throw(
            $"truncated: {count} more bit(s) needed but only {Remaining} left in the {_data.Length}-byte chunk", _bitPos);
}
