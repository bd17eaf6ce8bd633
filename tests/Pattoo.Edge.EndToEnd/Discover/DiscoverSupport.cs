using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Discover;

/// <summary>What every discover test does with what discovery printed: check it, poll it, read back what was stored.</summary>
internal static class DiscoverSupport
{
    /// <summary>
    /// Writes a config of <paramref name="discovered"/> under a test box's own sections
    /// (<paramref name="extra"/>: more, such as a [bacnet] socket), checks it with `config check`,
    /// runs the binary until <paramref name="program"/>/<paramref name="target"/> polled once, and
    /// returns that target's series (key, lastValue, labels).
    /// </summary>
    public static async Task<List<JsonElement>> PollAsync(string dir, string discovered, string program, string target, string extra = "")
    {
        int port = EdgeProcess.FreePort();
        string config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, EndToEndSupport.BoxConfig("discover-e2e", port, dir, extra + "\n") + discovered);
        var (code, stdout, stderr) = await EdgeProcess.RunAsync("config", "check", config);
        Assert.True(code == 0, $"config check of the discovered TOML:\n{stdout}{stderr}\n{discovered}");
        await using var edge = new EdgeProcess(dir, "run", "--config", config);
        await edge.WaitForOutputAsync($"{program}/{target}: polling OK", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var data = await EndToEndSupport.GraphQLAsync(http, $"{{ series(agentProgram: \"{program}\") {{ key agentPolledTarget lastValue labels {{ key value }} }} }}");
        return [.. data.GetProperty("series").EnumerateArray().Where(s => s.GetProperty("agentPolledTarget").GetString() == target)];
    }

    /// <summary>A series' last value; NaN when none is stored yet (a counter's rate needs two polls) or it is text.</summary>
    public static double Value(JsonElement series)
        => series.GetProperty("lastValue").ValueKind == JsonValueKind.Null ? double.NaN : series.GetProperty("lastValue").GetDouble();

    /// <summary>The value of a label, or null.</summary>
    public static string? Label(JsonElement series, string key)
        => series.GetProperty("labels").EnumerateArray().Where(l => l.GetProperty("key").GetString() == key).Select(l => l.GetProperty("value").GetString()).FirstOrDefault();

    /// <summary>A fresh directory for one test.</summary>
    public static string NewDir(string what)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"pattoo-edge-discover-{what}-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
