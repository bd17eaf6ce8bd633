using System.Globalization;
using Pattoo.Edge.Pollers.Bacnet;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Bacnet;

internal static class BacnetTestSupport
{
    /// <summary>Binds a [bacnet] table; throws ConfigException listing every error, sorted by position.</summary>
    public static BacnetOptions Bind(string toml, string file = "config.toml") => PollerTestSupport.Bind(toml, "bacnet", BacnetOptions.Bind, file);

    public static List<BacnetPoller> Pollers(BacnetOptions options, BacnetTransportRegistry registry)
        => options.CreateTargets(PollerTestSupport.Appliance, registry).Cast<BacnetPoller>().ToList();
}

/// <summary>
/// BACnet devices from tests/peers/bacnet/device.js (@bacnet-js/client) run by node on 127.0.0.1.
/// Starting waits for "READY" and throws, failing the test, when node or the peer cannot start.
/// </summary>
internal sealed class BacnetDevicePeer : IAsyncDisposable
{
    private readonly PeerProcess _process;

    private BacnetDevicePeer(PeerProcess process, Dictionary<string, int> ports)
    {
        _process = process;
        Ports = ports;
    }

    /// <summary>Each device's UDP port, by its name.</summary>
    public IReadOnlyDictionary<string, int> Ports { get; }

    /// <summary>Starts devices given as (name, instance, mode); each gets a free port.</summary>
    public static Task<BacnetDevicePeer> StartAsync(params (string Name, int Instance, string Mode)[] devices) => StartAsync(null, devices);

    /// <summary>Starts devices on the ports given (a restart of a device: same port, subscriptions forgotten), others on free ones.</summary>
    public static async Task<BacnetDevicePeer> StartAsync(IReadOnlyDictionary<string, int>? ports0, params (string Name, int Instance, string Mode)[] devices)
    {
        var ports = new Dictionary<string, int>(StringComparer.Ordinal);
        var args = new List<string>();
        foreach (var (name, instance, mode) in devices)
        {
            int port = ports0 is not null && ports0.TryGetValue(name, out int fixedPort) ? fixedPort : FreePorts.Udp();
            ports[name] = port;
            args.Add(string.Create(CultureInfo.InvariantCulture, $"{name}:{port}:{instance}:{mode}"));
        }
        var process = await PeerProcess.StartNodeAsync(Path.Combine("bacnet", "device.js"), Path.Combine("@bacnet-js", "client"), args,
            "bacnet device peer", TimeSpan.FromSeconds(15));
        return new BacnetDevicePeer(process, ports);
    }

    public string Stderr => _process.Stderr;

    /// <summary>"mute NAME" / "unmute NAME": the device stops (or resumes) answering; waits for the peer's "OK".</summary>
    public async Task CommandAsync(string command, string device)
    {
        await _process.WriteLineAsync($"{command} {device}");
        await _process.WaitForLineAsync(line => line == $"OK {command} {device}", TimeSpan.FromSeconds(5), $"answer {command} {device}");
    }

    /// <summary>"set NAME TYPE:INSTANCE VALUE": the object's present value changes and its COV subscribers are notified.</summary>
    public Task SetAsync(string device, string objectKey, double value)
        => CommandAsync("set", device, string.Create(CultureInfo.InvariantCulture, $" {objectKey} {value}"));

    private async Task CommandAsync(string command, string device, string arguments)
    {
        await _process.WriteLineAsync($"{command} {device}{arguments}");
        await _process.WaitForLineAsync(line => line == $"OK {command} {device}", TimeSpan.FromSeconds(5), $"answer {command} {device}");
    }

    /// <summary>Waits for a line the peer prints ("SUBSCRIBED NAME 0:0 unconfirmed 10").</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> matches, string waitingTo) => _process.WaitForLineAsync(matches, TimeSpan.FromSeconds(10), waitingTo);

    public Task<string> WaitForLineAsync(Func<string, bool> matches, TimeSpan timeout, string waitingTo) => _process.WaitForLineAsync(matches, timeout, waitingTo);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
