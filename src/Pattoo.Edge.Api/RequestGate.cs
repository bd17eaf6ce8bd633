namespace Pattoo.Edge.Api;

/// <summary>
/// Caps how many expensive requests (GraphQL executions, ingest bodies) run at once, so a
/// burst from the LAN costs bounded memory and leaves the pollers CPU. A request waits up to
/// <see cref="Wait"/> for a slot, then gets 503 with Retry-After.
/// </summary>
public sealed class RequestGate(string what, string setting, int slots)
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private readonly SemaphoreSlim _slots = new(slots, slots);

    public int Slots => slots;

    /// <summary>A lease to dispose when the request is done, or null when the box stayed busy.</summary>
    public async Task<Lease?> EnterAsync(CancellationToken cancel)
    {
        try
        {
            return await _slots.WaitAsync(Wait, cancel).ConfigureAwait(false) ? new Lease(_slots) : null;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return null;
        }
    }

    public string BusyMessage => $"the box is busy: {slots} {what} already in progress ({setting}); retry shortly";

    public sealed class Lease(SemaphoreSlim slots) : IDisposable
    {
        private int _released;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) slots.Release();
        }
    }
}
