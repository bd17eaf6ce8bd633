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
    ApiOptions Api { get; }
}
