using Pattoo.Edge.Tests.Support;
using Pattoo.Edge.Pollers.OpcUa;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>Reconnection and token renewal against servers of their own (they are stopped and restarted).</summary>
[Collection(TimingSensitive.Name)]
public sealed class OpcUaRestartTests
{
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
                long connectsBefore = poller.Connects;
                var after = await OpcUaTestSupport.PollUntilAsync(poller, all => all.Count >= 2, TimeSpan.FromSeconds(45));
                Assert.True(after.Count >= 2, $"values after the restart: {after.Count}; server log: {peer.Stderr}");
                Assert.True(poller.Connects > connectsBefore);
                Assert.True(poller.Subscribed);
            }
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
