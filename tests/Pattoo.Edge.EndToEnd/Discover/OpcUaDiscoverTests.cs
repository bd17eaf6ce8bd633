using System.Text.Json;

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
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-discover-opcua-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int uaPort = EdgeProcess.FreePort();
        using var server = OpcUaEndToEndTests.StartServer(EndToEndSupport.RepoRoot, dir, uaPort, Path.Combine(dir, "server-pki"));
        try
        {
            await OpcUaEndToEndTests.WaitForReady(server);
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
            var values = await PollAsync(dir, secToml, "line3");
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

    /// <summary>Checks <paramref name="discovered"/> with `config check`, polls it with the binary; each key's last value.</summary>
    private static async Task<Dictionary<string, double>> PollAsync(string dir, string discovered, string server)
    {
        int port = EdgeProcess.FreePort();
        string config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"""
            [appliance]
            name = "discover-e2e"
            [server]
            listen = "127.0.0.1:{port}"
            [storage]
            path = "{dir}/data"
            [linux]
            enabled = false

            """ + discovered);
        var (code, stdout, stderr) = await EdgeProcess.RunAsync("config", "check", config);
        Assert.True(code == 0, $"config check of the discovered TOML:\n{stdout}{stderr}\n{discovered}");
        await using var edge = new EdgeProcess(dir, "run", "--config", config);
        await edge.WaitForOutputAsync($"opcua/{server}: polling OK", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var data = await EndToEndSupport.GraphQLAsync(http, "{ series(agentProgram: \"opcua\") { key agentPolledTarget lastValue labels { key value } } }");
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var s in data.GetProperty("series").EnumerateArray())
        {
            if (s.GetProperty("agentPolledTarget").GetString() != server || s.GetProperty("lastValue").ValueKind == JsonValueKind.Null) continue;
            if (s.GetProperty("labels").EnumerateArray().Any(l => l.GetProperty("key").GetString() == "index")) continue; // array elements
            values[s.GetProperty("key").GetString()!] = s.GetProperty("lastValue").GetDouble();
        }
        return values;
    }
}
