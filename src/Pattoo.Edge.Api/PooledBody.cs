using System.Buffers;

namespace Pattoo.Edge.Api;

/// <summary>
/// A request body in an array rented from the shared pool; <see cref="Dispose"/> gives it back.
/// Ingest posts of 100,000 samples are megabytes each: fresh arrays for every one cost a
/// large-object allocation, its page faults and a collection to get rid of it.
/// </summary>
internal sealed class PooledBody : IDisposable
{
    private byte[] _array;

    public PooledBody(int initialBytes) => _array = ArrayPool<byte>.Shared.Rent(Math.Max(256, initialBytes));

    /// <summary>Bytes read so far.</summary>
    public int Length { get; private set; }

    public int Capacity => _array.Length;

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, Length);

    /// <summary>Room for at least <paramref name="sizeHint"/> more bytes (grown by doubling, the old array returned).</summary>
    public Memory<byte> GetMemory(int sizeHint)
    {
        if (_array.Length - Length < sizeHint)
        {
            var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)_array.Length * 2, (long)Length + sizeHint)));
            _array.AsSpan(0, Length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_array);
            _array = bigger;
        }
        return _array.AsMemory(Length);
    }

    public void Advance(int count) => Length += count;

    public void Dispose()
    {
        if (_array.Length == 0) return;
        ArrayPool<byte>.Shared.Return(_array);
        _array = [];
        Length = 0;
    }
}
