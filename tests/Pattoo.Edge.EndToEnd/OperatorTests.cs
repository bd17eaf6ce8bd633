using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Pattoo.Edge.EndToEnd;

/// <summary>
/// The published binary as a technician meets it: where it is started from, what it says
/// about a wrong command line, a missing file or an unusable storage directory, and what
/// config check warns about. Each message case is a command in and words out.
/// </summary>
public partial class OperatorTests
{
    [Fact]
    public async Task StartsFromTheRootDirectoryAsFastAsFromAnyOther()
    {
        // systemd starts a unit without WorkingDirectory= in "/": the web host once watched
        // the working directory recursively and took 3-13 s to answer from there.
        var dir = NewDir();
        foreach (var workDir in new[] { "/", dir })
        {
            int port = EdgeProcess.FreePort();
            var config = await Config(dir, port);
            var started = Stopwatch.StartNew();
            await using var edge = new EdgeProcess(workDir, "run", "--config", config);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            while (true)
            {
                try
                {
                    using var response = await http.GetAsync("/api/v1/health");
                    if (response.IsSuccessStatusCode) break;
                }
                catch (HttpRequestException)
                {
                }
                Assert.False(edge.HasExited, edge.Output);
                Assert.True(started.Elapsed < TimeSpan.FromSeconds(1), $"started in {workDir}: no answer within 1 s\n{edge.Output}");
                await Task.Delay(10);
            }
            edge.Signal(EdgeProcess.SIGTERM);
            Assert.Equal(0, await edge.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        }
    }

    [Fact]
    public async Task ReadyTimeCountsFromTheBinarysStartNotFromTheShellThatExecsIt()
    {
        var dir = NewDir();
        int port = EdgeProcess.FreePort();
        var config = await Config(dir, port);
        // build.sh run publishes for minutes and then execs the binary in the same process.
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = dir };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"sleep 2; exec '{EdgeProcess.Binary}' run --config '{config}'");
        using var shell = Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        shell.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        shell.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        shell.BeginErrorReadLine();
        shell.BeginOutputReadLine();
        try
        {
            var deadline = Stopwatch.StartNew();
            Match ready;
            while (!(ready = ReadyIn().Match(Text())).Success)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), Text());
                await Task.Delay(50);
            }
            Assert.True(int.Parse(ready.Groups[1].Value) < 1000, ready.Value);
        }
        finally
        {
            shell.Kill(entireProcessTree: true);
            await shell.WaitForExitAsync();
        }

        string Text() { lock (output) return output.ToString(); }
    }

    public static TheoryData<string[], int, string> CommandCases => new()
    {
        { ["config", "check"], 2, "usage: pattoo-edge config check [--verbose] FILE" },
        { ["config", "check", "--verbose"], 2, "usage: pattoo-edge config check [--verbose] FILE" },
        { ["config", "check", "/nonexistent/edge.toml"], 1, "/nonexistent/edge.toml: cannot read the file: no such file or directory" },
        { ["config", "sample", "pump"], 2, "no sample named \"pump\"; one of: linux, snmp, modbus, bacnet, opcua" },
        { ["import", "key_translation", "--filename", "/nonexistent/x.csv"], 1, "cannot read /nonexistent/x.csv: no such file or directory" },
    };

    [Theory]
    [MemberData(nameof(CommandCases))]
    public async Task BadCommandsAndMissingFilesAreNamedInWords(string[] args, int code, string expected)
    {
        var (exit, stdout, stderr) = await EdgeProcess.RunAsync(args);
        Assert.Equal(code, exit);
        Assert.Contains(expected, stdout + stderr);
        Assert.DoesNotMatch(ResourceKey(), stdout + stderr);
    }

    [Theory]
    [InlineData("snmp")]
    [InlineData("modbus")]
    [InlineData("bacnet")]
    [InlineData("opcua")]
    [InlineData("linux")]
    public async Task EverySampleThatTheDefaultConfigPointsToIsEmbedded(string name)
    {
        var (code, stdout, _) = await EdgeProcess.RunAsync("config", "sample", name);
        Assert.Equal(0, code);
        Assert.Contains($"[", stdout);
        var (_, defaults, _) = await EdgeProcess.RunAsync("config", "default");
        if (name != "linux") Assert.Contains($"pattoo-edge config sample {name}", defaults);
        Assert.DoesNotContain("src/Pattoo.Edge.Pollers", defaults);
    }

    [Theory]
    [InlineData("file", "is a file; it must be a directory")]
    [InlineData("/proc/pattoo-edge-cannot-be-here", "cannot create the storage directory /proc/pattoo-edge-cannot-be-here (storage.path): no such file or directory")]
    public async Task AnUnusableStoragePathIsNamedWithItsCause(string path, string expected)
    {
        var dir = NewDir();
        if (path == "file")
        {
            path = Path.Combine(dir, "not-a-dir");
            await File.WriteAllTextAsync(path, "x");
        }
        var config = await Config(dir, EdgeProcess.FreePort(), path);
        await using var edge = new EdgeProcess(dir, "run", "--config", config);
        Assert.Equal(1, await edge.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Contains(expected, edge.Output);
        Assert.DoesNotMatch(ResourceKey(), edge.Output);
    }

    [Fact]
    public async Task ConfigCheckWarnsAboutLikelyMistakesButAcceptsTheFile()
    {
        var dir = NewDir();
        var file = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(file, """
            [linux]
            enabled = false
            [[modbus.devices]]
            name = "meter"
            address = "127.0.0.1:1502"
            interval = "2s"
            timeout = "1s"
            retries = 2
            [[modbus.devices.values]]
            key = "flow"
            table = "holding"
            address = 40001
            type = "uint16"
            [[modbus.devices.values]]
            key = "temp"
            table = "input"
            address = 5
            type = "uint16"
            """);
        var (code, stdout, stderr) = await EdgeProcess.RunAsync("config", "check", file);
        Assert.Equal(0, code);
        Assert.Contains("OK", stdout);
        Assert.Contains("modbus.devices \"meter\": timeout 1s x (retries 2 + 1) = 3s is longer than the interval 2s", stderr);
        Assert.Contains("value \"flow\": address 40001 looks like a 4xxxx register number", stderr);
        Assert.Contains("probably address 0", stderr);
        Assert.DoesNotContain("\"temp\"", stderr);
    }

    [Fact]
    public async Task AFullDiskIsLoggedOnceWithItsRecoveryAndAStopOnItExitsZero()
    {
        // A file system of its own, small enough to fill: tmpfs (the tests run as root, as CI does).
        var dir = NewDir();
        var mount = Path.Combine(dir, "small");
        Directory.CreateDirectory(mount);
        Assert.Equal(0, await Run("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mount));
        try
        {
            int port = EdgeProcess.FreePort();
            var config = await Config(dir, port, Path.Combine(mount, "data"));
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var agent = Api.PattooAgentPayload.Sha256("disk");
            long t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            int round = 0;
            async Task<int> Post()
            {
                // New series every time: the catalog rows need new pages, which a full disk refuses
                // (samples alone go to the head log, whose space is allocated ahead).
                var payload = new Api.PattooAgentPayload(agent, "pattoo_agent_disk", "disk-host", 10_000);
                round++;
                for (int i = 0; i < 200; i++) payload.Add("disk-host", $"value_{round}_{i}", 101, i * 1.5, t);
                t += 10_000;
                using var response = await http.PostAsync("/pattoo/api/v1/agent/receive/disk", new StringContent(payload.ToJson(t), System.Text.Encoding.UTF8, "application/json"));
                return (int)response.StatusCode;
            }
            Assert.Equal(200, await Post());
            // Fill what is left, then keep posting: every post is refused, the log says so once.
            var filler = Path.Combine(mount, "filler");
            await Run("sh", "-c", $"dd if=/dev/zero of={filler} bs=64k 2>/dev/null; true");
            int refused = 0;
            for (int i = 0; i < 20; i++) if (await Post() == 503) refused++;
            Assert.True(refused >= 15, $"{refused} of 20 posts refused on a full disk\n{edge.Output}");
            Assert.Single(Regex.Matches(edge.Output, "ERROR.*storage: a write of"));
            File.Delete(filler);
            Assert.Equal(200, await Post());
            await edge.WaitForOutputAsync("storage: writes work again after", TimeSpan.FromSeconds(5));
            // Full again at the stop: the checkpoint cannot run, but nothing acknowledged is lost.
            await Run("sh", "-c", $"dd if=/dev/zero of={filler} bs=64k 2>/dev/null; true");
            edge.Signal(EdgeProcess.SIGTERM);
            Assert.Equal(0, await edge.WaitForExitAsync(TimeSpan.FromSeconds(20)));
            Assert.DoesNotContain("fatal", edge.Output);
        }
        finally
        {
            await Run("umount", "-l", mount);
        }
    }

    private static async Task<int> Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        await p.WaitForExitAsync();
        return p.ExitCode;
    }

    /// <summary>A framework resource key such as IO_FileNotFound_FileName or ArrayDepthTooLarge.</summary>
    [GeneratedRegex(@"\b[A-Z][a-z]+(?:_[A-Za-z]+)+\b|\b(?:[A-Z][a-z]+){3,}\b")]
    private static partial Regex ResourceKey();

    [GeneratedRegex(@"ready in (\d+) ms")]
    private static partial Regex ReadyIn();

    private static async Task<string> Config(string dir, int port, string? storage = null)
    {
        var config = Path.Combine(dir, $"edge-{port}.toml");
        await File.WriteAllTextAsync(config, $"""
            [server]
            listen = "127.0.0.1:{port}"
            [storage]
            path = "{storage ?? Path.Combine(dir, "data-" + port)}"
            [linux]
            enabled = false
            """);
        return config;
    }

    private static string NewDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-operator-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
