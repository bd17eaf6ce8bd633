using System.Net;
using System.Net.Sockets;
using Pattoo.Edge.Host;
using Pattoo.Edge.Pollers;

namespace Pattoo.Edge.Tests.Host;

/// <summary>The host the binary runs, embedded: start, reload (good and bad files), stop; and what it asks of every poller.</summary>
public class EdgeHostTests
{
    [Fact]
    public async Task RunsReloadsTheFileAndStops()
    {
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-host-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            int port = FreePort();
            string file = Path.Combine(dir, "edge.toml");
            string Config(string name, bool linux) => $"""
                [appliance]
                name = "{name}"
                [server]
                listen = "127.0.0.1:{port}"
                [storage]
                path = "{dir}/data"
                [log]
                level = "warning"
                [linux]
                enabled = {(linux ? "true" : "false")}
                """;
            File.WriteAllText(file, Config("first", linux: false));
            await using var host = new EdgeHost(EdgeOptions.LoadFile(file), file);
            using var stop = new CancellationTokenSource();
            var run = host.RunAsync(stop.Token);
            await host.Ready.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Empty(host.Targets);
            using var http = new HttpClient();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{port}/api/v1/health")).StatusCode);

            // A good file applies: the poller section and the name.
            File.WriteAllText(file, Config("second", linux: true));
            host.RequestReload();
            await Until(() => host.ReloadCount == 1);
            Assert.Equal("second", host.Name);
            Assert.Equal("linux", Assert.Single(host.Targets).Program);

            // A bad file is refused and the running configuration kept.
            File.WriteAllText(file, Config("third", linux: true) + "\n[linux]\nenabled = 7\n");
            host.RequestReload();
            await Until(() => host.ReloadCount == 2);
            Assert.Equal("second", host.Name);
            Assert.Single(host.Targets);

            stop.Cancel();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync($"http://127.0.0.1:{port}/api/v1/health"));
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task AStoreThatCannotOpenEndsTheRunWithExitCode1()
    {
        string file = Path.Combine(Path.GetTempPath(), "pattoo-edge-host-" + Guid.NewGuid().ToString("N") + ".toml");
        // A storage path under a regular file cannot be created.
        File.WriteAllText(file, $"[server]\nlisten = \"127.0.0.1:{FreePort()}\"\n[storage]\npath = \"{file}/data\"\n[linux]\nenabled = false\n");
        try
        {
            await using var host = new EdgeHost(EdgeOptions.LoadFile(file), file);
            Assert.Equal(1, await host.RunAsync(default).WaitAsync(TimeSpan.FromSeconds(30)));
            await Assert.ThrowsAnyAsync<Exception>(() => host.Ready);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Every poller's sample.toml binds, and <c>config check --verbose</c> has a plan for each.</summary>
    [Theory]
    [InlineData("linux", "linux: this host every 10s")]
    [InlineData("snmp", "snmp target \"")]
    [InlineData("modbus", "modbus device \"")]
    [InlineData("bacnet", "bacnet device \"")]
    [InlineData("opcua", "opcua server \"")]
    public void EverySampleBindsAndHasAPlan(string section, string planStart)
    {
        string text = EdgeOptions.SampleText(section)!;
        Assert.NotNull(text);
        var options = EdgeOptions.Parse(section == "linux" ? text : text + "\n[linux]\nenabled = false\n", $"sample.{section}.toml");
        var poller = Assert.Single(options.Pollers, p => p.TargetCount > 0);
        Assert.Equal(section, poller.Program);
        Assert.StartsWith(planStart, poller.DescribePlan());
        Assert.Equal(options.TargetCount, poller.TargetCount);
        Assert.Equal(PollerModules.All.Select(m => m.Section), options.Pollers.Select(p => p.Program));
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the host did not get there in 30 s");
            await Task.Delay(20);
        }
    }
}
