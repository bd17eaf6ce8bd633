namespace Pattoo.Edge.Common;

/// <summary>
/// Lets something through at most once per <see cref="Interval"/> for each key (a client, a
/// source and reason) and counts what it held back meanwhile: a log line or an audit row per
/// client per second, not one per request of a flood. Forgets every key past
/// <paramref name="maxKeys"/> (a sweep of spoofed sources must not grow it without end), so a
/// key may then pass early once. Thread-safe.
/// </summary>
public sealed class KeyedRateGate<TKey>(TimeSpan interval, int maxKeys) where TKey : notnull
{
    private readonly Dictionary<TKey, (long Last, int Held)> _keys = new();
    private readonly long _intervalMs = (long)interval.TotalMilliseconds;

    public TimeSpan Interval => interval;

    /// <summary>
    /// True when <paramref name="key"/> last passed an interval or more before
    /// <paramref name="nowMs"/> (or never); <paramref name="held"/> is then how many were held
    /// back since its last pass. False counts one more held back.
    /// </summary>
    public bool TryPass(TKey key, long nowMs, out int held)
    {
        lock (_keys)
        {
            if (_keys.TryGetValue(key, out var state) && nowMs - state.Last < _intervalMs)
            {
                _keys[key] = (state.Last, state.Held + 1);
                held = 0;
                return false;
            }
            if (_keys.Count >= maxKeys && !_keys.ContainsKey(key)) _keys.Clear();
            _keys[key] = (nowMs, 0);
            held = state.Held;
            return true;
        }
    }
}
