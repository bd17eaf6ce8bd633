namespace Pattoo.Edge.Common;

/// <summary>
/// Hands memory back to the kernel after a burst of large requests. Their buffers are
/// garbage once answered, but the GC keeps the regions committed until it next needs to
/// collect, which on an idle box can be a long time: eight 31 MB requests left RSS at 192 MB.
/// Callers that just dropped a large buffer call <see cref="Soon"/>; one aggressive collection
/// runs once no such call came for <see cref="Quiet"/>.
/// </summary>
public static class HeapTrim
{
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);
    /// <summary>Buffers at least this large are worth a trim.</summary>
    public const long LargeBytes = 1024 * 1024;

    private static long _lastRequest;
    private static int _scheduled;

    public static void Soon()
    {
        Volatile.Write(ref _lastRequest, Environment.TickCount64);
        if (Interlocked.Exchange(ref _scheduled, 1) == 1) return;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                await Task.Delay(Quiet).ConfigureAwait(false);
                if (Environment.TickCount64 - Volatile.Read(ref _lastRequest) < Quiet.TotalMilliseconds) continue;
                Volatile.Write(ref _scheduled, 0);
                Now();
                // A request that came while the flag was being cleared schedules its own run.
                return;
            }
        });
    }

    private static readonly List<Action> TrimCallbacks = [];

    /// <summary><paramref name="drop"/> lets go of memory kept for reuse (a pool) at every trim.</summary>
    public static void OnTrim(Action drop)
    {
        lock (TrimCallbacks) TrimCallbacks.Add(drop);
    }

    /// <summary>
    /// Empties the pools, then a blocking, compacting, aggressive collection: a few ms on a heap this small.
    /// </summary>
    public static void Now()
    {
        lock (TrimCallbacks)
        {
            foreach (var drop in TrimCallbacks) drop();
        }
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
