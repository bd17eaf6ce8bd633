using Pattoo.Edge.Common;
using Pattoo.Edge.Config;

namespace Pattoo.Edge.Control;

/// <summary>
/// The <c>[write]</c> section: the kill switch of write-back (off by default) and how often one
/// datapoint may be written. Which points are writable is said per point in the pollers' sections.
/// </summary>
public sealed record WriteOptions
{
    public static readonly WriteOptions Disabled = new();

    /// <summary><c>enabled</c>: false refuses every write and relinquish, whatever else the config says.</summary>
    public bool Enabled { get; init; }

    /// <summary><c>min_interval</c>: the least time between two writes of one datapoint (one per second by default).</summary>
    public TimeSpan MinInterval { get; init; } = TimeSpan.FromSeconds(1);

    public static WriteOptions Bind(ConfigSection s)
    {
        var o = new WriteOptions
        {
            Enabled = s.GetBool("enabled", false),
            MinInterval = s.GetDuration("min_interval", TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.FromDays(1)),
        };
        s.Finish();
        return o;
    }

    public string Describe() => Enabled ? $"enabled, one write per datapoint every {Duration.Format(MinInterval)} at most" : "disabled (write.enabled = false)";
}
