using System.Net.Sockets;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers;

namespace Pattoo.Edge.Host;

/// <summary>
/// The running receivers (the SNMP trap receiver). On a reload, one whose settings did not
/// change keeps running (its socket, its counters); a changed one is stopped and the new one
/// started; one no longer configured is stopped.
/// </summary>
internal sealed class ListenerSet : IAsyncDisposable
{
    private List<IListener> _running = [];

    public IReadOnlyList<IListenerStatus> Statuses => _running;

    /// <summary>Runs <paramref name="wanted"/>; those equal to a running one are dropped unstarted.</summary>
    /// <exception cref="InvalidOperationException">a new listener could not start (its address is taken or not allowed).</exception>
    public async Task ApplyAsync(IReadOnlyList<IListener> wanted)
    {
        var next = new List<IListener>();
        var keep = new HashSet<IListener>();
        foreach (var listener in wanted)
        {
            var same = _running.FirstOrDefault(r => r.Fingerprint == listener.Fingerprint && !keep.Contains(r));
            if (same is not null)
            {
                keep.Add(same);
                next.Add(same);
                await listener.DisposeAsync().ConfigureAwait(false);
            }
            else next.Add(listener);
        }
        foreach (var old in _running)
        {
            if (keep.Contains(old)) continue;
            await old.DisposeAsync().ConfigureAwait(false);
            Log.Info($"{old.Name}: stopped");
        }
        _running = [.. keep];
        List<string> failures = [];
        foreach (var listener in next)
        {
            if (keep.Contains(listener)) continue;
            try
            {
                listener.Start();
                _running.Add(listener);
            }
            catch (SocketException e)
            {
                failures.Add(e.Message);
                await listener.DisposeAsync().ConfigureAwait(false);
            }
        }
        if (failures.Count > 0) throw new InvalidOperationException(string.Join("; ", failures));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in _running) await listener.DisposeAsync().ConfigureAwait(false);
        _running = [];
    }
}
