using System.Diagnostics;
using System.Runtime.InteropServices;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Host;

namespace Pattoo.Edge;

/// <summary>The pattoo-edge command line: parse arguments, then hand over to <see cref="EdgeHost"/>.</summary>
public static class Program
{
    private const int ExitOk = 0, ExitError = 1, ExitUsage = 2;

    private const string Usage = """
        pattoo-edge: a monitoring appliance in one binary: polls devices, stores time series
        in SQLite, serves them over GraphQL and the pattoo agent API.

        Usage:
          pattoo-edge [run] [--config FILE]   run the appliance (default: the embedded config)
          pattoo-edge config check [--verbose] FILE
                                              check a config file; exit 1 listing every error;
                                              --verbose shows what each poll cycle will cost
          pattoo-edge config default          print the embedded default config, commented
          pattoo-edge config sample snmp|modbus|bacnet|opcua|linux
                                              print a poller's commented sample section
          pattoo-edge import key_translation --filename F.csv [--idx_pair_xlate_group N] [--config FILE]
          pattoo-edge import agent_translation --filename F.csv [--config FILE]
          pattoo-edge create language --code es --name Spanish [--config FILE]
          pattoo-edge create key_translation --name NAME [--config FILE]
                                              pattoo's translation commands and CSV formats; they
                                              change the database under storage.path (also while
                                              the appliance runs)
          pattoo-edge version                 print the version
          pattoo-edge --help                  this text

        Signals: SIGHUP reloads the config file, SIGTERM or SIGINT stops.
        """;

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
                ["config", "check"] or ["config", "check", "--verbose" or "-v"] or ["config"] => ConfigUsage(),
                ["config", "check", var file] => CheckConfig(file, verbose: false),
                ["config", "check", "--verbose" or "-v", var file] => CheckConfig(file, verbose: true),
                ["config", "check", var file, "--verbose" or "-v"] => CheckConfig(file, verbose: true),
                ["config", "default"] => PrintDefault(),
                ["config", "sample", var name] => PrintSample(name),
                ["config", "sample"] => PrintSample(null),
                ["version" or "--version"] => PrintVersion(),
                ["import" or "create", ..] => Catalog(args),
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

    private static int BadUsage(string[] args)
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
        Console.Out.WriteLine($"pattoo-edge {EdgeHost.Version} ({RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()})");
        return ExitOk;
    }

    private static int ConfigUsage()
    {
        Console.Error.WriteLine("""
            usage: pattoo-edge config check [--verbose] FILE   check a config file (exit 1 listing every error)
                   pattoo-edge config default                  print the embedded default config
                   pattoo-edge config sample NAME              print a poller's sample section
            """);
        return ExitUsage;
    }

    private static int PrintSample(string? name)
    {
        if (name is not null && EdgeOptions.SampleText(name) is { } text)
        {
            Console.Out.Write(text);
            return ExitOk;
        }
        Console.Error.WriteLine($"pattoo-edge config sample: {(name is null ? "name a poller" : $"no sample named \"{name}\"")}; one of: {string.Join(", ", EdgeOptions.SampleNames)}");
        return ExitUsage;
    }

    private static int PrintDefault()
    {
        Console.Out.Write(EdgeOptions.DefaultText());
        return ExitOk;
    }

    private static int CheckConfig(string file, bool verbose)
    {
        try
        {
            var o = EdgeOptions.LoadFile(file);
            Console.Out.WriteLine($"{file}: OK ({EdgeHost.BuildTargetCount(o)} poll targets, storage in {o.Storage.Path}, listening on {o.Server.Listen})");
            foreach (var warning in ConfigAdvice.Warnings(o)) Console.Error.WriteLine($"{file}: warning: {warning}");
            if (verbose)
            {
                var plan = o.Modbus.DescribePlan();
                if (plan.Length > 0) Console.Out.Write(plan.EndsWith('\n') ? plan : plan + "\n");
            }
            return ExitOk;
        }
        catch (ConfigException e)
        {
            foreach (var error in e.Errors) Console.Error.WriteLine(error);
            Console.Error.WriteLine($"{file}: {e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}");
            return ExitError;
        }
    }

    /// <summary>pattoo_cli's import/create commands for translations, on the configured database.</summary>
    private static int Catalog(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 2; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length) return BadUsage(args);
            options[args[i][2..]] = args[++i];
        }
        string? Option(string name) => options.Remove(name, out var v) ? v : null;
        string[] allowed = (args[0], args.Length > 1 ? args[1] : "") switch
        {
            ("import", "key_translation") => ["config", "filename", "idx_pair_xlate_group"],
            ("import", "agent_translation") => ["config", "filename"],
            ("create", "language") => ["config", "code", "name"],
            ("create", "key_translation") => ["config", "name"],
            _ => [],
        };
        if (allowed.Length == 0) return BadUsage(args);
        foreach (var key in options.Keys)
        {
            if (Array.IndexOf(allowed, key) < 0)
            {
                Console.Error.WriteLine($"pattoo-edge: {args[0]} {args[1]}: unknown option --{key}; expected {string.Join(", ", allowed.Select(a => "--" + a))}");
                return ExitUsage;
            }
        }
        try
        {
            var config = Option("config");
            var edge = config is null ? EdgeOptions.LoadDefault() : EdgeOptions.LoadFile(config);
            var store = new Storage.CatalogStore(edge.Storage);
            string done;
            switch (args[0], args.Length > 1 ? args[1] : "")
            {
                case ("import", "key_translation"):
                    {
                        var file = Option("filename") ?? throw new Storage.CatalogException("--filename is required");
                        long group = long.TryParse(Option("idx_pair_xlate_group") ?? "1", out long g) ? g : throw new Storage.CatalogException("--idx_pair_xlate_group must be a number");
                        int n = store.ImportKeyTranslations(group, Storage.TranslationCsv.ReadKeyTranslations(ReadInput(file), file));
                        done = $"imported {n} key translations into group {group}";
                        break;
                    }
                case ("import", "agent_translation"):
                    {
                        var file = Option("filename") ?? throw new Storage.CatalogException("--filename is required");
                        int n = store.ImportAgentTranslations(Storage.TranslationCsv.ReadAgentTranslations(ReadInput(file), file));
                        done = $"imported {n} agent translations";
                        break;
                    }
                case ("create", "language"):
                    {
                        var row = store.UpsertLanguage(Option("code") ?? throw new Storage.CatalogException("--code is required"), Option("name") ?? throw new Storage.CatalogException("--name is required"));
                        done = $"language {row.Code} ({row.Name}) is idx_language {row.IdxLanguage}";
                        break;
                    }
                case ("create", "key_translation"):
                    {
                        var row = store.CreatePairXlateGroup(Option("name") ?? throw new Storage.CatalogException("--name is required"));
                        done = $"key translation group \"{row.Name}\" is idx_pair_xlate_group {row.IdxPairXlateGroup}";
                        break;
                    }
                default:
                    return BadUsage(args);
            }
            Console.Out.WriteLine(done);
            return ExitOk;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"pattoo-edge: {SystemMessages.Describe(e)}");
            return ExitError;
        }
        catch (Exception e) when (e is Storage.CatalogException or ConfigException or Microsoft.Data.Sqlite.SqliteException)
        {
            Console.Error.WriteLine($"pattoo-edge: {e.Message}");
            return ExitError;
        }
    }

    private static string ReadInput(string file)
    {
        try { return File.ReadAllText(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Storage.CatalogException($"cannot read {file}: {SystemMessages.Describe(e)}");
        }
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

        using var notifier = new SystemdNotifier();
        using var stop = new CancellationTokenSource();
        var reloads = System.Threading.Channels.Channel.CreateUnbounded<bool>();
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; reloads.Writer.TryWrite(true); });

        await using var host = new EdgeHost(options);
        try
        {
            await host.StartAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is StorageUnavailableException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            Log.Error($"cannot start: {(e is IOException or UnauthorizedAccessException ? SystemMessages.Describe(e) : e.Message)}");
            return ExitError;
        }
        Log.Info($"ready in {Stopwatch.GetElapsedTime(MainStarted).TotalMilliseconds:F0} ms");
        notifier.Ready($"polling {host.Scheduler.States.Count} targets");

        var watchdog = SystemdNotifier.WatchdogInterval() is { } every ? WatchdogLoop(notifier, every, stop.Token) : Task.CompletedTask;
        var trim = TrimMemoryLoop(stop.Token);
        try
        {
            while (await reloads.Reader.WaitToReadAsync(stop.Token).ConfigureAwait(false))
            {
                while (reloads.Reader.TryRead(out _)) { }
                await ReloadAsync(host, configFile, notifier).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        Log.Info("stopping");
        notifier.Stopping();
        await watchdog.ConfigureAwait(false);
        await trim.ConfigureAwait(false);
        return ExitOk;
    }

    /// <summary>
    /// A box that mostly idles keeps the garbage of its start (config, migrations, the first
    /// polls) and of its polls in committed GC regions until gen0 fills. An aggressive collection
    /// once things settle and every two minutes hands those pages back to the kernel (about 3 MB
    /// on an idle box); it takes a few milliseconds of a heap this small.
    /// </summary>
    private static async Task TrimMemoryLoop(CancellationToken stop)
    {
        var wait = TimeSpan.FromSeconds(20);
        try
        {
            while (true)
            {
                await Task.Delay(wait, stop).ConfigureAwait(false);
                long before = Environment.WorkingSet;
                HeapTrim.Now();
                if (Log.IsEnabled(LogLevel.Debug))
                    Log.Debug($"memory: working set {before / 1024} KiB -> {Environment.WorkingSet / 1024} KiB after trimming the heap");
                wait = TimeSpan.FromMinutes(2);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task ReloadAsync(EdgeHost host, string? configFile, SystemdNotifier notifier)
    {
        if (configFile is null)
        {
            Log.Warning("config: SIGHUP received, but running on the embedded default config: nothing to reload");
            return;
        }
        notifier.Reloading();
        try
        {
            var next = EdgeOptions.LoadFile(configFile);
            await host.ReloadAsync(next).ConfigureAwait(false);
            Log.Info($"config: reloaded {configFile}");
        }
        catch (ConfigException e)
        {
            foreach (var error in e.Errors) Log.Error($"config: {error}");
            Log.Error($"config: reload rejected ({e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}); the running configuration is kept");
        }
        notifier.ReloadDone($"polling {host.Scheduler.States.Count} targets");
    }

    private static async Task WatchdogLoop(SystemdNotifier notifier, TimeSpan every, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            do notifier.Watchdog();
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) { }
    }
}
