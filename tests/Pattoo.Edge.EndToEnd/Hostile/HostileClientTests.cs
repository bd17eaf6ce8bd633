using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Hostile;

/// <summary>
/// What a hostile or careless client on the LAN can make the published binary do, with its
/// default limits. Each case bounds the server's CPU (from /proc, generous bounds, never
/// wall time alone) or its memory after the requests, and checks that the box still answers.
/// Future API work runs against this suite.
/// </summary>
[Collection(HostileCollection.Name)]
public class HostileClientTests(HostileFixture box)
{
    /// <summary>Far more than any refused request should cost (parse, measure, answer).</summary>
    private static readonly TimeSpan CheapCpu = TimeSpan.FromMilliseconds(500);

    [Theory]
    [InlineData(20)]
    [InlineData(30)]
    public async Task FragmentsThatDoubleEachLevelAreRefusedBeforeTheyCostAnything(int levels)
    {
        var query = new StringBuilder("{ appliance { ...F0 } }\n");
        for (int i = 0; i < levels; i++) query.Append($"fragment F{i} on Appliance {{ ...F{i + 1} ...F{i + 1} }}\n");
        query.Append($"fragment F{levels} on Appliance {{ name }}\n");
        var (body, cpu) = await Measured(() => box.GraphQL(query.ToString()));
        Assert.Contains("api.max_selections", body);
        Assert.True(cpu < CheapCpu, $"the refusal cost {cpu.TotalMilliseconds} ms of CPU");
        await StillAnswers();
    }

    [Fact]
    public async Task TenThousandCopiesOfASelectionAreRefusedCheaply()
    {
        var query = "{ " + string.Join(" ", Enumerable.Repeat("appliance { name }", 10_000)) + " }";
        var (body, cpu) = await Measured(() => box.GraphQL(query));
        Assert.Contains("api.max_query_nodes", body);
        Assert.True(cpu < CheapCpu, $"the refusal cost {cpu.TotalMilliseconds} ms of CPU");
        await StillAnswers();
    }

    [Fact]
    public async Task CopiesOfOneFieldAreRefusedBeforeTheyAreComparedPairwise()
    {
        // graphql-dotnet compares same-named fields pairwise: 2,450 copies cost 1.4 s of CPU.
        var query = "{ " + string.Join(" ", Enumerable.Repeat("appliance { name }", 2_450)) + " }";
        var (body, cpu) = await Measured(() => box.GraphQL(query));
        Assert.Contains("repeats the field \\\"appliance\\\" 2450 times", body);
        Assert.True(cpu < CheapCpu, $"the refusal cost {cpu.TotalMilliseconds} ms of CPU");
    }

    [Theory]
    [InlineData("appliance { name }", 490)] // just under the pairs the defaults allow (25 x max_selections: 500 copies)
    [InlineData("a#: appliance { name }", 2_450)] // just under max_selections (5,000), all different names
    public async Task TheLargestQueriesTheDefaultsAllowAnswerCheaply(string selection, int copies)
    {
        var query = "{ " + string.Join(" ", Enumerable.Range(0, copies).Select(i => selection.Replace("#", i.ToString(System.Globalization.CultureInfo.InvariantCulture)))) + " }";
        var (body, cpu) = await Measured(() => box.GraphQL(query));
        Assert.Contains("hostile-box", body);
        Assert.DoesNotContain("errors", body);
        Assert.True(cpu < TimeSpan.FromSeconds(1), $"the query cost {cpu.TotalMilliseconds} ms of CPU");
    }

    [Fact]
    public async Task GraphiQLsIntrospectionQueryAnswers()
    {
        var (status, body) = await box.GraphQL(IntrospectionQuery);
        Assert.Equal(200, status);
        using var doc = JsonDocument.Parse(body);
        Assert.False(doc.RootElement.TryGetProperty("errors", out var errors), errors.ToString());
        var types = doc.RootElement.GetProperty("data").GetProperty("__schema").GetProperty("types");
        Assert.Contains(types.EnumerateArray(), t => t.GetProperty("name").GetString() == "DataPoint");
    }

    [Theory]
    [InlineData("{ __type(name: \"String\") { name fields { name } interfaces { name } possibleTypes { name } enumValues { name } inputFields { name } } }")]
    [InlineData("{ __type(name: \"DataPoint\") { name interfaces { name } possibleTypes { name } } }")]
    [InlineData("{ __type(name: \"Node\") { name possibleTypes { name } } }")]
    public async Task IntrospectionOfEveryKindOfTypeAnswers(string query)
    {
        var (status, body) = await box.GraphQL(query);
        Assert.Equal(200, status);
        using var doc = JsonDocument.Parse(body);
        Assert.False(doc.RootElement.TryGetProperty("errors", out var errors), errors.ToString());
        Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("data").GetProperty("__type").ValueKind);
    }

    [Fact]
    public async Task HugeGraphQLBodiesAreRefusedWithoutReadingThem()
    {
        long idle = await SettledRss();
        // Eight at once, each a valid query padded to 31 MB in "extensions".
        var padding = new string('x', 31 * 1024 * 1024);
        var body = Encoding.UTF8.GetBytes($"{{\"query\":\"{{ appliance {{ name }} }}\",\"extensions\":{{\"pad\":\"{padding}\"}}}}");
        var cpuBefore = box.Cpu();
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var response = await box.Reader.PostAsync("/graphql", content);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }));
        foreach (var (status, text) in answers)
        {
            Assert.Equal(413, status);
            Assert.Contains("api.max_query_bytes", text);
        }
        Assert.True(box.Cpu() - cpuBefore < TimeSpan.FromSeconds(2), $"refusing cost {(box.Cpu() - cpuBefore).TotalMilliseconds} ms of CPU");
        await MemoryReturnsNear(idle);
        await StillAnswers();
    }

    [Fact]
    public async Task ChunkedBodiesOverTheLimitGetA413InJsonAndNoErrorInTheLog()
    {
        int logFrom = box.Edge.Output.Length;
        // No Content-Length: the server learns the size only by reading.
        var (status, text) = await RawChunkedPost("/graphql", "application/json", HostileFixture.ReadToken, 2 * 1024 * 1024);
        Assert.Equal(413, status);
        Assert.Contains("api.max_query_bytes", text);
        (status, text) = await RawChunkedPost("/pattoo/api/v1/agent/receive/x", "application/json", HostileFixture.WriteToken, 40 * 1024 * 1024);
        Assert.Equal(413, status);
        Assert.Contains("api.max_body", text);
        await Task.Delay(300);
        Assert.DoesNotContain("ERROR", box.Edge.Output[logFrom..]);
    }

    [Fact]
    public async Task GzipBombsCostBoundedMemory()
    {
        long idle = await SettledRss();
        // 1 MB on the wire inflating to 1 GB of comment lines.
        byte[] bomb;
        using (var packed = new MemoryStream())
        {
            using (var gzip = new GZipStream(packed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var line = Encoding.ASCII.GetBytes("# " + new string('a', 1021) + "\n");
                for (int i = 0; i < 1024 * 1024; i++) gzip.Write(line);
            }
            bomb = packed.ToArray();
        }
        var statuses = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var content = new ByteArrayContent(bomb);
            content.Headers.ContentType = new("text/plain");
            content.Headers.ContentEncoding.Add("gzip");
            using var response = await box.Writer.PostAsync("/api/v1/import/prometheus", content);
            return (int)response.StatusCode;
        }));
        Assert.All(statuses, s => Assert.True(s is 413 or 503, $"answered {s}"));
        Assert.Contains(413, statuses);
        await MemoryReturnsNear(idle);
        await StillAnswers();
    }

    [Fact]
    public async Task DeeplyNestedJsonOnThePattooRouteIsNamed()
    {
        var body = new string('[', 40) + new string(']', 40);
        using var response = await box.Writer.PostAsync("/pattoo/api/v1/agent/receive/x", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(400, (int)response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("nested too deep (line 1, byte", text);
        Assert.DoesNotContain("DepthTooLarge", text);
    }

    [Theory]
    [InlineData("[{\"query\":\"{ appliance { name } }\"}]", "batched requests (a JSON array) are not supported")]
    [InlineData("{\"query\": 5}", "a value has the wrong JSON type")]
    [InlineData("{\"query\": ", "the JSON ends early")]
    public async Task BadGraphQLRequestBodiesAreNamed(string json, string expected)
    {
        using var response = await box.Reader.PostAsync("/graphql", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(400, (int)response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains(expected, text);
        Assert.DoesNotContain("Deserialize", text);
    }

    [Fact]
    public async Task HealthTellsStrangersOnlyThatTheBoxIsAlive()
    {
        var anonymous = await box.Anonymous.GetStringAsync("/api/v1/health");
        using (var doc = JsonDocument.Parse(anonymous))
        {
            Assert.Equal("ok", doc.RootElement.GetProperty("status").GetString());
            Assert.Single(doc.RootElement.EnumerateObject());
        }
        var reader = await box.Reader.GetStringAsync("/api/v1/health");
        using (var doc = JsonDocument.Parse(reader))
        {
            Assert.Equal("hostile-box", doc.RootElement.GetProperty("name").GetString());
            Assert.True(doc.RootElement.TryGetProperty("pollers", out _));
        }
    }

    [Theory]
    [InlineData("r")]
    [InlineData("read-token-0123456789abcdeX")]
    [InlineData("read-token-0123456789abcdef-and-more")]
    public async Task WrongReadTokensOfAnyLengthAreRefused(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = new StringContent("{\"query\":\"{ appliance { name } }\"}", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await box.Anonymous.SendAsync(request);
        Assert.Equal(401, (int)response.StatusCode);
    }

    [Fact]
    public async Task ASecondApplianceOnTheSameStorageIsRefusedNamingTheHolder()
    {
        var other = Path.Combine(box.Dir, "second.toml");
        await File.WriteAllTextAsync(other, (await File.ReadAllTextAsync(box.Config)).Replace($"127.0.0.1:{box.Port}", $"127.0.0.1:{EdgeProcess.FreePort()}"));
        await using var second = new EdgeProcess(box.Dir, "run", "--config", other);
        Assert.Equal(1, await second.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains($"in use by process {box.Edge.Pid}", second.Output);
        await StillAnswers();
    }

    private async Task<(string Body, TimeSpan Cpu)> Measured(Func<Task<(int Status, string Body)>> request)
    {
        var before = box.Cpu();
        var (_, body) = await request();
        return (body, box.Cpu() - before);
    }

    private async Task StillAnswers()
    {
        var (status, body) = await box.GraphQL("{ appliance { name } }");
        Assert.Equal(200, status);
        Assert.Contains("hostile-box", body);
    }

    /// <summary>RSS once the heap has been trimmed after whatever ran before (the first trim runs 20 s after start).</summary>
    private async Task<long> SettledRss()
    {
        await StillAnswers();
        await Task.Delay(1500);
        return box.Rss();
    }

    /// <summary>Memory must come back to within 2x of idle once the requests are done.</summary>
    private async Task MemoryReturnsNear(long idle)
    {
        var deadline = Stopwatch.StartNew();
        long rss = box.Rss();
        while (rss > 2 * idle && deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(250);
            rss = box.Rss();
        }
        Assert.True(rss <= 2 * idle, $"RSS {rss / 1024 / 1024} MB after the requests; idle was {idle / 1024 / 1024} MB");
    }

    /// <summary>A POST with a chunked body of <paramref name="bytes"/> bytes, written on a raw socket; the status and body of the answer.</summary>
    private async Task<(int Status, string Body)> RawChunkedPost(string path, string contentType, string token, int bytes)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, box.Port);
        var stream = socket.GetStream();
        var head = $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {contentType}\r\nAuthorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var chunk = Encoding.ASCII.GetBytes(new string(' ', 64 * 1024));
        var chunkHead = Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n");
        try
        {
            for (int sent = 0; sent < bytes; sent += chunk.Length)
            {
                await stream.WriteAsync(chunkHead);
                await stream.WriteAsync(chunk);
                await stream.WriteAsync("\r\n"u8.ToArray());
            }
            await stream.WriteAsync("0\r\n\r\n"u8.ToArray());
        }
        catch (IOException)
        {
            // The server answered and closed while we were still sending: read what it said.
        }
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string response = await reader.ReadToEndAsync();
        int status = int.Parse(response.Split(' ')[1]);
        string body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        return (status, body);
    }

    /// <summary>graphql-js's getIntrospectionQuery(), which GraphiQL sends for its docs and autocomplete.</summary>
    public const string IntrospectionQuery = """
        query IntrospectionQuery {
          __schema {
            queryType { name }
            mutationType { name }
            subscriptionType { name }
            types { ...FullType }
            directives { name description locations args { ...InputValue } }
          }
        }
        fragment FullType on __Type {
          kind name description
          fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
          inputFields { ...InputValue }
          interfaces { ...TypeRef }
          enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
          possibleTypes { ...TypeRef }
        }
        fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
        fragment TypeRef on __Type {
          kind name
          ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
        }
        """;
}

[CollectionDefinition(Name)]
public sealed class HostileCollection : ICollectionFixture<HostileFixture>
{
    public const string Name = "hostile clients";
}
