using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Pattoo.Edge.Alerts;
using Pattoo.Edge.Api;
using Pattoo.Edge.Common;
using Pattoo.Edge.Control;
using Pattoo.Edge.Forwarding;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Host;

/// <summary>
/// The appliance: opens the store, starts the pollers and the HTTP server, and stops them
/// in reverse order. A library class so tests can embed the same host the binary runs.
/// </summary>
public sealed class EdgeHost : IAsyncDisposable, IApplianceState
{
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private TimeSeriesStore? _store;
    private PollScheduler? _scheduler;
    private WriteService? _writes;
    private HttpServer? _http;
    private ForwarderSet? _forwarders;
    private EventRecorder? _events;
    private AlertNotifier? _notifier;
    private AlertEvaluator? _alerts;
    private readonly ListenerSet _listeners = new();

    private readonly Channel<bool> _reloads = Channel.CreateUnbounded<bool>();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _createdTimestamp = Stopwatch.GetTimestamp();
    private int _reloadCount, _disposed;

    /// <param name="options">The configuration to run.</param>
    /// <param name="configFile">Where it was read from: SIGHUP reads it again (null: the embedded default, nothing to reload).</param>
    /// <param name="startTimestamp">When the process began (<see cref="Stopwatch.GetTimestamp"/>), for the "ready in" log line; default now.</param>
    public EdgeHost(EdgeOptions options, string? configFile = null, long? startTimestamp = null)
    {
        Options = options;
        ConfigFile = configFile;
        StartedAt = DateTimeOffset.UtcNow;
        if (startTimestamp is { } t) _createdTimestamp = t;
    }

    public string? ConfigFile { get; }

    /// <summary>Completes once <see cref="RunAsync"/> has started everything (faults if it could not).</summary>
    public Task Ready => _ready.Task;

    /// <summary>Reloads done by <see cref="RunAsync"/> (accepted or rejected).</summary>
    public int ReloadCount => Volatile.Read(ref _reloadCount);

    /// <summary>Asks <see cref="RunAsync"/> to read the config file again, as SIGHUP does.</summary>
    public void RequestReload() => _reloads.Writer.TryWrite(true);

    /// <summary>
    /// Runs the appliance until <paramref name="stop"/> is cancelled or SIGTERM/SIGINT arrives:
    /// starts it, tells systemd it is ready, reloads the config file on SIGHUP, pets the systemd
    /// watchdog and trims the heap while it runs, and stops it. Returns the process exit code.
    /// </summary>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        using var notifier = new SystemdNotifier();
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopping.Cancel(); });
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stopping.Cancel(); });
        using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; RequestReload(); });
        try
        {
            await StartAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is StorageUnavailableException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            Log.Error($"cannot start: {(e is IOException or UnauthorizedAccessException ? SystemMessages.Describe(e) : e.Message)}");
            _ready.TrySetException(e);
            await DisposeAsync().ConfigureAwait(false);
            return 1;
        }
        Log.Info($"ready in {Stopwatch.GetElapsedTime(_createdTimestamp).TotalMilliseconds:F0} ms");
        notifier.Ready($"polling {Scheduler.States.Count} targets");
        _ready.TrySetResult();

        var watchdog = SystemdNotifier.WatchdogInterval() is { } every ? WatchdogLoop(notifier, every, stopping.Token) : Task.CompletedTask;
        var trim = TrimMemoryLoop(stopping.Token);
        try
        {
            while (await _reloads.Reader.WaitToReadAsync(stopping.Token).ConfigureAwait(false))
            {
                while (_reloads.Reader.TryRead(out _)) { }
                await ReloadFileAsync(notifier).ConfigureAwait(false);
                Interlocked.Increment(ref _reloadCount);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        Log.Info("stopping");
        notifier.Stopping();
        await watchdog.ConfigureAwait(false);
        await trim.ConfigureAwait(false);
        await DisposeAsync().ConfigureAwait(false);
        return 0;
    }

    private async Task ReloadFileAsync(SystemdNotifier notifier)
    {
        if (ConfigFile is null)
        {
            Log.Warning("config: SIGHUP received, but running on the embedded default config: nothing to reload");
            return;
        }
        notifier.Reloading();
        try
        {
            var next = EdgeOptions.LoadFile(ConfigFile);
            await ReloadAsync(next).ConfigureAwait(false);
            Log.Info($"config: reloaded {ConfigFile}");
        }
        catch (Config.ConfigException e)
        {
            foreach (var error in e.Errors) Log.Error($"config: {error}");
            Log.Error($"config: reload rejected ({e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}); the running configuration is kept");
        }
        notifier.ReloadDone($"polling {Scheduler.States.Count} targets");
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
        bool first = true;
        try
        {
            while (true)
            {
                await Task.Delay(wait, stop).ConfigureAwait(false);
                long before = Environment.WorkingSet;
                HeapTrim.Now();
                // Once settled: the executable's pages only the start used go too.
                long released = first ? ExecutablePages.Release() : 0;
                first = false;
                if (Log.IsEnabled(LogLevel.Debug))
                    Log.Debug($"memory: working set {before / 1024} KiB -> {Environment.WorkingSet / 1024} KiB after trimming the heap" +
                        (released > 0 ? $" and paging out the executable's {released / 1024} KiB of read-only mappings" : ""));
                wait = TimeSpan.FromMinutes(2);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
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

    public EdgeOptions Options { get; private set; }
    public DateTimeOffset StartedAt { get; }
    public TimeSeriesStore Store => _store ?? throw new InvalidOperationException("the host is not started");
    public string Name => Options.Appliance.Name;
    string IApplianceState.Version => Version;
    public IReadOnlyList<TargetState> Targets => Scheduler.States;
    public IReadOnlyList<ForwarderStatus> Forwarders => _forwarders?.Statuses ?? [];
    public IReadOnlyList<IListenerStatus> Listeners => _listeners.Statuses;
    public IReadOnlyList<ActiveAlert> Alerts => _alerts?.Active() ?? [];

    /// <summary>The dashboard's address as alerts link to it: the listen address, or this host's name when it listens on all.</summary>
    private static string ExternalUrl(ServerOptions server)
    {
        var a = server.Listen.Address;
        string host = a.Equals(System.Net.IPAddress.Any) || a.Equals(System.Net.IPAddress.IPv6Any) ? System.Net.Dns.GetHostName()
            : a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{a}]" : a.ToString();
        return $"{(server.TlsCertificate is null ? "http" : "https")}://{host}:{server.Listen.Port}/";
    }
    public ApiOptions Api => Options.Api;

    public WriteService Writes => _writes ?? throw new InvalidOperationException("the host is not started");

    /// <summary>[write] and the control tokens: set before the pollers start or restart, so turning writes off applies at once.</summary>
    private void ApplyWriteOptions(EdgeOptions options)
    {
        var writes = Writes;
        bool wasEnabled = writes.Options.Enabled;
        writes.Options = options.Write;
        writes.HasControlTokens = options.Api.ControlTokens.Count > 0;
        if (options.Write.Enabled || wasEnabled)
            Log.Info($"write-back: {options.Write.Describe()}; {options.Api.ControlTokens.Count} control token{(options.Api.ControlTokens.Count == 1 ? "" : "s")}"
                + (options.Write.Enabled && options.Api.ControlTokens.Count == 0 ? " (without one every write is refused: add [api.control_tokens])" : ""));
    }

    public Task<string> DiscoverAsync(IReadOnlyList<string> arguments, Action<string> progress, CancellationToken cancellationToken)
        => Pollers.Discovery.DiscoveryCommandLine.RunAsync(arguments, progress, cancellationToken);
    public PollScheduler Scheduler => _scheduler ?? throw new InvalidOperationException("the host is not started");

    public static string Version => typeof(EdgeHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The commit the binary was built from ("unknown" for a development build).</summary>
    public static string Commit => BuildFact("Commit");

    /// <summary>The day the binary was built (UTC, yyyy-MM-dd; "unknown" for a development build).</summary>
    public static string BuildDate => BuildFact("BuildDate");

    private static string BuildFact(string key)
        => typeof(EdgeHost).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value ?? "unknown";

    /// <summary>Starts store, pollers and API; throws if any cannot start (the caller exits 1).</summary>
    public async Task StartAsync()
    {
        Log.Level = Options.LogLevel;
        var sw = Stopwatch.StartNew();
        _store = TimeSeriesStore.Open(Options.Storage);
        Log.Info($"storage: {Options.Storage.DatabaseFile} open ({_store.Statistics.Series} series) in {sw.ElapsedMilliseconds} ms");
        SeedTranslations(_store.Catalog);
        _events = new EventRecorder(_store);
        _notifier = new AlertNotifier(Options.Appliance.Name, ExternalUrl(Options.Server));
        _alerts = new AlertEvaluator(_store, _events, _notifier);
        _alerts.Apply(Options.Alerts);
        if (Options.Alerts.Rules.Count > 0) Log.Info($"alerts: {Options.Alerts.Rules.Count} rules, {Options.Alerts.Webhooks.Count} webhooks");
        _scheduler = new PollScheduler(_store) { StoredSince = _store.CountSamplesSince };
        var scheduler = _scheduler;
        _writes = new WriteService(_store, () => scheduler.Targets);
        _http = new HttpServer(this);
        await _http.StartAsync().ConfigureAwait(false);
        Log.Info($"http: listening on {Options.Server.Listen}");
        ApplyWriteOptions(Options);
        await _scheduler.ApplyAsync(BuildTargets(Options, PushSamples)).ConfigureAwait(false);
        await _listeners.ApplyAsync(BuildListeners(Options)).ConfigureAwait(false);
        _forwarders = new ForwarderSet(_store);
        await _forwarders.ApplyAsync(Options.Forward).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies a new configuration: pollers whose settings changed restart, the log level
    /// follows; settings that need a restart (listen address, storage) are reported.
    /// </summary>
    public async Task ReloadAsync(EdgeOptions next)
    {
        await _reloadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (next.Server != Options.Server)
                Log.Warning($"config: server.listen changed to {next.Server.Listen}; restart pattoo-edge to apply it");
            if (next.Storage.Path != Options.Storage.Path)
                Log.Warning("config: storage.path changed; restart pattoo-edge to apply it");
            else if (next.Storage with { EventRetention = default, AuditRetention = default } != Options.Storage with { EventRetention = default, AuditRetention = default })
                Log.Warning("config: storage settings changed; restart pattoo-edge to apply them");
            Store.EventRetention = next.Storage.EventRetention;
            Store.AuditRetention = next.Storage.AuditRetention;
            Log.Level = next.LogLevel;
            if (next.Api.MaxDepth != Options.Api.MaxDepth || next.Api.MaxComplexity != Options.Api.MaxComplexity || next.Api.QueryTimeout != Options.Api.QueryTimeout)
                Log.Warning("config: api query limits changed; restart pattoo-edge to apply them (tokens and networks apply now)");
            // Everything applies now but the server and storage sections (reported above): every poller's section by construction.
            Options = next with { Server = Options.Server, Storage = Options.Storage with { EventRetention = next.Storage.EventRetention, AuditRetention = next.Storage.AuditRetention } };
            // The kill switch applies before the pollers restart, which may take seconds.
            ApplyWriteOptions(Options);
            await Scheduler.ApplyAsync(BuildTargets(Options, PushSamples)).ConfigureAwait(false);
            _alerts?.Apply(Options.Alerts);
            try
            {
                await _listeners.ApplyAsync(BuildListeners(Options)).ConfigureAwait(false);
            }
            catch (InvalidOperationException e)
            {
                Log.Error($"config: {e.Message}");
            }
            if (_forwarders is not null) await _forwarders.ApplyAsync(Options.Forward).ConfigureAwait(false);
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    /// <summary>The names of the appliance's own programs, as pattoo-web and the dashboard show them.</summary>
    public static IReadOnlyList<AgentTranslation> ProgramNames =>
        [.. PollerModules.All.Select(m => new AgentTranslation("en", m.Section, m.DisplayName)), new("en", "prometheus-import", "Prometheus text import")];

    /// <summary>English names and units of the keys our pollers store (english-names.csv).</summary>
    public static IReadOnlyList<KeyTranslation> KeyNames()
    {
        using var stream = typeof(EdgeHost).Assembly.GetManifestResourceStream("Pattoo.Edge.english-names.csv")
            ?? throw new InvalidOperationException("english-names.csv is missing from this build");
        using var reader = new StreamReader(stream);
        var rows = new List<KeyTranslation>();
        reader.ReadLine(); // header: program,key,translation,units
        while (reader.ReadLine() is { } line)
        {
            // pattoo-web looks up the datapoint's pattoo_key, which is "{program}_{key}".
            var parts = line.Split(',');
            if (parts.Length == 4) rows.Add(new KeyTranslation("en", $"{parts[0]}_{parts[1]}", parts[2], parts[3]));
        }
        return rows;
    }

    private static void SeedTranslations(CatalogStore catalog)
    {
        try
        {
            int added = catalog.SeedTranslations(KeyNames(), ProgramNames);
            if (added > 0) Log.Info($"storage: added {added} English names and units for the appliance's own keys and programs (your imports take precedence)");
        }
        catch (Exception e) when (e is CatalogException or Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
        {
            Log.Warning($"storage: the default English names and units were not added: {e.Message}");
        }
    }

    /// <summary>Every poll target the configuration asks for.</summary>
    /// <param name="options">The configuration.</param>
    /// <param name="pushSamples">Stores what targets receive between polls (BACnet COV); null: it goes with their next poll.</param>
    public static IReadOnlyList<IPollTarget> BuildTargets(EdgeOptions options, Func<SampleBatch, Task>? pushSamples = null)
    {
        var context = new PollerContext(options.Appliance.Name, options.Storage.Path, pushSamples);
        return [.. options.Pollers.SelectMany(p => p.CreateTargets(context))];
    }

    /// <summary>Samples a poller receives between its polls (BACnet COV), stored at once; the pollers do not wait for the disk.</summary>
    private Task PushSamples(SampleBatch batch) => Store.WriteAsync(batch, CancellationToken.None);

    /// <summary>Every receiver the configuration asks for, not yet started.</summary>
    private List<IListener> BuildListeners(EdgeOptions options)
    {
        var store = Store;
        var context = new ListenerContext(options.Appliance.Name, options.Storage.Path, _events!,
            batch => store.WriteAsync(batch, CancellationToken.None), (target, ifIndex) => InterfaceName(store, target, ifIndex));
        return [.. options.Pollers.SelectMany(p => p.CreateListeners(context))];
    }

    /// <summary>The ifName (else ifDescr) the SNMP poller stored for interface <paramref name="ifIndex"/> of <paramref name="target"/>.</summary>
    private static string? InterfaceName(TimeSeriesStore store, string target, string ifIndex)
    {
        var catalog = store.Catalog.Snapshot();
        foreach (var agent in catalog.Agents)
        {
            if (agent.AgentProgram != "snmp" || agent.AgentPolledTarget != target) continue;
            string? descr = null;
            foreach (var d in catalog.DatapointsOfAgent(agent.IdxAgent))
            {
                var (_, labels) = catalog.Describe(d);
                if (!labels.Any(l => l.Key == "index" && l.Value == ifIndex)) continue;
                foreach (var l in labels)
                {
                    if (l.Key == "ifName" && l.Value.Length > 0) return l.Value;
                    if (l.Key == "ifDescr" && l.Value.Length > 0) descr = l.Value;
                }
            }
            if (descr is not null) return descr;
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        var sw = Stopwatch.StartNew();
        await _listeners.DisposeAsync().ConfigureAwait(false);
        if (_http is not null) await _http.DisposeAsync().ConfigureAwait(false);
        if (_alerts is not null) await _alerts.DisposeAsync().ConfigureAwait(false);
        if (_scheduler is not null) await _scheduler.DisposeAsync().ConfigureAwait(false);
        // Before the store: each forwarder saves its cursor through it.
        if (_forwarders is not null) await _forwarders.DisposeAsync().ConfigureAwait(false);
        if (_notifier is not null) await _notifier.DisposeAsync().ConfigureAwait(false);
        if (_events is not null) await _events.DisposeAsync().ConfigureAwait(false);
        if (_store is not null)
        {
            var stats = _store.Statistics;
            await _store.DisposeAsync().ConfigureAwait(false);
            Log.Info($"storage: closed after {stats.SamplesWritten} samples in {stats.Transactions} transactions");
        }
        Log.Info($"stopped in {sw.ElapsedMilliseconds} ms");
    }
}
