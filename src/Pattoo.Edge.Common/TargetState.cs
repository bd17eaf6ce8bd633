namespace Pattoo.Edge.Common;

/// <summary>How one target is doing, for the API and the logs. Updated by its poll loop only.</summary>
public sealed class TargetState(string program, string name, TimeSpan interval)
{
    public string Program { get; } = program;
    public string Name { get; } = name;
    public TimeSpan Interval { get; } = interval;
    public DateTimeOffset? LastSuccess { get; private set; }
    public DateTimeOffset? LastAttempt { get; private set; }
    public string? LastError { get; private set; }
    public DateTimeOffset? LastErrorAt { get; private set; }
    /// <summary>How long the last successful poll took.</summary>
    public TimeSpan RoundTrip { get; private set; }
    /// <summary>Values the last successful poll produced.</summary>
    public int Datapoints { get; private set; }
    public long Polls { get; private set; }
    public long Failures { get; private set; }
    /// <summary>True while the most recent poll failed.</summary>
    public bool Failing { get; private set; }

    /// <summary>The target's own figures (<see cref="IPollTargetDiagnostics"/>), read when asked; empty when it has none.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Diagnostics => _diagnostics?.Diagnostics ?? [];
    private IPollTargetDiagnostics? _diagnostics;
    /// <summary>The target polled for this state: its figures are shown when it has any.</summary>
    internal void Observe(object target) => _diagnostics = target as IPollTargetDiagnostics;

    private DateOnly _today;
    private long _samplesToday;

    /// <summary>Values stored since local midnight (the box's time zone).</summary>
    public long SamplesToday => _today == DateOnly.FromDateTime(DateTime.Now) ? Interlocked.Read(ref _samplesToday) : 0;

    /// <summary>Starts today's count from what storage already holds (after a restart).</summary>
    public void SeedToday(DateOnly day, long stored)
    {
        _today = day;
        Interlocked.Exchange(ref _samplesToday, stored);
    }

    internal bool RecordSuccess(DateTimeOffset at, TimeSpan roundTrip, int datapoints)
    {
        bool changed = Failing || Polls == 0;
        Polls++;
        LastAttempt = LastSuccess = at;
        RoundTrip = roundTrip;
        Datapoints = datapoints;
        Failing = false;
        var day = DateOnly.FromDateTime(at.ToLocalTime().DateTime);
        if (day != _today) { _today = day; Interlocked.Exchange(ref _samplesToday, 0); }
        Interlocked.Add(ref _samplesToday, datapoints);
        return changed;
    }

    internal bool RecordFailure(DateTimeOffset at, string error)
    {
        bool changed = !Failing || LastError != error;
        Polls++;
        Failures++;
        LastAttempt = LastErrorAt = at;
        LastError = error;
        Failing = true;
        return changed;
    }
}

/// <summary>
/// Optional for a target: protocol figures that help when something is off (reconnects,
/// dropped datagrams, exception answers), shown with the target's state in the API.
/// Names are camelCase; values count up from the target's start unless their name says otherwise.
/// </summary>
public interface IPollTargetDiagnostics
{
    IReadOnlyList<KeyValuePair<string, long>> Diagnostics { get; }
}
