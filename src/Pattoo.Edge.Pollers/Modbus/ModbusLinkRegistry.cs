using Pattoo.Edge.Pollers.Shared;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>
/// Hands out one <see cref="ModbusLink"/> per serial port (with its line settings) or TCP
/// address, shared by every device on it and counted: the link opens on first use and closes
/// when the last device using it is disposed. Process-wide, so after a reload a restarted device
/// and the devices that kept running still share the port.
/// </summary>
internal sealed class ModbusLinkRegistry(Func<ModbusDeviceOptions, ModbusLink>? factory = null)
{
    public static ModbusLinkRegistry Shared { get; } = new();

    private readonly Func<ModbusDeviceOptions, ModbusLink> _factory = factory ?? CreateLink;
    private readonly SharedResources<ModbusLink> _links = new();

    /// <summary>Links currently held (for tests).</summary>
    public int Count => _links.Count;

    public Lease<ModbusLink> Acquire(ModbusDeviceOptions device) => _links.Acquire(KeyOf(device), () => _factory(device));

    /// <summary>Serial links are keyed by port and line settings, so a changed baud rate gets a fresh link.</summary>
    private static string KeyOf(ModbusDeviceOptions d) => d.Transport == ModbusTransport.Rtu ? d.LinkKey + "|" + d.Serial!.Describe() : d.LinkKey;

    private static ModbusLink CreateLink(ModbusDeviceOptions d) => d.Transport switch
    {
        ModbusTransport.Rtu => new RtuLink(new SerialRtuPort(d.Serial!), "rtu " + d.Serial!.Describe(), RtuFrame.InterFrameDelay(d.Serial!.BaudRate), overTcp: false,
            echo: d.Serial!.Echo, portName: d.Serial!.Port),
        // A serial gateway forwards to a line of unknown speed: assume 9600 baud for the inter-frame gap.
        ModbusTransport.RtuOverTcp => new RtuLink(new TcpRtuPort(d.Host!, d.Port), "rtu_over_tcp " + d.HostPort, RtuFrame.InterFrameDelay(9600), overTcp: true),
        _ => new MbapLink(d.Host!, d.Port, "tcp " + d.HostPort),
    };
}
