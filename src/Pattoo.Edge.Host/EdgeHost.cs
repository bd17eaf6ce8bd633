using System.Diagnostics;
using Pattoo.Edge.Api;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Linux;
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
    private HttpServer? _http;

    public EdgeHost(EdgeOptions options)
    {
        Options = options;
        StartedAt = DateTimeOffset.UtcNow;
    }

    public EdgeOptions Options { get; private set; }
    public DateTimeOffset StartedAt { get; }
    public TimeSeriesStore Store => _store ?? throw new InvalidOperationException("the host is not started");
    public string Name => Options.Appliance.Name;
    string IApplianceState.Version => Version;
    public IReadOnlyList<TargetState> Targets => Scheduler.States;
    public ApiOptions Api => Options.Api;
    public PollScheduler Scheduler => _scheduler ?? throw new InvalidOperationException("the host is not started");

    public static string Version => typeof(EdgeHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Starts store, pollers and API; throws if any cannot start (the caller exits 1).</summary>
    public async Task StartAsync()
    {
        Log.Level = Options.LogLevel;
        var sw = Stopwatch.StartNew();
        _store = TimeSeriesStore.Open(Options.Storage);
        Log.Info($"storage: {Options.Storage.DatabaseFile} open ({_store.Statistics.Series} series) in {sw.ElapsedMilliseconds} ms");
        SeedTranslations(_store.Catalog);
        _scheduler = new PollScheduler(_store) { StoredSince = _store.CountSamplesSince };
        _http = new HttpServer(this);
        await _http.StartAsync().ConfigureAwait(false);
        Log.Info($"http: listening on {Options.Server.Listen}");
        await _scheduler.ApplyAsync(BuildTargets(Options)).ConfigureAwait(false);
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
            else if (next.Storage != Options.Storage)
                Log.Warning("config: storage settings changed; restart pattoo-edge to apply them");
            Log.Level = next.LogLevel;
            if (next.Api.MaxDepth != Options.Api.MaxDepth || next.Api.MaxComplexity != Options.Api.MaxComplexity || next.Api.QueryTimeout != Options.Api.QueryTimeout)
                Log.Warning("config: api query limits changed; restart pattoo-edge to apply them (tokens and networks apply now)");
            Options = Options with { Appliance = next.Appliance, LogLevel = next.LogLevel, Linux = next.Linux, Snmp = next.Snmp, Modbus = next.Modbus, Bacnet = next.Bacnet, OpcUa = next.OpcUa, Api = next.Api, SourceName = next.SourceName };
            await Scheduler.ApplyAsync(BuildTargets(Options)).ConfigureAwait(false);
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    /// <summary>The names of the appliance's own programs, as pattoo-web and the dashboard show them.</summary>
    public static readonly AgentTranslation[] ProgramNames =
    [
        new("en", "linux", "Linux host (Pattoo.Edge)"),
        new("en", "snmp", "SNMP poller (Pattoo.Edge)"),
        new("en", "modbus", "Modbus poller (Pattoo.Edge)"),
        new("en", "bacnet", "BACnet/IP poller (Pattoo.Edge)"),
        new("en", "opcua", "OPC UA poller (Pattoo.Edge)"),
        new("en", "prometheus-import", "Prometheus text import"),
    ];

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
    public static IReadOnlyList<IPollTarget> BuildTargets(EdgeOptions options)
    {
        var targets = new List<IPollTarget>();
        if (options.Linux.Enabled)
        {
            var agent = AgentIdentity.ForPoller(options.Appliance.Name, "linux", options.Appliance.Name);
            targets.Add(new LinuxPoller(agent, options.Linux.Interval));
        }
        targets.AddRange(options.Snmp.CreateTargets(options.Appliance.Name));
        targets.AddRange(options.Modbus.CreateTargets(options.Appliance.Name));
        targets.AddRange(options.Bacnet.CreateTargets(options.Appliance.Name));
        targets.AddRange(options.OpcUa.CreateTargets(options.Appliance.Name, options.Storage.Path));
        return targets;
    }

    /// <summary>How many targets the configuration asks for, without creating them (config check).</summary>
    public static int BuildTargetCount(EdgeOptions options)
        => (options.Linux.Enabled ? 1 : 0) + options.Snmp.Targets.Count + options.Modbus.Devices.Count + options.Bacnet.TargetCount + options.OpcUa.TargetCount;

    public async ValueTask DisposeAsync()
    {
        var sw = Stopwatch.StartNew();
        if (_http is not null) await _http.DisposeAsync().ConfigureAwait(false);
        if (_scheduler is not null) await _scheduler.DisposeAsync().ConfigureAwait(false);
        if (_store is not null)
        {
            var stats = _store.Statistics;
            await _store.DisposeAsync().ConfigureAwait(false);
            Log.Info($"storage: closed after {stats.SamplesWritten} samples in {stats.Transactions} transactions");
        }
        Log.Info($"stopped in {sw.ElapsedMilliseconds} ms");
    }
}
