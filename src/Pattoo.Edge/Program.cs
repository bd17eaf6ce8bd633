using System.Diagnostics;
using System.Runtime.InteropServices;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Host;

namespace Pattoo.Edge;

/// <summary>The pattoo-edge command line: parse arguments, then hand over to <see cref="EdgeHost"/>.</summary>
public static partial class Program
{
    internal const int ExitOk = 0, ExitError = 1, ExitUsage = 2;

    /// <summary>
    /// Taken as Main begins. /proc's process start time is the fork's, which an exec keeps:
    /// started by a shell script that ran for minutes first (<c>exec pattoo-edge</c>), the
    /// appliance would report minutes. The runtime's own start before Main is a few ms.
    /// </summary>
    private static readonly long MainStarted = Stopwatch.GetTimestamp();

    public static async Task<int> Main(string[] args)
    {
        _ = MainStarted;
        try
        {
            return args switch
            {
                [] => await RunAsync(null).ConfigureAwait(false),
                ["run"] => await RunAsync(null).ConfigureAwait(false),
                ["--config" or "-c", var file] => await RunAsync(file).ConfigureAwait(false),
                ["run", "--config" or "-c", var file] => await RunAsync(file).ConfigureAwait(false),
                ["config", "check"] or ["config", "check", "--verbose" or "-v"] or ["config"] => ConfigCommands.ConfigUsage(),
                ["config", "check", var file] => ConfigCommands.CheckConfig(file, verbose: false),
                ["config", "check", "--verbose" or "-v", var file] => ConfigCommands.CheckConfig(file, verbose: true),
                ["config", "check", var file, "--verbose" or "-v"] => ConfigCommands.CheckConfig(file, verbose: true),
                ["config", "default"] => ConfigCommands.PrintDefault(),
                ["config", "sample", var name] => ConfigCommands.PrintSample(name),
                ["config", "sample"] => ConfigCommands.PrintSample(null),
                ["version" or "--version"] => PrintVersion(),
                ["import" or "create", ..] => CatalogCommands.Run(args),
                ["install" or "uninstall", ..] => InstallCommands.Run(args),
                ["backup" or "restore", ..] => await BackupCommands.RunAsync(args).ConfigureAwait(false),
                ["doctor", ..] => await DoctorCommand.RunAsync(args).ConfigureAwait(false),
                ["discover", ..] => await DiscoverCommand.RunAsync(args).ConfigureAwait(false),
                ["help" or "--help" or "-h"] => PrintUsage(Console.Out, ExitOk),
                _ => BadUsage(args),
            };
        }
        catch (Exception e)
        {
            Log.Error($"fatal: {e.Message}");
            return ExitError;
        }
    }

    internal static int BadUsage(string[] args)
    {
        Console.Error.WriteLine($"pattoo-edge: unknown command or option: {string.Join(' ', args)}");
        Console.Error.WriteLine("Run 'pattoo-edge --help' for usage.");
        return ExitUsage;
    }

    private static int PrintUsage(TextWriter w, int code)
    {
        w.WriteLine(Usage);
        return code;
    }

    private static int PrintVersion()
    {
        Console.Out.WriteLine($"pattoo-edge {EdgeHost.Version} (commit {EdgeHost.Commit}, built {EdgeHost.BuildDate}, linux-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()})");
        return ExitOk;
    }

    private static async Task<int> RunAsync(string? configFile)
    {
        EdgeOptions options;
        try
        {
            options = configFile is null ? EdgeOptions.LoadDefault() : EdgeOptions.LoadFile(configFile);
        }
        catch (ConfigException e)
        {
            foreach (var error in e.Errors) Log.Error($"config: {error}");
            Log.Error($"config: {e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}; not starting");
            return ExitError;
        }
        Log.Level = options.LogLevel;
        foreach (var warning in ConfigAdvice.Warnings(options)) Log.Warning($"config: {warning}");
        Log.Info($"pattoo-edge {EdgeHost.Version} starting as '{options.Appliance.Name}' with {(configFile ?? "the embedded default config")}");
        await using var host = new EdgeHost(options, configFile, MainStarted);
        return await host.RunAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
