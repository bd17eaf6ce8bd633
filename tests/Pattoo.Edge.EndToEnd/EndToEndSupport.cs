using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd;

/// <summary>What every end-to-end test needs: the repository root and a GraphQL call.</summary>
public static class EndToEndSupport
{
    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "Pattoo.Edge.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException($"Pattoo.Edge.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>
    /// Starts the published binary as an ingest box: no Linux poller, ingest_allow empty (so only
    /// <paramref name="token"/> may post) and a 64 KiB max_body; returns once it is ready.
    /// </summary>
    public static async Task<(EdgeProcess Edge, HttpClient Http)> StartIngestBoxAsync(string dir, int port, string name, string token)
    {
        Directory.CreateDirectory(dir);
        var config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"""
            [appliance]
            name = "{name}"
            [server]
            listen = "127.0.0.1:{port}"
            [storage]
            path = "{dir}/data"
            retention = "36500d"
            [api]
            write_tokens = ["{token}"]
            ingest_allow = []
            max_body = 65536
            [linux]
            enabled = false
            """);
        var edge = new EdgeProcess(dir, "run", "--config", config);
        await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
        return (edge, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
    }

    /// <summary>
    /// The head of a test box's config: its name, the API on 127.0.0.1:<paramref name="port"/>, the
    /// store in <paramref name="dir"/>/data and no Linux poller; the test's own tables follow.
    /// </summary>
    public static string BoxConfig(string name, int port, string dir, string rest) => $"""
        [appliance]
        name = "{name}"
        [server]
        listen = "127.0.0.1:{port}"
        [storage]
        path = "{dir}/data"
        [linux]
        enabled = false
        {rest}
        """;

    /// <summary>POSTs <paramref name="query"/> to /graphql and returns its data; GraphQL errors throw.</summary>
    public static async Task<JsonElement> GraphQLAsync(HttpClient http, string query)
    {
        var body = $"{{\"query\":{JsonSerializer.Serialize(query, Api.PayloadJson.Default.String)}}}";
        using var response = await http.PostAsync("/graphql", new StringContent(body, Encoding.UTF8, "application/json"));
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        if (root.TryGetProperty("errors", out var errors)) throw new InvalidOperationException($"GraphQL errors: {errors}");
        return root.GetProperty("data").Clone();
    }
}
