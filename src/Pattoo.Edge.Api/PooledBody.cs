using System.Buffers;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Api;

/// <summary>
/// A request body, read into an array rented from the shared pool when its length is announced
/// and fits <see cref="PoolLimit"/>; <see cref="Dispose"/> gives it back. Ingest posts of
/// 100,000 samples are megabytes each: a fresh array for every one costs a large-object
/// allocation, its page faults and a collection to get rid of it. A body that grows past its
/// first array (no Content-Length, gzip, a hostile client) gets arrays of its own, which the heap
/// trim hands back to the kernel; a pool would keep every size it passed through. Bodies of a
/// megabyte or more come from <see cref="LargeArrayPool{T}"/>, which reuses them whichever thread
/// gives them back.
/// </summary>
internal sealed class PooledBody : IDisposable
{
    /// <summary>Largest array taken from (and kept by) the pool: a 100,000-sample post fits.</summary>
    public const int PoolLimit = 16 * 1024 * 1024;

    private byte[] _array;
    private bool _rented;
    private readonly bool _large;

    public PooledBody(int initialBytes)
    {
        initialBytes = Math.Max(256, initialBytes);
        _rented = initialBytes <= PoolLimit;
        _large = initialBytes >= HeapTrim.LargeBytes;
        _array = !_rented ? GC.AllocateUninitializedArray<byte>(initialBytes)
            : _large ? LargeArrayPool<byte>.Shared.Rent(initialBytes)
            : ArrayPool<byte>.Shared.Rent(initialBytes);
    }

    /// <summary>False once the body is in an array of its own: the caller should trim the heap after the request.</summary>
    public bool Pooled => _rented;

    /// <summary>Bytes read so far.</summary>
    public int Length { get; private set; }

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, Length);

    /// <summary>Room for at least <paramref name="sizeHint"/> more bytes (grown by doubling into an array of its own).</summary>
    public Memory<byte> GetMemory(int sizeHint)
    {
        if (_array.Length - Length < sizeHint)
        {
            var bigger = GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, Math.Max((long)_array.Length * 2, (long)Length + sizeHint)));
            _array.AsSpan(0, Length).CopyTo(bigger);
            GiveBack();
            _array = bigger;
        }
        return _array.AsMemory(Length);
    }

    public void Advance(int count) => Length += count;

    public void Dispose()
    {
        GiveBack();
        _array = [];
        Length = 0;
    }

    private void GiveBack()
    {
        if (!_rented) return;
        _rented = false;
        if (_large) LargeArrayPool<byte>.Shared.Return(_array, 0);
        else ArrayPool<byte>.Shared.Return(_array);
    }
}
