using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Pattoo.Edge.Storage;

/// <summary>A request the catalog refuses (unknown chart, unknown language ...), with a message for the user.</summary>
public sealed class CatalogException(string message) : Exception(message);

/// <summary>A row of a pattoo key-translation CSV (language,key,translation,units).</summary>
public sealed record KeyTranslation(string Language, string Key, string Translation, string Units);

/// <summary>A row of a pattoo agent-translation CSV (language,key,translation); key is the agent program.</summary>
public sealed record AgentTranslation(string Language, string AgentProgram, string Translation);

/// <summary>
/// pattoo's small tables (agents, datapoints, pairs, translations, charts, favourites):
/// consistent reads, and the changes people make (charts, favourites, translations).
/// Needs no sample writer, so the command line can use it on a database the running
/// appliance has open; SQLite serialises the writes.
/// </summary>
public sealed class CatalogStore(StorageOptions options, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// The writer's newest sample time of a datapoint: the row's last_timestamp is written only
    /// when the heads are sealed (a write per commit would cost the flash a page per poll).
    /// </summary>
    public Func<long, long>? LiveLastTimestamp { get; init; }

    private readonly Lock _reload = new();
    private volatile CatalogSnapshot? _cached;

    /// <summary>
    /// A consistent read of agents, datapoints, pairs, translations, charts and favourites: the
    /// cached one while the catalog's version is unchanged (one single-row read), else read
    /// anew. A request then costs the same on a catalog of 10,000 series as on an empty one.
    /// </summary>
    public CatalogSnapshot Snapshot()
    {
        using var db = Open(SqliteOpenMode.ReadOnly);
        var cached = _cached;
        long version = CatalogSnapshot.ReadVersion(db, null);
        if (cached is not null && version == cached.Version && version > 0) return cached;
        lock (_reload)
        {
            // Another request may have reloaded it meanwhile.
            cached = _cached;
            if (cached is not null && CatalogSnapshot.ReadVersion(db, null) == cached.Version && version > 0) return cached;
            var snapshot = CatalogSnapshot.Load(db, LiveLastTimestamp);
            if (snapshot.Version > 0) _cached = snapshot;
            return snapshot;
        }
    }

    private SqliteConnection Open(SqliteOpenMode mode)
    {
        if (!File.Exists(options.DatabaseFile))
            throw new CatalogException($"there is no database at {options.DatabaseFile}; start pattoo-edge once to create it");
        SqliteSetup.Init();
        var db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = options.DatabaseFile,
            Mode = mode,
            Pooling = mode == SqliteOpenMode.ReadOnly,
            DefaultTimeout = 10,
        }.ToString());
        db.Open();
        return db;
    }

    public ChartRow CreateChart(string name, string? checksum, bool enabled)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new CatalogException("a chart needs a name");
        checksum = string.IsNullOrEmpty(checksum) ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)) : checksum;
        return CatalogWrite((db, tx, now) =>
        {
            long idx = Insert(db, tx, "INSERT INTO chart (name, checksum, enabled, ts_created, ts_modified) VALUES ($n, $c, $e, $now, $now) RETURNING idx_chart",
                ("$n", name), ("$c", checksum), ("$e", enabled ? 1 : 0), ("$now", now));
            return new ChartRow(idx, name, checksum, enabled, now, now);
        });
    }

    public ChartRow UpdateChart(long idxChart, string? name, string? checksum, bool? enabled)
    {
        CatalogWrite((db, tx, now) =>
        {
            int n = Execute(db, tx, "UPDATE chart SET name = coalesce($n, name), checksum = coalesce($c, checksum), enabled = coalesce($e, enabled), ts_modified = $now WHERE idx_chart = $i",
                ("$n", name), ("$c", checksum), ("$e", enabled is null ? null : enabled.Value ? 1 : 0), ("$now", now), ("$i", idxChart));
            if (n == 0) throw new CatalogException($"there is no chart with idxChart {idxChart}");
            return 0;
        });
        return Snapshot().Charts.Single(c => c.IdxChart == idxChart);
    }

    public ChartDatapointRow CreateChartDatapoint(long idxChart, long idxDatapoint, bool enabled)
        => CatalogWrite((db, tx, now) =>
        {
            RequireRow(db, tx, "chart", "idx_chart", idxChart, "idxChart");
            RequireRow(db, tx, "datapoint", "idx_datapoint", idxDatapoint, "idxDatapoint");
            long idx = Insert(db, tx, "INSERT INTO chart_datapoint (idx_chart, idx_datapoint, enabled, ts_created, ts_modified) VALUES ($c, $d, $e, $now, $now) RETURNING idx_chart_datapoint",
                ("$c", idxChart), ("$d", idxDatapoint), ("$e", enabled ? 1 : 0), ("$now", now));
            return new ChartDatapointRow(idx, idxChart, idxDatapoint, enabled, now, now);
        });

    public ChartDatapointRow UpdateChartDatapoint(long idx, long? idxChart, long? idxDatapoint, bool? enabled)
    {
        CatalogWrite((db, tx, now) =>
        {
            if (idxChart is { } c) RequireRow(db, tx, "chart", "idx_chart", c, "idxChart");
            if (idxDatapoint is { } d) RequireRow(db, tx, "datapoint", "idx_datapoint", d, "idxDatapoint");
            int n = Execute(db, tx, "UPDATE chart_datapoint SET idx_chart = coalesce($c, idx_chart), idx_datapoint = coalesce($d, idx_datapoint), enabled = coalesce($e, enabled), ts_modified = $now WHERE idx_chart_datapoint = $i",
                ("$c", idxChart), ("$d", idxDatapoint), ("$e", enabled is null ? null : enabled.Value ? 1 : 0), ("$now", now), ("$i", idx));
            if (n == 0) throw new CatalogException($"there is no chart datapoint with idxChartDatapoint {idx}");
            return 0;
        });
        return Snapshot().ChartDatapoints.Single(c => c.IdxChartDatapoint == idx);
    }

    public FavoriteRow CreateFavorite(long idxUser, long idxChart, long order, bool enabled)
        => CatalogWrite((db, tx, now) =>
        {
            RequireRow(db, tx, "chart", "idx_chart", idxChart, "idxChart");
            long idx = Insert(db, tx, "INSERT INTO favorite (idx_user, idx_chart, \"order\", enabled, ts_created, ts_modified) VALUES ($u, $c, $o, $e, $now, $now) RETURNING idx_favorite",
                ("$u", idxUser), ("$c", idxChart), ("$o", order), ("$e", enabled ? 1 : 0), ("$now", now));
            return new FavoriteRow(idx, idxUser, idxChart, order, enabled, now, now);
        });

    public FavoriteRow UpdateFavorite(long idx, long? idxChart, long? order, bool? enabled)
    {
        CatalogWrite((db, tx, now) =>
        {
            if (idxChart is { } c) RequireRow(db, tx, "chart", "idx_chart", c, "idxChart");
            int n = Execute(db, tx, "UPDATE favorite SET idx_chart = coalesce($c, idx_chart), \"order\" = coalesce($o, \"order\"), enabled = coalesce($e, enabled), ts_modified = $now WHERE idx_favorite = $i",
                ("$c", idxChart), ("$o", order), ("$e", enabled is null ? null : enabled.Value ? 1 : 0), ("$now", now), ("$i", idx));
            if (n == 0) throw new CatalogException($"there is no favorite with idxFavorite {idx}");
            return 0;
        });
        return Snapshot().Favorites.Single(f => f.IdxFavorite == idx);
    }

    /// <summary>Adds a language (pattoo: `create language --code es --name Spanish`).</summary>
    public LanguageRow UpsertLanguage(string code, string name)
    {
        code = code.Trim().ToLowerInvariant();
        if (code.Length == 0) throw new CatalogException("a language needs a code such as \"en\"");
        CatalogWrite((db, tx, now) => Execute(db, tx,
            "INSERT INTO language (code, name, ts_created, ts_modified) VALUES ($c, $n, $now, $now) ON CONFLICT (code) DO UPDATE SET name = excluded.name, ts_modified = $now",
            ("$c", code), ("$n", name), ("$now", now)));
        return Snapshot().Languages.Single(l => l.Code == code);
    }

    /// <summary>Creates a key-translation group (pattoo: `create key_translation --name`).</summary>
    public PairXlateGroupRow CreatePairXlateGroup(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new CatalogException("a translation group needs a name");
        CatalogWrite((db, tx, now) => Execute(db, tx,
            "INSERT INTO pair_xlate_group (name, ts_created, ts_modified) VALUES ($n, $now, $now) ON CONFLICT (name) DO NOTHING",
            ("$n", name), ("$now", now)));
        return Snapshot().PairXlateGroups.Single(g => g.Name == name);
    }

    /// <summary>Imports key translations into a group, all or nothing; returns rows upserted.</summary>
    public int ImportKeyTranslations(long idxPairXlateGroup, IReadOnlyList<KeyTranslation> rows)
        => CatalogWrite((db, tx, now) =>
        {
            RequireRow(db, tx, "pair_xlate_group", "idx_pair_xlate_group", idxPairXlateGroup, "translation group");
            foreach (var r in rows)
            {
                long lang = LanguageIndex(db, tx, r.Language);
                Execute(db, tx, """
                    INSERT INTO pair_xlate (idx_pair_xlate_group, idx_language, key, translation, units, ts_created, ts_modified)
                    VALUES ($g, $l, $k, $t, $u, $now, $now)
                    ON CONFLICT (idx_pair_xlate_group, idx_language, key) DO UPDATE SET translation = excluded.translation, units = excluded.units, ts_modified = $now
                    """, ("$g", idxPairXlateGroup), ("$l", lang), ("$k", r.Key), ("$t", r.Translation.Trim()), ("$u", r.Units.Trim()), ("$now", now));
            }
            return rows.Count;
        });

    /// <summary>
    /// Ships readable names and units for the appliance's own keys and programs in the
    /// default group (1), so pattoo-web and the dashboard show them from the first day, as
    /// pattoo's installer seeds its agents'. Rows that exist are left alone: the user's own
    /// imports (which upsert) always win. Returns the rows added.
    /// </summary>
    public int SeedTranslations(IReadOnlyList<KeyTranslation> keys, IReadOnlyList<AgentTranslation> agents)
        => CatalogWrite((db, tx, now) =>
        {
            int added = 0;
            foreach (var r in keys)
            {
                added += Execute(db, tx, """
                    INSERT INTO pair_xlate (idx_pair_xlate_group, idx_language, key, translation, units, ts_created, ts_modified)
                    VALUES (1, $l, $k, $t, $u, $now, $now) ON CONFLICT (idx_pair_xlate_group, idx_language, key) DO NOTHING
                    """, ("$l", LanguageIndex(db, tx, r.Language)), ("$k", r.Key), ("$t", r.Translation), ("$u", r.Units), ("$now", now));
            }
            foreach (var r in agents)
            {
                added += Execute(db, tx, """
                    INSERT INTO agent_xlate (idx_language, agent_program, translation, ts_created, ts_modified)
                    VALUES ($l, $p, $t, $now, $now) ON CONFLICT (idx_language, agent_program) DO NOTHING
                    """, ("$l", LanguageIndex(db, tx, r.Language)), ("$p", r.AgentProgram), ("$t", r.Translation), ("$now", now));
            }
            return added;
        });

    /// <summary>Imports agent-program translations, all or nothing; returns rows upserted.</summary>
    public int ImportAgentTranslations(IReadOnlyList<AgentTranslation> rows)
        => CatalogWrite((db, tx, now) =>
        {
            foreach (var r in rows)
            {
                long lang = LanguageIndex(db, tx, r.Language);
                Execute(db, tx, """
                    INSERT INTO agent_xlate (idx_language, agent_program, translation, ts_created, ts_modified) VALUES ($l, $p, $t, $now, $now)
                    ON CONFLICT (idx_language, agent_program) DO UPDATE SET translation = excluded.translation, ts_modified = $now
                    """, ("$l", lang), ("$p", r.AgentProgram), ("$t", r.Translation.Trim()), ("$now", now));
            }
            return rows.Count;
        });

    private static long LanguageIndex(SqliteConnection db, SqliteTransaction tx, string code)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT idx_language FROM language WHERE code = $c";
        cmd.Parameters.AddWithValue("$c", code.Trim().ToLowerInvariant());
        return cmd.ExecuteScalar() is long idx ? idx
            : throw new CatalogException($"unknown language \"{code}\"; add it first (pattoo-edge create language --code CODE --name NAME)");
    }

    private static void RequireRow(SqliteConnection db, SqliteTransaction tx, string table, string column, long idx, string what)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"SELECT 1 FROM {table} WHERE {column} = $i";
        cmd.Parameters.AddWithValue("$i", idx);
        if (cmd.ExecuteScalar() is null) throw new CatalogException($"there is no {what} {idx}");
    }

    private static long Insert(SqliteConnection db, SqliteTransaction tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(db, tx, sql, args);
        return (long)cmd.ExecuteScalar()!;
    }

    private static int Execute(SqliteConnection db, SqliteTransaction tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(db, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection db, SqliteTransaction tx, string sql, (string, object?)[] args)
    {
        var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    /// <summary>
    /// Catalog changes (charts, favourites, translations) run on their own connection; SQLite
    /// serialises them with the sample writer, which holds its lock only while committing.
    /// </summary>
    private T CatalogWrite<T>(Func<SqliteConnection, SqliteTransaction, long, T> work)
    {
        using var db = Open(SqliteOpenMode.ReadWrite);
        using (var pragma = db.CreateCommand())
        {
            pragma.CommandText = "PRAGMA busy_timeout = 10000";
            pragma.ExecuteNonQuery();
        }
        using var tx = db.BeginTransaction(deferred: false);
        var result = work(db, tx, Now);
        tx.Commit();
        return result;
    }
}
