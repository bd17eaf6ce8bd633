using System.Threading.Channels;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Storage;

/// <summary>
/// The box's <see cref="IEventSink"/>: events are queued without blocking the receiver (a trap
/// listener must not wait for the disk) and stored in batches, one transaction per
/// <see cref="BatchWindow"/> at most: a burst of traps costs one flash commit, not one each.
/// A full queue (a storm faster than the disk) drops new events, counted and logged.
/// </summary>
public sealed class EventRecorder : IEventSink, IAsyncDisposable
{
    public const int QueueCapacity = 10_000;
    private const int MaxBatch = 1_000;

    private readonly TimeSeriesStore _store;
    private readonly Channel<EdgeEvent> _queue = Channel.CreateBounded<EdgeEvent>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Task _writer;
    private readonly CancellationTokenSource _closing = new();
    private long _published, _stored, _dropped, _lost;

    public EventRecorder(TimeSeriesStore store, TimeSpan? batchWindow = null)
    {
        _store = store;
        BatchWindow = batchWindow ?? TimeSpan.FromMilliseconds(500);
        _writer = Task.Run(WriteLoop);
    }

    /// <summary>How long the first event of a batch waits for others.</summary>
    public TimeSpan BatchWindow { get; }

    /// <summary>Events published, stored, dropped on a full queue, and lost to a failed write.</summary>
    public (long Published, long Stored, long Dropped, long Lost) Counts
        => (Interlocked.Read(ref _published), Interlocked.Read(ref _stored), Interlocked.Read(ref _dropped), Interlocked.Read(ref _lost));

    public void Publish(EdgeEvent e)
    {
        Interlocked.Increment(ref _published);
        if (_queue.Writer.TryWrite(e)) return;
        long dropped = Interlocked.Increment(ref _dropped);
        if (dropped == 1 || dropped % 1000 == 0)
            Log.Warning($"events: the queue of {QueueCapacity} events is full (the disk is slower than the events come); {dropped} dropped so far, the last from {e.Program} {e.Target}");
    }

    /// <summary>Waits until everything published so far is stored (tests, and before a backup).</summary>
    public async Task FlushAsync()
    {
        long target = Interlocked.Read(ref _published);
        while (Interlocked.Read(ref _stored) + Interlocked.Read(ref _dropped) + Interlocked.Read(ref _lost) < target && !_writer.IsCompleted)
            await Task.Delay(20).ConfigureAwait(false);
    }

    private async Task WriteLoop()
    {
        var reader = _queue.Reader;
        var batch = new List<EdgeEvent>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            try { await Task.Delay(BatchWindow, _closing.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { } // closing: store what is queued at once
            while (batch.Count < MaxBatch && reader.TryRead(out var e)) batch.Add(e);
            try
            {
                await _store.AppendEventsAsync(batch.ToArray()).ConfigureAwait(false);
                Interlocked.Add(ref _stored, batch.Count);
            }
            catch (StorageUnavailableException ex)
            {
                Interlocked.Add(ref _lost, batch.Count);
                Log.Warning($"events: {batch.Count} events were not stored: {ex.Message}");
            }
            batch.Clear();
        }
    }

    /// <summary>Stores what is queued, then stops; call before the store is disposed.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _closing.CancelAsync().ConfigureAwait(false);
        await _writer.ConfigureAwait(false);
        _closing.Dispose();
    }
}
