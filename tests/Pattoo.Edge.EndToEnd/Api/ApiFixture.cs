using System.Net.Http.Headers;
using System.Text;

namespace Pattoo.Edge.EndToEnd.Api;

/// <summary>
/// One published appliance (Linux poller off, so the data is exactly what the tests post),
/// loaded with pattoo agent payloads for every data type, shared by the API tests.
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public const long T0 = 1_700_000_000_000;
    public const string WriteToken = "write-token-0123456789abcdef";
    public static readonly string LinuxAgentId = PattooAgentPayload.Sha256("demo");
    public static readonly string SnmpAgentId = PattooAgentPayload.Sha256("snmp");

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "pattoo-edge-api-" + Guid.NewGuid().ToString("N")[..8]);
    public int Port { get; } = EdgeProcess.FreePort();
    public EdgeProcess Edge { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    /// <summary>The posted payloads, in order, for checks of stored checksums.</summary>
    public List<PattooAgentPayload> Posted { get; } = new();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Dir);
        var config = Path.Combine(Dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"""
            [appliance]
            name = "api-box"
            [server]
            listen = "127.0.0.1:{Port}"
            [storage]
            path = "{Dir}/data"
            retention = "36500d"
            [api]
            write_tokens = ["{WriteToken}"]
            max_body = 1048576
            [linux]
            enabled = false
            """);
        Edge = new EdgeProcess(Dir, "run", "--config", config);
        await Edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}") };

        // Three polls of a Linux agent, 5 minutes apart, as pattoo_agent_linux_autonomousd posts them.
        double[] load = [1, 2, 3];
        long[] bytes = [1000, 31000, 61000];
        long[] reads = [4294967000, 200, 500]; // a 32-bit counter that wraps
        for (int i = 0; i < 3; i++)
        {
            long t = T0 + i * 300_000;
            var p = new PattooAgentPayload(LinuxAgentId, "pattoo_agent_linux_autonomousd", "host1", 300_000)
                .Add("host1", "load_average_01min", 99, (int)load[i], t)
                .Add("host1", "cpu_frequency", 101, 1234.5 + i, t, ("cpus", "8"), ("processor", "x86_64"))
                .Add("host1", "network_io_bytes_recv", 64, bytes[i], t, ("network_io_interface", "eth0"))
                .Add("host1", "disk_io_read_count", 32, reads[i], t, ("disk_partition", "sda1"))
                .Add("host1", "release", 2, i < 2 ? "5.15.0-91-generic" : "5.15.0-92-generic", t)
                .Add("host1", "no_type", null, 0, t);
            await Post(p, t);
        }
        var snmp = new PattooAgentPayload(SnmpAgentId, "pattoo_agent_snmpd", "poller.example.org", 300_000)
            .Add("core-switch", ".1.3.6.1.2.1.2.2.1.10", 32, 123456, T0, ("oid", ".1.3.6.1.2.1.2.2.1.10"), ("ifname", "ge-0/0/1"));
        await Post(snmp, T0);
    }

    private async Task Post(PattooAgentPayload payload, long t)
    {
        var response = await Http.PostAsync($"/pattoo/api/v1/agent/receive/{payload.GetHashCode()}", new StringContent(payload.ToJson(t), Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode || body != "OK") throw new InvalidOperationException($"ingest answered {(int)response.StatusCode}: {body}\n{Edge.Output}");
        Posted.Add(payload);
    }

    public async Task<(int Status, string Body)> GraphQLPost(string query, string? variablesJson = null, string accept = "application/json", string? token = null)
    {
        var json = variablesJson is null
            ? $"{{\"query\":{System.Text.Json.JsonSerializer.Serialize(query, PayloadJson.Default.String)}}}"
            : $"{{\"query\":{System.Text.Json.JsonSerializer.Serialize(query, PayloadJson.Default.String)},\"variables\":{variablesJson}}}";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/pattoo/api/v1/web/graphql") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd(accept);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Edge.DisposeAsync();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
