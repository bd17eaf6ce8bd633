using Microsoft.Data.Sqlite;

namespace Pattoo.Edge.EndToEnd;

/// <summary>
/// Upgrades keep data: a store written by the previous release (Upgrade/release-0.1.0, chunks
/// and an unsealed head log) opens with every sample; a database from a newer release is refused
/// with a clear message and exit code 1, and left as it was.
/// </summary>
public class UpgradeTests
{
    private const int Series = 20, Points = 600;
    private const long Start = 1_764_979_200_000; // 2025-12-06 00:00 UTC

    [Fact]
    public async Task AStoreOfThePreviousReleaseOpensWithEverySample()
    {
        string dir = CopyOfPreviousRelease();
        int port = EdgeProcess.FreePort();
        string config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"[server]\nlisten = \"127.0.0.1:{port}\"\n[storage]\npath = \"{dir}/data\"\nretention = \"36500d\"\n[linux]\nenabled = false\n");
        var edge = new EdgeProcess(dir, "run", "--config", config);
        try
        {
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            Assert.Contains("replayed 2000 unsealed samples", edge.Output);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var data = await EndToEndSupport.GraphQLAsync(http, "{ appliance { sampleCount } series { idxDatapoint labels { key value } } }");
            Assert.Equal(Series * Points, data.GetProperty("appliance").GetProperty("sampleCount").GetInt64());
            foreach (var s in data.GetProperty("series").EnumerateArray())
            {
                int n = int.Parse(s.GetProperty("labels").EnumerateArray().Single(l => l.GetProperty("key").GetString() == "s").GetProperty("value").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                var points = (await EndToEndSupport.GraphQLAsync(http, $"{{ timeseries(idxDatapoint: \"{s.GetProperty("idxDatapoint").GetString()}\", from: {Start}, to: {Start + Points * 10_000L}, maxPoints: 20000) {{ timestamps values }} }}")).GetProperty("timeseries");
                Assert.Equal(Enumerable.Range(0, Points).Select(p => Start + p * 10_000L), points.GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()));
                Assert.Equal(Enumerable.Range(0, Points).Select(p => n * 1000 + p * 0.5), points.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()));
            }
        }
        finally
        {
            await edge.DisposeAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task ADatabaseOfANewerReleaseIsRefusedAndLeftAlone()
    {
        string dir = CopyOfPreviousRelease();
        string database = Path.Combine(dir, "data", "pattoo-edge.db");
        using (var db = new SqliteConnection($"Data Source={database};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA user_version = 999";
            cmd.ExecuteNonQuery();
        }
        byte[] before = await File.ReadAllBytesAsync(database);
        string config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"[server]\nlisten = \"127.0.0.1:{EdgeProcess.FreePort()}\"\n[storage]\npath = \"{dir}/data\"\n[linux]\nenabled = false\n");
        try
        {
            var (code, stdout, stderr) = await EdgeProcess.RunAsync("run", "--config", config);
            Assert.Equal(1, code);
            Assert.Contains("database schema version 999 is newer than this release understands", stdout + stderr);
            Assert.Equal(before, await File.ReadAllBytesAsync(database));
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static string CopyOfPreviousRelease()
    {
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-upgrade-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        string source = Path.Combine(EndToEndSupport.RepoRoot, "tests", "Pattoo.Edge.EndToEnd", "Upgrade", "release-0.1.0");
        foreach (var file in new[] { "pattoo-edge.db", "head.log" }) File.Copy(Path.Combine(source, file), Path.Combine(dir, "data", file));
        return dir;
    }
}
