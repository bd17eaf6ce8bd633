using System.Net.Http;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd;

/// <summary>The published binary end to end: CLI, start, Linux samples, reload, stop.</summary>
public class ApplianceTests
{
    [Fact]
    public async Task CommandLineAnswersLikeAShellToolShould()
    {
        var (code, stdout, _) = await EdgeProcess.RunAsync("version");
        Assert.Equal(0, code);
        // The version from VERSION, the commit and day build.sh publish passed.
        string version = File.ReadAllText(Path.Combine(EndToEndSupport.RepoRoot, "VERSION")).Trim();
        Assert.Matches($@"^pattoo-edge {System.Text.RegularExpressions.Regex.Escape(version)} \(commit [0-9a-f]{{12}}, built \d{{4}}-\d{{2}}-\d{{2}}, linux-(x64|arm64)\)\n$", stdout);

        (code, stdout, _) = await EdgeProcess.RunAsync("--help");
        Assert.Equal(0, code);
        Assert.Contains("config check [--verbose] FILE", stdout);

        (code, _, var stderr) = await EdgeProcess.RunAsync("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("unknown command", stderr);

        // The embedded default is a valid file that config check accepts.
        (code, stdout, _) = await EdgeProcess.RunAsync("config", "default");
        Assert.Equal(0, code);
        var dir = NewDir();
        var file = Path.Combine(dir, "default.toml");
        await File.WriteAllTextAsync(file, stdout);
        (code, stdout, _) = await EdgeProcess.RunAsync("config", "check", file);
        Assert.Equal(0, code);
        Assert.Contains("OK", stdout);

        await File.WriteAllTextAsync(file, "[linux]\ninterval = 10\nenable = true\n");
        (code, _, stderr) = await EdgeProcess.RunAsync("config", "check", file);
        Assert.Equal(1, code);
        Assert.Contains("default.toml:2:12: linux.interval: expected a duration like \"10s\", got 10", stderr);
        Assert.Contains("default.toml:3:1: linux.enable: unknown key", stderr);
        Assert.Contains("2 errors", stderr);
    }

    [Fact]
    public async Task RunsPollsReloadsAndStopsWithoutLosingAcknowledgedSamples()
    {
        var dir = NewDir();
        int port = EdgeProcess.FreePort();
        var config = Path.Combine(dir, "edge.toml");
        string Config(string interval) => $"""
            [appliance]
            name = "e2e-box"
            [server]
            listen = "127.0.0.1:{port}"
            [storage]
            path = "{dir}/data"
            [log]
            level = "info"
            [linux]
            interval = "{interval}"
            """;
        await File.WriteAllTextAsync(config, Config("1s"));
        await using var edge = new EdgeProcess(dir, "run", "--config", config);
        await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
        int mark = await edge.WaitForOutputAsync("linux/e2e-box: polling OK", TimeSpan.FromSeconds(20));

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var health = JsonDocument.Parse(await http.GetStringAsync("/api/v1/health")).RootElement;
        Assert.Equal("e2e-box", health.GetProperty("name").GetString());
        Assert.True(health.GetProperty("series").GetInt32() > 10);

        // A changed config restarts the Linux poller with the new interval.
        await File.WriteAllTextAsync(config, Config("2s"));
        edge.Signal(EdgeProcess.SIGHUP);
        mark = await edge.WaitForOutputAsync("linux/e2e-box: polling every 2s", TimeSpan.FromSeconds(10), mark);
        // A broken config is rejected and the running one kept.
        await File.WriteAllTextAsync(config, Config("2s") + "\n[linux]\n");
        edge.Signal(EdgeProcess.SIGHUP);
        mark = await edge.WaitForOutputAsync("reload rejected", TimeSpan.FromSeconds(10), mark);
        Assert.False(edge.HasExited);
        await Task.Delay(2500);
        health = JsonDocument.Parse(await http.GetStringAsync("/api/v1/health")).RootElement;
        long acknowledged = health.GetProperty("samples_written").GetInt64();
        Assert.True(acknowledged > 0);

        edge.Signal(EdgeProcess.SIGTERM);
        Assert.Equal(0, await edge.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Contains("stopped in", edge.Output);

        // Started again (on the last good config), the box has every acknowledged sample: the
        // sealed chunks and the head log it replays.
        await File.WriteAllTextAsync(config, Config("2s"));
        await using var again = new EdgeProcess(dir, "run", "--config", config);
        await again.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
        var data = await EndToEndSupport.GraphQLAsync(http, """
            { appliance { sampleCount } allAgent { edges { node { agentProgram agentPolledTarget } } }
              series(key: "memory_total_bytes", agentProgram: "linux") { lastValue } }
            """);
        long stored = data.GetProperty("appliance").GetProperty("sampleCount").GetInt64();
        Assert.True(stored >= acknowledged, $"{stored} samples stored, {acknowledged} were acknowledged");
        Assert.Single(data.GetProperty("allAgent").GetProperty("edges").EnumerateArray(),
            e => e.GetProperty("node").GetProperty("agentProgram").GetString() == "linux" && e.GetProperty("node").GetProperty("agentPolledTarget").GetString() == "e2e-box");
        // Memory total as the poller stored it matches /proc/meminfo.
        long memTotalKb = long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        Assert.Equal(memTotalKb * 1024.0, Assert.Single(data.GetProperty("series").EnumerateArray()).GetProperty("lastValue").GetDouble());
    }

    [Fact]
    public async Task ABrokenConfigRefusesToStartWithEveryError()
    {
        var dir = NewDir();
        var config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, "[server]\nlisten = \"everywhere\"\n[storage]\nretention = \"1y\"\n");
        await using var edge = new EdgeProcess(dir, "run", "--config", config);
        Assert.Equal(1, await edge.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Contains("edge.toml:2:10: server.listen", edge.Output);
        Assert.Contains("edge.toml:4:13: storage.retention", edge.Output);
        Assert.Contains("not starting", edge.Output);
    }

    private static string NewDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-e2e-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
