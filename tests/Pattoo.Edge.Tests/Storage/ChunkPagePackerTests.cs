using Microsoft.Data.Sqlite;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Tests.Storage;

/// <summary>
/// Chunk rows appended in the packer's order fill the chunk table's pages, every row is stored
/// as given, and its model of SQLite's page format is right: on the table alone, the probe never
/// has to correct it (in the store, a split index page also looks like a new leaf for one row).
/// </summary>
public sealed class ChunkPagePackerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pattoo-edge-packer-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>A seal's mix: status rows of a few hundred bytes, gauges of 1-2 KB, counters of 3-4 KB, noise of 14 KB (overflow pages).</summary>
    private static List<ChunkRow> MixedRows(int seed, int n, long idxBase)
    {
        var rng = new Random(seed);
        var rows = new List<ChunkRow>();
        for (int i = 0; i < n; i++)
        {
            int size = (i % 10) switch
            {
                < 4 => rng.Next(1_000, 2_000),
                < 7 => rng.Next(3_000, 4_000),
                < 9 => rng.Next(100, 900),
                _ => rng.Next(14_000, 15_000),
            };
            var data = new byte[size];
            rng.NextBytes(data);
            long first = 1_700_000_000_000 + seed * 86_400_000L;
            rows.Add(new ChunkRow(idxBase + i, first, first + rng.Next(1, 86_400_000), rng.Next(1, 9_000), data));
        }
        return rows;
    }

    /// <summary>A database of the store's schema, or (<paramref name="tableOnly"/>) the chunk table alone, without its indexes.</summary>
    private static SqliteConnection Open(string file, bool tableOnly = false, int pageSize = 4096)
    {
        var db = new SqliteConnection($"Data Source={file};Pooling=False");
        db.Open();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"PRAGMA page_size = {pageSize}; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;";
            cmd.ExecuteNonQuery();
        }
        Schema.Migrate(db);
        if (tableOnly)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DROP INDEX chunk_series; DROP INDEX chunk_end; VACUUM;";
            cmd.ExecuteNonQuery();
        }
        return db;
    }

    /// <summary>Appends the batches in one transaction each, through the packer or in the order given; the pages the database holds after.</summary>
    private static long Append(SqliteConnection db, ChunkPagePacker? packer, IEnumerable<List<ChunkRow>> batches)
    {
        using var sql = new WriterStatements(db);
        foreach (var batch in batches)
        {
            using var tx = db.BeginTransaction();
            sql.Bind(tx);
            if (packer is null) { foreach (var row in batch) sql.InsertChunk(row); batch.Clear(); }
            else packer.Append(batch, sql.PagesInUse(), sql.InsertChunkProbed);
            Assert.Empty(batch);
            tx.Commit();
        }
        using var count = db.CreateCommand();
        count.CommandText = "SELECT page_count - freelist_count FROM pragma_page_count(), pragma_freelist_count()";
        return (long)count.ExecuteScalar()!;
    }

    private static List<string> Rows(SqliteConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT idx_datapoint, ts_start, ts_end, count, hex(data) FROM chunk ORDER BY idx_datapoint, ts_start";
        using var r = cmd.ExecuteReader();
        var rows = new List<string>();
        while (r.Read()) rows.Add($"{r.GetInt64(0)} {r.GetInt64(1)} {r.GetInt64(2)} {r.GetInt64(3)} {r.GetString(4)}");
        return rows;
    }

    [Fact]
    public void PackedRowsTakeFewerPagesAndAreStoredAsGiven()
    {
        SqliteSetup.Init();
        List<ChunkRow>[] Batches() => [MixedRows(1, 2_000, 0), MixedRows(2, 200, 10_000), MixedRows(3, 200, 20_000), MixedRows(4, 1, 30_000)];
        using var plainDb = Open(Path.Combine(_dir, "plain.db"));
        using var packedDb = Open(Path.Combine(_dir, "packed.db"));
        var packer = new ChunkPagePacker(4096);
        long plain = Append(plainDb, null, Batches());
        long packed = Append(packedDb, packer, Batches());
        Assert.Equal(Rows(plainDb), Rows(packedDb));
        Assert.Equal(2_401, Rows(packedDb).Count);
        // Measured: 2,234 pages in the order given, 2,036 packed (the 14 KB rows' overflow pages
        // are the same in both); in the order given, a 3-4 KB row mostly sits alone in a page.
        Assert.True(packed < plain * 0.93, $"packed into {packed} pages, {plain} in the order given");
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(1024)] // new databases' (TimeSeriesStore.NewDatabasePageSize)
    public void TheModelPlacesEveryRowWhereSqlitePutsIt(int pageSize)
    {
        SqliteSetup.Init();
        using var db = Open(Path.Combine(_dir, "table.db"), tableOnly: true, pageSize);
        var packer = new ChunkPagePacker(pageSize);
        long pages = Append(db, packer, [MixedRows(1, 2_000, 0), MixedRows(2, 200, 10_000)]);
        Assert.Equal(2_200, Rows(db).Count);
        // Only a pointer-map page (auto_vacuum, one in pageSize / 5) beside a row can surprise it.
        long pointerMaps = pages / (pageSize / 5);
        Assert.True(packer.Mispredicted <= 3 + pointerMaps, $"{packer.Mispredicted} rows placed against the model ({pointerMaps} pointer-map pages)");
    }

    [Fact]
    public void APackerThatDoesNotKnowTheLastPageStillStoresEveryRowAndLearnsIt()
    {
        SqliteSetup.Init();
        using var db = Open(Path.Combine(_dir, "restarted.db"));
        Append(db, new ChunkPagePacker(4096), [MixedRows(5, 301, 0)]);
        // A new process: the last page is half full, the new packer takes it for full.
        var fresh = new ChunkPagePacker(4096);
        Append(db, fresh, [MixedRows(6, 500, 1_000), MixedRows(7, 500, 2_000)]);
        Assert.Equal(1_301, Rows(db).Count);
    }

    [Fact]
    public void CellSizesAreSqlitesForRowsThatFitAndRowsThatOverflow()
    {
        var packer = new ChunkPagePacker(4096);
        // A 100-byte blob: record header 8 (its size, NULL id, 4 integer types, blob type 212 as a
        // 2-byte varint), idx 1, timestamps 6 + 6, count 2, blob 100: payload 123; cell = 1 (payload
        // size) + 3 (rowid 2^20) + 123.
        var small = new ChunkRow(5, 1_700_000_000_000, 1_700_000_100_000, 300, new byte[100]);
        Assert.Equal(127, packer.CellBytes(small, 1 << 20, out int none));
        Assert.Equal(0, none);
        // 10,000 bytes overflow a 4 KiB page: local = minLocal + (payload - minLocal) % 4092, or minLocal when that exceeds maxLocal.
        var large = new ChunkRow(5, 1_700_000_000_000, 1_700_000_100_000, 300, new byte[10_000]);
        int payload = 1 + 1 + 4 + 3 + 1 + 6 + 6 + 2 + 10_000; // blob type 20,012 is a 3-byte varint
        int minLocal = (4096 - 12) * 32 / 255 - 23, local = minLocal + (payload - minLocal) % 4092;
        Assert.Equal(2 + 3 + local + 4, packer.CellBytes(large, 1 << 20, out int overflow));
        Assert.Equal((payload - local + 4091) / 4092, overflow);
    }
}
