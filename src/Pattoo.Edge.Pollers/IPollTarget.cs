using Pattoo.Edge.Common;

namespace Pattoo.Edge.Pollers;

/// <summary>
/// One thing polled on its own schedule: the Linux host, an SNMP agent, a Modbus unit, a
/// BACnet device, an OPC UA server. The scheduler calls <see cref="PollAsync"/> every
/// <see cref="Interval"/>, hands the batch to storage and keeps the target's state.
/// </summary>
public interface IPollTarget : IAsyncDisposable
{
    /// <summary>pattoo agent program the samples are stored under ("linux", "snmp", ...).</summary>
    string Program { get; }

    /// <summary>The target's name: pattoo's agent_polled_target.</summary>
    string Name { get; }

    TimeSpan Interval { get; }

    /// <summary>
    /// Identifies the configuration the target was built from; on reload a target whose
    /// fingerprint changed is restarted and one whose fingerprint is the same keeps running.
    /// </summary>
    string ConfigFingerprint { get; }

    /// <summary>
    /// Reads the target once and adds what it read to <paramref name="batch"/> (which is empty).
    /// Values a device refused are left out and reported through <paramref name="report"/>;
    /// a failure of the whole target (timeout, connection refused) throws.
    /// </summary>
    Task PollAsync(SampleBatch batch, PollReport report, CancellationToken cancellationToken);
}

/// <summary>What one poll noticed short of failing: values skipped and why.</summary>
public sealed class PollReport
{
    private readonly List<string> _problems = new();
    public IReadOnlyList<string> Problems => _problems;
    public void Skip(string problem) { if (_problems.Count < 100) _problems.Add(problem); }
    public void Clear() => _problems.Clear();
}
