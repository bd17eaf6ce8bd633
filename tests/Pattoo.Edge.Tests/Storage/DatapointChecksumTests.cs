using Microsoft.Data.Sqlite;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Tests.Storage;

public class DatapointChecksumTests
{
    [Fact]
    public async Task PattooChecksumsAreStoredAsTheirBytesAndReadBackAsTheSameText()
    {
        await using var t = new TempStore();
        var key = TempStore.Key("temperature");
        var batch = new Pattoo.Edge.Common.SampleBatch();
        batch.Add(key, 1_700_000_000_000, 1);
        await t.Store.WriteAsync(batch, default);
        Assert.Equal(128, key.Checksum.Length);
        using (var db = t.Store.OpenReader())
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT typeof(checksum), length(checksum) FROM datapoint";
            using var r = cmd.ExecuteReader();
            Assert.True(r.Read());
            Assert.Equal(("blob", 64L), (r.GetString(0), r.GetInt64(1)));
        }
        await t.ReopenAsync();
        Assert.Equal(key.Checksum, t.Store.ListDatapoints().Single().Checksum);
        // The writer finds the series again by its checksum after the restart: no second datapoint.
        await t.Store.WriteAsync(batch, default);
        Assert.Single(t.Store.ListDatapoints());
    }

    [Theory]
    [InlineData("00ff")]
    [InlineData("0123456789abcdef")]
    [InlineData("ABCD")]        // uppercase: kept as text, so it reads back uppercase
    [InlineData("abc")]         // odd length
    [InlineData("not-hex")]
    [InlineData("")]
    public void EveryChecksumReadsBackExactlyAndTheMigrationRuleMatchesTheCode(string checksum)
    {
        using var db = new SqliteConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "CREATE TABLE t (checksum TEXT NOT NULL); INSERT INTO t VALUES ($c);";
        cmd.Parameters.AddWithValue("$c", DatapointChecksum.ToDb(checksum));
        cmd.ExecuteNonQuery();
        cmd.Parameters.Clear();
        cmd.CommandText = "SELECT checksum, typeof(checksum) FROM t";
        string stored;
        using (var r = cmd.ExecuteReader())
        {
            Assert.True(r.Read());
            Assert.Equal(checksum, DatapointChecksum.FromDb(r, 0));
            stored = r.GetString(1);
        }
        // The migration turns exactly the text checksums the code would store as bytes.
        cmd.CommandText = $"DELETE FROM t; INSERT INTO t VALUES ($c); SELECT {DatapointChecksum.LowerHexSql} FROM t;";
        cmd.Parameters.AddWithValue("$c", checksum);
        bool migrates = Convert.ToInt64(cmd.ExecuteScalar()) == 1;
        Assert.Equal(stored == "blob", migrates);
    }
}
