using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Pattoo.Edge.EndToEnd;

/// <summary>
/// The published binary killed with SIGKILL at random moments while two clients post as fast as
/// they can and the store seals its head every 10,000 samples (so kills land in commits, syncs
/// and seals): every sample answered 200 must be there afterwards, the rollups the seals wrote
/// must count every stored sample once, and SQLite's integrity check must pass.
/// </summary>
public class CrashTests
{
    private const int Series = 50;
    private const int Iterations = 30;

    [Fact]
    public async Task EveryAcknowledgedSampleSurvivesThirtyKills()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-crash-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int port = EdgeProcess.FreePort();
        var config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"""
            [server]
            listen = "127.0.0.1:{port}"
            [storage]
            path = "{dir}/data"
            retention = "36500d"
            max_head_samples = 10000
            [linux]
            enabled = false
            """);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        // Each client posts its own half of the series, so its batches arrive in time order per series.
        var acknowledged = new[] { new List<long>(), new List<long>() }; // timestamps whose batch was answered 200, per client
        var next = new long[] { 1_700_000_000_000, 1_700_000_000_000 };
        var rng = new Random(20261206);
        for (int i = 0; i < Iterations; i++)
        {
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            using var kill = new CancellationTokenSource(TimeSpan.FromMilliseconds(rng.Next(150, 900)));
            var clients = Enumerable.Range(0, 2).Select(c => Task.Run(async () =>
            {
                while (!kill.IsCancellationRequested)
                {
                    long[] stamps = [next[c], next[c] + 1000, next[c] + 2000, next[c] + 3000, next[c] + 4000];
                    next[c] += 5000;
                    var body = new StringBuilder();
                    foreach (long t in stamps)
                        for (int s = c * Series / 2; s < (c + 1) * Series / 2; s++) body.Append(CultureInfo.InvariantCulture, $"crash_value{{series=\"s{s}\"}} {t % 100_000 / 10.0} {t}\n");
                    try
                    {
                        using var response = await http.PostAsync("/api/v1/import/prometheus", new StringContent(body.ToString(), Encoding.UTF8, "text/plain"));
                        if (response.IsSuccessStatusCode) acknowledged[c].AddRange(stamps);
                    }
                    // Killed mid-request: not acknowledged. A kill between the client's connect
                    // and its reading of the peer's address surfaces as a bare SocketException
                    // (ENOTCONN from getpeername), not wrapped in an HttpRequestException.
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Net.Sockets.SocketException)
                    {
                        return;
                    }
                }
            })).ToArray();
            await Task.Delay(rng.Next(150, 900));
            edge.Signal(9);
            await edge.WaitForExitAsync(TimeSpan.FromSeconds(10));
            await Task.WhenAll(clients);
        }
        Assert.True(acknowledged[0].Count + acknowledged[1].Count > Iterations * 10, "the box took almost no load");

        await using (var edge = new EdgeProcess(dir, "run", "--config", config))
        {
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            var list = await EndToEndSupport.GraphQLAsync(http, "{ series(key: \"crash_value\") { idxDatapoint labels { key value } } }");
            var series = list.GetProperty("series").EnumerateArray().ToList();
            Assert.Equal(Series, series.Count);
            foreach (var s in series)
            {
                string idx = s.GetProperty("idxDatapoint").GetString()!;
                int number = int.Parse(s.GetProperty("labels").EnumerateArray().Single(l => l.GetProperty("key").GetString() == "series").GetProperty("value").GetString()![1..]);
                var expected = acknowledged[number < Series / 2 ? 0 : 1].Order().ToArray();
                if (expected.Length == 0) continue;
                var stored = new Dictionary<long, double>();
                // timeseries answers at most 20,000 points undownsampled: ask in slices.
                foreach (var slice in expected.Chunk(10_000))
                {
                    var data = await EndToEndSupport.GraphQLAsync(http,
                        $"{{ timeseries(idxDatapoint: \"{idx}\", from: {slice[0]}, to: {slice[^1]}, maxPoints: 20000) {{ bucketMs points {{ timestamp value }} }} }}");
                    Assert.Equal(0, data.GetProperty("timeseries").GetProperty("bucketMs").GetInt64());
                    foreach (var p in data.GetProperty("timeseries").GetProperty("points").EnumerateArray())
                        stored[p.GetProperty("timestamp").GetInt64()] = p.GetProperty("value").GetDouble();
                }
                var missing = expected.Where(t => !stored.ContainsKey(t)).ToList();
                Assert.True(missing.Count == 0, $"series {idx}: {missing.Count} acknowledged samples missing, first at {missing.FirstOrDefault()}\n{edge.Output}");
                Assert.All(expected, t => Assert.Equal(t % 100_000 / 10.0, stored[t], 9));

                // The rollups written in the seals the kills interrupted: over more than 3 days a
                // chart reads them (and the head), and they must count every stored sample once.
                long rawTotal = 0;
                for (long from = expected[0]; from <= expected[^1]; from += 19_000_000)
                {
                    var raw = await EndToEndSupport.GraphQLAsync(http,
                        $"{{ timeseries(idxDatapoint: \"{idx}\", from: {from}, to: {Math.Min(from + 18_999_999, expected[^1])}, maxPoints: 20000) {{ bucketMs points {{ timestamp }} }} }}");
                    Assert.Equal(0, raw.GetProperty("timeseries").GetProperty("bucketMs").GetInt64());
                    rawTotal += raw.GetProperty("timeseries").GetProperty("points").GetArrayLength();
                }
                var summary = await EndToEndSupport.GraphQLAsync(http,
                    $"{{ timeseries(idxDatapoint: \"{idx}\", from: {expected[0] - 4 * 86_400_000L}, to: {expected[^1]}, maxPoints: 50) {{ bucketMs points {{ count }} }} }}");
                Assert.True(summary.GetProperty("timeseries").GetProperty("bucketMs").GetInt64() > 0);
                long rolledUp = summary.GetProperty("timeseries").GetProperty("points").EnumerateArray().Sum(p => (long)p.GetProperty("count").GetInt32());
                Assert.True(rolledUp == rawTotal, $"series {idx}: the rollups count {rolledUp} samples, the raw data holds {rawTotal}");
            }
            edge.Signal(EdgeProcess.SIGTERM);
            Assert.Equal(0, await edge.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        }
        using (var db = new SqliteConnection($"Data Source={dir}/data/pattoo-edge.db;Mode=ReadOnly"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", cmd.ExecuteScalar());
        }
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }
}
