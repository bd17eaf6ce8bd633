using Pattoo.Edge.Common;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>The host this appliance runs on, polled through <see cref="LinuxCollector"/> (the [linux] section).</summary>
public sealed class LinuxPoller : IPollTarget
{
    private readonly LinuxCollector _collector;

    /// <param name="agent">Its program must be "linux", e.g. AgentIdentity.ForPoller(appliance, "linux", hostname).</param>
    public LinuxPoller(AgentIdentity agent, TimeSpan interval, string rootPath = "/")
        : this(agent, interval, rootPath, StatVfs.Query)
    {
    }

    public LinuxPoller(AgentIdentity agent, TimeSpan interval, string rootPath, Func<string, FilesystemStats?> statvfs)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (agent.Program != LinuxCollector.ProgramName)
            throw new ArgumentException($"the Linux poller stores under program '{LinuxCollector.ProgramName}', not '{agent.Program}'", nameof(agent));
        if (interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), interval, "must be positive");
        _collector = new LinuxCollector(agent, interval, rootPath, statvfs);
        Name = agent.PolledTarget;
        Interval = interval;
        ConfigFingerprint = $"linux:{Duration.Format(interval)}";
    }

    public string Program => LinuxCollector.ProgramName;
    public string Name { get; }
    public TimeSpan Interval { get; }
    public string ConfigFingerprint { get; }

    /// <summary>Reads /proc and /sys synchronously: they are in memory and answer in microseconds.</summary>
    public Task PollAsync(SampleBatch batch, PollReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(report);
        cancellationToken.ThrowIfCancellationRequested();
        _collector.Collect(batch, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        foreach (string problem in _collector.Problems) report.Skip(problem);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
