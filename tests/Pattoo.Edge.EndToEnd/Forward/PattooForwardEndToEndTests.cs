using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Forward;

/// <summary>
/// Two published binaries: a box forwarding to a central Pattoo.Edge as a pattoo agent
/// ([[forward.pattoo]]), with the central box's write token; a second forwarder with a wrong
/// token shows its configuration error and sends nothing.
/// </summary>
public class PattooForwardEndToEndTests
{
    private const int Series = 10, Points = 30, Step = 10_000;

    [Fact]
    public async Task TheCentralServerHoldsTheBoxsDatapointsWithTheirChecksums()
    {
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-fwp-" + Guid.NewGuid().ToString("N")[..8]);
        int centralPort = EdgeProcess.FreePort(), boxPort = EdgeProcess.FreePort();
        const string token = "central-write-token-0123456789";
        var (central, centralHttp) = await EndToEndSupport.StartIngestBoxAsync(Path.Combine(dir, "central"), centralPort, "central", token);
        EdgeProcess? box = null;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "box"));
            string config = Path.Combine(dir, "box", "edge.toml");
            await File.WriteAllTextAsync(config, $"""
                [appliance]
                name = "site-box"
                [server]
                listen = "127.0.0.1:{boxPort}"
                [storage]
                path = "{dir}/box/data"
                retention = "36500d"
                [linux]
                enabled = false
                [[forward.pattoo]]
                name = "head-office"
                url = "http://127.0.0.1:{centralPort}"
                bearer_token = "{token}"
                batch_samples = 100
                [[forward.pattoo]]
                name = "wrong-token"
                url = "http://127.0.0.1:{centralPort}/"
                bearer_token = "not-the-token"
                """);
            box = new EdgeProcess(Path.Combine(dir, "box"), "run", "--config", config);
            await box.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{boxPort}") };
            long start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Step - Points - 5) * Step;
            for (int p = 0; p < Points; p++)
            {
                var sb = new StringBuilder("# TYPE site_temp gauge\n");
                for (int s = 0; s < Series; s++)
                    sb.Append("site_temp{room=\"r").Append(s).Append("\"} ").Append((20 + s + p * 0.5).ToString("R", CultureInfo.InvariantCulture)).Append(' ').Append(start + (long)p * Step).Append('\n');
                using var r = await http.PostAsync("/api/v1/import/prometheus?interval=10s", new StringContent(sb.ToString(), Encoding.UTF8, "text/plain"));
                Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
            }

            var until = DateTime.UtcNow.AddSeconds(60);
            long stored = 0;
            while (DateTime.UtcNow < until && (stored = await SampleCount(centralHttp)) < Series * Points) await Task.Delay(500);
            Assert.Equal(Series * Points, stored);

            // The same datapoints under the same checksums, the same values at the same times.
            var mine = await Datapoints(http);
            var theirs = await Datapoints(centralHttp);
            Assert.Equal(mine.Keys.Order(), theirs.Keys.Order());
            foreach (var (checksum, (idx, program)) in mine)
            {
                Assert.Equal(program, theirs[checksum].Program);
                Assert.Equal(await Points_(http, idx, start), await Points_(centralHttp, theirs[checksum].Idx, start));
            }

            var statuses = (await EndToEndSupport.GraphQLAsync(http, "{ forwarders { name kind connected backlogSamples lastError samplesSent } }"))
                .GetProperty("forwarders").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
            Assert.Equal("pattoo", statuses["head-office"].GetProperty("kind").GetString());
            Assert.Equal(Series * Points, statuses["head-office"].GetProperty("samplesSent").GetInt64());
            var wrong = statuses["wrong-token"];
            Assert.False(wrong.GetProperty("connected").GetBoolean());
            Assert.Contains("403", wrong.GetProperty("lastError").GetString());
            Assert.Contains("configuration error", wrong.GetProperty("lastError").GetString());
            Assert.Equal(0, wrong.GetProperty("samplesSent").GetInt64());
        }
        finally
        {
            if (box is not null) await box.DisposeAsync();
            centralHttp.Dispose();
            await central.DisposeAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static async Task<long> SampleCount(HttpClient http)
        => (await EndToEndSupport.GraphQLAsync(http, "{ appliance { sampleCount } }")).GetProperty("appliance").GetProperty("sampleCount").GetInt64();

    private static async Task<Dictionary<string, (string Idx, string Program)>> Datapoints(HttpClient http)
    {
        var data = await EndToEndSupport.GraphQLAsync(http, "{ series { idxDatapoint agentProgram checksum } }");
        return data.GetProperty("series").EnumerateArray().ToDictionary(
            s => s.GetProperty("checksum").GetString()!, s => (s.GetProperty("idxDatapoint").GetString()!, s.GetProperty("agentProgram").GetString()!));
    }

    private static async Task<List<(long, double)>> Points_(HttpClient http, string idx, long start)
    {
        var data = await EndToEndSupport.GraphQLAsync(http, $"{{ timeseries(idxDatapoint: \"{idx}\", from: {start}, to: {start + (long)Points * Step}) {{ points {{ timestamp value }} }} }}");
        return data.GetProperty("timeseries").GetProperty("points").EnumerateArray().Select(p => (p.GetProperty("timestamp").GetInt64(), p.GetProperty("value").GetDouble())).ToList();
    }
}
