namespace Pattoo.Edge.Common;

/// <summary>A receiver the box runs beside its pollers (the SNMP trap receiver), as the API shows it.</summary>
public interface IListenerStatus
{
    /// <summary>What it is ("snmp traps").</summary>
    string Name { get; }
    /// <summary>The address it listens on.</summary>
    string Listen { get; }
    /// <summary>What it has received, taken and dropped, by reason, in camelCase.</summary>
    IReadOnlyList<KeyValuePair<string, long>> Counters { get; }
}
