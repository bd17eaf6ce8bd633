namespace Pattoo.Edge.Alerts;

public enum AlertState { Inactive, Pending, Firing }

/// <summary>What a track reports: an alert became pending (an event only), fired, or resolved.</summary>
public enum AlertReport { Pending, Firing, Resolved }

/// <summary>A report of one rule and series: when, the value then, since when the condition held, and how many unreported state changes (flaps) it had since the last report.</summary>
public readonly record struct AlertTransition(AlertReport Report, long At, double? Value, long Since, int Flaps);

/// <summary>
/// One rule on one series: the state machine (inactive, pending for <c>for</c>, firing) and its
/// damping. Pure: times are passed in (ms), reports come back, so it is tested without clocks.
/// A firing or a resolution is reported at most once per <c>min_notify_interval</c>: when the
/// condition flaps faster, the reports wait, the flaps are counted, and the state the series is
/// in when the interval is up is the one reported (nothing when it is back where it was).
/// </summary>
public sealed class AlertTrack(AlertRule rule)
{
    public AlertRule Rule { get; } = rule;
    public AlertState State { get; private set; }
    /// <summary>Since when the condition has held (pending or firing).</summary>
    public long Since { get; private set; }
    public bool ReportedFiring { get; private set; }
    public double? LastValue { get; private set; }
    /// <summary>The newest sample seen (ms), for no_data_for.</summary>
    public long LastSampleAt { get; set; }

    private long _lastReportAt = long.MinValue;
    private long _lastPendingAt = long.MinValue;
    /// <summary>Times the series started or stopped firing since the last report: the reported change is one, the rest are flaps.</summary>
    private int _changes;
    // Counters are judged by their per-second rate between consecutive samples.
    private long _previousTs;
    private double _previousValue;
    private bool _hasPrevious;

    private long Interval => (long)Rule.MinNotifyInterval.TotalMilliseconds;

    /// <summary>A sample of the series: updates the state; returns what to report (usually nothing).</summary>
    public void Sample(long timestampMs, double value, bool counter, long now, List<AlertTransition> reports)
    {
        LastSampleAt = Math.Max(LastSampleAt, timestampMs);
        double judged = value;
        if (counter)
        {
            bool first = !_hasPrevious || timestampMs <= _previousTs || value < _previousValue; // a reset starts over
            double rate = first ? double.NaN : (value - _previousValue) / ((timestampMs - _previousTs) / 1000.0);
            _previousTs = timestampMs;
            _previousValue = value;
            _hasPrevious = true;
            if (first) return;
            judged = rate;
        }
        LastValue = judged;
        Judge(Rule.Condition.Holds(judged), now, reports);
    }

    /// <summary>The clock moved: no_data_for is judged, and reports held by damping are made when due.</summary>
    public void Tick(long now, List<AlertTransition> reports)
    {
        if (Rule.Condition.Kind == AlertConditionKind.NoDataFor)
            Judge(now - LastSampleAt > (long)Rule.Condition.NoData.TotalMilliseconds, now, reports);
        else Report(now, reports);
    }

    private void Judge(bool holds, long now, List<AlertTransition> reports)
    {
        if (holds)
        {
            if (State == AlertState.Inactive)
            {
                State = AlertState.Pending;
                Since = now;
                if (Rule.For > TimeSpan.Zero && !ReportedFiring && (_lastPendingAt == long.MinValue || now - _lastPendingAt >= Interval))
                {
                    _lastPendingAt = now;
                    reports.Add(new AlertTransition(AlertReport.Pending, now, LastValue, Since, 0));
                }
            }
            if (State == AlertState.Pending && now - Since >= (long)Rule.For.TotalMilliseconds)
            {
                State = AlertState.Firing;
                _changes++;
            }
        }
        else if (State != AlertState.Inactive)
        {
            if (State == AlertState.Firing) _changes++;
            State = AlertState.Inactive;
        }
        Report(now, reports);
    }

    private void Report(long now, List<AlertTransition> reports)
    {
        bool due = _lastReportAt == long.MinValue || now - _lastReportAt >= Interval;
        if (!due) return;
        if (State == AlertState.Firing && !ReportedFiring)
        {
            ReportedFiring = true;
            reports.Add(new AlertTransition(AlertReport.Firing, now, LastValue, Since, Math.Max(0, _changes - 1)));
            _lastReportAt = now;
            _changes = 0;
        }
        else if (State != AlertState.Firing && ReportedFiring)
        {
            ReportedFiring = false;
            reports.Add(new AlertTransition(AlertReport.Resolved, now, LastValue, Since, Math.Max(0, _changes - 1)));
            _lastReportAt = now;
            _changes = 0;
        }
    }
}
