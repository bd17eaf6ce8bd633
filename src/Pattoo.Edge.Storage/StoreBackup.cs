using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage.HeadLog;

namespace Pattoo.Edge.Storage;

/// <summary>
/// A backup is one SQLite file: the database as SQLite's backup API copies it, with the head log
/// (the samples not yet sealed into chunks) in a table of its own, <c>backup_head_log</c>.
/// Restoring writes the database and the head log back into a storage directory; the appliance
/// then opens it as after a clean stop. Backups from a newer release are refused.
/// </summary>
public static class StoreBackup
{
    public const string HeadLogTable = "backup_head_log";

    /// <summary>What a backup holds, for the messages of the commands.</summary>
    public sealed record Facts(long Bytes, int Series, long HeadLogBytes, int SchemaVersion);

    /// <summary>Writes the backup of the open database <paramref name="source"/> and the head log bytes to <paramref name="file"/> (through a temporary file, renamed when whole).</summary>
    internal static void Write(SqliteConnection source, byte[] headLog, string file)
    {
        string partial = file + ".partial";
        File.Delete(partial);
        using (var destination = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = partial, Pooling = false }.ToString()))
        {
            destination.Open();
            source.BackupDatabase(destination);
            using var cmd = destination.CreateCommand();
            // One self-contained file: no -wal beside it.
            cmd.CommandText = $"PRAGMA journal_mode = DELETE; CREATE TABLE {HeadLogTable} (data BLOB NOT NULL, made_at INTEGER NOT NULL); INSERT INTO {HeadLogTable} VALUES ($d, $t);";
            cmd.Parameters.AddWithValue("$d", headLog);
            cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            cmd.ExecuteNonQuery();
        }
        File.Move(partial, file, overwrite: true);
    }

    /// <summary>Checks <paramref name="file"/> is a whole backup this release can open; throws <see cref="StorageUnavailableException"/> naming what is wrong.</summary>
    public static Facts Check(string file)
    {
        if (!File.Exists(file)) throw new StorageUnavailableException($"{file}: no such file");
        try
        {
            using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            db.Open();
            string check = Scalar<string>(db, "PRAGMA quick_check");
            if (check != "ok") throw new StorageUnavailableException($"{file}: the backup is damaged (SQLite: {check})");
            if (Scalar<long>(db, $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{HeadLogTable}'") == 0)
                throw new StorageUnavailableException($"{file}: not a pattoo-edge backup (no {HeadLogTable} table; make one with pattoo-edge backup)");
            int version = (int)Scalar<long>(db, "PRAGMA user_version");
            if (version > Schema.LatestVersion)
                throw new StorageUnavailableException($"{file}: made by a newer release (schema {version}; this one understands up to {Schema.LatestVersion}); restore it with that release or a newer one");
            int series = (int)Scalar<long>(db, "SELECT count(*) FROM datapoint");
            long head = Scalar<long>(db, $"SELECT length(data) FROM {HeadLogTable}");
            return new Facts(new FileInfo(file).Length, series, head, version);
        }
        catch (SqliteException e)
        {
            throw new StorageUnavailableException($"{file}: not a readable SQLite backup ({e.Message})", e);
        }
    }

    /// <summary>
    /// Restores <paramref name="file"/> into <paramref name="options"/>' directory, which no
    /// appliance may hold (the caller holds its lock). What was there is kept beside, renamed
    /// <c>*.before-restore</c>; returns those names.
    /// </summary>
    public static List<string> Restore(string file, StorageOptions options)
    {
        Check(file);
        Directory.CreateDirectory(options.Path);
        string database = options.DatabaseFile, headLog = Path.Combine(options.Path, HeadLogFile.FileName);
        var keptAside = new List<string>();
        // The second head log file too: its generation belongs to the store being replaced.
        foreach (var existing in new[] { database, database + "-wal", database + "-shm", headLog, Path.Combine(options.Path, HeadLogFile.AlternateFileName) })
        {
            if (!File.Exists(existing)) continue;
            File.Move(existing, existing + ".before-restore", overwrite: true);
            keptAside.Add(existing + ".before-restore");
        }
        string restoring = database + ".restoring";
        File.Copy(file, restoring, overwrite: true);
        byte[] head;
        using (var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = restoring, Pooling = false }.ToString()))
        {
            db.Open();
            head = Scalar<byte[]>(db, $"SELECT data FROM {HeadLogTable}");
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"DROP TABLE {HeadLogTable}; PRAGMA journal_mode = WAL;";
            cmd.ExecuteNonQuery();
        }
        File.WriteAllBytes(headLog + ".restoring", head);
        File.Move(headLog + ".restoring", headLog);
        File.Move(restoring, database);
        return keptAside;
    }

    private static T Scalar<T>(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return (T)cmd.ExecuteScalar()!;
    }
}
