using System.Diagnostics;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Pollers;

/// <summary>
/// Runs every target on its own loop, so a slow or dead device never delays the others,
/// hands each cycle's samples to storage, and keeps each target's state. Logs a target
/// when its state changes (first success, failure, a different failure, recovery), not
/// on every poll.
/// </summary>
public sealed class PollScheduler : IAsyncDisposable
{
    private readonly ISampleSink _sink;
    private readonly TimeProvider _clock;
    private readonly object _gate = new();
    private readonly Dictionary<(string, string), Running> _running = new();

    private sealed record Running(IPollTarget Target, TargetState State, CancellationTokenSource Stop, Task Loop);

    /// <summary>
    /// Samples already stored since a time (ms) per (program, target), so "samples today" of a
    /// target started after a restart counts what the day already holds. Null: count from zero.
    /// </summary>
    public Func<long, IReadOnlyDictionary<(string Program, string Target), long>>? StoredSince { get; set; }

    public PollScheduler(ISampleSink sink, TimeProvider? clock = null)
    {
        _sink = sink;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>The running targets (write-back reaches devices through them, sharing their connections).</summary>
    public IReadOnlyList<IPollTarget> Targets
    {
        get
        {
            lock (_gate) return [.. _running.Values.Select(r => r.Target)];
        }
    }

    /// <summary>States of all running targets, ordered by program and name.</summary>
    public IReadOnlyList<TargetState> States
    {
        get
        {
            lock (_gate)
            {
                var list = _running.Values.Select(r => r.State).ToList();
                list.Sort((a, b) => a.Program != b.Program ? string.CompareOrdinal(a.Program, b.Program) : string.CompareOrdinal(a.Name, b.Name));
                return list;
            }
        }
    }

    /// <summary>
    /// Makes the running set equal to <paramref name="targets"/>: starts new ones, restarts
    /// those whose configuration changed, stops those that are gone and leaves the rest alone.
    /// </summary>
    public async Task ApplyAsync(IReadOnlyList<IPollTarget> targets)
    {
        var wanted = new Dictionary<(string, string), IPollTarget>();
        foreach (var t in targets) wanted[(t.Program, t.Name)] = t;
        var toStop = new List<Running>();
        var toStart = new List<IPollTarget>();
        var unused = new List<IPollTarget>();
        lock (_gate)
        {
            foreach (var (id, run) in _running)
            {
                if (!wanted.TryGetValue(id, out var t) || t.ConfigFingerprint != run.Target.ConfigFingerprint) toStop.Add(run);
            }
            foreach (var (id, t) in wanted)
            {
                if (_running.TryGetValue(id, out var run) && run.Target.ConfigFingerprint == t.ConfigFingerprint) unused.Add(t);
                else toStart.Add(t);
            }
            foreach (var run in toStop) _running.Remove((run.Target.Program, run.Target.Name));
        }
        foreach (var run in toStop)
        {
            await StopAsync(run).ConfigureAwait(false);
            Log.Info($"{run.Target.Program}/{run.Target.Name}: stopped");
        }
        foreach (var t in unused) await t.DisposeAsync().ConfigureAwait(false);
        IReadOnlyDictionary<(string, string), long>? stored = null;
        var today = DateOnly.FromDateTime(_clock.GetLocalNow().DateTime);
        if (toStart.Count > 0 && StoredSince is { } count)
        {
            try
            {
                stored = count(new DateTimeOffset(today.ToDateTime(TimeOnly.MinValue), _clock.GetLocalNow().Offset).ToUnixTimeMilliseconds());
            }
            catch (Exception e)
            {
                Log.Warning($"pollers: today's stored samples could not be counted ({e.Message}); counting from zero");
            }
        }
        foreach (var t in toStart)
        {
            var state = new TargetState(t.Program, t.Name, t.Interval);
            if (stored is not null && stored.TryGetValue((t.Program, t.Name), out long already)) state.SeedToday(today, already);
            state.Observe(t);
            var stop = new CancellationTokenSource();
            var run = new Running(t, state, stop, Task.Run(() => LoopAsync(t, state, stop.Token)));
            lock (_gate) _running[(t.Program, t.Name)] = run;
            Log.Info($"{t.Program}/{t.Name}: polling every {Duration.Format(t.Interval)}");
        }
    }

    private async Task LoopAsync(IPollTarget target, TargetState state, CancellationToken stop)
    {
        var batch = new SampleBatch(256);
        var report = new PollReport();
        using var timer = new PeriodicTimer(target.Interval, _clock);
        do
        {
            batch.Clear();
            report.Clear();
            var started = Stopwatch.GetTimestamp();
            try
            {
                // A poll may not run into the next one: it is cut off at one interval.
                using (var limit = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    limit.CancelAfter(target.Interval);
                    try
                    {
                        await target.PollAsync(batch, report, limit.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                    {
                        throw new TimeoutException($"poll took longer than its interval ({Duration.Format(target.Interval)})");
                    }
                }
                var roundTrip = Stopwatch.GetElapsedTime(started);
                await _sink.WriteAsync(batch, stop).ConfigureAwait(false);
                if (state.RecordSuccess(_clock.GetUtcNow(), roundTrip, batch.Count))
                    Log.Info($"{target.Program}/{target.Name}: polling OK, {batch.Count} values in {roundTrip.TotalMilliseconds:F0} ms");
                if (report.Problems.Count > 0 && Log.IsEnabled(LogLevel.Debug))
                    Log.Debug($"{target.Program}/{target.Name}: skipped: {string.Join("; ", report.Problems)}");
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                if (state.RecordFailure(_clock.GetUtcNow(), e.Message))
                    Log.Warning($"{target.Program}/{target.Name}: poll failed: {e.Message}");
            }
        }
        while (await WaitAsync(timer, stop).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stop)
    {
        try { return await timer.WaitForNextTickAsync(stop).ConfigureAwait(false); }
        catch (OperationCanceledException) { return false; }
    }

    private static async Task StopAsync(Running run)
    {
        run.Stop.Cancel();
        try { await run.Loop.ConfigureAwait(false); }
        catch (Exception e) { Log.Error($"{run.Target.Program}/{run.Target.Name}: poll loop ended with an error: {e.Message}"); }
        run.Stop.Dispose();
        await run.Target.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        List<Running> all;
        lock (_gate)
        {
            all = _running.Values.ToList();
            _running.Clear();
        }
        await Task.WhenAll(all.Select(StopAsync)).ConfigureAwait(false);
    }
}
