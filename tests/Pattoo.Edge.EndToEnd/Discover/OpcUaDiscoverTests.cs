
namespace Pattoo.Edge.EndToEnd.Discover;

/// <summary>
/// `pattoo-edge discover opcua` against node-opcua's server (tests/peers/opcua/server.js): the
/// endpoints offered, the variables under Objects; the TOML (secured, the server's certificate
/// pinned) passes `config check` and the binary polls the values the server serves.
/// </summary>
public sealed class OpcUaDiscoverTests
{
    [Fact]
    public async Task AServerDiscoveredOverASecuredSessionPollsWhatItServes()
    {
        string dir = DiscoverSupport.NewDir("opcua");
        var (server, uaPort) = await OpcUaEndToEndTests.StartReadyServer(EndToEndSupport.RepoRoot, dir, Path.Combine(dir, "server-pki"));
        using var serverProcess = server; // the finally below ends it
        try
        {
            string endpoint = $"opc.tcp://127.0.0.1:{uaPort}";

            // anonymous, unsecured: what the server offers, and the recommendation
            var (code, toml, log) = await EdgeProcess.RunAsync("discover", "opcua", endpoint);
            Assert.True(code == 0, log);
            Assert.Contains("#   Aes256_Sha256_RsaPss/SignAndEncrypt (security level", toml, StringComparison.Ordinal);
            Assert.Contains("# Recommended: security_policy = \"Aes256_Sha256_RsaPss\", security_mode = \"SignAndEncrypt\"", toml, StringComparison.Ordinal);
            Assert.Contains("    # Objects/Line3/Double (Double)\n    node_id = \"nsu=urn:pattoo-test:opcua-server;s=Line3.Double\"\n    key = \"double\"", toml, StringComparison.Ordinal);
            Assert.DoesNotContain("Objects/Server/", toml, StringComparison.Ordinal);

            // a user over Basic256Sha256: the certificate seen is pinned in the config
            var (secCode, secToml, secLog) = await EdgeProcess.RunAsync("discover", "opcua", endpoint, "--security", "Basic256Sha256",
                "--username", "operator", "--password", "secret", "--name", "line3");
            Assert.True(secCode == 0, secLog);
            Assert.Contains("  trust_server_certificate = \"pinned\"\n  server_certificate_sha256 = \"", secToml, StringComparison.Ordinal);
            // scalars only: array elements carry an index label
            var values = (await DiscoverSupport.PollAsync(dir, secToml, "opcua", "line3"))
                .Where(s => DiscoverSupport.Label(s, "index") is null && !double.IsNaN(DiscoverSupport.Value(s)))
                .ToDictionary(s => s.GetProperty("key").GetString()!, DiscoverSupport.Value);
            Assert.Equal(3.25, values["double"]);
            Assert.Equal(1.5, values["float"]);
            Assert.Equal(-320000, values["int32"]);
            Assert.Equal(4000000000, values["uint32"]);
            Assert.Equal(1, values["bool"]);

            // a wrong password and an unreachable server: said so, exit 1; a bad policy: exit 2
            var (wrongCode, _, wrongLog) = await EdgeProcess.RunAsync("discover", "opcua", endpoint, "--username", "operator", "--password", "wrong");
            Assert.Equal(1, wrongCode);
            Assert.Contains("BadUserAccessDenied", wrongLog, StringComparison.Ordinal);
            int closed = EdgeProcess.FreePort();
            var (closedCode, _, closedLog) = await EdgeProcess.RunAsync("discover", "opcua", $"opc.tcp://127.0.0.1:{closed}");
            Assert.Equal(1, closedCode);
            Assert.Contains("Connection refused", closedLog, StringComparison.Ordinal);
            var (badCode, _, badLog) = await EdgeProcess.RunAsync("discover", "opcua", endpoint, "--security", "Basic128");
            Assert.Equal(2, badCode);
            Assert.Contains("--security: expected one of \"None\", \"Basic256Sha256\"", badLog, StringComparison.Ordinal);
        }
        finally
        {
            try { server.Kill(true); } catch (InvalidOperationException) { }
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
