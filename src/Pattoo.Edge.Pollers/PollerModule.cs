using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Bacnet;
using Pattoo.Edge.Pollers.Linux;
using Pattoo.Edge.Pollers.Modbus;
using Pattoo.Edge.Pollers.OpcUa;
using Pattoo.Edge.Pollers.Snmp;

namespace Pattoo.Edge.Pollers;

/// <summary>
/// A poller's bound configuration section: all the host knows of a poller. The host creates
/// targets from it, <c>config check</c> prints its plan and warnings; nothing else names a poller.
/// </summary>
public interface IPollerOptions
{
    /// <summary>The program its agents store under ("snmp"), which is also its config section.</summary>
    string Program { get; }

    /// <summary>How many poll targets <see cref="CreateTargets"/> makes, without making them.</summary>
    int TargetCount { get; }

    /// <summary>The poll targets of this section (they may share sockets and serial lines: see each poller).</summary>
    IReadOnlyList<IPollTarget> CreateTargets(PollerContext context);

    /// <summary>What each poll cycle sends, target by target, for <c>config check --verbose</c>; empty when nothing is configured.</summary>
    string DescribePlan();

    /// <summary>Settings that are valid but probably not what the technician meant (<c>config check</c> and the start log print them).</summary>
    IEnumerable<string> Warnings();

    /// <summary>Where each target is reached (those with an address), for <c>doctor</c> to probe once.</summary>
    IEnumerable<PollEndpoint> Endpoints();

    /// <summary>The receivers this section asks for (the SNMP trap receiver), not yet started; none by default.</summary>
    IReadOnlyList<IListener> CreateListeners(ListenerContext context) => [];
}

/// <summary>
/// A receiver run beside the pollers: devices send to it (SNMP traps). The host starts it,
/// and on a reload replaces it when its <see cref="Fingerprint"/> changed.
/// </summary>
public interface IListener : IListenerStatus, IAsyncDisposable
{
    /// <summary>A digest of its settings: equal fingerprints need no restart.</summary>
    string Fingerprint { get; }

    /// <summary>Opens its socket and starts receiving; throws when it cannot (the address is taken).</summary>
    void Start();
}

/// <summary>What a listener needs of the appliance.</summary>
/// <param name="ApplianceName">The agent id and hostname of what it stores.</param>
/// <param name="StatePath">A directory it may keep state in (the SNMP engine id).</param>
/// <param name="Events">Where its events go.</param>
/// <param name="StoreSamples">Stores samples it derives (not waiting for the disk); null: none are stored.</param>
/// <param name="InterfaceName">The name of interface ifIndex (second argument) of an SNMP target (first), as its poller stored it; null when unknown.</param>
public sealed record ListenerContext(string ApplianceName, string StatePath, IEventSink Events,
    Func<SampleBatch, Task>? StoreSamples = null, Func<string, string, string?>? InterfaceName = null);

/// <summary>How a poll target is reached.</summary>
public enum PollTransport { Tcp, Udp, Serial }

/// <summary>One target's address: host and port (TCP, UDP) or a serial device (<see cref="Host"/> is its path).</summary>
public sealed record PollEndpoint(string Target, PollTransport Transport, string Host, int Port = 0);

/// <summary>What a poller needs of the appliance to create its targets.</summary>
/// <param name="ApplianceName">The appliance's name: the agent id and hostname of every target.</param>
/// <param name="StatePath">A directory the poller may keep state in (OPC UA keeps its certificates there).</param>
/// <param name="PushSamples">
/// Stores samples a poller receives between its polls (BACnet COV notifications) at once; null:
/// they wait for the target's next poll and go with its batch.
/// </param>
public sealed record PollerContext(string ApplianceName, string StatePath, Func<SampleBatch, Task>? PushSamples = null);

/// <summary>A poller the appliance knows: its config section, its English name, and how its section is bound.</summary>
public sealed record PollerModule(string Section, string DisplayName, Func<ConfigSection, IPollerOptions> Bind);

/// <summary>The pollers of the appliance.</summary>
public static class PollerModules
{
    /// <summary>
    /// Every poller, in the order the config and <c>config check</c> list them. A new poller is
    /// its own folder (code, README, sample.toml, testcases) and one line here.
    /// </summary>
    public static readonly IReadOnlyList<PollerModule> All =
    [
        new("linux", "Linux host (Pattoo.Edge)", LinuxOptions.Bind),
        new("snmp", "SNMP poller (Pattoo.Edge)", SnmpOptions.Bind),
        new("modbus", "Modbus poller (Pattoo.Edge)", ModbusOptions.Bind),
        new("bacnet", "BACnet/IP poller (Pattoo.Edge)", BacnetOptions.Bind),
        new("opcua", "OPC UA poller (Pattoo.Edge)", OpcUaOptions.Bind),
    ];

    /// <summary>
    /// The warning for a target whose worst case (every try timing out) is longer than its
    /// interval: the poll is cut off at the interval, so its last retries never run.
    /// </summary>
    public static string? BudgetWarning(string where, string name, TimeSpan interval, TimeSpan timeout, int retries)
    {
        var worst = timeout * (retries + 1);
        return worst <= interval ? null
            : $"{where} \"{name}\": timeout {Duration.Format(timeout)} x (retries {retries} + 1) = {Duration.Format(worst)} is longer than the interval {Duration.Format(interval)}; a silent device's poll is cut off at the interval, so its last retries never run";
    }
}
