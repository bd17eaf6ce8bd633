using System.Runtime.InteropServices;

namespace Pattoo.Edge.Storage.HeadLog;

/// <summary>
/// A growable byte buffer in native memory aligned to 4 KiB, as O_DIRECT writes need (their
/// memory must be aligned to the device's requirement, at most a page).
/// </summary>
internal sealed unsafe class AlignedBuffer : IDisposable
{
    private const int Alignment = 4096;
    private byte* _memory;
    private int _capacity;

    public AlignedBuffer(int capacity)
    {
        _capacity = Math.Max(Alignment, capacity);
        _memory = (byte*)NativeMemory.AlignedAlloc((nuint)_capacity, Alignment);
    }

    public Span<byte> Span(int start, int length)
    {
        ObjectDisposedException.ThrowIf(_memory == null, this);
        if ((uint)start > (uint)_capacity || (uint)length > (uint)(_capacity - start)) throw new ArgumentOutOfRangeException(nameof(length));
        return new Span<byte>(_memory + start, length);
    }

    /// <summary>Grows (doubling, contents kept) to hold at least <paramref name="capacity"/> bytes.</summary>
    public void EnsureCapacity(int capacity)
    {
        if (capacity <= _capacity) return;
        int grown = (int)Math.Min(Array.MaxLength, Math.Max(capacity, 2L * _capacity));
        var memory = (byte*)NativeMemory.AlignedAlloc((nuint)grown, Alignment);
        Buffer.MemoryCopy(_memory, memory, grown, _capacity);
        NativeMemory.AlignedFree(_memory);
        _memory = memory;
        _capacity = grown;
    }

    public void Dispose()
    {
        if (_memory == null) return;
        NativeMemory.AlignedFree(_memory);
        _memory = null;
    }
}
