using System.Numerics;
using System.Runtime.CompilerServices;

namespace Pattoo.Edge.Common;

/// <summary>
/// A few large arrays (ingest bodies and their sample batches, megabytes each) kept for reuse
/// whichever thread gives them back. <c>ArrayPool&lt;T&gt;.Shared</c> keeps a returned array in
/// the returning thread's own slot first: an ingest request rents on one thread-pool thread
/// and returns on another, so an import of 40 bodies over two connections left body and batch
/// arrays in the slots of a dozen threads (RSS 235 MB) and still paged in fresh arrays for most
/// bodies (52,000 page faults, 9% of the import's CPU). <see cref="HeapTrim.Now"/> empties the
/// pools, so an idle box keeps none of it.
/// </summary>
public sealed class LargeArrayPool<T>
{
    /// <summary>Two concurrent ingest requests (api.max_concurrent_ingest's default) with room for a burst.</summary>
    public const int DefaultCapacity = 4;

    public static LargeArrayPool<T> Shared { get; } = Register(new LargeArrayPool<T>(DefaultCapacity));

    private readonly T[]?[] _kept;
    private readonly Lock _lock = new();

    public LargeArrayPool(int capacity) => _kept = new T[]?[Math.Max(1, capacity)];

    /// <summary>Arrays held for reuse now (tests, diagnostics).</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _kept.Count(a => a is not null);
        }
    }

    /// <summary>
    /// An array of at least <paramref name="minimumLength"/>: the smallest kept one that fits,
    /// or a new one rounded up to a power of two (so the next, slightly larger body fits it).
    /// Its contents are undefined.
    /// </summary>
    public T[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        lock (_lock)
        {
            int best = -1;
            for (int i = 0; i < _kept.Length; i++)
            {
                if (_kept[i] is { } a && a.Length >= minimumLength && (best < 0 || a.Length < _kept[best]!.Length)) best = i;
            }
            if (best >= 0)
            {
                var array = _kept[best]!;
                _kept[best] = null;
                return array;
            }
        }
        long rounded = minimumLength <= 16 ? 16 : (long)BitOperations.RoundUpToPowerOf2((uint)minimumLength);
        return GC.AllocateUninitializedArray<T>((int)Math.Min(rounded, Array.MaxLength));
    }

    /// <summary>
    /// Keeps <paramref name="array"/> for the next <see cref="Rent"/>; its first
    /// <paramref name="usedLength"/> items are cleared first when they hold references (so the
    /// pool keeps no series or strings alive). A full pool keeps the larger arrays.
    /// </summary>
    public void Return(T[] array, int usedLength)
    {
        if (array.Length == 0) return;
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>()) Array.Clear(array, 0, Math.Min(usedLength, array.Length));
        lock (_lock)
        {
            int empty = -1, smallest = -1;
            for (int i = 0; i < _kept.Length; i++)
            {
                if (ReferenceEquals(_kept[i], array)) return; // given back twice: kept once
                if (_kept[i] is not { } kept) { if (empty < 0) empty = i; }
                else if (smallest < 0 || kept.Length < _kept[smallest]!.Length) smallest = i;
            }
            if (empty >= 0) _kept[empty] = array;
            else if (_kept[smallest]!.Length < array.Length) _kept[smallest] = array;
        }
    }

    /// <summary>Drops every kept array (the heap trim of an idle box).</summary>
    public void Clear()
    {
        lock (_lock) Array.Clear(_kept);
    }

    private static LargeArrayPool<T> Register(LargeArrayPool<T> pool)
    {
        HeapTrim.OnTrim(pool.Clear);
        return pool;
    }
}
