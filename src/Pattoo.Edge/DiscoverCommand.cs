using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Discovery;

namespace Pattoo.Edge;

/// <summary>
/// <c>pattoo-edge discover PROTOCOL ...</c>: asks devices what they serve and prints a config
/// section for them on stdout (progress on stderr). Exit 0 with the TOML, 1 when the device
/// could not be discovered, 2 for a bad command line. The work is <see cref="DiscoveryCommandLine"/>'s,
/// shared with the dashboard's Discover page.
/// </summary>
internal static class DiscoverCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        string protocol = args.Length > 1 ? args[1] : "";
        if (!DiscoveryCommandLine.Protocols.Contains(protocol))
        {
            Console.Error.WriteLine("usage: pattoo-edge discover modbus|snmp|bacnet|opcua ...  (pattoo-edge discover PROTOCOL --help for its options)");
            return Program.ExitUsage;
        }
        if (args is [_, _, "--help" or "-h"])
        {
            Console.Out.WriteLine(DiscoveryCommandLine.Usage(protocol));
            return Program.ExitOk;
        }
        try
        {
            string toml = await DiscoveryCommandLine.RunAsync(args[1..], line => Console.Error.WriteLine($"discover: {line}"), CancellationToken.None).ConfigureAwait(false);
            Console.Out.Write(toml);
            return Program.ExitOk;
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"pattoo-edge discover {protocol}: {e.Message}");
            if (args.Length < 3 && protocol != "bacnet") Console.Error.WriteLine(DiscoveryCommandLine.Usage(protocol));
            return Program.ExitUsage;
        }
        catch (DiscoveryException e)
        {
            Console.Error.WriteLine($"pattoo-edge discover {protocol}: {e.Message}");
            return Program.ExitError;
        }
    }
}
