namespace Pattoo.Edge.Pollers.Snmp;

/// <summary>
/// Groups every target may name without defining them, written with numeric OIDs (Debian
/// and most appliances ship no MIB files). A [[snmp.groups]] entry with the same name
/// replaces the built-in one.
/// </summary>
public static class BuiltInGroups
{
    public const string IfMib = "if-mib";
    public const string HostResources = "host-resources";

    private static readonly KeyValuePair<string, string>[] InterfaceLabels =
    [
        new("ifName", "1.3.6.1.2.1.31.1.1.1.1"),   // IF-MIB::ifName
        new("ifDescr", "1.3.6.1.2.1.2.2.1.2"),     // IF-MIB::ifDescr
    ];

    private static readonly KeyValuePair<string, string>[] StorageLabels =
    [
        new("hrStorageDescr", "1.3.6.1.2.1.25.2.3.1.3"), // HOST-RESOURCES-MIB::hrStorageDescr
    ];

    /// <summary>IF-MIB interface traffic: 64-bit octet counters, errors, discards, status and speed per interface.</summary>
    public static SnmpGroupOptions IfMibGroup { get; } = new(IfMib,
    [
        Column("1.3.6.1.2.1.31.1.1.1.6", "ifHCInOctets", InterfaceLabels, IfMib),
        Column("1.3.6.1.2.1.31.1.1.1.10", "ifHCOutOctets", InterfaceLabels, IfMib),
        Column("1.3.6.1.2.1.2.2.1.14", "ifInErrors", InterfaceLabels, IfMib),
        Column("1.3.6.1.2.1.2.2.1.20", "ifOutErrors", InterfaceLabels, IfMib),
        Column("1.3.6.1.2.1.2.2.1.13", "ifInDiscards", InterfaceLabels, IfMib),
        Column("1.3.6.1.2.1.2.2.1.19", "ifOutDiscards", InterfaceLabels, IfMib),
        Column("1.3.6.1.2.1.2.2.1.8", "ifOperStatus", InterfaceLabels, IfMib),
        Column("1.3.6.1.2.1.31.1.1.1.15", "ifHighSpeed", InterfaceLabels, IfMib),
    ], "IF-MIB ifTable/ifXTable: traffic, errors, discards, oper status (1 up, 2 down) and speed in Mbit/s per interface", BuiltIn: true);

    /// <summary>HOST-RESOURCES-MIB: load per processor and size/use of each storage area.</summary>
    public static SnmpGroupOptions HostResourcesGroup { get; } = new(HostResources,
    [
        Column("1.3.6.1.2.1.25.3.3.1.2", "hrProcessorLoad", [], HostResources),
        Column("1.3.6.1.2.1.25.2.3.1.4", "hrStorageAllocationUnits", StorageLabels, HostResources),
        Column("1.3.6.1.2.1.25.2.3.1.5", "hrStorageSize", StorageLabels, HostResources),
        Column("1.3.6.1.2.1.25.2.3.1.6", "hrStorageUsed", StorageLabels, HostResources),
    ], "HOST-RESOURCES-MIB: hrProcessorLoad (% over the last minute) per CPU; hrStorage size and used, in allocation units", BuiltIn: true);

    public static IReadOnlyDictionary<string, SnmpGroupOptions> All { get; } = new Dictionary<string, SnmpGroupOptions>(StringComparer.Ordinal)
    {
        [IfMib] = IfMibGroup,
        [HostResources] = HostResourcesGroup,
    };

    private static SnmpOidOptions Column(string oid, string key, KeyValuePair<string, string>[] labels, string group) => new()
    {
        Oid = oid,
        Key = key,
        Walk = true,
        Labels = labels,
        Origin = "built-in group " + group,
    };
}
