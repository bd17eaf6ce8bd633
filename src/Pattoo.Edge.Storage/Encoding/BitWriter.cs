using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Pattoo.Edge.Storage.Encoding;

/// <summary>
/// Writes bits MSB-first (the first bit written is the most significant bit of byte 0).
/// Bits collect in a 64-bit accumulator that is stored big-endian, 8 bytes at a time.
/// The writer starts on a caller's buffer (the encoder passes the exact-size output array,
/// so encoding allocates nothing else) and, should that run out, continues in a buffer
/// rented from <see cref="ArrayPool{T}.Shared"/> that doubles as needed; <see cref="Dispose"/>
/// returns it.
/// </summary>
internal ref struct BitWriter
{
    private Span<byte> _buffer;
    private byte[]? _rented;
    private int _bytes;     // bytes stored in _buffer
    private ulong _acc;     // pending bits, left-aligned
    private int _accBits;   // 0..63

    /// <summary>Starts on <paramref name="initial"/>; grows into pooled arrays when it is full.</summary>
    public BitWriter(Span<byte> initial)
    {
        _buffer = initial;
        _rented = null;
        _bytes = 0;
        _acc = 0;
        _accBits = 0;
    }

    /// <summary>Starts on a pooled buffer of at least <paramref name="initialCapacity"/> bytes.</summary>
    public BitWriter(int initialCapacity)
    {
        _rented = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 16));
        _buffer = _rented;
        _bytes = 0;
        _acc = 0;
        _accBits = 0;
    }

    /// <summary>Bits written so far.</summary>
    public readonly long BitLength => _bytes * 8L + _accBits;

    /// <summary>True while the writer still uses the buffer it was started on.</summary>
    public readonly bool IsOnInitialBuffer => _rented is null;

    /// <summary>Writes the low <paramref name="count"/> bits (0..64) of <paramref name="value"/>, most significant first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteBits(ulong value, int count)
    {
        if ((uint)count > 64) ThrowCount(count);
        if (count == 0) return;
        if (count < 64) value &= (1UL << count) - 1;
        int free = 64 - _accBits;
        if (count < free)
        {
            _acc |= value << (free - count);
            _accBits += count;
            return;
        }
        int rest = count - free;                 // 0..63
        _acc |= value >> rest;                   // fills the accumulator
        StoreAccumulator();
        _acc = rest == 0 ? 0 : value << (64 - rest);
        _accBits = rest;
    }

    /// <summary>Writes one bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteBit(bool bit) => WriteBits(bit ? 1UL : 0UL, 1);

    /// <summary>Writes 8 bits.</summary>
    public void WriteByte(byte value) => WriteBits(value, 8);

    /// <summary>Writes an unsigned LEB128 varint (7 bits a byte, low group first, high bit = more follows).</summary>
    public void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            WriteBits((value & 0x7F) | 0x80, 8);
            value >>= 7;
        }
        WriteBits(value, 8);
    }

    /// <summary>Pads the last byte with zero bits and returns every byte written.</summary>
    public ReadOnlySpan<byte> Complete()
    {
        if (_accBits > 0)
        {
            int n = (_accBits + 7) >> 3;
            EnsureCapacity(_bytes + n);
            ulong acc = _acc;
            for (int i = 0; i < n; i++)
            {
                _buffer[_bytes++] = (byte)(acc >> 56);
                acc <<= 8;
            }
            _acc = 0;
            _accBits = 0;
        }
        return _buffer[.._bytes];
    }

    /// <summary>Returns the rented buffer, if any, to the pool.</summary>
    public void Dispose()
    {
        byte[]? rented = _rented;
        _rented = null;
        _buffer = default;
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreAccumulator()
    {
        if (_buffer.Length - _bytes < 8) EnsureCapacity(_bytes + 8);
        BinaryPrimitives.WriteUInt64BigEndian(_buffer.Slice(_bytes, 8), _acc);
        _bytes += 8;
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _buffer.Length) return;
        int size = (int)Math.Min(Array.MaxLength, Math.Max((long)needed, Math.Max(64L, _buffer.Length * 2L)));
        if (size < needed) throw new InvalidOperationException("The bit stream is too large.");
        byte[] next = ArrayPool<byte>.Shared.Rent(size);
        _buffer[.._bytes].CopyTo(next);
        byte[]? old = _rented;
        _rented = next;
        _buffer = next;
        if (old is not null) ArrayPool<byte>.Shared.Return(old);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowCount(int count) =>
        throw new ArgumentOutOfRangeException(nameof(count), count, "A write takes 0 to 64 bits.");
}
