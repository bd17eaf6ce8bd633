using System.Security.Cryptography.X509Certificates;
using static Pattoo.Edge.EndToEnd.Write.WriteBackSupport;

namespace Pattoo.Edge.EndToEnd.Write;

/// <summary>
/// OPC UA Write through the published binary to node-opcua: over Basic256Sha256 SignAndEncrypt as
/// the user with write rights (the Operator role), read back; refused by the server for a
/// read-only node, for an anonymous session without the right, and for a value it rejects.
/// </summary>
public sealed class OpcUaWriteBackTests
{
    [Fact]
    public async Task NodesAreWrittenOverASecureSessionAndRefusedWithoutTheRight()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-write-opcua-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var root = EndToEndSupport.RepoRoot;
        int port = EdgeProcess.FreePort();
        string serverPki = Path.Combine(dir, "server-pki");
        var (server, opcPort) = await OpcUaEndToEndTests.StartReadyServer(root, dir, serverPki);
        using var serverProcess = server; // the finally below ends it
        try
        {
            string trusted = Path.Combine(dir, "data", "opcua", "pki", "trusted");
            Directory.CreateDirectory(trusted);
            string pem = await File.ReadAllTextAsync(Path.Combine(serverPki, "server", "own", "certs", "certificate.pem"));
            using (var cert = X509Certificate2.CreateFromPem(pem))
                await File.WriteAllBytesAsync(Path.Combine(trusted, "test-server.der"), cert.RawData);

            var config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, EndToEndSupport.BoxConfig("write-gw", port, dir, $"""
                {WriteConfig("100ms")}

                [[opcua.servers]]
                name = "plc-secure"
                endpoint = "opc.tcp://127.0.0.1:{opcPort}"
                security_policy = "Basic256Sha256"
                security_mode = "SignAndEncrypt"
                username = "operator"
                password = "secret"
                interval = "1s"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Controls.Setpoint"
                  key = "setpoint"
                  writable = true
                  min = 0
                  max = 150
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Controls.Mode"
                  key = "mode"
                  writable = true
                  allowed = [1, 2, 3]
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Controls.Enabled"
                  key = "enabled"
                  writable = true
                  allowed = [0, 1]
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Controls.Measured"
                  key = "read_only"
                  writable = true
                  min = 0
                  max = 10

                [[opcua.servers]]
                name = "plc-anonymous"
                endpoint = "opc.tcp://127.0.0.1:{opcPort}"
                security_policy = "None"
                security_mode = "None"
                interval = "1s"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Controls.Setpoint"
                  key = "setpoint_anonymous"
                  writable = true
                  min = 0
                  max = 150
                """));
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            await edge.WaitForOutputAsync("opcua/plc-secure: polling OK", TimeSpan.FromSeconds(60));
            await edge.WaitForOutputAsync("opcua/plc-anonymous: polling OK", TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var ids = await WaitForIdsAsync(http, "opcua", "setpoint", "mode", "enabled", "read_only", "setpoint_anonymous");

            // Double, Int32 and Boolean nodes, in their own types, as the user with the Operator role.
            var setpoint = await WriteAsync(http, ids["setpoint"], "23.5");
            Assert.Equal(("written", "21", "23.5"), (setpoint.GetProperty("result").GetString(), setpoint.GetProperty("oldValue").GetString(), setpoint.GetProperty("readBackValue").GetString()));
            Assert.Equal("3", (await WriteAsync(http, ids["mode"], "3")).GetProperty("readBackValue").GetString());
            Assert.Equal("1", (await WriteAsync(http, ids["enabled"], "true")).GetProperty("readBackValue").GetString());

            // The server's refusals: a read-only node, an anonymous session, a value it rejects.
            var (readOnly, readOnlyCode) = await RefusedAsync(http, ids["read_only"], "5");
            Assert.Equal("DEVICE_REFUSED", readOnlyCode);
            Assert.Contains("BadNotWritable", readOnly);
            var (anonymous, anonymousCode) = await RefusedAsync(http, ids["setpoint_anonymous"], "30");
            Assert.Equal("DEVICE_REFUSED", anonymousCode);
            Assert.Contains("BadUserAccessDenied", anonymous);
            await Task.Delay(150);
            var (range, rangeCode) = await RefusedAsync(http, ids["setpoint"], "120");
            Assert.Equal("DEVICE_REFUSED", rangeCode);
            Assert.Contains("BadOutOfRange", range);
            Assert.Equal("OUT_OF_LIMITS", (await RefusedAsync(http, ids["mode"], "4")).Code);

            // What the server holds is the write the operator made, nothing else.
            await Task.Delay(1500);
            var latest = (await EndToEndSupport.GraphQLAsync(http, "{ series(agentProgram: \"opcua\") { key lastValue } }")).GetProperty("series")
                .EnumerateArray().ToDictionary(s => s.GetProperty("key").GetString()!, s => s.GetProperty("lastValue").GetDouble());
            Assert.Equal(23.5, latest["setpoint"]);
            Assert.Equal(23.5, latest["setpoint_anonymous"]);
            Assert.Equal(3.25, latest["read_only"]);
            Assert.Equal(2, (await AuditAsync(http, ids["setpoint"])).Count);
        }
        finally
        {
            try { server.Kill(true); } catch (InvalidOperationException) { }
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
