using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd;

/// <summary>The published binary with ingest_allow empty (so tokens matter) and a small max_body.</summary>
public sealed class PrometheusImportFixture : IAsyncLifetime
{
    public const string Token = "prom-import-token-0123456789";
    public const string Path = "/api/v1/import/prometheus";
    public string Dir { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pattoo-edge-prom-" + Guid.NewGuid().ToString("N")[..8]);
    public int Port { get; } = EdgeProcess.FreePort();
    public EdgeProcess Edge { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync() => (Edge, Http) = await EndToEndSupport.StartIngestBoxAsync(Dir, Port, "prom-box", Token);

    /// <summary>Posts <paramref name="body"/> as curl --data-binary would; returns the status and the parsed JSON answer.</summary>
    public async Task<(int Status, JsonElement Json)> Post(byte[] body, string query = "", bool token = true, string? encoding = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Path + query) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("text/plain; version=0.0.4");
        if (encoding is not null) request.Content.Headers.ContentEncoding.Add(encoding);
        if (token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    public Task<(int Status, JsonElement Json)> Post(string body, string query = "", bool token = true)
        => Post(Encoding.UTF8.GetBytes(body), query, token);

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Edge.DisposeAsync();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}

public class PrometheusImportEndToEndTests(PrometheusImportFixture f) : IClassFixture<PrometheusImportFixture>
{
    private static long Minute(int minutesAgo) => (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 60_000 - minutesAgo) * 60_000;

    private static string Exposition(long t, long requests, double temperature, long bucketSmall, long bucketAll, double sum) => $$"""
        # HELP http_requests_total Requests served.
        # TYPE http_requests_total counter
        http_requests_total{job="web",instance="shop-1:8080",code="200",method="get"} {{requests}} {{t}}
        # TYPE room_temperature_celsius gauge
        room_temperature_celsius{room="plant \"north\"",path="C:\\sensors\nrow 2"} {{temperature}} {{t}}
        # TYPE request_seconds histogram
        request_seconds_bucket{job="web",instance="shop-1:8080",le="0.5"} {{bucketSmall}} {{t}}
        request_seconds_bucket{job="web",instance="shop-1:8080",le="+Inf"} {{bucketAll}} {{t}}
        request_seconds_sum{job="web",instance="shop-1:8080"} {{sum}} {{t}}
        request_seconds_count{job="web",instance="shop-1:8080"} {{bucketAll}} {{t}}
        broken_sensor NaN {{t}}

        """;

    private async Task<JsonElement> Series(string query) => (await EndToEndSupport.GraphQLAsync(f.Http,
        $"{{ series({query}) {{ idxDatapoint key agentProgram agentPolledTarget dataType counter pollingInterval lastTimestamp labels {{ key value }} }} }}")).GetProperty("series");

    private static Dictionary<string, string> Labels(JsonElement series)
        => series.GetProperty("labels").EnumerateArray().ToDictionary(l => l.GetProperty("key").GetString()!, l => l.GetProperty("value").GetString()!);

    private async Task<List<(long T, double V)>> Points(string idx, long from, long to)
    {
        var data = await EndToEndSupport.GraphQLAsync(f.Http, $"{{ timeseries(idxDatapoint: \"{idx}\", from: {from}, to: {to}) {{ points {{ timestamp value }} }} }}");
        return data.GetProperty("timeseries").GetProperty("points").EnumerateArray()
            .Select(p => (p.GetProperty("timestamp").GetInt64(), p.GetProperty("value").GetDouble())).ToList();
    }

    [Fact]
    public async Task CountersGaugesAndHistogramsReadBackThroughGraphQL()
    {
        long t0 = Minute(3), t1 = Minute(2);
        var (status, json) = await f.Post(Exposition(t0, 1000, 21.5, 10, 40, 12.5), "?interval=60s");
        Assert.True(status == 200, json.ToString());
        Assert.Equal(6, json.GetProperty("stored").GetInt32());
        Assert.Equal(1, json.GetProperty("skipped").GetInt32());
        (status, json) = await f.Post(Exposition(t1, 1600, 22.0, 16, 70, 20.0), "?interval=60s");
        Assert.True(status == 200, json.ToString());

        // The counter: program from job, target from instance, the other labels as metadata, a rate on read.
        var requests = Assert.Single((await Series("key: \"http_requests_total\"")).EnumerateArray());
        Assert.Equal("web", requests.GetProperty("agentProgram").GetString());
        Assert.Equal("shop-1:8080", requests.GetProperty("agentPolledTarget").GetString());
        Assert.Equal(64, requests.GetProperty("dataType").GetInt32());
        Assert.True(requests.GetProperty("counter").GetBoolean());
        Assert.Equal(60_000, requests.GetProperty("pollingInterval").GetInt64());
        Assert.Equal(t1, requests.GetProperty("lastTimestamp").GetInt64());
        Assert.Equal(new Dictionary<string, string> { ["code"] = "200", ["method"] = "get" }, Labels(requests));
        var rate = Assert.Single(await Points(requests.GetProperty("idxDatapoint").GetString()!, t0, t1));
        Assert.Equal(t1, rate.T);
        Assert.Equal(10.0, rate.V, 6); // 600 requests in 60 s

        // The gauge: no job or instance, so the default program and the appliance; escapes decoded.
        var temperature = Assert.Single((await Series("key: \"room_temperature_celsius\"")).EnumerateArray());
        Assert.Equal("prometheus-import", temperature.GetProperty("agentProgram").GetString());
        Assert.Equal("prom-box", temperature.GetProperty("agentPolledTarget").GetString());
        Assert.Equal(101, temperature.GetProperty("dataType").GetInt32());
        Assert.Equal(new Dictionary<string, string> { ["path"] = "C:\\sensors\nrow 2", ["room"] = "plant \"north\"" }, Labels(temperature));
        Assert.Equal(new (long, double)[] { (t0, 21.5), (t1, 22.0) }, await Points(temperature.GetProperty("idxDatapoint").GetString()!, t0, t1));

        // The histogram: buckets and count are counters, the sum a float.
        var histogram = (await Series("agentProgram: \"web\", search: \"request_seconds\"")).EnumerateArray().ToList();
        Assert.Equal(4, histogram.Count);
        var buckets = histogram.Where(s => s.GetProperty("key").GetString() == "request_seconds_bucket").ToList();
        Assert.Equal(["+Inf", "0.5"], buckets.Select(b => Labels(b)["le"]).Order(StringComparer.Ordinal));
        Assert.All(buckets, b => Assert.Equal(64, b.GetProperty("dataType").GetInt32()));
        Assert.Equal(64, histogram.Single(s => s.GetProperty("key").GetString() == "request_seconds_count").GetProperty("dataType").GetInt32());
        var sum = histogram.Single(s => s.GetProperty("key").GetString() == "request_seconds_sum");
        Assert.Equal(101, sum.GetProperty("dataType").GetInt32());
        Assert.Equal(new (long, double)[] { (t0, 12.5), (t1, 20.0) }, await Points(sum.GetProperty("idxDatapoint").GetString()!, t0, t1));
        var inf = buckets.Single(b => Labels(b)["le"] == "+Inf");
        Assert.Equal(0.5, Assert.Single(await Points(inf.GetProperty("idxDatapoint").GetString()!, t0, t1)).V, 6); // 30 per 60 s

        // NaN is skipped, not stored.
        Assert.Empty((await Series("key: \"broken_sensor\"")).EnumerateArray());
    }

    [Fact]
    public async Task QueryParametersNameProgramTargetIntervalAndExtraLabels()
    {
        var (status, json) = await f.Post("backup_age_seconds{volume=\"home\"} 3600\n",
            "?program=backup&target=nas-1&interval=5m&extra_label=site=plant-2&extra_label=volume=data");
        Assert.True(status == 200, json.ToString());
        var s = Assert.Single((await Series("key: \"backup_age_seconds\"")).EnumerateArray());
        Assert.Equal(("backup", "nas-1", 300_000L), (s.GetProperty("agentProgram").GetString(), s.GetProperty("agentPolledTarget").GetString(), s.GetProperty("pollingInterval").GetInt64()));
        Assert.Equal(new Dictionary<string, string> { ["site"] = "plant-2", ["volume"] = "data" }, Labels(s));
        Assert.True(s.GetProperty("lastTimestamp").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000); // time of receipt
    }

    [Fact]
    public async Task AnyErrorIsA400NamingTheLineAndNothingIsStored()
    {
        var before = (await EndToEndSupport.GraphQLAsync(f.Http, "{ appliance { seriesCount samplesWritten } }")).ToString();
        var (status, json) = await f.Post("never_stored_a 1\nnever_stored_b{x=\"1\"} 2\nnever_stored_c{x=\"1\"}\n");
        Assert.Equal(400, status);
        Assert.Equal("line 3: expected a value after the labels", json.GetProperty("error").GetString());
        (status, json) = await f.Post("# TYPE never_stored_h histogram\nnever_stored_h_bucket{le=\"1\",le=\"2\"} 1\n");
        Assert.Equal(400, status);
        Assert.Equal("line 2: label \"le\" appears twice", json.GetProperty("error").GetString());
        (status, json) = await f.Post("never_stored_a 1\n", "?interval=soon");
        Assert.Equal(400, status);
        Assert.StartsWith("interval must be a duration", json.GetProperty("error").GetString());
        Assert.Equal(before, (await EndToEndSupport.GraphQLAsync(f.Http, "{ appliance { seriesCount samplesWritten } }")).ToString());
        Assert.Empty((await Series("search: \"never_stored\"")).EnumerateArray());
    }

    [Fact]
    public async Task PostsNeedAWriteTokenOutsideIngestAllow()
    {
        var (status, json) = await f.Post("token_test 1\n", token: false);
        Assert.Equal(403, status);
        Assert.Contains("write token", json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task GzipBodiesAreInflatedWithinMaxBody()
    {
        var (status, json) = await f.Post(Gzip(Encoding.UTF8.GetBytes("gzipped_metric 42\n")), encoding: "gzip");
        Assert.True(status == 200, json.ToString());
        Assert.Equal(1, json.GetProperty("stored").GetInt32());
        Assert.Single((await Series("key: \"gzipped_metric\"")).EnumerateArray());

        // 1 MB of comments inflates past max_body (64 KB) from a few KB on the wire.
        var bomb = Gzip(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("# padding padding padding padding\n", 30_000))));
        Assert.True(bomb.Length < 65536);
        (status, json) = await f.Post(bomb, encoding: "gzip");
        Assert.Equal(413, status);
        Assert.Contains("inflated body is larger than api.max_body", json.GetProperty("error").GetString());

        (status, json) = await f.Post(Encoding.UTF8.GetBytes("not gzip at all"), encoding: "gzip");
        Assert.Equal(400, status);
        Assert.Contains("not valid gzip", json.GetProperty("error").GetString());

        (status, json) = await f.Post(Encoding.UTF8.GetBytes("m 1\n"), encoding: "br");
        Assert.Equal(415, status);
        Assert.Contains("Content-Encoding \"br\" is not supported", json.GetProperty("error").GetString());
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.SmallestSize)) gz.Write(data);
        return output.ToArray();
    }
}
