using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd;

/// <summary>
/// The published AOT binary against node-opcua's server (tests/peers/opcua/server.js) on
/// 127.0.0.1: one server entry over SecurityPolicy None, anonymous, polled; one over
/// Basic256Sha256 SignAndEncrypt with a user name and password, subscribed. This is where the
/// codec, RSA/AES/HMAC and the certificate store first run as native code.
/// </summary>
public class OpcUaEndToEndTests
{
    [Fact]
    public async Task PollOverNoneAndSubscribeOverSignAndEncryptAreStoredWithTheirNodeIds()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-opcua-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var root = EndToEndSupport.RepoRoot;
        if (!Directory.Exists(Path.Combine(root, "tests", "peers", "node_modules", "node-opcua")))
            throw new InvalidOperationException("tests/peers/node_modules has no node-opcua: run npm ci --prefix tests/peers (./build.sh test does)");
        int port = EdgeProcess.FreePort();
        string serverPki = Path.Combine(dir, "server-pki");
        var (server, opcPort) = await StartReadyServer(root, dir, serverPki);
        using var serverProcess = server; // the finally below ends it
        try
        {

            // Trust the server's certificate the way the README tells an operator: put it in
            // <storage.path>/opcua/pki/trusted before the first connection.
            string data = Path.Combine(dir, "data");
            string trusted = Path.Combine(data, "opcua", "pki", "trusted");
            Directory.CreateDirectory(trusted);
            string pem = await File.ReadAllTextAsync(Path.Combine(serverPki, "server", "own", "certs", "certificate.pem"));
            using (var cert = X509Certificate2.CreateFromPem(pem))
                await File.WriteAllBytesAsync(Path.Combine(trusted, "test-server.der"), cert.RawData);

            var config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, $"""
                [appliance]
                name = "e2e-gw"
                [server]
                listen = "127.0.0.1:{port}"
                [storage]
                path = "{data}"
                [linux]
                enabled = false

                [[opcua.servers]]
                name = "plc-plain"
                endpoint = "opc.tcp://127.0.0.1:{opcPort}"
                security_policy = "None"
                security_mode = "None"
                mode = "poll"
                interval = "1s"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.Bool"
                  key = "bool"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.Int64"
                  key = "int64"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.UInt64"
                  key = "uint64"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.Float"
                  key = "float"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.String"
                  key = "string"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.DateTime"
                  key = "datetime"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.DoubleArray"
                  key = "doubles"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;g=09087e75-8e5e-499b-954f-f2a9603db28a"
                  key = "guid"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;b=AQIDBA=="
                  key = "opaque"

                [[opcua.servers]]
                name = "plc-secure"
                endpoint = "opc.tcp://127.0.0.1:{opcPort}"
                security_policy = "Basic256Sha256"
                security_mode = "SignAndEncrypt"
                username = "operator"
                password = "secret"
                mode = "subscribe"
                interval = "1s"
                sampling_interval = "100ms"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.Counter"
                  key = "counter"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;i=5001"
                  key = "numeric"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.Int32Array"
                  key = "ints"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;s=Line3.String"
                  key = "string"

                [[opcua.servers]]
                name = "plc-pss"
                endpoint = "opc.tcp://127.0.0.1:{opcPort}"
                security_policy = "Aes256_Sha256_RsaPss"
                security_mode = "Sign"
                username = "operator"
                password = "secret"
                interval = "1s"
                  [[opcua.servers.nodes]]
                  node_id = "ns=1;i=5001"
                  key = "numeric"
                """);
            await using var edge = new EdgeProcess(dir, "run", "--config", config);
            try
            {
                await edge.WaitForOutputAsync("opcua/plc-plain: polling OK", TimeSpan.FromSeconds(60));
                await edge.WaitForOutputAsync("opcua/plc-secure: polling OK", TimeSpan.FromSeconds(60));
                await edge.WaitForOutputAsync("opcua/plc-pss: polling OK", TimeSpan.FromSeconds(60));
                await Task.Delay(2500); // more polls and a few Counter changes

                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                var data1 = await EndToEndSupport.GraphQLAsync(http, "{ series(agentProgram: \"opcua\") { idxDatapoint key dataType agentPolledTarget labels { key value } } pollers { program name ok diagnostics { name value } } }");
                var series = data1.GetProperty("series").EnumerateArray().Select(Series.From).ToList();

                // Poll mode, None/anonymous: every type, node_id as configured, arrays by index.
                var plain = series.Where(s => s.Target == "plc-plain").ToList();
                Expect(plain, "bool", "ns=1;s=Line3.Bool", null, 99);
                Expect(plain, "int64", "ns=1;s=Line3.Int64", null, 99);
                Expect(plain, "uint64", "ns=1;s=Line3.UInt64", null, 99);
                Expect(plain, "float", "ns=1;s=Line3.Float", null, 101);
                Expect(plain, "string", "ns=1;s=Line3.String", null, 2);
                Expect(plain, "datetime", "ns=1;s=Line3.DateTime", null, 99);
                Expect(plain, "doubles", "ns=1;s=Line3.DoubleArray", "0", 101);
                Expect(plain, "doubles", "ns=1;s=Line3.DoubleArray", "1", 101);
                Expect(plain, "guid", "ns=1;g=09087e75-8e5e-499b-954f-f2a9603db28a", null, 99);
                Expect(plain, "opaque", "ns=1;b=AQIDBA==", null, 99);
                Assert.Equal(10, plain.Count);

                // Subscribe mode, Basic256Sha256/SignAndEncrypt with a user name.
                var secure = series.Where(s => s.Target == "plc-secure").ToList();
                Expect(secure, "counter", "ns=1;s=Line3.Counter", null, 99);
                Expect(secure, "numeric", "ns=1;i=5001", null, 101);
                for (int i = 0; i < 3; i++) Expect(secure, "ints", "ns=1;s=Line3.Int32Array", i.ToString(CultureInfo.InvariantCulture), 99);
                Expect(secure, "string", "ns=1;s=Line3.String", null, 2);
                Assert.Equal(6, secure.Count);

                // Poll mode, Aes256_Sha256_RsaPss/Sign (RSA-PSS signatures, SHA-256 OAEP password).
                var pss = series.Where(s => s.Target == "plc-pss").ToList();
                Expect(pss, "numeric", "ns=1;i=5001", null, 101);
                Assert.Single(pss);

                var pollers = data1.GetProperty("pollers").EnumerateArray().Where(p => p.GetProperty("program").GetString() == "opcua").ToList();
                Assert.Equal(3, pollers.Count);
                var secureFigures = pollers.Single(p => p.GetProperty("name").GetString() == "plc-secure").GetProperty("diagnostics").EnumerateArray()
                    .ToDictionary(d => d.GetProperty("name").GetString()!, d => d.GetProperty("value").GetInt64());
                Assert.Equal(1, secureFigures["sessionsOpened"]);
                Assert.Equal(1, secureFigures["subscriptionsCreated"]);
                Assert.True(secureFigures["notifications"] > 0, string.Join(", ", secureFigures));
                Assert.All(pollers, p => Assert.True(p.GetProperty("ok").GetBoolean(), p.ToString()));

                // Values as the server serves them (tests/peers/opcua/server.js).
                var expected = new List<(Series S, double Value)>
                {
                    (Find(plain, "bool"), 1),
                    (Find(plain, "int64"), -64),
                    (Find(plain, "uint64"), 4294967296),
                    (Find(plain, "float"), 1.5),
                    (Find(plain, "datetime"), 1704164645678),
                    (Find(plain, "doubles", "0"), 0.5),
                    (Find(plain, "doubles", "1"), -0.25),
                    (Find(plain, "guid"), 77),
                    (Find(plain, "opaque"), 1234),
                    (Find(secure, "numeric"), 50.01),
                    (Find(pss, "numeric"), 50.01),
                    (Find(secure, "ints", "0"), 10),
                    (Find(secure, "ints", "1"), 20),
                    (Find(secure, "ints", "2"), 30),
                };
                var q = new StringBuilder("{ ");
                for (int i = 0; i < expected.Count; i++)
                    q.Append(CultureInfo.InvariantCulture, $"v{i}: timeseries(idxDatapoint: \"{expected[i].S.Idx}\") {{ points {{ value }} }} ");
                q.Append(CultureInfo.InvariantCulture, $"counter: timeseries(idxDatapoint: \"{Find(secure, "counter").Idx}\", aggregate: \"last\") {{ points {{ value }} }} ");
                q.Append(CultureInfo.InvariantCulture, $"s1: timeseries(idxDatapoint: \"{Find(plain, "string").Idx}\") {{ texts {{ value }} }} ");
                q.Append(CultureInfo.InvariantCulture, $"s2: timeseries(idxDatapoint: \"{Find(secure, "string").Idx}\") {{ texts {{ value }} }} }}");
                var ts = await EndToEndSupport.GraphQLAsync(http, q.ToString());
                for (int i = 0; i < expected.Count; i++)
                {
                    var points = ts.GetProperty($"v{i}").GetProperty("points").EnumerateArray().Select(p => p.GetProperty("value").GetDouble()).ToList();
                    Assert.True(points.Count > 0, $"{expected[i].S.Target}/{expected[i].S.Key}[{expected[i].S.Index}]: no points");
                    Assert.All(points, v => Assert.Equal(expected[i].Value, v, 6));
                }
                // The counter counts up every 100 ms: the subscription delivered changing values.
                var counter = ts.GetProperty("counter").GetProperty("points").EnumerateArray().Select(p => p.GetProperty("value").GetDouble()).ToList();
                Assert.True(counter.Count >= 2, $"counter: {counter.Count} points");
                Assert.True(counter[^1] > counter[0], $"counter did not change: {string.Join(", ", counter)}");
                foreach (var name in new[] { "s1", "s2" })
                {
                    var texts = ts.GetProperty(name).GetProperty("texts").EnumerateArray().Select(t => t.GetProperty("value").GetString()).ToList();
                    Assert.NotEmpty(texts);
                    Assert.All(texts, t => Assert.Equal("hello \u00e9", t));
                }

                // Our application certificate was made under the state directory, the server's was not rejected.
                Assert.True(File.Exists(Path.Combine(data, "opcua", "pki", "own", "certificate.der")), "no application certificate");
                string rejected = Path.Combine(data, "opcua", "pki", "rejected");
                Assert.True(!Directory.Exists(rejected) || Directory.GetFiles(rejected).Length == 0, "a server certificate was rejected");
                Assert.DoesNotContain("poll failed", OpcUaLines(edge.Output, "plc-plain"));
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                throw new InvalidOperationException($"{e.Message}\n--- appliance output ---\n{Tail(edge.Output)}", e);
            }
            catch (Xunit.Sdk.XunitException)
            {
                Console.Error.WriteLine(Tail(edge.Output));
                throw;
            }
        }
        finally
        {
            try { server.Kill(true); } catch (InvalidOperationException) { }
            await server.WaitForExitAsync();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private sealed record Series(string Idx, string Key, int DataType, string? Target, string? NodeId, string? Index)
    {
        public static Series From(JsonElement s)
        {
            var labels = s.GetProperty("labels").EnumerateArray()
                .ToDictionary(l => l.GetProperty("key").GetString()!, l => l.GetProperty("value").GetString());
            return new Series(s.GetProperty("idxDatapoint").GetString()!, s.GetProperty("key").GetString()!, s.GetProperty("dataType").GetInt32(),
                s.GetProperty("agentPolledTarget").GetString(), labels.GetValueOrDefault("node_id"), labels.GetValueOrDefault("index"));
        }
    }

    private static Series Find(List<Series> series, string key, string? index = null)
        => series.Single(s => s.Key == key && s.Index == index);

    private static void Expect(List<Series> series, string key, string nodeId, string? index, int dataType)
    {
        var s = series.SingleOrDefault(s => s.Key == key && s.Index == index)
            ?? throw new Xunit.Sdk.XunitException($"no series {key}{(index is null ? "" : $"[{index}]")}; have: {string.Join(", ", series.Select(x => $"{x.Key}[{x.Index}]"))}");
        Assert.Equal(nodeId, s.NodeId);
        Assert.Equal(dataType, s.DataType);
    }

    private static string OpcUaLines(string output, string name)
        => string.Join("\n", output.Split('\n').Where(l => l.Contains($"opcua/{name}:", StringComparison.Ordinal)));

    private static string Tail(string output) => output.Length > 6000 ? output[^6000..] : output;

    /// <summary>
    /// The OPC UA peer on a free port, READY. A port FreePort saw free can be taken before node
    /// listens on it (tests run side by side): the server then ends with EADDRINUSE and is
    /// started again on another, up to three times.
    /// </summary>
    internal static async Task<(Process Server, int Port)> StartReadyServer(string root, string dir, string pki)
    {
        for (int attempt = 1; ; attempt++)
        {
            int port = EdgeProcess.FreePort();
            var server = StartServer(root, dir, port, pki);
            try
            {
                await WaitForReady(server);
                return (server, port);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                server.Dispose();
            }
            catch
            {
                if (!server.HasExited) server.Kill(entireProcessTree: true);
                server.Dispose();
                throw;
            }
        }
    }

    internal static Process StartServer(string root, string dir, int port, string pki)
    {
        string peers = Path.Combine(root, "tests", "peers");
        var psi = new ProcessStartInfo("node")
        {
            WorkingDirectory = peers,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { Path.Combine(peers, "opcua", "server.js"), "--port", port.ToString(CultureInfo.InvariantCulture), "--pki", pki })
            psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException("node did not start");
    }

    /// <summary>node-opcua makes its certificate on first start: allow 60 s for "READY".</summary>
    internal static async Task WaitForReady(Process p)
    {
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (await p.StandardOutput.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("READY", StringComparison.Ordinal))
                {
                    _ = DrainAsync(p.StandardOutput);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException("the OPC UA server did not get ready in 60 s");
        }
        throw new InvalidOperationException($"the OPC UA server ended before READY: {await stderr}");
    }

    private static async Task DrainAsync(StreamReader r)
    {
        try { while (await r.ReadLineAsync() is not null) { } }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
    }
}
