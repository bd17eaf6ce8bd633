using Pattoo.Edge.Common;
using Pattoo.Edge.Forwarding.RemoteWrite;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Forwarding;

/// <summary>
/// The running forwarders. A reload (<see cref="ApplyAsync"/>) stops those removed or changed
/// (each saves its cursor) and starts those added or changed (each resumes from its cursor), so
/// an unchanged forwarder runs on untouched and a changed one loses nothing.
/// </summary>
public sealed class ForwarderSet : IAsyncDisposable
{
    private readonly TimeSeriesStore _store;
    private TimeSpan _maxBacklog = ForwardOptions.None.MaxBacklog;
    private readonly HashSet<string> _overrun = new(StringComparer.Ordinal);

    public ForwarderSet(TimeSeriesStore store)
    {
        _store = store;
        store.RetentionHold = Hold;
    }

    /// <summary>
    /// Retention does not delete what a forwarder has not sent, unless that is older than
    /// forward.max_backlog: then the forwarder has fallen too far behind, and it is said once.
    /// </summary>
    private long Hold(long cutoff)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long floor = now - (long)_maxBacklog.TotalMilliseconds;
        long hold = cutoff;
        List<CursorForwarder> all;
        lock (_running) all = [.. _running.Values.Select(r => r.Forwarder)];
        foreach (var f in all)
        {
            if (f.OldestUnsent is not { } oldest || oldest > cutoff) continue;
            if (oldest < floor)
            {
                if (_overrun.Add(f.Options.Name))
                    Log.Warning($"forward {f.Options.Name}: more than forward.max_backlog ({Duration.Format(_maxBacklog)}) behind; retention deletes its unsent samples older than that");
                hold = Math.Min(hold, floor);
            }
            else hold = Math.Min(hold, oldest);
        }
        return hold;
    }
    private readonly Dictionary<string, (string Signature, CursorForwarder Forwarder)> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);

    public IReadOnlyList<ForwarderStatus> Statuses
    {
        get
        {
            lock (_running) return [.. _running.Values.Select(r => r.Forwarder.Status).OrderBy(s => s.Name, StringComparer.Ordinal)];
        }
    }

    /// <summary>The running forwarders (tests).</summary>
    internal IReadOnlyList<CursorForwarder> Running
    {
        get
        {
            lock (_running) return [.. _running.Values.Select(r => r.Forwarder)];
        }
    }

    public async Task ApplyAsync(ForwardOptions options)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _maxBacklog = options.MaxBacklog;
            var wanted = options.All.ToDictionary(o => o.Name, o => (o.Signature, Options: o), StringComparer.Ordinal);
            List<KeyValuePair<string, (string Signature, CursorForwarder Forwarder)>> stale;
            lock (_running) stale = [.. _running.Where(r => !wanted.TryGetValue(r.Key, out var w) || w.Signature != r.Value.Signature)];
            foreach (var (name, (_, forwarder)) in stale)
            {
                lock (_running) _running.Remove(name);
                await forwarder.DisposeAsync().ConfigureAwait(false);
                if (!wanted.ContainsKey(name)) Log.Info($"forward {name}: removed from the config; its cursor is kept should it come back");
            }
            foreach (var (name, (signature, o)) in wanted)
            {
                lock (_running)
                {
                    if (_running.ContainsKey(name)) continue;
                }
                CursorForwarder forwarder = o switch
                {
                    RemoteWriteOptions r => new RemoteWriteForwarder(r, _store),
                    PattooForwardOptions p => new PattooAgent.PattooForwarder(p, _store),
                    MqttForwardOptions m => new Mqtt.MqttForwarder(m, _store),
                    _ => throw new InvalidOperationException($"no forwarder for {o.Kind}"),
                };
                forwarder.Start();
                lock (_running) _running[name] = (signature, forwarder);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<CursorForwarder> all;
        lock (_running)
        {
            all = [.. _running.Values.Select(r => r.Forwarder)];
            _running.Clear();
        }
        foreach (var f in all) await f.DisposeAsync().ConfigureAwait(false);
    }
}
