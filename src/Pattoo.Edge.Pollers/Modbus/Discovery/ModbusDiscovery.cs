using System.IO.Ports;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus.Discovery;

/// <summary>What <c>pattoo-edge discover modbus</c> was asked.</summary>
public sealed record ModbusDiscoveryOptions
{
    /// <summary>host[:port] (tcp, rtu_over_tcp) or a serial device path (rtu).</summary>
    public required string Target { get; init; }

    /// <summary>"tcp", "rtu_over_tcp" or "rtu"; null: rtu for a path, tcp otherwise.</summary>
    public string? Transport { get; init; }

    /// <summary>The units asked (<c>--unit</c>), or scanned (<c>--scan-units</c>) when <see cref="ScanUnits"/>.</summary>
    public IReadOnlyList<byte> Units { get; init; } = [1];

    public bool ScanUnits { get; init; }
    public int First { get; init; }
    public int Last { get; init; } = 199;
    public IReadOnlyList<ModbusTable> Tables { get; init; } = [ModbusTable.HoldingRegister, ModbusTable.InputRegister, ModbusTable.Coil, ModbusTable.DiscreteInput];
    public int BaudRate { get; init; } = 9600;
    public Parity Parity { get; init; } = Parity.None;
    public StopBits StopBits { get; init; } = StopBits.One;

    /// <summary>The whole run's limit.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Each request's; a unit scan uses a fifth of it (at least 100 ms): a live unit answers fast.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Between requests on a serial line, where the plant's own master may also talk.</summary>
    public TimeSpan SerialPause { get; init; } = TimeSpan.FromMilliseconds(20);

    public IReadOnlyList<ModbusPick>? Picks { get; init; }
    public bool EmitPlausible { get; init; }
    public string? Name { get; init; }
}

/// <summary>
/// <c>pattoo-edge discover modbus</c>: finds the units that answer, the blocks of each table that
/// answer, prints the probe table and writes the device's config for the values picked.
/// </summary>
public static class ModbusDiscovery
{
    public static async Task<string> RunAsync(ModbusDiscoveryOptions o, string commandLine, Action<string> progress, CancellationToken cancellationToken)
    {
        var (endpoint, device) = Endpoint(o);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(o.Timeout);
        // The process's shared link: run by the appliance (the dashboard's Discover page), discovery
        // takes turns with the pollers on their serial line or connection instead of opening it twice.
        await using var lease = ModbusLinkRegistry.Shared.Acquire(device);
        var link = lease.Resource;
        var pause = device.Transport == ModbusTransport.Rtu ? o.SerialPause : TimeSpan.Zero;
        var surveyor = new ModbusSurveyor(link, o.RequestTimeout, retries: 1, pause, progress);
        try
        {
            var units = new List<byte>();
            if (o.ScanUnits)
            {
                var scanner = new ModbusSurveyor(link, TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(100).Ticks, o.RequestTimeout.Ticks / 5)), retries: 0, pause, progress);
                progress($"{device.Endpoint}: scanning units {o.Units[0]}-{o.Units[^1]}");
                foreach (byte unit in o.Units)
                {
                    if (await scanner.AnswersAsync(unit, o.First, limit.Token).ConfigureAwait(false))
                    {
                        units.Add(unit);
                        progress($"unit {unit} answers");
                    }
                }
                if (units.Count == 0)
                    throw new DiscoveryException($"no unit of {o.Units[0]}-{o.Units[^1]} answered on {device.Endpoint} ({scanner.Requests} requests); check the wiring, the line settings (--baud, --parity) and the unit ids");
            }
            else
            {
                foreach (byte unit in o.Units)
                {
                    if (!await surveyor.AnswersAsync(unit, o.First, limit.Token).ConfigureAwait(false))
                        throw new DiscoveryException($"unit {unit} did not answer on {device.Endpoint} within {Duration.Format(o.RequestTimeout)}; try --scan-units 1-247 to find the units that do");
                    units.Add(unit);
                }
            }

            var surveys = new List<ModbusUnitSurvey>();
            foreach (byte unit in units)
                surveys.Add(await surveyor.SurveyAsync(unit, o.First, o.Last, o.Tables, limit.Token).ConfigureAwait(false));

            Dictionary<byte, List<ModbusPick>>? picks = null;
            if (o.Picks is not null)
            {
                if (surveys.Count != 1) throw new DiscoveryException($"--pick is for one unit; {surveys.Count} answered (choose one with --unit)");
                var errors = ModbusDiscoveryToml.Check(surveys[0], o.Picks);
                if (errors.Count > 0) throw new DiscoveryException(string.Join("\n", errors));
                picks = new() { [surveys[0].UnitId] = [.. o.Picks] };
            }
            else if (o.EmitPlausible)
            {
                picks = surveys.ToDictionary(s => s.UnitId, ModbusDiscoveryToml.Plausible);
            }
            string name = o.Name ?? DefaultName(endpoint);
            return ModbusDiscoveryToml.Write(commandLine, name, endpoint, surveys, picks, DateTimeOffset.UtcNow);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new DiscoveryException($"discovery did not finish within {Duration.Format(o.Timeout)} ({surveyor.Requests} requests); narrow --range or --scan-units, or give a longer --timeout");
        }
        catch (ModbusTransportException e) when (e.Failure == ModbusFailure.Connection)
        {
            throw new DiscoveryException(e.Message);
        }
    }

    private static (ModbusEndpoint Endpoint, ModbusDeviceOptions Device) Endpoint(ModbusDiscoveryOptions o)
    {
        string transport = o.Transport ?? (o.Target.StartsWith('/') ? "rtu" : "tcp");
        if (transport == "rtu")
        {
            if (!o.Target.StartsWith('/')) throw new DiscoveryException($"transport rtu needs a serial device such as /dev/ttyUSB0, not \"{o.Target}\"");
            var line = new SerialLineOptions(o.Target, o.BaudRate, o.Parity, 8, o.StopBits);
            var device = new ModbusDeviceOptions { Name = "discover", Transport = ModbusTransport.Rtu, Serial = line, Values = [] };
            return (new ModbusEndpoint("rtu", null, line), device);
        }
        if (transport is not ("tcp" or "rtu_over_tcp")) throw new DiscoveryException($"unknown transport \"{transport}\"; expected tcp, rtu or rtu_over_tcp");
        if (!HostPort.TryParse(o.Target, 502, out string host, out int port))
            throw new DiscoveryException($"expected host[:port] such as 192.0.2.20 or 192.0.2.20:502, or a serial device such as /dev/ttyUSB0, got \"{o.Target}\"");
        var options = new ModbusDeviceOptions
        {
            Name = "discover",
            Transport = transport == "tcp" ? ModbusTransport.Tcp : ModbusTransport.RtuOverTcp,
            Host = host,
            Port = port,
            Values = [],
        };
        return (new ModbusEndpoint(transport, options.HostPort, null), options);
    }

    /// <summary>"modbus-192.0.2.20-502", "modbus-ttyUSB0".</summary>
    private static string DefaultName(ModbusEndpoint endpoint)
        => "modbus-" + (endpoint.Serial is { } line ? Path.GetFileName(line.Port) : endpoint.Address!.Replace("[", "", StringComparison.Ordinal).Replace("]", "", StringComparison.Ordinal).Replace(':', '-'));
}
