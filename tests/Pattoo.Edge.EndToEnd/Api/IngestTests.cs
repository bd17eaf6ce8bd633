using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Api;

/// <summary>pattoo agent ingest through the published binary, with ingest_allow empty so tokens matter.</summary>
public sealed class IngestFixture : IAsyncLifetime
{
    public const string Token = "ingest-token-0123456789abcdef";
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "pattoo-edge-ingest-" + Guid.NewGuid().ToString("N")[..8]);
    public int Port { get; } = EdgeProcess.FreePort();
    public EdgeProcess Edge { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync() => (Edge, Http) = await EndToEndSupport.StartIngestBoxAsync(Dir, Port, "ingest-box", Token);

    public async Task<(int, string)> Post(string body, bool token = true, string path = "/pattoo/api/v1/agent/receive/test")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        // Errors come as {"error": "..."}: hand the test the message itself.
        if (text.StartsWith('{') && JsonDocument.Parse(text).RootElement.TryGetProperty("error", out var e)) text = e.GetString()!;
        return ((int)response.StatusCode, text);
    }

    public async Task<JsonElement> Query(string query)
    {
        var json = JsonSerializer.Serialize(new Dictionary<string, string> { ["query"] = query });
        using var response = await Http.PostAsync("/graphql", new StringContent(json, Encoding.UTF8, "application/json"));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Edge.DisposeAsync();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}

public class IngestTests(IngestFixture f) : IClassFixture<IngestFixture>
{
    private static readonly string AgentId = PattooAgentPayload.Sha256("ingest-test-agent");

    private static PattooAgentPayload Payload(long t) => new PattooAgentPayload(AgentId, "pattoo_agent_linux_autonomousd", "host9", 60_000)
        .Add("host9", "cpu_busy", 101, 12.5, t, ("cpus", "4"))
        .Add("host9", "packets", 64, 5000L + t / 1000, t, ("network_io_interface", "eth1"));

    [Fact]
    public async Task StatusRoutesAnswerLikePattoo()
    {
        Assert.Equal("The Pattoo Agent API is Operational.\n", await f.Http.GetStringAsync("/pattoo/api/v1/agent/status"));
        Assert.Equal("The Pattoo Web API is Operational.\n", await f.Http.GetStringAsync("/pattoo/api/v1/web/status"));
        using var key = await f.Http.PostAsync("/pattoo/api/v1/agent/key", new StringContent("{}"));
        Assert.Equal(501, (int)key.StatusCode);
        Assert.Contains("TLS", await key.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task PostsNeedAWriteTokenOutsideIngestAllow()
    {
        var (status, body) = await f.Post(Payload(1_700_000_000_000).ToJson(1), token: false);
        Assert.Equal(403, status);
        Assert.Contains("write token", body);
        (status, body) = await f.Post(Payload(1_700_000_000_000).ToJson(1));
        Assert.Equal(200, status);
        Assert.Equal("OK", body);
    }

    [Fact]
    public async Task StoredChecksumsAreThoseOfPattoo()
    {
        long t = 1_700_100_000_000;
        var payload = Payload(t);
        var (status, _) = await f.Post(payload.ToJson(t));
        Assert.Equal(200, status);
        var data = await f.Query("{ allDatapoints { edges { node { checksum dataType pollingInterval lastTimestamp } } } }");
        var stored = data.GetProperty("data").GetProperty("allDatapoints").GetProperty("edges").EnumerateArray()
            .Select(e => e.GetProperty("node").GetProperty("checksum").GetString()).ToHashSet();
        foreach (var p in payload.Points) Assert.Contains(payload.StoredChecksum(p), stored);
        // The stored key and metadata pairs carry pattoo's program prefix.
        var pairs = await f.Query("{ allPairs(key: \"pattoo_agent_linux_autonomousd_network_io_interface\") { edges { node { value } } } }");
        Assert.Contains("eth1", pairs.ToString());
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "not json", "not valid JSON" },
        { "[1,2]", "must be a JSON object" },
        { "{\"pattoo_agent_id\":\"a\",\"pattoo_agent_polling_interval\":1,\"pattoo_agent_timestamp\":1}", "missing top-level key \"pattoo_datapoints\"" },
        { "{\"pattoo_agent_id\":\"a\",\"pattoo_agent_polling_interval\":1,\"pattoo_agent_timestamp\":1,\"pattoo_datapoints\":{},\"extra\":1}", "unknown top-level key \"extra\"" },
        { "{\"pattoo_agent_id\":\"a\",\"pattoo_agent_polling_interval\":1,\"pattoo_agent_timestamp\":1,\"pattoo_datapoints\":{\"key_value_pairs\":{},\"datapoint_pairs\":[[7]]}}", "datapoint_pairs[0]: pair id 7 is not in key_value_pairs" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task MalformedBodiesAreRefusedWithTheirReason(string body, string reason)
    {
        var (status, text) = await f.Post(body);
        Assert.Equal(400, status);
        Assert.Contains(reason, text);
    }

    [Fact]
    public async Task ABadDatapointRefusesTheWholePostAndStoresNothing()
    {
        long t = 1_700_200_000_000;
        var good = Payload(t).ToJson(t);
        // Make the second datapoint's value unreadable: nothing of the post may be stored.
        var bad = good.Replace("\"cpu_busy\"", "\"cpu_busy_v2\"").Replace($"[\"pattoo_value\",{5000L + t / 1000}]", "[\"pattoo_value\",\"lots\"]");
        Assert.NotEqual(good, bad);
        var before = (await f.Query("{ appliance { seriesCount samplesWritten } }")).ToString();
        var (status, text) = await f.Post(bad);
        Assert.Equal(400, status);
        Assert.Contains("pattoo_key \"packets\"", text);
        Assert.Contains("pattoo_value must be a number", text);
        Assert.Equal(before, (await f.Query("{ appliance { seriesCount samplesWritten } }")).ToString());
    }

    [Fact]
    public async Task BodiesOverMaxBodyGet413()
    {
        var (status, text) = await f.Post(new string(' ', 70_000) + "{}");
        Assert.Equal(413, status);
        Assert.Contains("max_body", text);
    }

    [Fact]
    public async Task RestDataRouteServesPattooWebsChartFormat()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 60_000 * 60_000;
        for (int i = 3; i >= 1; i--) Assert.Equal(200, (await f.Post(Payload(now - i * 60_000).ToJson(now))).Item1);
        var list = await f.Query("{ series(key: \"packets\") { idxDatapoint } }");
        string idx = list.GetProperty("data").GetProperty("series")[0].GetProperty("idxDatapoint").GetString()!;
        var rows = JsonDocument.Parse(await f.Http.GetStringAsync($"/pattoo/api/v1/web/rest/data/{idx}?secondsago=600")).RootElement;
        var values = rows.EnumerateArray().Where(r => r.GetProperty("value").ValueKind == JsonValueKind.Number).Select(r => r.GetProperty("value").GetDouble()).ToList();
        Assert.Equal(2, values.Count);               // two rates from three counter samples
        Assert.All(values, v => Assert.Equal(1.0, v, 6)); // +60 per 60 s
        Assert.All(rows.EnumerateArray(), r => Assert.Equal(0, r.GetProperty("timestamp").GetInt64() % 60_000));
        using var missing = await f.Http.GetAsync("/pattoo/api/v1/web/rest/data/99999");
        Assert.Equal(404, (int)missing.StatusCode);
    }

    [Fact]
    public async Task TwentyGraphQLClientsDoNotStallIngest()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(6));
        int queries = 0, queryErrors = 0;
        var readers = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            using var http = new HttpClient { BaseAddress = f.Http.BaseAddress };
            while (!stop.IsCancellationRequested)
            {
                var json = "{\"query\":\"{ allDatapoints { edges { node { idxDatapoint checksum } } } series(search: \\\"eth1\\\") { key } appliance { samplesWritten } }\"}";
                using var r = await http.PostAsync("/graphql", new StringContent(json, Encoding.UTF8, "application/json"));
                var body = await r.Content.ReadAsStringAsync();
                Interlocked.Increment(ref queries);
                if (!r.IsSuccessStatusCode || body.Contains("\"errors\"")) Interlocked.Increment(ref queryErrors);
            }
        })).ToList();
        var latencies = new List<double>();
        long t = 1_700_300_000_000;
        while (!stop.IsCancellationRequested)
        {
            var sw = Stopwatch.StartNew();
            var (status, _) = await f.Post(Payload(t).ToJson(t));
            latencies.Add(sw.Elapsed.TotalMilliseconds);
            Assert.Equal(200, status);
            t += 60_000;
        }
        await Task.WhenAll(readers);
        Assert.Equal(0, queryErrors);
        Assert.True(queries > 20, $"only {queries} queries answered");
        Assert.True(latencies.Count > 10, $"only {latencies.Count} posts went through in 6 s");
        latencies.Sort();
        Assert.True(latencies[^1] < 3000, $"slowest post took {latencies[^1]:F0} ms");
    }
}
