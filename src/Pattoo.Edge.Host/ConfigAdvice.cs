using Pattoo.Edge.Common;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Host;

/// <summary>
/// Settings that are valid but probably not what the technician meant. <c>config check</c>
/// prints them as warnings (the file is still accepted) and the appliance logs them at start.
/// </summary>
public static class ConfigAdvice
{
    public static IReadOnlyList<string> Warnings(EdgeOptions o)
    {
        var warnings = new List<string>();
        void Budget(string where, string name, TimeSpan interval, TimeSpan timeout, int retries)
        {
            var worst = timeout * (retries + 1);
            if (worst > interval)
                warnings.Add($"{where} \"{name}\": timeout {Duration.Format(timeout)} x (retries {retries} + 1) = {Duration.Format(worst)} is longer than the interval {Duration.Format(interval)}; a silent device's poll is cut off at the interval, so its last retries never run");
        }
        foreach (var t in o.Snmp.Targets) Budget("snmp.targets", t.Name, t.Interval, t.Timeout, t.Retries);
        foreach (var d in o.Bacnet.Devices) Budget("bacnet.devices", d.Name, d.Interval, d.Timeout, d.Retries);
        foreach (var s in o.OpcUa.Servers)
        {
            if (s.Mode == Pollers.OpcUa.OpcUaMode.Poll) Budget("opcua.servers", s.Name, s.Interval, s.Timeout, 0);
        }
        foreach (var d in o.Modbus.Devices)
        {
            Budget("modbus.devices", d.Name, d.Interval, d.Timeout, d.Retries);
            foreach (var v in d.Values)
            {
                // 4xxxx/3xxxx/1xxxx numbers are the 1-based register "references" of device
                // manuals; the protocol (and this config) uses 0-based addresses.
                int reference = v.Table switch
                {
                    ModbusTable.HoldingRegister => 40001,
                    ModbusTable.InputRegister => 30001,
                    ModbusTable.DiscreteInput => 10001,
                    _ => 0,
                };
                if (reference > 0 && v.Address >= reference && v.Address < reference + 9999)
                    warnings.Add($"modbus.devices \"{d.Name}\" value \"{v.Key}\": address {v.Address} looks like a {reference / 10000}xxxx register number from a manual; addresses here are 0-based, so it is probably address {v.Address - reference} (keep {v.Address} if the device really has a register there)");
            }
        }
        return warnings;
    }
}
