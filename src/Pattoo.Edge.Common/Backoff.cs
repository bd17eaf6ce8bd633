namespace Pattoo.Edge.Common;

/// <summary>
/// Waiting longer after each failure: <c>first x factor^(failures - 1)</c>, at most <c>max</c>.
/// One formula for every poller: connection retries (Modbus links, OPC UA sessions) use an
/// instance, which keeps the count and the time of the next attempt on a <see cref="TimeProvider"/>
/// (the scheduler's, so tests can move time); SNMP's retransmission timeouts use <see cref="Delay"/>.
/// </summary>
public sealed class Backoff(TimeSpan first, TimeSpan max, double factor = 2, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>The wait after the <paramref name="failures"/>-th failure in a row (0 for none).</summary>
    public static TimeSpan Delay(TimeSpan first, TimeSpan max, double factor, int failures)
    {
        if (failures <= 0) return TimeSpan.Zero;
        double ticks = first.Ticks * Math.Pow(factor, Math.Min(failures - 1, 64));
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Failures since the last success.</summary>
    public int Failures { get; private set; }

    /// <summary>The clock's timestamp (monotonic: a clock set by NTP does not move it) when the next attempt may start; 0 when at once.</summary>
    private long _retryAt;

    /// <summary>True while an attempt should wait (a failure happened and its wait is not over).</summary>
    public bool Waiting => Remaining > TimeSpan.Zero;

    /// <summary>How long until the next attempt may start (zero when it may start now).</summary>
    public TimeSpan Remaining
    {
        get
        {
            if (_retryAt == 0) return TimeSpan.Zero;
            long left = _retryAt - _clock.GetTimestamp();
            return left > 0 ? TimeSpan.FromSeconds(left / (double)_clock.TimestampFrequency) : TimeSpan.Zero;
        }
    }

    /// <summary>Counts a failure and schedules the next attempt; returns the wait.</summary>
    public TimeSpan Failed()
    {
        Failures++;
        var wait = Delay(first, max, factor, Failures);
        RetryIn(wait);
        return wait;
    }

    /// <summary>The next attempt may start in <paramref name="wait"/> (zero: at once), whatever the count.</summary>
    public void RetryIn(TimeSpan wait)
        => _retryAt = wait <= TimeSpan.Zero ? 0 : _clock.GetTimestamp() + (long)(wait.TotalSeconds * _clock.TimestampFrequency);

    /// <summary>An attempt succeeded: the next failure waits <c>first</c> again.</summary>
    public void Succeeded()
    {
        Failures = 0;
        _retryAt = 0;
    }
}
