using Pattoo.Edge.Config;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>The [linux] section: the appliance's own host metrics.</summary>
public sealed record LinuxOptions
{
    public bool Enabled { get; init; } = true;
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

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
}
