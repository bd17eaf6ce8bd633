using System.Collections.Concurrent;
using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Bacnet;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Bacnet;

/// <summary>
/// Change of value against the device peer (@bacnet-js/client takes SubscribeCOV; the peer
/// sends notifications when a value is set on its stdin): subscription after the first poll,
/// notifications stored as they arrive (unconfirmed and confirmed), safety reads only, a
/// device that refuses, renewal, and resubscription after the device restarted.
/// </summary>
public sealed class BacnetCovTests : IAsyncLifetime
{
    private BacnetDevicePeer _peer = null!;
    private readonly ConcurrentQueue<(string Key, double Value)> _pushed = new();

    public async Task InitializeAsync() => _peer = await BacnetDevicePeer.StartAsync(("cov", 5001, "normal"), ("nocov", 5002, "no-cov"));

    public async Task DisposeAsync() => await _peer.DisposeAsync();

    private static string Config(int device, string extra = "") => $"""
        [bacnet]
        local_address = "127.0.0.1"
        local_port = {FreePorts.Udp()}

        [[bacnet.devices]]
        name = "ahu-1"
        address = "127.0.0.1:{device}"
        timeout = "1s"
        retries = 1
        interval = "1s"
        cov = true
        cov_lifetime = "10s"
        cov_safety_interval = "1h"
        {extra}

          [[bacnet.devices.objects]]
          object = "analog-input:0"
          key = "supply_air_temp"
        """;

    private BacnetPoller Poller(string toml)
        => (BacnetPoller)Assert.Single(BacnetTestSupport.Bind(toml).CreateTargets(PollerTestSupport.Appliance, new BacnetTransportRegistry(), Push));

    private Task Push(SampleBatch batch)
    {
        foreach (ref readonly var s in batch.Items) _pushed.Enqueue((s.Series.Key, s.Value));
        return Task.CompletedTask;
    }

    private async Task<double> NextPushed(string key = "supply_air_temp")
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < until)
        {
            while (_pushed.TryDequeue(out var p)) if (p.Key == key) return p.Value;
            await Task.Delay(20);
        }
        throw new TimeoutException("no COV notification was stored");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ObjectsAreSubscribedAfterTheFirstPollAndTheirChangesStoredAsTheyArrive(bool confirmed)
    {
        await using var poller = Poller(Config(_peer.Ports["cov"], $"cov_confirmed = {(confirmed ? "true" : "false")}"));
        var (batch, _) = await PollerTestSupport.PollAsync(poller);
        Assert.Equal(2, batch.Count); // the first poll reads it (and its units), then subscribes
        await _peer.WaitForLineAsync(l => l == $"SUBSCRIBED cov 0:0 {(confirmed ? "confirmed" : "unconfirmed")} 10", "take the subscription");
        Assert.Equal(13.5, await NextPushed()); // the current value, sent with the subscription (clause 13.1.2)
        await _peer.SetAsync("cov", "0:0", 21.75);
        Assert.Equal(21.75, await NextPushed());
        Assert.Equal(1, poller.CovSubscriptions);
        // Until cov_safety_interval is up, a poll reads one value only: to know the device is still there.
        (batch, _) = await PollerTestSupport.PollAsync(poller);
        Assert.Equal(1, batch.Count);
        Assert.Equal(1, poller.RequestsLastPoll);
        Assert.DoesNotContain("COV notification", _peer.Stderr, StringComparison.Ordinal); // every confirmed one was acknowledged
        Assert.Contains(poller.Diagnostics, d => d.Key == "socket.covNotifications" && d.Value >= 2);
    }

    [Fact]
    public async Task ADeviceThatRefusesIsPolledEveryInterval()
    {
        await using var poller = Poller(Config(_peer.Ports["nocov"]));
        await PollerTestSupport.PollAsync(poller);
        Assert.Equal(0, poller.CovSubscriptions);
        var (batch, _) = await PollerTestSupport.PollAsync(poller);
        Assert.Equal(2, batch.Count);
        Assert.Equal(1, poller.RequestsLastPoll); // read, and no second SubscribeCOV
    }

    [Fact]
    public async Task SubscriptionsAreRenewedAndMadeAgainAfterTheDeviceRestarted()
    {
        var ports = new Dictionary<string, int> { ["cov"] = _peer.Ports["cov"] };
        await using var poller = Poller(Config(_peer.Ports["cov"]));
        await PollerTestSupport.PollAsync(poller);
        await _peer.WaitForLineAsync(l => l.StartsWith("SUBSCRIBED cov 0:0 ", StringComparison.Ordinal), "take the subscription");

        // The device restarts: it has forgotten the subscription. The renewal at half the lifetime makes it again.
        await _peer.DisposeAsync();
        _peer = await BacnetDevicePeer.StartAsync(ports, ("cov", 5001, "normal"), ("nocov", 5002, "no-cov"));
        await _peer.SetAsync("cov", "0:0", 30);
        await Task.Delay(300);
        while (_pushed.TryDequeue(out _)) { }
        // Polled every half second until the renewal (due 5 s after the first subscription) is
        // taken; on a loaded machine the restart alone may take seconds.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            await PollerTestSupport.PollAsync(poller);
            try
            {
                await _peer.WaitForLineAsync(l => l.StartsWith("SUBSCRIBED cov 0:0 ", StringComparison.Ordinal), TimeSpan.FromMilliseconds(500), "take the renewed subscription");
                break;
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline) { }
        }
        Assert.Equal(30, await NextPushed());
        await _peer.SetAsync("cov", "0:0", 31.5);
        Assert.Equal(31.5, await NextPushed());

        // Away for a poll (muted): the subscription is made again as soon as it answers.
        await _peer.CommandAsync("mute", "cov");
        await Assert.ThrowsAsync<BacnetTransportException>(() => PollerTestSupport.PollAsync(poller, TimeSpan.FromSeconds(10)));
        Assert.Equal(0, poller.CovSubscriptions);
        await _peer.CommandAsync("unmute", "cov");
        await PollerTestSupport.PollAsync(poller);
        await _peer.WaitForLineAsync(l => l.StartsWith("SUBSCRIBED cov 0:0 ", StringComparison.Ordinal), "take the subscription again");
        Assert.Equal(1, poller.CovSubscriptions);
    }

    [Fact]
    public void CovIsCheckedWithTheRestOfTheConfig()
    {
        var e = Assert.Throws<global::Pattoo.Edge.Config.ConfigException>(() => BacnetTestSupport.Bind($"""
            [[bacnet.devices]]
            name = "ahu-1"
            address = "127.0.0.1"
            interval = "1m"
            cov_safety_interval = "30s"
              [[bacnet.devices.objects]]
              object = "analog-input:0"
              key = "name"
              property = "object-name"
              cov = true
            """));
        Assert.Equal(
        [
            "config.toml:5:23: bacnet.devices[0].cov_safety_interval: 30s is shorter than the interval (1m): objects with COV are read at least every interval",
            "config.toml:10:9: bacnet.devices[0].objects[0].cov: change of value reports present-value and status-flags: this object reads another property, so it is polled",
        ], e.Errors.Select(x => x.ToString()));
    }
}
