using System.Globalization;
using System.IO.Ports;
using System.Net;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Bacnet.Discovery;
using Pattoo.Edge.Pollers.Modbus.Discovery;
using Pattoo.Edge.Pollers.OpcUa;
using Pattoo.Edge.Pollers.OpcUa.Discovery;
using Pattoo.Edge.Pollers.Snmp;
using Pattoo.Edge.Pollers.Snmp.Discovery;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Discovery;

/// <summary>
/// One way to ask for a discovery, from the command line (<c>pattoo-edge discover ...</c>) and from
/// the dashboard (<c>POST /api/v1/discover</c>): the protocol and its options as the command line
/// writes them, checked here (a <see cref="FormatException"/> names the option), run by the
/// protocol's discovery (a <see cref="DiscoveryException"/> says why it could not finish).
/// </summary>
public static class DiscoveryCommandLine
{
    public static readonly string[] Protocols = ["modbus", "snmp", "bacnet", "opcua"];

    public const string ModbusUsage = """
        usage: pattoo-edge discover modbus ADDRESS|SERIAL_PORT [options]
          ADDRESS host[:port] (Modbus TCP, port 502) or SERIAL_PORT such as /dev/ttyUSB0 (RTU)
          --unit N                the unit id to ask (default 1)
          --scan-units A-B        find the units that answer among A-B (1-247 on a serial line)
          --range A-B             0-based addresses to probe in each table (default 0-199)
          --tables LIST           holding,input,coil,discrete (default all four)
          --transport T           tcp, rtu_over_tcp (a serial gateway), rtu (default: by ADDRESS)
          --baud N --parity none|even|odd --stop-bits 1|2   the serial line (default 9600 8N1)
          --timeout D             the whole run's limit (default 60s)
          --request-timeout D     each request's (default 1s)
          --pick LIST             the values to configure: REF:TYPE[:ORDER]:KEY[:NUMBER],...
                                  e.g. "40001:float32:CDAB:flow_m3h,30005:uint16:temp_c:0.1"
                                  (NUMBER: scale; a string's length; a bool's bit in a register)
          --emit-plausible        configure every plausible value instead (review the keys)
          --name NAME             the device's name in the config
        """;

    public const string SnmpUsage = """
        usage: pattoo-edge discover snmp ADDRESS [options]
          ADDRESS host[:port] of the agent (port 161)
          --community C           SNMPv1/v2c community (default public)
          --version 1|2c|3        default 2c, or 3 with --user
          --user U --auth-protocol MD5|SHA|SHA224|SHA256|SHA384|SHA512 --auth-password P
          --priv-protocol DES|AES|AES192|AES256 --priv-password P --context NAME   SNMPv3
          --timeout D             the whole run's limit (default 60s)
          --request-timeout D     each request's (default 2s, two retries)
        """;

    public const string BacnetUsage = """
        usage: pattoo-edge discover bacnet [options]
          --broadcast ADDRESS[:PORT]  where Who-Is goes: the subnet's broadcast address, or one
                                      device's address (default 255.255.255.255:47808)
          --device N              look for device instance N only
          --all                   every object, not only analog/binary/multi-state inputs, outputs, values
          --wait D                how long to listen for I-Am (default 3s)
          --local-address A --local-port N   the UDP socket (default 0.0.0.0:47808, where broadcast
                                  I-Ams arrive; 0 for any free port)
          --timeout D             the whole run's limit (default 120s)
          --request-timeout D     each request's (default 3s, two retries)
        """;

    public const string OpcUaUsage = """
        usage: pattoo-edge discover opcua ENDPOINT [options]
          ENDPOINT                opc.tcp://host[:port][/path] (port 4840)
          --security POLICY[/MODE]  None (default), Basic256Sha256, Aes128_Sha256_RsaOaep or
                                  Aes256_Sha256_RsaPss; MODE Sign or SignAndEncrypt (default)
          --username U --password P   a user; anonymous without
          --max-nodes N           nodes browsed at most (default 2000)
          --max-depth N           levels below Objects browsed at most (default 10)
          --name NAME             the server's name in the config (default: its host)
          --timeout D             the whole run's limit (default 120s)
          --request-timeout D     each request's (default 5s)
        """;

    /// <summary>The options of <paramref name="protocol"/>, as <c>--help</c> prints them.</summary>
    public static string Usage(string protocol) => protocol switch
    {
        "modbus" => ModbusUsage,
        "snmp" => SnmpUsage,
        "bacnet" => BacnetUsage,
        "opcua" => OpcUaUsage,
        _ => "usage: pattoo-edge discover modbus|snmp|bacnet|opcua ...",
    };

    /// <summary>
    /// Runs the discovery <paramref name="arguments"/> ask for (the protocol, then its address and
    /// options, as after <c>pattoo-edge discover</c>); returns the TOML.
    /// </summary>
    /// <exception cref="FormatException">an unknown protocol or option, or a value out of range.</exception>
    /// <exception cref="DiscoveryException">the device could not be discovered.</exception>
    public static async Task<string> RunAsync(IReadOnlyList<string> arguments, Action<string> progress, CancellationToken cancellationToken)
    {
        string[] args = ["discover", .. arguments];
        string protocol = arguments.Count > 0 ? arguments[0] : "";
        if (!Protocols.Contains(protocol)) throw new FormatException($"unknown protocol \"{protocol}\"; expected modbus, snmp, bacnet or opcua");
        if (protocol != "bacnet" && arguments.Count < 2) throw new FormatException($"discover {protocol} needs the device's address first");
        string commandLine = "pattoo-edge " + string.Join(' ', args.Select(Quote));
        switch (protocol)
        {
            case "modbus":
                return await ModbusDiscovery.RunAsync(ParseModbus(args), commandLine, progress, cancellationToken).ConfigureAwait(false);
            case "snmp":
                var (target, snmpTimeout) = ParseSnmp(args);
                return await SnmpDiscovery.RunAsync(target, commandLine, snmpTimeout, progress, cancellationToken).ConfigureAwait(false);
            case "bacnet":
                return await BacnetDiscovery.RunAsync(ParseBacnet(args), commandLine, progress, cancellationToken).ConfigureAwait(false);
            default:
                var (server, maxNodes, maxDepth, uaTimeout) = ParseOpcUa(args);
                return await OpcUaDiscovery.RunAsync(server, maxNodes, maxDepth, commandLine, uaTimeout, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    private static ModbusDiscoveryOptions ParseModbus(string[] args)
    {
        var o = new ModbusDiscoveryOptions { Target = args[2] };
        bool unitGiven = false;
        for (int i = 3; i < args.Length; i++)
        {
            string option = args[i];
            if (option == "--emit-plausible")
            {
                o = o with { EmitPlausible = true };
                continue;
            }
            if (i + 1 >= args.Length) throw new FormatException($"{option} needs a value, or is unknown (see --help)");
            string value = args[++i];
            switch (option)
            {
                case "--unit":
                    o = o with { Units = [(byte)Number(option, value, 0, 255)] };
                    unitGiven = true;
                    break;
                case "--scan-units":
                    var (a, b) = Range(option, value, 0, 255);
                    o = o with { Units = [.. Enumerable.Range(a, b - a + 1).Select(u => (byte)u)], ScanUnits = true };
                    break;
                case "--range":
                    var (first, last) = Range(option, value, 0, 65535);
                    o = o with { First = first, Last = last };
                    break;
                case "--tables":
                    o = o with { Tables = [.. value.Split(',', StringSplitOptions.TrimEntries).Select(Table)] };
                    break;
                case "--transport":
                    o = o with { Transport = value };
                    break;
                case "--baud":
                    o = o with { BaudRate = Number(option, value, 300, 4_000_000) };
                    break;
                case "--parity":
                    o = o with
                    {
                        Parity = value switch
                        {
                            "none" => Parity.None,
                            "even" => Parity.Even,
                            "odd" => Parity.Odd,
                            _ => throw new FormatException($"--parity is none, even or odd, not \"{value}\""),
                        },
                    };
                    break;
                case "--stop-bits":
                    o = o with { StopBits = Number(option, value, 1, 2) == 2 ? StopBits.Two : StopBits.One };
                    break;
                case "--timeout":
                    o = o with { Timeout = Time(option, value, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) };
                    break;
                case "--request-timeout":
                    o = o with { RequestTimeout = Time(option, value, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1)) };
                    break;
                case "--pick":
                    o = o with { Picks = ModbusPick.ParseList(value) };
                    break;
                case "--name":
                    o = o with { Name = value };
                    break;
                default:
                    throw new FormatException($"unknown option {option} (see --help)");
            }
        }
        if (o.ScanUnits && unitGiven) throw new FormatException("give --unit or --scan-units, not both");
        if (o.Picks is not null && o.EmitPlausible) throw new FormatException("give --pick or --emit-plausible, not both");
        return o;
    }

    /// <summary>
    /// The agent's address and credentials, checked by the same binder as a config file's
    /// <c>[[snmp.targets]]</c>: a bad password or protocol gets the same message, named by its option.
    /// </summary>
    private static (SnmpTargetOptions Target, TimeSpan Timeout) ParseSnmp(string[] args)
    {
        var keys = new List<(string Key, string Value)> { ("address", args[2]) };
        var timeout = TimeSpan.FromSeconds(60);
        bool versionGiven = false, userGiven = false;
        for (int i = 3; i < args.Length; i++)
        {
            string option = args[i];
            if (i + 1 >= args.Length) throw new FormatException($"{option} needs a value, or is unknown (see --help)");
            string value = args[++i];
            switch (option)
            {
                case "--timeout":
                    timeout = Time(option, value, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
                    break;
                case "--request-timeout":
                    keys.Add(("timeout", value));
                    break;
                case "--community" or "--version" or "--user" or "--auth-protocol" or "--auth-password" or "--priv-protocol" or "--priv-password" or "--context":
                    keys.Add((option[2..].Replace('-', '_'), value));
                    versionGiven |= option == "--version";
                    userGiven |= option == "--user";
                    break;
                default:
                    throw new FormatException($"unknown option {option} (see --help)");
            }
        }
        if (!versionGiven && userGiven) keys.Add(("version", "3"));
        var toml = new StringBuilder("[[snmp.targets]]\nname = \"discover\"\n");
        foreach (var (key, value) in keys) toml.Append(key).Append(" = ").Append(TomlText.String(value)).Append('\n');
        toml.Append("[[snmp.targets.oids]]\noid = \"1.3.6.1.2.1.1.3.0\"\nkey = \"sysUpTime\"\n");

        // "snmp.targets[0].auth_password: ..." is the option --auth-password
        var options = BindOptions(toml.ToString(), "snmp", SnmpOptions.Bind, "snmp.targets[0].", key => "--" + key.Replace('_', '-'));
        return (options.Targets[0], timeout);
    }

    private static BacnetDiscoveryOptions ParseBacnet(string[] args)
    {
        var o = new BacnetDiscoveryOptions();
        var localAddress = IPAddress.Any;
        int localPort = 47808;
        for (int i = 2; i < args.Length; i++)
        {
            string option = args[i];
            if (option == "--all")
            {
                o = o with { All = true };
                continue;
            }
            if (i + 1 >= args.Length) throw new FormatException($"{option} needs a value, or is unknown (see --help)");
            string value = args[++i];
            switch (option)
            {
                case "--broadcast":
                    if (!HostPort.TryParse(value, 47808, out string host, out int port) || !IPAddress.TryParse(host, out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                        throw new FormatException($"--broadcast takes an IPv4 address[:port] such as 192.0.2.255, not \"{value}\"");
                    o = o with { Target = new IPEndPoint(address, port) };
                    break;
                case "--device":
                    o = o with { Device = Number(option, value, 0, 4194302) };
                    break;
                case "--wait":
                    o = o with { Wait = Time(option, value, TimeSpan.FromMilliseconds(200), TimeSpan.FromMinutes(5)) };
                    break;
                case "--local-address":
                    localAddress = IPAddress.TryParse(value, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
                        ? a : throw new FormatException($"--local-address takes an IPv4 address, not \"{value}\"");
                    break;
                case "--local-port":
                    localPort = Number(option, value, 0, 65535);
                    break;
                case "--timeout":
                    o = o with { Timeout = Time(option, value, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) };
                    break;
                case "--request-timeout":
                    o = o with { RequestTimeout = Time(option, value, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(1)) };
                    break;
                default:
                    throw new FormatException($"unknown option {option} (see --help)");
            }
        }
        return o with { Local = new IPEndPoint(localAddress, localPort) };
    }

    /// <summary>The server's endpoint, security and user, checked by the same binder as a config file's <c>[[opcua.servers]]</c>.</summary>
    private static (OpcUaServerOptions Server, int MaxNodes, int MaxDepth, TimeSpan Timeout) ParseOpcUa(string[] args)
    {
        var keys = new List<(string Key, string Value)> { ("endpoint", args[2]) };
        int maxNodes = 2000, maxDepth = 10;
        var timeout = TimeSpan.FromSeconds(120);
        string? name = null;
        for (int i = 3; i < args.Length; i++)
        {
            string option = args[i];
            if (i + 1 >= args.Length) throw new FormatException($"{option} needs a value, or is unknown (see --help)");
            string value = args[++i];
            switch (option)
            {
                case "--security":
                    var parts = value.Split('/');
                    keys.Add(("security_policy", parts[0]));
                    if (parts.Length > 1) keys.Add(("security_mode", parts[1]));
                    break;
                case "--username" or "--password":
                    keys.Add((option[2..], value));
                    break;
                case "--request-timeout":
                    keys.Add(("timeout", value));
                    break;
                case "--max-nodes":
                    maxNodes = Number(option, value, 1, 100_000);
                    break;
                case "--max-depth":
                    maxDepth = Number(option, value, 1, 100);
                    break;
                case "--timeout":
                    timeout = Time(option, value, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
                    break;
                case "--name":
                    name = value;
                    break;
                default:
                    throw new FormatException($"unknown option {option} (see --help)");
            }
        }
        keys.Add(("name", name ?? "discover"));
        var toml = new StringBuilder("[[opcua.servers]]\ntrust_server_certificate = \"tofu\"\n");
        foreach (var (key, value) in keys) toml.Append(key).Append(" = ").Append(TomlText.String(value)).Append('\n');
        toml.Append("[[opcua.servers.nodes]]\nnode_id = \"i=2258\"\nkey = \"current_time\"\n");
        var options = BindOptions(toml.ToString(), "opcua", OpcUaOptions.Bind, "opcua.servers[0].", OptionOf);
        var server = options.Servers[0];
        if (name is null) server = server with { Name = server.Host };
        return (server, maxNodes, maxDepth, timeout);

        static string OptionOf(string key) => key switch
        {
            "security_policy" or "security_mode" => "--security",
            "timeout" => "--request-timeout",
            _ => "--" + key.Replace('_', '-'),
        };
    }

    /// <summary>
    /// Binds the options of a command line written as one config table, with the config file's own
    /// checks; an error on a key under <paramref name="prefix"/> is named by its option (<paramref name="optionOf"/>).
    /// </summary>
    private static T BindOptions<T>(string toml, string section, Func<ConfigSection, T> bind, string prefix, Func<string, string> optionOf)
    {
        var errors = new ConfigErrors();
        var tree = TomlTree.Parse(toml, "discover", errors);
        T? options = errors.Count == 0 ? bind(new ConfigSection("discover", "", tree, errors).GetSection(section)) : default;
        if (errors.Count > 0 || options is null)
        {
            throw new FormatException(string.Join("; ", errors.Select(e =>
                (e.Path.StartsWith(prefix, StringComparison.Ordinal) ? optionOf(e.Path[prefix.Length..]) + ": " : "") + e.Message)));
        }
        return options;
    }

    private static int Number(string option, string value, int min, int max)
        => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
            ? n : throw new FormatException($"{option} takes a number from {min} to {max}, not \"{value}\"");

    private static (int First, int Last) Range(string option, string value, int min, int max)
    {
        var parts = value.Split('-');
        int first = Number(option, parts[0], min, max);
        int last = parts.Length == 2 ? Number(option, parts[1], min, max) : parts.Length == 1 ? first
            : throw new FormatException($"{option} takes A-B, not \"{value}\"");
        if (last < first) throw new FormatException($"{option} {value}: the end is before the start");
        return (first, last);
    }

    private static TimeSpan Time(string option, string value, TimeSpan min, TimeSpan max)
        => Duration.TryParse(value, out var d) && d >= min && d <= max
            ? d : throw new FormatException($"{option} takes a duration from {Duration.Format(min)} to {Duration.Format(max)} such as 30s, not \"{value}\"");

    private static ModbusTable Table(string name) => name switch
    {
        "holding" => ModbusTable.HoldingRegister,
        "input" => ModbusTable.InputRegister,
        "coil" => ModbusTable.Coil,
        "discrete" => ModbusTable.DiscreteInput,
        _ => throw new FormatException($"--tables takes holding, input, coil and discrete, not \"{name}\""),
    };

    private static string Quote(string arg) => arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or ',' or '=')
        ? arg : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
