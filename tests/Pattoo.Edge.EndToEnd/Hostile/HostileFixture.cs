using System.Net.Http.Headers;
using System.Text;

namespace Pattoo.Edge.EndToEnd.Hostile;

/// <summary>
/// The published binary as a stranger on the LAN meets it: reads need a token, writes need
/// another, and the limits are the defaults (only the listen address and storage are set),
/// so these tests hold the defaults a box ships with to account.
/// </summary>
public sealed class HostileFixture : IAsyncLifetime
{
    public const string ReadToken = "read-token-0123456789abcdef";
    public const string WriteToken = "write-token-0123456789abcdef";

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "pattoo-edge-hostile-" + Guid.NewGuid().ToString("N")[..8]);
    public int Port { get; } = EdgeProcess.FreePort();
    public string Config => Path.Combine(Dir, "edge.toml");
    public EdgeProcess Edge { get; private set; } = null!;
    /// <summary>Sends no token.</summary>
    public HttpClient Anonymous { get; private set; } = null!;
    /// <summary>Sends the read token.</summary>
    public HttpClient Reader { get; private set; } = null!;
    /// <summary>Sends the write token.</summary>
    public HttpClient Writer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Dir);
        await File.WriteAllTextAsync(Config, $"""
            [appliance]
            name = "hostile-box"
            [server]
            listen = "127.0.0.1:{Port}"
            [storage]
            path = "{Dir}/data"
            [api]
            read_tokens = ["{ReadToken}"]
            write_tokens = ["{WriteToken}"]
            ingest_allow = []
            [linux]
            enabled = false
            """);
        Edge = new EdgeProcess(Dir, "run", "--config", Config);
        await Edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
        Anonymous = Client(null);
        Reader = Client(ReadToken);
        Writer = Client(WriteToken);
    }

    private HttpClient Client(string? token)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>POSTs a GraphQL request as the reader; the status and body.</summary>
    public async Task<(int Status, string Body)> GraphQL(string query)
    {
        var json = $"{{\"query\":{System.Text.Json.JsonSerializer.Serialize(query, Api.PayloadJson.Default.String)}}}";
        using var response = await Reader.PostAsync("/graphql", new StringContent(json, Encoding.UTF8, "application/json"));
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>User plus system CPU of the appliance so far (from /proc; 10 ms resolution).</summary>
    public TimeSpan Cpu()
    {
        var stat = File.ReadAllText($"/proc/{Edge.Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
        long ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    /// <summary>Resident memory of the appliance now, in bytes.</summary>
    public long Rss()
    {
        foreach (var line in File.ReadLines($"/proc/{Edge.Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim().Split(' ')[0]) * 1024;
        }
        throw new InvalidOperationException("no VmRSS");
    }

    public async Task DisposeAsync()
    {
        Anonymous.Dispose();
        Reader.Dispose();
        Writer.Dispose();
        await Edge.DisposeAsync();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
