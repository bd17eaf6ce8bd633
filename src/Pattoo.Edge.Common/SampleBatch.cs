namespace Pattoo.Edge.Common;

/// <summary>One sample: a series, a time (Unix ms) and a numeric value or a string.</summary>
public readonly record struct Sample(SeriesKey Series, long TimestampMs, double Value, string? Text = null);

/// <summary>
/// Samples gathered by one poll cycle or one ingest request, written to storage as a unit.
/// A poller keeps one batch and clears it every cycle, so a cycle allocates nothing per sample.
/// </summary>
public sealed class SampleBatch
{
    private Sample[] _items;
    private readonly bool _pooled;

    public SampleBatch(int capacity = 64) => _items = new Sample[Math.Max(4, capacity)];

    private SampleBatch(Sample[] items)
    {
        _items = items;
        _pooled = true;
    }

    /// <summary>
    /// A batch whose array is rented from <see cref="LargeArrayPool{T}"/>, for large one-off
    /// batches (an ingest request of 100,000 samples is a 3 MB array): <see cref="Release"/>
    /// gives it back once the store has taken the samples.
    /// </summary>
    public static SampleBatch Rent(int capacity) => new(LargeArrayPool<Sample>.Shared.Rent(Math.Max(4, capacity)));

    /// <summary>Returns a rented array to the pool (its samples cleared); the batch is empty and unusable afterwards.</summary>
    public void Release()
    {
        if (!_pooled || _items.Length == 0) return;
        LargeArrayPool<Sample>.Shared.Return(_items, Count);
        _items = [];
        Count = 0;
    }

    public int Count { get; private set; }

    public ReadOnlySpan<Sample> Items => _items.AsSpan(0, Count);

    public ref readonly Sample this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
            return ref _items[index];
        }
    }

    /// <summary>
    /// A numeric sample. The series' type is not read here: an import adds a sample of a
    /// different series on every line, and loading each key to check it was 5% of an import's
    /// CPU; the store, which loads the series anyway, drops a number given to a string series.
    /// </summary>
    public void Add(SeriesKey series, long timestampMs, double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value)) return; // NaN is "no reading", not a value to chart
        Push(new Sample(series, timestampMs, value));
    }

    public void AddText(SeriesKey series, long timestampMs, string text)
    {
        if (series.DataType != DataType.String) throw new ArgumentException($"{series} is not a string series", nameof(series));
        Push(new Sample(series, timestampMs, 0, text ?? ""));
    }

    public void Clear()
    {
        Array.Clear(_items, 0, Count); // drop references so old series can be collected
        Count = 0;
    }

    /// <summary>Makes room for <paramref name="count"/> samples in all, once, rather than growing by doubling.</summary>
    public void EnsureCapacity(int count)
    {
        while (_items.Length < count) Grow(count);
    }

    private void Grow(int atLeast = 0)
    {
        if (!_pooled)
        {
            Array.Resize(ref _items, Math.Max(atLeast, Math.Max(4, _items.Length * 2)));
            return;
        }
        if (_items.Length == 0) throw new InvalidOperationException("the batch was released");
        var bigger = LargeArrayPool<Sample>.Shared.Rent(Math.Max(atLeast, _items.Length * 2));
        _items.AsSpan(0, Count).CopyTo(bigger);
        LargeArrayPool<Sample>.Shared.Return(_items, Count);
        _items = bigger;
    }

    private void Push(in Sample s)
    {
        if (Count == _items.Length) Grow();
        _items[Count++] = s;
    }
}

/// <summary>Where pollers and ingest hand their samples: the storage writer.</summary>
public interface ISampleSink
{
    /// <summary>
    /// Queues the batch and completes once the store has accepted it (readable at once; on the
    /// disk within the store's commit interval). The caller may reuse the batch after the task
    /// completes.
    /// </summary>
    /// <exception cref="OperationCanceledException">the token was cancelled before the commit.</exception>
    /// <exception cref="StorageUnavailableException">the store is closed or failing.</exception>
    Task WriteAsync(SampleBatch batch, CancellationToken cancellationToken);
}

public sealed class StorageUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
