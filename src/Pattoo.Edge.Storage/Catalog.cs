using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Storage;

// Rows of pattoo's tables as the API serves them. Times are Unix ms.
public sealed record AgentRow(long IdxAgent, string AgentId, string AgentPolledTarget, string AgentProgram, string AgentHostname, long IdxPairXlateGroup, bool Enabled, long TsCreated, long TsModified);
public sealed record DatapointRow(long IdxDatapoint, long IdxAgent, string Checksum, DataType DataType, long LastTimestamp, long PollingInterval, bool Enabled, long TsCreated, long TsModified);
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
/// A consistent read of pattoo's small tables (everything but samples), loaded in one
/// read transaction. The API builds one per request, so a query sees one state.
/// </summary>
public sealed class CatalogSnapshot
{
    public List<AgentRow> Agents { get; } = new();
    public List<DatapointRow> Datapoints { get; } = new();
    public List<PairRow> Pairs { get; } = new();
    public List<GlueRow> Glue { get; } = new();
    public List<LanguageRow> Languages { get; } = new();
    public List<PairXlateGroupRow> PairXlateGroups { get; } = new();
    public List<PairXlateRow> PairXlates { get; } = new();
    public List<AgentXlateRow> AgentXlates { get; } = new();
    public List<ChartRow> Charts { get; } = new();
    public List<ChartDatapointRow> ChartDatapoints { get; } = new();
    public List<FavoriteRow> Favorites { get; } = new();

    private Dictionary<long, AgentRow>? _agentsByIdx;
    private Dictionary<long, DatapointRow>? _datapointsByIdx;
    private Dictionary<long, PairRow>? _pairsByIdx;
    private Dictionary<long, List<GlueRow>>? _glueByDatapoint;

    /// <summary>The translation of <paramref name="key"/> in a group and language (by code), if one is enabled.</summary>
    public PairXlateRow? Translation(long idxPairXlateGroup, string languageCode, string key)
    {
        _translations ??= BuildTranslations();
        return _translations.GetValueOrDefault((idxPairXlateGroup, languageCode, key));
    }

    private Dictionary<(long, string, string), PairXlateRow>? _translations;

    private Dictionary<(long, string, string), PairXlateRow> BuildTranslations()
    {
        var codes = Languages.ToDictionary(l => l.IdxLanguage, l => l.Code);
        var map = new Dictionary<(long, string, string), PairXlateRow>();
        foreach (var x in PairXlates)
        {
            if (x.Enabled && codes.TryGetValue(x.IdxLanguage, out var code)) map[(x.IdxPairXlateGroup, code, x.Key)] = x;
        }
        return map;
    }

    public AgentRow? Agent(long idx) => (_agentsByIdx ??= Agents.ToDictionary(a => a.IdxAgent)).GetValueOrDefault(idx);
    public DatapointRow? Datapoint(long idx) => (_datapointsByIdx ??= Datapoints.ToDictionary(d => d.IdxDatapoint)).GetValueOrDefault(idx);
    public PairRow? Pair(long idx) => (_pairsByIdx ??= Pairs.ToDictionary(p => p.IdxPair)).GetValueOrDefault(idx);

    public IReadOnlyList<GlueRow> GlueOf(long idxDatapoint)
    {
        _glueByDatapoint ??= Glue.GroupBy(g => g.IdxDatapoint).ToDictionary(g => g.Key, g => g.ToList());
        return _glueByDatapoint.TryGetValue(idxDatapoint, out var list) ? list : Array.Empty<GlueRow>();
    }

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

    internal static CatalogSnapshot Load(SqliteConnection db)
    {
        var c = new CatalogSnapshot();
        using var tx = db.BeginTransaction(deferred: true);
        Read(db, tx, "SELECT idx_agent, agent_id, agent_polled_target, agent_program, agent_hostname, idx_pair_xlate_group, enabled, ts_created, ts_modified FROM agent ORDER BY idx_agent",
            r => c.Agents.Add(new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetInt64(6) != 0, r.GetInt64(7), r.GetInt64(8))));
        Read(db, tx, "SELECT idx_datapoint, idx_agent, checksum, data_type, last_timestamp, polling_interval, enabled, ts_created, ts_modified FROM datapoint ORDER BY idx_datapoint",
            r => c.Datapoints.Add(new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), (DataType)r.GetInt32(3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6) != 0, r.GetInt64(7), r.GetInt64(8))));
        Read(db, tx, "SELECT idx_pair, key, value, ts_created FROM pair ORDER BY idx_pair",
            r => c.Pairs.Add(new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3))));
        Read(db, tx, "SELECT idx_datapoint, idx_pair FROM glue ORDER BY idx_datapoint, idx_pair",
            r => c.Glue.Add(new(r.GetInt64(0), r.GetInt64(1))));
        Read(db, tx, "SELECT idx_language, code, name, enabled, ts_created, ts_modified FROM language ORDER BY idx_language",
            r => c.Languages.Add(new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3) != 0, r.GetInt64(4), r.GetInt64(5))));
        Read(db, tx, "SELECT idx_pair_xlate_group, name, enabled, ts_created, ts_modified FROM pair_xlate_group ORDER BY idx_pair_xlate_group",
            r => c.PairXlateGroups.Add(new(r.GetInt64(0), r.GetString(1), r.GetInt64(2) != 0, r.GetInt64(3), r.GetInt64(4))));
        Read(db, tx, "SELECT idx_pair_xlate, idx_pair_xlate_group, idx_language, key, translation, units, enabled, ts_created, ts_modified FROM pair_xlate ORDER BY idx_pair_xlate",
            r => c.PairXlates.Add(new(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt64(6) != 0, r.GetInt64(7), r.GetInt64(8))));
        Read(db, tx, "SELECT idx_agent_xlate, idx_language, agent_program, translation, enabled, ts_created, ts_modified FROM agent_xlate ORDER BY idx_agent_xlate",
            r => c.AgentXlates.Add(new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetInt64(4) != 0, r.GetInt64(5), r.GetInt64(6))));
        Read(db, tx, "SELECT idx_chart, name, checksum, enabled, ts_created, ts_modified FROM chart ORDER BY idx_chart",
            r => c.Charts.Add(new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3) != 0, r.GetInt64(4), r.GetInt64(5))));
        Read(db, tx, "SELECT idx_chart_datapoint, idx_chart, idx_datapoint, enabled, ts_created, ts_modified FROM chart_datapoint ORDER BY idx_chart_datapoint",
            r => c.ChartDatapoints.Add(new(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3) != 0, r.GetInt64(4), r.GetInt64(5))));
        Read(db, tx, "SELECT idx_favorite, idx_user, idx_chart, \"order\", enabled, ts_created, ts_modified FROM favorite ORDER BY idx_favorite",
            r => c.Favorites.Add(new(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4) != 0, r.GetInt64(5), r.GetInt64(6))));
        return c;
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
