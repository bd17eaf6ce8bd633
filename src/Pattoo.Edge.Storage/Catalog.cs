using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Storage;

// Rows of pattoo's tables as the API serves them. Times are Unix ms.
public sealed record AgentRow(long IdxAgent, string AgentId, string AgentPolledTarget, string AgentProgram, string AgentHostname, long IdxPairXlateGroup, bool Enabled, long TsCreated, long TsModified);
public sealed record DatapointRow(long IdxDatapoint, long IdxAgent, string Checksum, DataType DataType, long StoredLastTimestamp, long PollingInterval, bool Enabled, long TsCreated, long TsModified)
{
    /// <summary>The writer's newest sample time, when it knows a newer one than the row's (written only at seals).</summary>
    internal Func<long, long>? Live { get; init; }

    /// <summary>The series' newest sample time: live from the writer, so a cached catalog stays current.</summary>
    public long LastTimestamp => Live is { } live ? Math.Max(StoredLastTimestamp, live(IdxDatapoint)) : StoredLastTimestamp;
}
public sealed record PairRow(long IdxPair, string Key, string Value, long TsCreated);
public sealed record GlueRow(long IdxDatapoint, long IdxPair);
public sealed record LanguageRow(long IdxLanguage, string Code, string Name, bool Enabled, long TsCreated, long TsModified);
public sealed record PairXlateGroupRow(long IdxPairXlateGroup, string Name, bool Enabled, long TsCreated, long TsModified);
public sealed record PairXlateRow(long IdxPairXlate, long IdxPairXlateGroup, long IdxLanguage, string Key, string Translation, string Units, bool Enabled, long TsCreated, long TsModified);
public sealed record AgentXlateRow(long IdxAgentXlate, long IdxLanguage, string AgentProgram, string Translation, bool Enabled, long TsCreated, long TsModified);
public sealed record ChartRow(long IdxChart, string Name, string Checksum, bool Enabled, long TsCreated, long TsModified);
public sealed record ChartDatapointRow(long IdxChartDatapoint, long IdxChart, long IdxDatapoint, bool Enabled, long TsCreated, long TsModified);
public sealed record FavoriteRow(long IdxFavorite, long IdxUser, long IdxChart, long Order, bool Enabled, long TsCreated, long TsModified);

/// <summary>
/// A consistent read of pattoo's small tables (everything but samples), loaded in one read
/// transaction, with the lookups the API needs built once. Immutable: the catalog store keeps
/// one and shares it between requests until the catalog changes (<see cref="Version"/>), so a
/// request costs nothing per series stored.
/// </summary>
public sealed class CatalogSnapshot
{
    private readonly List<AgentRow> _agents = new();
    private readonly List<DatapointRow> _datapoints = new();
    private readonly List<PairRow> _pairs = new();
    private readonly List<GlueRow> _glue = new();
    private readonly List<LanguageRow> _languages = new();
    private readonly List<PairXlateGroupRow> _pairXlateGroups = new();
    private readonly List<PairXlateRow> _pairXlates = new();
    private readonly List<AgentXlateRow> _agentXlates = new();
    private readonly List<ChartRow> _charts = new();
    private readonly List<ChartDatapointRow> _chartDatapoints = new();
    private readonly List<FavoriteRow> _favorites = new();

    /// <summary>The catalog version this snapshot shows (bumped by triggers on every catalog change).</summary>
    public long Version { get; private set; }

    public IReadOnlyList<AgentRow> Agents => _agents;
    public IReadOnlyList<DatapointRow> Datapoints => _datapoints;
    public IReadOnlyList<PairRow> Pairs => _pairs;
    public IReadOnlyList<GlueRow> Glue => _glue;
    public IReadOnlyList<LanguageRow> Languages => _languages;
    public IReadOnlyList<PairXlateGroupRow> PairXlateGroups => _pairXlateGroups;
    public IReadOnlyList<PairXlateRow> PairXlates => _pairXlates;
    public IReadOnlyList<AgentXlateRow> AgentXlates => _agentXlates;
    public IReadOnlyList<ChartRow> Charts => _charts;
    public IReadOnlyList<ChartDatapointRow> ChartDatapoints => _chartDatapoints;
    public IReadOnlyList<FavoriteRow> Favorites => _favorites;

    private Dictionary<long, AgentRow> _agentsByIdx = null!;
    private Dictionary<long, DatapointRow> _datapointsByIdx = null!;
    private Dictionary<long, PairRow> _pairsByIdx = null!;
    private Dictionary<long, LanguageRow> _languagesByIdx = null!;
    private Dictionary<long, PairXlateGroupRow> _groupsByIdx = null!;
    private Dictionary<long, PairXlateRow> _pairXlatesByIdx = null!;
    private Dictionary<long, AgentXlateRow> _agentXlatesByIdx = null!;
    private Dictionary<long, ChartRow> _chartsByIdx = null!;
    private Dictionary<long, ChartDatapointRow> _chartDatapointsByIdx = null!;
    private Dictionary<long, FavoriteRow> _favoritesByIdx = null!;
    private ILookup<long, GlueRow> _glueByDatapoint = null!;
    private ILookup<long, GlueRow> _glueByPair = null!;
    private ILookup<long, DatapointRow> _datapointsByAgent = null!;
    private ILookup<long, AgentRow> _agentsByGroup = null!;
    private ILookup<long, ChartDatapointRow> _chartDatapointsByChart = null!;
    private ILookup<long, ChartDatapointRow> _chartDatapointsByDatapoint = null!;
    private ILookup<long, FavoriteRow> _favoritesByChart = null!;
    private ILookup<long, PairXlateRow> _pairXlatesByGroup = null!;
    private ILookup<long, PairXlateRow> _pairXlatesByLanguage = null!;
    private ILookup<long, AgentXlateRow> _agentXlatesByLanguage = null!;
    private Dictionary<(long, string, string), PairXlateRow> _translations = null!;

    /// <summary>The translation of <paramref name="key"/> in a group and language (by code), if one is enabled.</summary>
    public PairXlateRow? Translation(long idxPairXlateGroup, string languageCode, string key)
        => _translations.GetValueOrDefault((idxPairXlateGroup, languageCode, key));

    public AgentRow? Agent(long idx) => _agentsByIdx.GetValueOrDefault(idx);
    public DatapointRow? Datapoint(long idx) => _datapointsByIdx.GetValueOrDefault(idx);
    public PairRow? Pair(long idx) => _pairsByIdx.GetValueOrDefault(idx);
    public LanguageRow? Language(long idx) => _languagesByIdx.GetValueOrDefault(idx);
    public PairXlateGroupRow? PairXlateGroup(long idx) => _groupsByIdx.GetValueOrDefault(idx);
    public PairXlateRow? PairXlate(long idx) => _pairXlatesByIdx.GetValueOrDefault(idx);
    public AgentXlateRow? AgentXlate(long idx) => _agentXlatesByIdx.GetValueOrDefault(idx);
    public ChartRow? Chart(long idx) => _chartsByIdx.GetValueOrDefault(idx);
    public ChartDatapointRow? ChartDatapoint(long idx) => _chartDatapointsByIdx.GetValueOrDefault(idx);
    public FavoriteRow? Favorite(long idx) => _favoritesByIdx.GetValueOrDefault(idx);

    public IEnumerable<GlueRow> GlueOf(long idxDatapoint) => _glueByDatapoint[idxDatapoint];
    public IEnumerable<GlueRow> GlueOfPair(long idxPair) => _glueByPair[idxPair];
    public IEnumerable<DatapointRow> DatapointsOfAgent(long idxAgent) => _datapointsByAgent[idxAgent];
    public IEnumerable<AgentRow> AgentsOfGroup(long idxGroup) => _agentsByGroup[idxGroup];
    public IEnumerable<ChartDatapointRow> ChartDatapointsOfChart(long idxChart) => _chartDatapointsByChart[idxChart];
    public IEnumerable<ChartDatapointRow> ChartDatapointsOfDatapoint(long idxDatapoint) => _chartDatapointsByDatapoint[idxDatapoint];
    public IEnumerable<FavoriteRow> FavoritesOfChart(long idxChart) => _favoritesByChart[idxChart];
    public IEnumerable<PairXlateRow> PairXlatesOfGroup(long idxGroup) => _pairXlatesByGroup[idxGroup];
    public IEnumerable<PairXlateRow> PairXlatesOfLanguage(long idxLanguage) => _pairXlatesByLanguage[idxLanguage];
    public IEnumerable<AgentXlateRow> AgentXlatesOfLanguage(long idxLanguage) => _agentXlatesByLanguage[idxLanguage];

    /// <summary>The datapoint's key and labels with the agent-program prefix taken off.</summary>
    public (string Key, List<KeyValuePair<string, string>> Labels) Describe(DatapointRow d)
    {
        string prefix = (Agent(d.IdxAgent)?.AgentProgram ?? "") + "_";
        string key = "";
        var labels = new List<KeyValuePair<string, string>>();
        foreach (var g in GlueOf(d.IdxDatapoint))
        {
            if (Pair(g.IdxPair) is not { } p) continue;
            if (p.Key == "pattoo_key") key = Strip(p.Value);
            else labels.Add(new(Strip(p.Key), p.Value));
        }
        labels.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return (key, labels);

        string Strip(string s) => s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : s;
    }

    /// <summary>Builds every lookup once, so the snapshot is read-only (and safe to share) from here on.</summary>
    private void Index()
    {
        _agentsByIdx = _agents.ToDictionary(a => a.IdxAgent);
        _datapointsByIdx = _datapoints.ToDictionary(d => d.IdxDatapoint);
        _pairsByIdx = _pairs.ToDictionary(p => p.IdxPair);
        _languagesByIdx = _languages.ToDictionary(l => l.IdxLanguage);
        _groupsByIdx = _pairXlateGroups.ToDictionary(g => g.IdxPairXlateGroup);
        _pairXlatesByIdx = _pairXlates.ToDictionary(x => x.IdxPairXlate);
        _agentXlatesByIdx = _agentXlates.ToDictionary(x => x.IdxAgentXlate);
        _chartsByIdx = _charts.ToDictionary(c => c.IdxChart);
        _chartDatapointsByIdx = _chartDatapoints.ToDictionary(c => c.IdxChartDatapoint);
        _favoritesByIdx = _favorites.ToDictionary(f => f.IdxFavorite);
        _glueByDatapoint = _glue.ToLookup(g => g.IdxDatapoint);
        _glueByPair = _glue.ToLookup(g => g.IdxPair);
        _datapointsByAgent = _datapoints.ToLookup(d => d.IdxAgent);
        _agentsByGroup = _agents.ToLookup(a => a.IdxPairXlateGroup);
        _chartDatapointsByChart = _chartDatapoints.ToLookup(c => c.IdxChart);
        _chartDatapointsByDatapoint = _chartDatapoints.ToLookup(c => c.IdxDatapoint);
        _favoritesByChart = _favorites.ToLookup(f => f.IdxChart);
        _pairXlatesByGroup = _pairXlates.ToLookup(x => x.IdxPairXlateGroup);
        _pairXlatesByLanguage = _pairXlates.ToLookup(x => x.IdxLanguage);
        _agentXlatesByLanguage = _agentXlates.ToLookup(x => x.IdxLanguage);
        var codes = _languages.ToDictionary(l => l.IdxLanguage, l => l.Code);
        _translations = new();
        foreach (var x in _pairXlates)
        {
            if (x.Enabled && codes.TryGetValue(x.IdxLanguage, out var code)) _translations[(x.IdxPairXlateGroup, code, x.Key)] = x;
        }
    }

    /// <summary>Reads every catalog table in one read transaction; <paramref name="live"/> gives datapoints the writer's newest sample times.</summary>
    internal static CatalogSnapshot Load(SqliteConnection db, Func<long, long>? live)
    {
        var c = new CatalogSnapshot();
        using var tx = db.BeginTransaction(deferred: true);
        c.Version = ReadVersion(db, tx);
        Read(db, tx, "SELECT idx_agent, agent_id, agent_polled_target, agent_program, agent_hostname, idx_pair_xlate_group, enabled, ts_created, ts_modified FROM agent ORDER BY idx_agent",
            r => c._agents.Add(new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetInt64(6) != 0, r.GetInt64(7), r.GetInt64(8))));
        Read(db, tx, "SELECT idx_datapoint, idx_agent, checksum, data_type, last_timestamp, polling_interval, enabled, ts_created, ts_modified FROM datapoint ORDER BY idx_datapoint",
            r => c._datapoints.Add(new(r.GetInt64(0), r.GetInt64(1), DatapointChecksum.FromDb(r, 2), (DataType)r.GetInt32(3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6) != 0, r.GetInt64(7), r.GetInt64(8)) { Live = live }));
        Read(db, tx, "SELECT idx_pair, key, value, ts_created FROM pair ORDER BY idx_pair",
            r => c._pairs.Add(new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3))));
        Read(db, tx, "SELECT idx_datapoint, idx_pair FROM glue ORDER BY idx_datapoint, idx_pair",
            r => c._glue.Add(new(r.GetInt64(0), r.GetInt64(1))));
        Read(db, tx, "SELECT idx_language, code, name, enabled, ts_created, ts_modified FROM language ORDER BY idx_language",
            r => c._languages.Add(new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3) != 0, r.GetInt64(4), r.GetInt64(5))));
        Read(db, tx, "SELECT idx_pair_xlate_group, name, enabled, ts_created, ts_modified FROM pair_xlate_group ORDER BY idx_pair_xlate_group",
            r => c._pairXlateGroups.Add(new(r.GetInt64(0), r.GetString(1), r.GetInt64(2) != 0, r.GetInt64(3), r.GetInt64(4))));
        Read(db, tx, "SELECT idx_pair_xlate, idx_pair_xlate_group, idx_language, key, translation, units, enabled, ts_created, ts_modified FROM pair_xlate ORDER BY idx_pair_xlate",
            r => c._pairXlates.Add(new(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt64(6) != 0, r.GetInt64(7), r.GetInt64(8))));
        Read(db, tx, "SELECT idx_agent_xlate, idx_language, agent_program, translation, enabled, ts_created, ts_modified FROM agent_xlate ORDER BY idx_agent_xlate",
            r => c._agentXlates.Add(new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetInt64(4) != 0, r.GetInt64(5), r.GetInt64(6))));
        Read(db, tx, "SELECT idx_chart, name, checksum, enabled, ts_created, ts_modified FROM chart ORDER BY idx_chart",
            r => c._charts.Add(new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3) != 0, r.GetInt64(4), r.GetInt64(5))));
        Read(db, tx, "SELECT idx_chart_datapoint, idx_chart, idx_datapoint, enabled, ts_created, ts_modified FROM chart_datapoint ORDER BY idx_chart_datapoint",
            r => c._chartDatapoints.Add(new(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3) != 0, r.GetInt64(4), r.GetInt64(5))));
        Read(db, tx, "SELECT idx_favorite, idx_user, idx_chart, \"order\", enabled, ts_created, ts_modified FROM favorite ORDER BY idx_favorite",
            r => c._favorites.Add(new(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4) != 0, r.GetInt64(5), r.GetInt64(6))));
        c.Index();
        return c;
    }

    /// <summary>The catalog's version (schema 4's triggers bump it on every change to a catalog table).</summary>
    internal static long ReadVersion(SqliteConnection db, SqliteTransaction? tx)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT version FROM catalog_version WHERE id = 1";
        try
        {
            return cmd.ExecuteScalar() is long v ? v : 0;
        }
        catch (SqliteException)
        {
            return 0; // a database the appliance has not yet migrated (the command line): not cached
        }
    }

    private static void Read(SqliteConnection db, SqliteTransaction tx, string sql, Action<SqliteDataReader> row)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        while (r.Read()) row(r);
    }
}
