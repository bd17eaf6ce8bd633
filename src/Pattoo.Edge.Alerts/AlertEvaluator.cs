using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Alerts;

/// <summary>A series an alert rule watches, as the catalog names it.</summary>
public sealed record AlertSeries(long Idx, string Program, string Target, string Key, IReadOnlyList<KeyValuePair<string, string>> Labels, bool Counter);

/// <summary>An alert that is pending or firing now, for the API.</summary>
public sealed record ActiveAlert(string Rule, AlertSeries Series, AlertState State, long Since, double? Value, EventSeverity Severity, string Message);

/// <summary>
/// The [[alerts.rules]] at work: every numeric sample the store accepts is judged by the rules
/// whose selector matches its series (on the writer's thread: a dictionary lookup for series no
/// rule watches), a clock tick each second judges no_data_for and makes reports damping held
/// back. Reports become events (program "alerts", target the rule, kind "alert") and, for
/// firing and resolved, notifications to the webhooks. Which series each rule watches is worked
/// out from the catalog off the writer's thread, again whenever the catalog changes.
/// </summary>
public sealed class AlertEvaluator : ISampleObserver, IAsyncDisposable
{
    public const string Program = "alerts";
    /// <summary>Samples older than this when stored (a backfill, an import of history) are not judged.</summary>
    private const long StaleMs = 5 * 60_000;

    private readonly TimeSeriesStore _store;
    private readonly IEventSink _events;
    private readonly AlertNotifier _notifier;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _clock;
    private AlertOptions _options = AlertOptions.None;
    private volatile Dictionary<long, (AlertSeries Series, AlertTrack[] Tracks)> _watched = new();
    private Dictionary<(string Fingerprint, long Idx), AlertTrack> _tracks = new();
    private long _catalogVersion = -1;
    private readonly List<AlertTransition> _observeBuffer = new(2);
    private bool _rebind = true;

    public AlertEvaluator(TimeSeriesStore store, IEventSink events, AlertNotifier notifier)
    {
        _store = store;
        _events = events;
        _notifier = notifier;
        _clock = Task.Run(ClockLoop);
    }

    /// <summary>Takes new rules (a reload): tracks of rules that did not change keep their state.</summary>
    public void Apply(AlertOptions options)
    {
        lock (_gate)
        {
            _options = options;
            _rebind = true;
        }
        _notifier.Apply(options.Webhooks);
        Bind();
        _store.Observer = options.Rules.Count > 0 ? this : null;
    }

    /// <summary>Alerts pending or firing now, firing first.</summary>
    public IReadOnlyList<ActiveAlert> Active()
    {
        var list = new List<ActiveAlert>();
        lock (_gate)
        {
            foreach (var (series, tracks) in _watched.Values)
                foreach (var t in tracks)
                    if (t.State != AlertState.Inactive)
                        list.Add(new ActiveAlert(t.Rule.Name, series, t.State, t.Since, t.LastValue, t.Rule.Severity, Message(t.Rule, series, t.State == AlertState.Firing ? "firing" : "pending", t.LastValue)));
        }
        return [.. list.OrderByDescending(a => a.State).ThenBy(a => a.Since)];
    }

    public void Observe(long idxDatapoint, DataType type, long timestampMs, double value)
    {
        if (!_watched.TryGetValue(idxDatapoint, out var watched)) return;
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (now - timestampMs > StaleMs) return;
        List<(AlertTrack, AlertTransition)>? reports = null;
        lock (_gate)
        {
            // The writer's thread only: one buffer for every sample, not a list per sample.
            var buffer = _observeBuffer;
            foreach (var track in watched.Tracks)
            {
                buffer.Clear();
                track.Sample(timestampMs, value, watched.Series.Counter, now, buffer);
                foreach (var r in buffer) (reports ??= []).Add((track, r));
            }
        }
        if (reports is not null) Publish(watched.Series, reports);
    }

    private async Task ClockLoop()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    Bind();
                    Tick(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.Warning($"alerts: evaluation failed this second: {e.Message}");
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Judges no_data_for and makes the reports damping held back.</summary>
    internal void Tick(long now)
    {
        var all = new List<(AlertSeries, AlertTrack, AlertTransition)>();
        var buffer = new List<AlertTransition>(2);
        lock (_gate)
        {
            foreach (var (series, tracks) in _watched.Values)
            {
                foreach (var track in tracks)
                {
                    buffer.Clear();
                    track.Tick(now, buffer);
                    foreach (var r in buffer) all.Add((series, track, r));
                }
            }
        }
        foreach (var group in all.GroupBy(a => a.Item1)) Publish(group.Key, [.. group.Select(g => (g.Item2, g.Item3))]);
    }

    /// <summary>Works out which series each rule watches, when the rules or the catalog changed.</summary>
    internal void Bind()
    {
        AlertOptions options;
        lock (_gate) options = _options;
        if (options.Rules.Count == 0)
        {
            lock (_gate) { _watched = new(); _tracks = new(); _rebind = false; }
            return;
        }
        var catalog = _store.Catalog.Snapshot();
        lock (_gate)
        {
            if (!_rebind && catalog.Version == _catalogVersion) return;
        }
        var watched = new Dictionary<long, (AlertSeries, AlertTrack[])>();
        var tracks = new Dictionary<(string, long), AlertTrack>();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        lock (_gate)
        {
            foreach (var d in catalog.Datapoints)
            {
                if (d.DataType == DataType.String || !d.Enabled) continue;
                var agent = catalog.Agent(d.IdxAgent);
                if (agent is null) continue;
                var (key, labels) = catalog.Describe(d);
                List<AlertTrack>? list = null;
                foreach (var rule in options.Rules)
                {
                    if (!rule.Matches(agent.AgentProgram, agent.AgentPolledTarget, key, labels)) continue;
                    if (!_tracks.TryGetValue((rule.Fingerprint, d.IdxDatapoint), out var track))
                    {
                        // A series that has had no sample since the start counts from its last one, else from now.
                        track = new AlertTrack(rule) { LastSampleAt = d.LastTimestamp > 0 ? d.LastTimestamp : now };
                    }
                    tracks[(rule.Fingerprint, d.IdxDatapoint)] = track;
                    (list ??= []).Add(track);
                }
                if (list is not null)
                    watched[d.IdxDatapoint] = (new AlertSeries(d.IdxDatapoint, agent.AgentProgram, agent.AgentPolledTarget, key, labels, d.DataType.IsCounter()), [.. list]);
            }
            _watched = watched;
            _tracks = tracks;
            _catalogVersion = catalog.Version;
            _rebind = false;
        }
    }

    private void Publish(AlertSeries series, List<(AlertTrack Track, AlertTransition Report)> reports)
    {
        foreach (var (track, r) in reports)
        {
            var rule = track.Rule;
            string state = r.Report switch { AlertReport.Pending => "pending", AlertReport.Firing => "firing", _ => "resolved" };
            string message = Message(rule, series, state, r.Value);
            string text = $"{rule.Name} {state}: {message}" + (r.Flaps > 0 ? $" (changed state {r.Flaps} more times since the last notification)" : "");
            var details = new List<KeyValuePair<string, string>>
            {
                new("state", state),
                new("rule", rule.Name),
                new("series", $"{series.Program}/{series.Target} {series.Key}"),
                new("idxDatapoint", series.Idx.ToString(CultureInfo.InvariantCulture)),
                new("condition", rule.Condition.ToString()),
                new("since", DateTimeOffset.FromUnixTimeMilliseconds(r.Since).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)),
            };
            if (r.Value is { } v) details.Add(new("value", AlertCondition.Number(v)));
            if (r.Flaps > 0) details.Add(new("flaps", r.Flaps.ToString(CultureInfo.InvariantCulture)));
            foreach (var l in series.Labels) details.Add(new("label:" + l.Key, l.Value));
            var severity = r.Report == AlertReport.Firing ? rule.Severity : EventSeverity.Info;
            _events.Publish(new EdgeEvent(r.At, Program, rule.Name, "alert", severity, text, details));
            if (r.Report != AlertReport.Pending) _notifier.Enqueue(new AlertNotification(rule, series, r, message));
        }
    }

    internal static string Message(AlertRule rule, AlertSeries series, string state, double? value)
        => AlertOptions.Render(rule.Message, name => name switch
        {
            "rule" => rule.Name,
            "program" => series.Program,
            "target" => series.Target,
            "key" => series.Key,
            "value" => value is { } v ? AlertCondition.Number(Math.Round(v, 6)) : "no data",
            "condition" => rule.Condition.ToString(),
            "state" => state,
            "severity" => rule.Severity.Name(),
            "for" => Duration.Format(rule.For),
            _ when name.StartsWith("label:", StringComparison.Ordinal) => series.Labels.FirstOrDefault(l => l.Key == name[6..]).Value ?? "",
            _ => null,
        });

    public async ValueTask DisposeAsync()
    {
        _store.Observer = null;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _clock.ConfigureAwait(false);
        _stop.Dispose();
    }
}
