using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Storage;

/// <summary>
/// The database schema and its migrations. PRAGMA user_version holds the version; each
/// migration runs in its own transaction, so an interrupted upgrade leaves the old version.
/// Table and column names follow pattoo's (agent, datapoint, pair, glue) so its users
/// recognise them; samples live in a time-ordered head log and compressed chunks instead
/// of pattoo's row-per-sample `data` table (see README.md in this folder for why).
/// </summary>
internal static class Schema
{
    private static readonly string[] Migrations =
    {
        // 1: the pattoo model plus head log and chunks.
        """
        CREATE TABLE agent (
            idx_agent INTEGER PRIMARY KEY,
            agent_id TEXT NOT NULL,
            agent_polled_target TEXT NOT NULL,
            agent_program TEXT NOT NULL,
            agent_hostname TEXT NOT NULL DEFAULT '',
            idx_pair_xlate_group INTEGER NOT NULL DEFAULT 1,
            enabled INTEGER NOT NULL DEFAULT 1,
            ts_created INTEGER NOT NULL,
            ts_modified INTEGER NOT NULL,
            UNIQUE (agent_id, agent_polled_target)
        );
        CREATE TABLE pair (
            idx_pair INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            ts_created INTEGER NOT NULL,
            UNIQUE (key, value)
        );
        CREATE TABLE datapoint (
            idx_datapoint INTEGER PRIMARY KEY,
            idx_agent INTEGER NOT NULL REFERENCES agent(idx_agent),
            checksum TEXT NOT NULL UNIQUE,
            data_type INTEGER NOT NULL,
            last_timestamp INTEGER NOT NULL DEFAULT 0,
            polling_interval INTEGER NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            ts_created INTEGER NOT NULL,
            ts_modified INTEGER NOT NULL
        );
        CREATE INDEX datapoint_agent ON datapoint(idx_agent);
        CREATE TABLE glue (
            idx_datapoint INTEGER NOT NULL REFERENCES datapoint(idx_datapoint),
            idx_pair INTEGER NOT NULL REFERENCES pair(idx_pair),
            PRIMARY KEY (idx_datapoint, idx_pair)
        ) WITHOUT ROWID;
        CREATE INDEX glue_pair ON glue(idx_pair);
        -- Samples not yet sealed into a chunk, appended in arrival (time) order: every
        -- commit touches only the last pages, so flash wear stays near the data's size.
        CREATE TABLE head (
            seq INTEGER PRIMARY KEY,
            idx_datapoint INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            value REAL NOT NULL
        );
        -- Immutable compressed blocks of one series (Encoding/README.md).
        CREATE TABLE chunk (
            idx_datapoint INTEGER NOT NULL,
            ts_start INTEGER NOT NULL,
            ts_end INTEGER NOT NULL,
            count INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (idx_datapoint, ts_start)
        ) WITHOUT ROWID;
        CREATE INDEX chunk_end ON chunk(ts_end);
        -- String series: a row only when the value changes.
        CREATE TABLE string_sample (
            idx_datapoint INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (idx_datapoint, ts)
        ) WITHOUT ROWID;
        CREATE INDEX string_sample_ts ON string_sample(ts);
        """,
        // 2: pattoo's translation, chart and favourite tables, with pattoo's seed rows.
        """
        CREATE TABLE language (
            idx_language INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            ts_created INTEGER NOT NULL,
            ts_modified INTEGER NOT NULL
        );
        CREATE TABLE pair_xlate_group (
            idx_pair_xlate_group INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            enabled INTEGER NOT NULL DEFAULT 1,
            ts_created INTEGER NOT NULL,
            ts_modified INTEGER NOT NULL
        );
        CREATE TABLE pair_xlate (
            idx_pair_xlate INTEGER PRIMARY KEY,
            idx_pair_xlate_group INTEGER NOT NULL REFERENCES pair_xlate_group(idx_pair_xlate_group),
            idx_language INTEGER NOT NULL REFERENCES language(idx_language),
            key TEXT NOT NULL,
            translation TEXT NOT NULL,
            units TEXT NOT NULL DEFAULT '',
            enabled INTEGER NOT NULL DEFAULT 1,
            ts_created INTEGER NOT NULL,
            ts_modified INTEGER NOT NULL,
            UNIQUE (idx_pair_xlate_group, idx_language, key)
        );
        CREATE TABLE agent_xlate (
            idx_agent_xlate INTEGER PRIMARY KEY,
            idx_language INTEGER NOT NULL REFERENCES language(idx_language),
            agent_program TEXT NOT NULL,
            translation TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            ts_created INTEGER NOT NULL,
            ts_modified INTEGER NOT NULL,
            UNIQUE (idx_language, agent_program)
        );
        CREATE TABLE chart (
            idx_chart INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL UNIQUE,
            enabled INTEGER NOT NULL DEFAULT 1,
            ts_created INTEGER NOT NULL,
            ts_modified INTEGER NOT NULL
        );
        CREATE TABLE chart_datapoint (
            idx_chart_datapoint INTEGER PRIMARY KEY,
            idx_chart INTEGER NOT NULL REFERENCES chart(idx_chart),
            idx_datapoint INTEGER NOT NULL REFERENCES datapoint(idx_datapoint),
            enabled INTEGER NOT NULL DEFAULT 1,
            ts_created INTEGER NOT NULL,
            ts_modified INTEGER NOT NULL
        );
        CREATE TABLE favorite (
            idx_favorite INTEGER PRIMARY KEY,
            idx_user INTEGER NOT NULL DEFAULT 1,
            idx_chart INTEGER NOT NULL REFERENCES chart(idx_chart),
            "order" INTEGER NOT NULL DEFAULT 0,
            enabled INTEGER NOT NULL DEFAULT 1,
            ts_created INTEGER NOT NULL,
            ts_modified INTEGER NOT NULL
        );
        INSERT INTO language (idx_language, code, name, ts_created, ts_modified)
            VALUES (1, 'en', 'English', unixepoch() * 1000, unixepoch() * 1000);
        INSERT INTO pair_xlate_group (idx_pair_xlate_group, name, ts_created, ts_modified)
            VALUES (1, 'Pattoo Default', unixepoch() * 1000, unixepoch() * 1000);
        """,
        // 3: the head moves to its own file (HeadLog/HeadLogFile.cs); the table is read once
        // more on the first start after the upgrade and emptied by the first seal.
        """
        CREATE TABLE head_log (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            sealed_generation INTEGER NOT NULL
        );
        INSERT INTO head_log (id, sealed_generation) VALUES (1, 0);
        """,
        // 4: a catalog version the API caches its catalog snapshot by: every change to a catalog
        // table bumps it (from this process or the command line's), the sealing writer's
        // last_timestamp updates do not.
        """
        CREATE TABLE catalog_version (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        );
        INSERT INTO catalog_version (id, version) VALUES (1, 1);
        CREATE TRIGGER agent_insert_version AFTER INSERT ON agent BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER agent_update_version AFTER UPDATE ON agent BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER agent_delete_version AFTER DELETE ON agent BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER pair_insert_version AFTER INSERT ON pair BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER pair_update_version AFTER UPDATE ON pair BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER pair_delete_version AFTER DELETE ON pair BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER glue_insert_version AFTER INSERT ON glue BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER glue_update_version AFTER UPDATE ON glue BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER glue_delete_version AFTER DELETE ON glue BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER language_insert_version AFTER INSERT ON language BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER language_update_version AFTER UPDATE ON language BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER language_delete_version AFTER DELETE ON language BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER pair_xlate_group_insert_version AFTER INSERT ON pair_xlate_group BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER pair_xlate_group_update_version AFTER UPDATE ON pair_xlate_group BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER pair_xlate_group_delete_version AFTER DELETE ON pair_xlate_group BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER pair_xlate_insert_version AFTER INSERT ON pair_xlate BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER pair_xlate_update_version AFTER UPDATE ON pair_xlate BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER pair_xlate_delete_version AFTER DELETE ON pair_xlate BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER agent_xlate_insert_version AFTER INSERT ON agent_xlate BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER agent_xlate_update_version AFTER UPDATE ON agent_xlate BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER agent_xlate_delete_version AFTER DELETE ON agent_xlate BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER chart_insert_version AFTER INSERT ON chart BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER chart_update_version AFTER UPDATE ON chart BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER chart_delete_version AFTER DELETE ON chart BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER chart_datapoint_insert_version AFTER INSERT ON chart_datapoint BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER chart_datapoint_update_version AFTER UPDATE ON chart_datapoint BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER chart_datapoint_delete_version AFTER DELETE ON chart_datapoint BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER favorite_insert_version AFTER INSERT ON favorite BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER favorite_update_version AFTER UPDATE ON favorite BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER favorite_delete_version AFTER DELETE ON favorite BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER datapoint_insert_version AFTER INSERT ON datapoint BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER datapoint_update_version AFTER UPDATE OF idx_agent, checksum, data_type, polling_interval, enabled, ts_modified ON datapoint BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER datapoint_delete_version AFTER DELETE ON datapoint BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        """,
        // 5: chunks in a rowid table, appended in the order they are sealed. Keyed by
        // (datapoint, start), each seal inserted a chunk per series between the chunks of the
        // series before and after it, splitting pages: they were half empty (7.1 of 14.7 MB of
        // chunk pages unused at 10,000 series). Appended at the end, pages fill; the series
        // lookup is a small index beside them.
        """
        CREATE TABLE chunk_by_seal (
            id INTEGER PRIMARY KEY,
            idx_datapoint INTEGER NOT NULL,
            ts_start INTEGER NOT NULL,
            ts_end INTEGER NOT NULL,
            count INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        INSERT INTO chunk_by_seal (idx_datapoint, ts_start, ts_end, count, data)
            SELECT idx_datapoint, ts_start, ts_end, count, data FROM chunk ORDER BY ts_end, idx_datapoint;
        DROP TABLE chunk;
        ALTER TABLE chunk_by_seal RENAME TO chunk;
        CREATE UNIQUE INDEX chunk_series ON chunk(idx_datapoint, ts_start);
        CREATE INDEX chunk_end ON chunk(ts_end);
        """,
        // 6: rollups: per series, 5-minute and hourly buckets (min, max, sum, count, last;
        // counters as per-second rates) written with the chunks at every seal and kept for
        // storage.rollup_retention, so a year charts from ~105,000 buckets instead of 3 million samples.
        """
        CREATE TABLE rollup (
            id INTEGER PRIMARY KEY,
            idx_datapoint INTEGER NOT NULL,
            level INTEGER NOT NULL,
            ts_start INTEGER NOT NULL,
            ts_end INTEGER NOT NULL,
            count INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX rollup_series ON rollup(idx_datapoint, level, ts_start);
        CREATE INDEX rollup_end ON rollup(ts_end);
        """,
        // 7: 5-minute rollups are written as raw samples are pruned, for the time chunks no longer
        // cover (a chart summarises the chunks it still has). Those version 6 wrote at seals cover
        // samples still in chunks: they go, or a chart would count those samples twice.
        """
        DELETE FROM rollup WHERE level = 300000 AND EXISTS
            (SELECT 1 FROM chunk c WHERE c.idx_datapoint = rollup.idx_datapoint
                AND c.ts_end >= rollup.ts_start AND c.ts_start < rollup.ts_end + 300000);
        """,
        // 8: checksums that are lowercase hex (pattoo's: 128 digits of SHA-512) kept as the 64
        // bytes they spell, in the row and in the unique index: 128 bytes less a series, a third
        // of the catalog (DatapointChecksum; the column's TEXT affinity never converts a blob).
        $"""
        UPDATE datapoint SET checksum = unhex(checksum) WHERE typeof(checksum) = 'text' AND {DatapointChecksum.LowerHexSql};
        """,
        // 9: day blocks. A day's chunks (12 at the default 2 h span) and hourly rollup blocks of a
        // series are merged into one of each once the day is over: fewer rows and index entries,
        // longer blocks that compress better. Days are compacted in order; this is how far.
        """
        CREATE TABLE IF NOT EXISTS compaction (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            day_end INTEGER NOT NULL
        );
        INSERT OR IGNORE INTO compaction (id, day_end) VALUES (1, 0);
        """,
        // 10: forwarders' cursors: per forwarder (its configured name), what the destination
        // acknowledged, as TimeSeriesStore.ForwardCursor encodes it.
        """
        CREATE TABLE IF NOT EXISTS forward_cursor (
            name TEXT PRIMARY KEY,
            data BLOB NOT NULL,
            ts_modified INTEGER NOT NULL
        );
        """,
        // 11: events (SNMP traps, alert state changes): rows kept for events.retention, read
        // newest first by id; details are a JSON object of strings.
        """
        CREATE TABLE IF NOT EXISTS event (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            program TEXT NOT NULL,
            target TEXT NOT NULL,
            kind TEXT NOT NULL,
            severity INTEGER NOT NULL,
            text TEXT NOT NULL,
            details TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS event_ts ON event(ts);
        """,
        // 12: the write-back audit trail: every write or relinquish request that reached the box,
        // refused or sent, kept for audit.retention (years), never pruned with the samples.
        """
        CREATE TABLE IF NOT EXISTS audit (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            token TEXT NOT NULL,
            client TEXT NOT NULL,
            idx_datapoint INTEGER NOT NULL,
            point TEXT NOT NULL,
            action TEXT NOT NULL,
            old_value TEXT,
            requested TEXT,
            read_back TEXT,
            result TEXT NOT NULL,
            message TEXT NOT NULL,
            comment TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS audit_datapoint ON audit(idx_datapoint, id);
        CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts);
        """,
        // 13: no table changes. Seals run beside the writer, and the head log's unsealed samples
        // may be in head.2.log, which releases before this one do not read: they must refuse the
        // database rather than start over without those samples.
        """
        UPDATE head_log SET sealed_generation = sealed_generation WHERE id = 1;
        """,
        // 14: the catalog without indexes nothing reads. The writer finds series by checksum in
        // its in-memory catalog (loaded at open, the only place rows are added), never in SQL,
        // and no statement looks up glue by pair or datapoints by agent: the checksum's unique
        // index (64 bytes a series, a copy of the column), glue_pair and datapoint_agent were
        // 1.2 MiB of 2.6 at 10,000 series. SQLite cannot drop a column's UNIQUE: the table is
        // rebuilt (its rows keep their idx_datapoint), and its triggers made again.
        """
        DROP INDEX IF EXISTS glue_pair;
        DROP INDEX IF EXISTS datapoint_agent;
        CREATE TABLE datapoint_14 (
            idx_datapoint INTEGER PRIMARY KEY,
            idx_agent INTEGER NOT NULL REFERENCES agent(idx_agent),
            checksum TEXT NOT NULL,
            data_type INTEGER NOT NULL,
            last_timestamp INTEGER NOT NULL DEFAULT 0,
            polling_interval INTEGER NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            ts_created INTEGER NOT NULL,
            ts_modified INTEGER NOT NULL
        );
        INSERT INTO datapoint_14 (idx_datapoint, idx_agent, checksum, data_type, last_timestamp, polling_interval, enabled, ts_created, ts_modified)
            SELECT idx_datapoint, idx_agent, checksum, data_type, last_timestamp, polling_interval, enabled, ts_created, ts_modified FROM datapoint ORDER BY idx_datapoint;
        DROP TABLE datapoint;
        ALTER TABLE datapoint_14 RENAME TO datapoint;
        CREATE TRIGGER datapoint_insert_version AFTER INSERT ON datapoint BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER datapoint_update_version AFTER UPDATE OF idx_agent, checksum, data_type, polling_interval, enabled, ts_modified ON datapoint BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER datapoint_delete_version AFTER DELETE ON datapoint BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
        """,
    };

    public static int LatestVersion => Migrations.Length;

    /// <summary>Brings the database to the latest version; refuses one made by a newer release.</summary>
    public static void Migrate(SqliteConnection db)
    {
        RefuseNewer(db);
        int version = GetVersion(db);
        if (version >= LatestVersion) return;
        // A migration that rebuilds a table drops the old one, whose implicit delete would fail the
        // rows that reference it; foreign keys cannot be switched inside a transaction (SQLite's
        // "making other kinds of table schema changes" procedure). Rebuilds keep every key.
        bool foreignKeys = Pragma(db, "foreign_keys") != 0;
        if (foreignKeys) Pragma(db, "foreign_keys = OFF");
        try { MigrateFrom(db, version); }
        finally { if (foreignKeys) Pragma(db, "foreign_keys = ON"); }
    }

    private static long Pragma(SqliteConnection db, string pragma)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA " + pragma;
        return cmd.ExecuteScalar() is long value ? value : 0;
    }

    private static void MigrateFrom(SqliteConnection db, int version)
    {
        for (int v = version; v < LatestVersion; v++)
        {
            using var tx = db.BeginTransaction();
            using (var cmd = db.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = Migrations[v] + $"\nPRAGMA user_version = {v + 1};";
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
            Log.Info($"storage: database schema migrated to version {v + 1}");
        }
    }

    /// <summary>Throws when the database was made by a newer release (reads only).</summary>
    public static void RefuseNewer(SqliteConnection db)
    {
        int version = GetVersion(db);
        if (version > LatestVersion)
            throw new StorageUnavailableException($"database schema version {version} is newer than this release understands ({LatestVersion}); use a newer pattoo-edge or restore a backup");
    }

    public static int GetVersion(SqliteConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA user_version";
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
