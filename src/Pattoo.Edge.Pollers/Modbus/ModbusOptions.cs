using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>How a device is reached.</summary>
public enum ModbusTransport
{
    /// <summary>Modbus TCP (MBAP header, transaction ids), usually port 502.</summary>
    Tcp,
    /// <summary>Modbus RTU on a serial line (RS-485/RS-232).</summary>
    Rtu,
    /// <summary>RTU frames (with CRC) carried in a TCP stream by a serial-to-Ethernet converter.</summary>
    RtuOverTcp,
}

/// <summary>
/// Line settings of a serial port (transport "rtu"). <paramref name="Echo"/>: the adapter reads
/// back every byte we send (2-wire RS-485 without echo suppression), so each request is followed
/// by its own echo, which the link reads and checks before the answer.
/// </summary>
public sealed record SerialLineOptions(string Port, int BaudRate, System.IO.Ports.Parity Parity, int DataBits, System.IO.Ports.StopBits StopBits,
    bool Echo = false)
{
    /// <summary>"/dev/ttyUSB0 9600 8N1", with " echo" when the adapter echoes.</summary>
    public string Describe() => $"{Port} {BaudRate} {DataBits}{ParityLetter}{(StopBits == System.IO.Ports.StopBits.Two ? 2 : 1)}{(Echo ? " echo" : "")}";

    private char ParityLetter => Parity switch
    {
        System.IO.Ports.Parity.Even => 'E',
        System.IO.Ports.Parity.Odd => 'O',
        _ => 'N',
    };
}

/// <summary>One <c>[[modbus.devices.values]]</c> entry, checked.</summary>
public sealed record ModbusValueOptions
{
    public required string Key { get; init; }
    public required ModbusTable Table { get; init; }
    public required ushort Address { get; init; }
    public required ModbusValueType Type { get; init; }
    public ModbusByteOrder ByteOrder { get; init; } = ModbusByteOrder.ABCD;
    public double Scale { get; init; } = 1.0;
    public double Offset { get; init; }
    /// <summary>Bit 0-15 of a register (bool on holding/input only), else null.</summary>
    public int? Bit { get; init; }
    /// <summary>Registers of a string; 0 for other types.</summary>
    public int Length { get; init; }
    public bool Counter { get; init; }
    /// <summary>What a write may set (<c>writable = true</c>), or null: the value is only read.</summary>
    public WriteLimits? Write { get; init; }
    /// <summary>Writes use FC15/FC16 even for one coil or register (devices without FC5/FC6).</summary>
    public bool WriteMultiple { get; init; }

    /// <summary>Bits (coil, discrete) or registers (holding, input) the value spans.</summary>
    public int Count => Table.IsBits() ? 1 : RegisterDecoder.RegisterCount(Type, Length);

    /// <summary>
    /// The pattoo data type: bool → integer (0/1); integers → integer while scale and offset are
    /// whole numbers, else float; floats → float; strings → string; counter = true → counter64.
    /// </summary>
    public DataType DataType
    {
        get
        {
            if (Type == ModbusValueType.String) return DataType.String;
            if (Counter) return DataType.Counter64;
            if (Type == ModbusValueType.Bool) return DataType.Integer;
            if (Type.IsFloat()) return DataType.Float;
            return IsWhole(Scale) && IsWhole(Offset) ? DataType.Integer : DataType.Float;
        }
    }

    internal static bool IsWhole(double d) => Math.Abs(d) < 9.0e15 && d == Math.Floor(d);

    internal string Fingerprint()
        => string.Create(CultureInfo.InvariantCulture,
            $"{Key}|{Table.Name()}|{Address}|{Type.Name()}|{ByteOrder}|{Scale:R}|{Offset:R}|{Bit}|{Length}|{Counter}|{Write?.Describe()}|{WriteMultiple}");
}

/// <summary>One <c>[[modbus.devices]]</c> entry, checked: a unit polled on its own schedule.</summary>
public sealed record ModbusDeviceOptions
{
    public required string Name { get; init; }
    public required ModbusTransport Transport { get; init; }
    /// <summary>host:port for tcp and rtu_over_tcp, else null.</summary>
    public string? Host { get; init; }
    public int Port { get; init; } = 502;
    public SerialLineOptions? Serial { get; init; }
    public byte UnitId { get; init; } = 1;
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);
    public int Retries { get; init; } = 1;
    public int MaxGap { get; init; }
    public int MaxRegisters { get; init; } = ModbusFunctions.MaxRegisters;
    public int MaxBits { get; init; } = ModbusFunctions.MaxBits;
    public required IReadOnlyList<ModbusValueOptions> Values { get; init; }

    public PlanLimits Limits => new(MaxGap, MaxRegisters, MaxBits);

    /// <summary>"tcp 192.0.2.20:502", "rtu /dev/ttyUSB0 9600 8N1", "rtu_over_tcp 192.0.2.30:4001".</summary>
    public string Endpoint => Transport switch
    {
        ModbusTransport.Rtu => "rtu " + Serial!.Describe(),
        ModbusTransport.RtuOverTcp => $"rtu_over_tcp {HostPort}",
        _ => $"tcp {HostPort}",
    };

    /// <summary>host:port, IPv6 hosts bracketed.</summary>
    public string HostPort => Host is not null && Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>The link this device talks through; devices with the same key share one connection or port.</summary>
    internal string LinkKey => Transport switch
    {
        ModbusTransport.Rtu => "serial|" + Serial!.Port,
        ModbusTransport.RtuOverTcp => "rtu_over_tcp|" + HostPort,
        _ => "tcp|" + HostPort,
    };

    public IReadOnlyList<PlanItem> PlanItems()
    {
        var items = new PlanItem[Values.Count];
        for (int i = 0; i < items.Length; i++) items[i] = new PlanItem(Values[i].Table, Values[i].Address, (ushort)Values[i].Count);
        return items;
    }

    public List<PlannedRequest> Plan() => RequestPlanner.Plan(PlanItems(), Limits);

    /// <summary>Every setting the device was built from: a change restarts its poller.</summary>
    public string Fingerprint()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"modbus|{Name}|{Endpoint}|{UnitId}|{Duration.Format(Interval)}|{Duration.Format(Timeout)}|{Retries}|{MaxGap}|{MaxRegisters}|{MaxBits}");
        foreach (var v in Values) sb.Append(';').Append(v.Fingerprint());
        return sb.ToString();
    }
}

/// <summary>
/// The <c>[modbus]</c> section: devices polled over Modbus TCP, RTU on a serial line, or RTU
/// over TCP. Every setting is checked here, at config time, so a device never fails mid-poll
/// for a reason the file could have shown.
/// </summary>
public sealed record ModbusOptions : IPollerOptions
{
    public const string ProgramName = "modbus";

    public IReadOnlyList<ModbusDeviceOptions> Devices { get; init; } = [];

    public string Program => ProgramName;

    public int TargetCount => Devices.Count;

    public IEnumerable<PollEndpoint> Endpoints() => Devices.Select(d => d.Transport == ModbusTransport.Rtu
        ? new PollEndpoint($"modbus {d.Name}", PollTransport.Serial, d.Serial!.Port)
        : new PollEndpoint($"modbus {d.Name}", PollTransport.Tcp, d.Host!, d.Port));

    /// <summary>Binds the whole [modbus] table; an absent table binds to no devices. Errors go to the section's error list.</summary>
    public static ModbusOptions Bind(ConfigSection modbusSection)
    {
        ArgumentNullException.ThrowIfNull(modbusSection);
        var devices = new List<ModbusDeviceOptions>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = new Dictionary<string, (SerialLineOptions Line, string Device)>(StringComparer.Ordinal);
        foreach (var section in modbusSection.GetSectionArray("devices"))
        {
            var device = ModbusOptionsBinder.BindDevice(section, out string name);
            if (name.Length > 0 && !names.TryAdd(name, section.Path))
            {
                section.Error("name", $"device \"{name}\" is already defined at {names[name]}");
                continue;
            }
            if (device is null) continue;
            if (device.Serial is { } line)
            {
                if (lines.TryGetValue(line.Port, out var other) && other.Line != line)
                {
                    if (other.Line == line with { Echo = other.Line.Echo })
                        section.Error(section.Has("echo") ? "echo" : "serial_port",
                            $"{line.Port} is already used by device \"{other.Device}\" with echo = {(other.Line.Echo ? "true" : "false")}; devices on one port share its line settings, echo included (it is a property of the adapter)");
                    else
                        section.Error("serial_port", $"{line.Port} is already used by device \"{other.Device}\" as {other.Line.Describe()}; devices on one port share its line settings");
                    continue;
                }
                lines.TryAdd(line.Port, (line, device.Name));
            }
            devices.Add(device);
        }
        modbusSection.Finish();
        return new ModbusOptions { Devices = devices };
    }

    /// <summary>One poll target per device. Devices on one serial port or one TCP address share a link.</summary>
    public IReadOnlyList<IPollTarget> CreateTargets(PollerContext context)
        => CreateTargets(context.ApplianceName, ModbusLinkRegistry.Shared);

    internal IReadOnlyList<IPollTarget> CreateTargets(string applianceName, ModbusLinkRegistry registry)
    {
        ArgumentException.ThrowIfNullOrEmpty(applianceName);
        var targets = new List<IPollTarget>(Devices.Count);
        foreach (var device in Devices)
            targets.Add(new ModbusPoller(AgentIdentity.ForPoller(applianceName, ProgramName, device.Name), device, registry.Acquire(device)));
        return targets;
    }

    /// <summary>
    /// Each device's requests per cycle, for <c>config check --verbose</c>: a technician can see
    /// what a cycle costs on the wire.
    /// </summary>
    public string DescribePlan()
    {
        var sb = new StringBuilder();
        foreach (var device in Devices)
        {
            var plan = device.Plan();
            sb.Append(CultureInfo.InvariantCulture,
                $"modbus device \"{device.Name}\": {device.Endpoint} unit {device.UnitId}, every {Duration.Format(device.Interval)}: {device.Values.Count} value{(device.Values.Count == 1 ? "" : "s")} in {plan.Count} request{(plan.Count == 1 ? "" : "s")} per cycle\n");
            foreach (var request in plan)
            {
                string unit = request.Table.IsBits() ? "bit" : "register";
                sb.Append(CultureInfo.InvariantCulture,
                    $"  {request.Function.Describe()} {request.Address}-{request.End - 1} ({request.Count} {unit}{(request.Count == 1 ? "" : "s")}):");
                foreach (int i in request.Items)
                {
                    var v = device.Values[i];
                    sb.Append(CultureInfo.InvariantCulture, $" {v.Key}@{v.Address}");
                    if (v.Bit is int bit) sb.Append(CultureInfo.InvariantCulture, $".{bit}");
                    if (!request.Table.IsBits()) sb.Append(' ').Append(v.Type.Name());
                }
                sb.Append('\n');
            }
        }
        return sb.ToString();
    }

    public IEnumerable<string> Warnings()
    {
        foreach (var d in Devices)
        {
            if (PollerModules.BudgetWarning("modbus.devices", d.Name, d.Interval, d.Timeout, d.Retries) is { } budget) yield return budget;
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
                    yield return $"modbus.devices \"{d.Name}\" value \"{v.Key}\": address {v.Address} looks like a {reference / 10000}xxxx register number from a manual; addresses here are 0-based, so it is probably address {v.Address - reference} (keep {v.Address} if the device really has a register there)";
            }
        }
    }
}
