using Pattoo.Edge.Common;
using Pattoo.Edge.Config;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>The [linux] section: the appliance's own host metrics.</summary>
public sealed record LinuxOptions : IPollerOptions
{
    public bool Enabled { get; init; } = true;
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    public string Program => LinuxCollector.ProgramName;

    public int TargetCount => Enabled ? 1 : 0;

    /// <summary>This box itself: nothing to reach.</summary>
    public IEnumerable<PollEndpoint> Endpoints() => [];

    public static LinuxOptions Bind(ConfigSection s)
    {
        var o = new LinuxOptions
        {
            Enabled = s.GetBool("enabled", true),
            Interval = s.GetDuration("interval", TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)),
        };
        s.Finish();
        return o;
    }

    /// <summary>The appliance's own host, under its own name, when enabled.</summary>
    public IReadOnlyList<IPollTarget> CreateTargets(PollerContext context)
        => Enabled ? [new LinuxPoller(AgentIdentity.ForPoller(context.ApplianceName, Program, context.ApplianceName), Interval)] : [];

    public string DescribePlan() => Enabled
        ? $"linux: this host every {Duration.Format(Interval)}: CPU, load, memory, uptime, processes (/proc), disks, file systems, network interfaces, temperatures (/proc, /sys, statvfs); no device traffic\n"
        : "";

    public IEnumerable<string> Warnings() => [];
}
