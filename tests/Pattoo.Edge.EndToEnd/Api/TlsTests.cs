using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pattoo.Edge.EndToEnd.Api;

/// <summary>server.tls_certificate and server.tls_key: the API over HTTPS from PEM files.</summary>
public class TlsTests
{
    [Fact]
    public async Task ServesTheApiOverTlsFromPemFiles()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-tls-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=pattoo-edge-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllTextAsync(Path.Combine(dir, "cert.pem"), cert.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(dir, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        int port = EdgeProcess.FreePort();
        var config = Path.Combine(dir, "edge.toml");
        await File.WriteAllTextAsync(config, $"""
            [server]
            listen = "127.0.0.1:{port}"
            tls_certificate = "{dir}/cert.pem"
            tls_key = "{dir}/key.pem"
            [storage]
            path = "{dir}/data"
            [linux]
            enabled = false
            """);
        await using var edge = new EdgeProcess(dir, "run", "--config", config);
        await edge.WaitForOutputAsync("ready in", TimeSpan.FromSeconds(20));
        string thumbprint = cert.Thumbprint;
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.Thumbprint == thumbprint };
        using var http = new HttpClient(handler);
        Assert.Equal("The Pattoo Agent API is Operational.\n", await http.GetStringAsync($"https://127.0.0.1:{port}/pattoo/api/v1/agent/status"));

        // A key without its certificate is a config error naming both keys.
        await File.WriteAllTextAsync(config, $"[server]\ntls_key = \"{dir}/key.pem\"\n");
        var (code, _, stderr) = await EdgeProcess.RunAsync("config", "check", config);
        Assert.Equal(1, code);
        Assert.Contains("tls_certificate and tls_key go together", stderr);
    }
}
