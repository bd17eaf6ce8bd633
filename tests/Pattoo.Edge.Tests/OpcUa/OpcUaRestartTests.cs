using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.OpcUa;
using Pattoo.Edge.Protocols.OpcUa;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>Reconnection and token renewal against servers of their own (they are stopped and restarted).</summary>
[Collection(TimingSensitive.Name)]
public sealed class OpcUaRestartTests
{
    [Theory]
    [InlineData(120, new[] { 1.0, 2, 4, 8, 15, 15 })]     // the default session timeout: up to 15 s
    [InlineData(20, new[] { 1.0, 2, 4, 5, 5, 5 })]        // a quarter of the session timeout
    [InlineData(2, new[] { 1.0, 1, 1, 1, 1, 1 })]         // never below 1 s
    [InlineData(3600, new[] { 1.0, 2, 4, 8, 15, 15 })]
    public void ReconnectBackoffStaysWellInsideTheSessionTimeout(int sessionTimeoutSeconds, double[] seconds)
    {
        var timeout = TimeSpan.FromSeconds(sessionTimeoutSeconds);
        var schedule = Enumerable.Range(1, seconds.Length).Select(f => OpcUaPoller.RetryDelay(f, timeout).TotalSeconds).ToArray();
        Assert.Equal(seconds, schedule);
        Assert.Equal(seconds[^1], OpcUaPoller.RetryDelay(int.MaxValue, timeout).TotalSeconds, 6);
    }

    [Fact]
    public async Task SubscriptionResumesAfterTheServerRestarts()
    {
        string scratch = Directory.CreateTempSubdirectory("pattoo-opcua-restart-").FullName;
        try
        {
            string pki = Path.Combine(scratch, "server-pki");
            var peer = await OpcUaPeer.StartAsync(pki);
            int port = peer.Port;
            string state = Path.Combine(scratch, "state");
            Directory.CreateDirectory(Path.Combine(state, "opcua", "pki", "trusted"));
            File.WriteAllBytes(Path.Combine(state, "opcua", "pki", "trusted", "server.der"), peer.Certificate);
            await using var poller = OpcUaTestSupport.Poller($"""
                [[opcua.servers]]
                name = "restarting"
                endpoint = "{peer.Endpoint}"
                security_policy = "Basic256Sha256"
                mode = "subscribe"
                interval = "200ms"
                sampling_interval = "100ms"
                timeout = "2s"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.Counter"
                  key = "counter"
                """, state);
            var before = await OpcUaTestSupport.PollUntilAsync(poller, all => all.Count >= 2, TimeSpan.FromSeconds(30));
            Assert.True(before.Count >= 2, "values before the restart");

            await peer.DisposeAsync();
            // While the server is down, polls fail (once the values already received are handed over).
            var down = await OpcUaTestSupport.PollUntilAsync(poller, _ => !poller.Subscribed, TimeSpan.FromSeconds(15));
            Assert.False(poller.Subscribed);
            await Assert.ThrowsAsync<OpcUaConnectionException>(async () => { await OpcUaTestSupport.PollAsync(poller); await OpcUaTestSupport.PollAsync(poller); });

            peer = await OpcUaPeer.StartAsync(pki, port);
            await using (peer)
            {
                long connectsBefore = poller.Counters[OpcUaCounter.SessionsOpened];
                var after = await OpcUaTestSupport.PollUntilAsync(poller, all => all.Count >= 2, TimeSpan.FromSeconds(45));
                Assert.True(after.Count >= 2, $"values after the restart: {after.Count}; server log: {peer.Stderr}");
                Assert.True(poller.Counters[OpcUaCounter.SessionsOpened] > connectsBefore);
                Assert.True(poller.Subscribed);
            }
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task SubscriptionContinuesOnTheSameSessionAfterANetworkBreak()
    {
        var (poller, _) = await BreakTheLinkAsync("2m", TimeSpan.FromSeconds(3));
        Assert.Equal(1, poller.Counters[OpcUaCounter.SessionsOpened]);              // one session...
        Assert.True(poller.Counters[OpcUaCounter.SessionReactivations] >= 1);        // ...carried over to a new channel
        Assert.Equal(0, poller.Counters[OpcUaCounter.SubscriptionTransfers]);
        Assert.Equal(1, poller.Counters[OpcUaCounter.SubscriptionsCreated]);  // and the same subscription
    }

    // Once flaky: a backoff timer firing a moment early made the loop skip attempts (8 s, 15 s, ...)
    // until the subscription's lifetime ran out.
    [Fact]
    public async Task SubscriptionIsTransferredWhenTheSessionTimedOutDuringABreak()
    {
        var (poller, log) = await BreakTheLinkAsync("2s", TimeSpan.FromSeconds(4));
        Assert.Equal(2, poller.Counters[OpcUaCounter.SessionsOpened]);              // the server dropped the first session...
        Assert.Equal(1, poller.Counters[OpcUaCounter.SubscriptionTransfers]);             // ...but kept its subscription for the new one
        Assert.Equal(1, poller.Counters[OpcUaCounter.SubscriptionsCreated]);
    }

    /// <summary>
    /// A link that flaps: cuts of 50 ms to 6 s, some right after the link came back (during the
    /// reconnect's handshake), with a 2 s session timeout so several breaks outlive the session.
    /// Every counter value must arrive, on the one subscription, with nothing the server could
    /// not send again. (Found: backoff outgrowing the subscription's lifetime; an acknowledgement
    /// sent for a message not yet stored; messages already fetched requested again.)
    /// </summary>
    [Fact]
    public async Task SubscriptionLosesNothingOnAFlappingLink()
    {
        await using var link = await RelayedCounter.StartAsync("flapping", sessionTimeout: "2s", timeout: "3s");
        var (poller, relay) = (link.Poller, link.Relay);
        var values = await OpcUaTestSupport.PollUntilAsync(poller, all => all.Count >= 3, TimeSpan.FromSeconds(30));
        Assert.True(values.Count >= 3, $"values before the first break: {values.Count}");

        using var stop = new CancellationTokenSource();
        var collecting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var (batch, _) = await OpcUaTestSupport.PollAsync(poller);
                    lock (values) values.AddRange(batch.Items.ToArray());
                }
                catch (Exception e) when (e is OpcUaConnectionException or OpcUaServiceException or TimeoutException) { }
                await Task.Delay(200);
            }
        });
        // (seconds up, seconds down): short cuts keep the session; 4-6 s ones outlive it
        // (a transfer); 0.3 s up between cuts hits the reconnect in its handshake.
        (double Up, double Down)[] schedule = [(1.3, 0.05), (1.5, 4), (0.3, 1), (2.1, 6), (0.8, 2.5), (2.6, 0.3), (1.2, 6), (0.3, 0.3), (2, 0.05), (0.6, 1)];
        foreach (var (up, down) in schedule)
        {
            await Task.Delay(TimeSpan.FromSeconds(up));
            relay.Cut();
            await Task.Delay(TimeSpan.FromSeconds(down));
            relay.Restore();
        }
        var back = System.Diagnostics.Stopwatch.StartNew();
        while (!poller.Subscribed && back.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
        Assert.True(poller.Subscribed, "subscribed again after the last cut");
        await Task.Delay(2000);
        await stop.CancelAsync();
        await collecting;

        var (counts, holes) = RelayedCounter.Holes(values);
        string what = $"connects {poller.Counters[OpcUaCounter.SessionsOpened]}, reactivations {poller.Counters[OpcUaCounter.SessionReactivations]}, transfers {poller.Counters[OpcUaCounter.SubscriptionTransfers]}, " +
            $"created {poller.Counters[OpcUaCounter.SubscriptionsCreated]}, republished {poller.Counters[OpcUaCounter.Republished]}, missed {poller.Counters[OpcUaCounter.RepublishMissed]}, span {counts[0]}..{counts[^1]}";
        Assert.True(holes.Count == 0, $"holes in the counter: {string.Join(", ", holes)}; {what}");
        Assert.True(poller.Counters[OpcUaCounter.SubscriptionsCreated] == 1, what);
        Assert.True(poller.Counters[OpcUaCounter.RepublishMissed] == 0, what);
        Assert.True(poller.Counters[OpcUaCounter.SubscriptionTransfers] >= 1 && poller.Counters[OpcUaCounter.SessionReactivations] >= 1, what);
        Assert.True(counts[^1] - counts[0] > 250, what);
    }

    [Fact]
    public async Task PollModeKeepsItsSessionAcrossANetworkBreak()
    {
        string scratch = Directory.CreateTempSubdirectory("pattoo-opcua-pollbreak-").FullName;
        try
        {
            await using var peer = await OpcUaPeer.StartAsync(Path.Combine(scratch, "server-pki"));
            await using var relay = new TcpRelay(peer.Port);
            await using var poller = OpcUaTestSupport.Poller($"""
                [[opcua.servers]]
                name = "polling"
                endpoint = "opc.tcp://127.0.0.1:{relay.Port}"
                interval = "1s"
                timeout = "1s"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;i=5001"
                  key = "numeric"
                """, Path.Combine(scratch, "state"));
            var (first, _) = await OpcUaTestSupport.PollAsync(poller);
            Assert.Equal(1, first.Count);

            relay.Cut();
            await Assert.ThrowsAsync<OpcUaConnectionException>(async () => await OpcUaTestSupport.PollAsync(poller));
            relay.Restore();
            var values = await OpcUaTestSupport.PollUntilAsync(poller, all => all.Count > 0, TimeSpan.FromSeconds(20));
            Assert.Single(values);
            Assert.Equal(50.01, values[0].Value, 6);
            Assert.Equal(1, poller.Counters[OpcUaCounter.SessionsOpened]);
            Assert.True(poller.Counters[OpcUaCounter.SessionReactivations] >= 1, "the same session went on over a new channel");
            Assert.True(relay.Accepted >= 2);
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Subscribes through a <see cref="TcpRelay"/>, cuts the link for <paramref name="down"/> while
    /// the server keeps sampling a counter (+1 every 100 ms) into a monitored item queue of 1000,
    /// restores it, and checks the stored counter has no hole where the link was down.
    /// </summary>
    private static async Task<(OpcUaPoller Poller, string ServerLog)> BreakTheLinkAsync(string sessionTimeout, TimeSpan down)
    {
        await using var link = await RelayedCounter.StartAsync("breaking", sessionTimeout, timeout: "5s");
        var (poller, relay, peer) = (link.Poller, link.Relay, link.Peer);
        var values = await OpcUaTestSupport.PollUntilAsync(poller, all => all.Count >= 5, TimeSpan.FromSeconds(30));
        Assert.True(values.Count >= 5, $"values before the break: {values.Count}");

        relay.Cut();
        for (var until = DateTime.UtcNow.AddSeconds(10); poller.Subscribed && DateTime.UtcNow < until;) await Task.Delay(50);
        Assert.False(poller.Subscribed, "the poller noticed the break");
        await Task.Delay(down);
        double lastBefore = values.Max(v => v.Value);
        relay.Restore();
        // Attempts go 200 ms after the break, then 1, 2, 4 s apart: the one after a break
        // of at most 5 s comes within 8 s of the link's return (a skipped attempt would not).
        var restored = System.Diagnostics.Stopwatch.StartNew();
        while (!poller.Subscribed && restored.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(20);
        Assert.True(restored.Elapsed < TimeSpan.FromSeconds(9), $"subscribed again {restored.Elapsed.TotalSeconds:0.0} s after the link came back");

        // Back (the reconnect backs off for up to 15 s): wait for values well past the break.
        // (and past the 60 counts the span check below needs: a quick reconnect can be back early).
        double first = values.Min(v => v.Value);
        double wanted = Math.Max(lastBefore + 50, first + 61);
        values.AddRange(await OpcUaTestSupport.PollUntilAsync(poller,
            all => all.Count > 0 && all.Max(v => v.Value) >= wanted, TimeSpan.FromSeconds(40)));
        Assert.True(poller.Subscribed);

        var (counts, holes) = RelayedCounter.Holes(values);
        Assert.True(holes.Count == 0, $"holes in the counter: {string.Join(", ", holes)}; republished {poller.Counters[OpcUaCounter.Republished]}, " +
            $"reactivations {poller.Counters[OpcUaCounter.SessionReactivations]}, transfers {poller.Counters[OpcUaCounter.SubscriptionTransfers]}, values {string.Join(" ", counts)}; server log: {peer.Stderr}");
        Assert.True(counts[^1] - counts[0] > 60, $"the values span {counts[0]}..{counts[^1]}");
        return (poller, peer.Stderr);
    }

    /// <summary>
    /// A node-opcua server (trusted) behind a <see cref="TcpRelay"/> the test cuts, and a poller
    /// subscribed through it, Basic256Sha256/SignAndEncrypt, to the server's counter (+1 every
    /// 100 ms, sampled every 100 ms into a queue of 1000, published every 200 ms).
    /// </summary>
    private sealed class RelayedCounter(string scratch, OpcUaPeer peer, TcpRelay relay, OpcUaPoller poller) : IAsyncDisposable
    {
        public OpcUaPeer Peer => peer;
        public TcpRelay Relay => relay;
        public OpcUaPoller Poller => poller;

        public static async Task<RelayedCounter> StartAsync(string name, string sessionTimeout, string timeout)
        {
            string scratch = Directory.CreateTempSubdirectory($"pattoo-opcua-{name}-").FullName;
            var peer = await OpcUaPeer.StartAsync(Path.Combine(scratch, "server-pki"));
            var relay = new TcpRelay(peer.Port);
            string state = Path.Combine(scratch, "state");
            Directory.CreateDirectory(Path.Combine(state, "opcua", "pki", "trusted"));
            File.WriteAllBytes(Path.Combine(state, "opcua", "pki", "trusted", "server.der"), peer.Certificate);
            var poller = OpcUaTestSupport.Poller($"""
                [[opcua.servers]]
                name = "{name}"
                endpoint = "opc.tcp://127.0.0.1:{relay.Port}"
                security_policy = "Basic256Sha256"
                security_mode = "SignAndEncrypt"
                mode = "subscribe"
                interval = "200ms"
                sampling_interval = "100ms"
                queue_size = 1000
                session_timeout = "{sessionTimeout}"
                timeout = "{timeout}"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.Counter"
                  key = "counter"
                """, state);
            return new RelayedCounter(scratch, peer, relay, poller);
        }

        /// <summary>The distinct counter values in order, and the gaps of more than 4 counts between them.</summary>
        public static (double[] Counts, List<(double From, double To)> Holes) Holes(IEnumerable<Pattoo.Edge.Common.Sample> values)
        {
            var counts = values.Select(v => v.Value).Distinct().Order().ToArray();
            return (counts, counts.Zip(counts.Skip(1), (a, b) => (From: a, To: b)).Where(p => p.To - p.From > 4).ToList());
        }

        public async ValueTask DisposeAsync()
        {
            await poller.DisposeAsync();
            await relay.DisposeAsync();
            await peer.DisposeAsync();
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// A subscription on the poller's session that it does not track (as one whose CreateSubscription
    /// answer was lost with the link would be): its values are taken and it is deleted, so the
    /// server does not publish every value twice for the life of the session.
    /// </summary>
    [Fact]
    public async Task AStraySubscriptionOnTheSessionIsDeleted()
    {
        string scratch = Directory.CreateTempSubdirectory("pattoo-opcua-stray-").FullName;
        try
        {
            await using var peer = await OpcUaPeer.StartAsync(Path.Combine(scratch, "server-pki"));
            await using var poller = OpcUaTestSupport.Poller($"""
                [[opcua.servers]]
                name = "stray"
                endpoint = "{peer.Endpoint}"
                mode = "subscribe"
                interval = "100ms"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.Counter"
                  key = "counter"
                """, Path.Combine(scratch, "state"));
            var before = await OpcUaTestSupport.PollUntilAsync(poller, all => all.Count >= 2, TimeSpan.FromSeconds(30));
            Assert.True(before.Count >= 2, "values before");

            var session = poller.Session!;
            var ct = CancellationToken.None;
            var stray = await session.CreateSubscriptionAsync(100, 600, 10, ct);
            var items = await session.CreateMonitoredItemsAsync(stray.SubscriptionId,
                [new MonitoredItemRequest(NodeId.Parse("ns=1;s=Line3.Counter"), 0, 100, 10)], ct);
            Assert.True(items[0].Status.IsGood);

            // The poller's Publish requests now also bring the stray's messages: it deletes it.
            StatusCode probe = default;
            for (var until = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < until; await Task.Delay(300))
            {
                // Probe without deleting: a transfer to the same session of a live subscription is
                // refused as BadNothingToDo, of a deleted one as BadSubscriptionIdInvalid.
                probe = (await session.TransferSubscriptionAsync(stray.SubscriptionId, ct)).Status;
                if (probe.CodeBits != 0x800F0000) break;
            }
            Assert.Equal("BadSubscriptionIdInvalid", probe.Name);
            var after = await OpcUaTestSupport.PollUntilAsync(poller, all => all.Count >= 3, TimeSpan.FromSeconds(10));
            Assert.True(after.Count >= 3, "values go on");
            Assert.Equal(1, poller.Counters[OpcUaCounter.SubscriptionsCreated]);
            Assert.True(poller.Subscribed);
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task SubscriptionIsTransferredToANewSession()
    {
        string scratch = Directory.CreateTempSubdirectory("pattoo-opcua-transfer-").FullName;
        try
        {
            await using var peer = await OpcUaPeer.StartAsync(Path.Combine(scratch, "server-pki"));
            var server = OpcUaTestSupport.Bind($"""
                [[opcua.servers]]
                name = "transfer"
                endpoint = "{peer.Endpoint}"
                mode = "subscribe"
                interval = "100ms"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.Counter"
                  key = "counter"
                """).Servers[0];
            var store = new OpcUaCertificateStore(Path.Combine(scratch, "state", "pki"), "transfer-test");
            var ct = CancellationToken.None;
            var first = await UaSession.ConnectAsync(server, store, ct);
            var sub = await first.CreateSubscriptionAsync(100, 600, 10, ct);
            var items = await first.CreateMonitoredItemsAsync(sub.SubscriptionId,
                [new MonitoredItemRequest(NodeId.Parse("ns=1;s=Line3.Counter"), 7, 100, 100)], ct);
            Assert.True(items[0].Status.IsGood);
            var one = await first.PublishAsync([], TimeSpan.FromSeconds(10), ct);
            Assert.Equal(sub.SubscriptionId, one.SubscriptionId);
            // The first session's channel goes away without closing the session (a client that crashed).
            await first.AbandonChannelAsync();
            await Task.Delay(500);

            await using var second = await UaSession.ConnectAsync(server, store, ct);
            var transferred = await second.TransferSubscriptionAsync(sub.SubscriptionId, ct);
            Assert.True(transferred.Status.IsGood, transferred.Status.ToString());
            var next = await second.PublishAsync([(sub.SubscriptionId, one.Message.SequenceNumber)], TimeSpan.FromSeconds(10), ct);
            Assert.Equal(sub.SubscriptionId, next.SubscriptionId);
            Assert.Contains(next.Message.DataChanges, c => c.ClientHandle == 7);

            var unknown = await second.TransferSubscriptionAsync(sub.SubscriptionId + 1000, ct);
            Assert.True(unknown.Status.IsBad);
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task SecurityTokenIsRenewedBeforeItExpires()
    {
        string scratch = Directory.CreateTempSubdirectory("pattoo-opcua-renew-").FullName;
        try
        {
            await using var peer = await OpcUaPeer.StartAsync(Path.Combine(scratch, "server-pki"));
            var store = new OpcUaCertificateStore(Path.Combine(scratch, "state", "pki"), "renew-test");
            var own = store.GetApplicationCertificate();
            await using var channel = await UaChannel.OpenAsync("127.0.0.1", peer.Port, peer.Endpoint, SecurityPolicy.Basic256Sha256,
                MessageSecurityMode.SignAndEncrypt, own, peer.Certificate, TimeSpan.FromSeconds(5), CancellationToken.None, TimeSpan.FromSeconds(2));
            uint firstToken = channel.Token!.TokenId;
            var until = DateTime.UtcNow.AddSeconds(20);
            while (channel.Renewals < 2 && DateTime.UtcNow < until)
            {
                var r = await channel.CallAsync("GetEndpoints", (w, h) => UaServices.WriteGetEndpoints(w, h, peer.Endpoint),
                    EncodingIds.GetEndpointsResponse, UaServices.DecodeGetEndpoints, TimeSpan.FromSeconds(5), CancellationToken.None);
                Assert.NotEmpty(r.Endpoints);
                await Task.Delay(250);
            }
            Assert.True(channel.Renewals >= 2, $"renewals: {channel.Renewals} (revised lifetime {channel.Token.RevisedLifetimeMs} ms)");
            Assert.NotEqual(firstToken, channel.Token.TokenId);
            Assert.True(channel.IsOpen);
            await channel.CloseAsync();
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }
}
