using Pattoo.Edge.Alerts;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Api;

/// <summary>What the API serves: the running appliance as the host sees it.</summary>
public interface IApplianceState
{
    string Name { get; }
    string Version { get; }
    DateTimeOffset StartedAt { get; }
    TimeSeriesStore Store { get; }
    IReadOnlyList<TargetState> Targets { get; }
    /// <summary>The forwarders ([forward] in the config) and how they are doing.</summary>
    IReadOnlyList<ForwarderStatus> Forwarders { get; }
    /// <summary>The receivers (SNMP traps) and their counters.</summary>
    IReadOnlyList<IListenerStatus> Listeners { get; }
    /// <summary>Alerts pending or firing now ([[alerts.rules]]).</summary>
    IReadOnlyList<ActiveAlert> Alerts { get; }
    ApiOptions Api { get; }

    /// <summary>Write-back to devices: guarded by control tokens, [write] and each point's limits, audited.</summary>
    Control.WriteService Writes { get; }

    /// <summary>
    /// Runs <c>pattoo-edge discover</c> with <paramref name="arguments"/> (the protocol, then its
    /// options) and returns the TOML; <see cref="FormatException"/> for a bad argument,
    /// <see cref="DiscoveryException"/> when the device could not be discovered.
    /// </summary>
    Task<string> DiscoverAsync(IReadOnlyList<string> arguments, Action<string> progress, CancellationToken cancellationToken);
}
