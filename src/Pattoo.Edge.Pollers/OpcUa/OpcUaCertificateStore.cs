using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Pattoo.Edge.Common;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>
/// The appliance's OPC UA certificates under <c>&lt;state&gt;/opcua/pki/</c>:
/// <c>own/certificate.der</c> and <c>own/private_key.pem</c> (the application instance
/// certificate, self-signed, made on first use), <c>trusted/</c> (server certificates the
/// operator trusts: .der, .pem or .crt files) and <c>rejected/</c> (certificates refused, to be
/// moved to trusted/ after checking them).
/// </summary>
public sealed class OpcUaCertificateStore
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(5 * 365);
    private readonly object _gate = new();
    private readonly string _applianceName;
    private ApplicationCertificate? _own;

    public OpcUaCertificateStore(string pkiDirectory, string applianceName)
    {
        ArgumentException.ThrowIfNullOrEmpty(pkiDirectory);
        ArgumentException.ThrowIfNullOrEmpty(applianceName);
        Directory = pkiDirectory;
        _applianceName = applianceName;
        ApplicationUri = $"urn:{Uri.EscapeDataString(applianceName)}:pattoo-edge";
    }

    public string Directory { get; }
    public string ApplicationUri { get; }
    public string TrustedDirectory => Path.Combine(Directory, "trusted");
    public string RejectedDirectory => Path.Combine(Directory, "rejected");
    public string OwnCertificatePath => Path.Combine(Directory, "own", "certificate.der");
    public string OwnKeyPath => Path.Combine(Directory, "own", "private_key.pem");

    /// <summary>Our certificate and key: loaded, or made (and saved) when missing, expiring or for another ApplicationUri.</summary>
    public ApplicationCertificate GetApplicationCertificate()
    {
        lock (_gate)
        {
            if (_own is not null && _own.Certificate.NotAfter > DateTime.UtcNow.AddDays(1)) return _own;
            _own = LoadOrCreate();
            return _own;
        }
    }

    private ApplicationCertificate LoadOrCreate()
    {
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(OwnCertificatePath)!);
        System.IO.Directory.CreateDirectory(TrustedDirectory);
        System.IO.Directory.CreateDirectory(RejectedDirectory);
        if (File.Exists(OwnCertificatePath) && File.Exists(OwnKeyPath))
        {
            try
            {
                var der = File.ReadAllBytes(OwnCertificatePath);
                var cert = X509CertificateLoader.LoadCertificate(der);
                var key = RSA.Create();
                key.ImportFromPem(File.ReadAllText(OwnKeyPath));
                bool fresh = cert.NotAfter > DateTime.UtcNow.AddDays(30);
                bool sameUri = ApplicationUriOf(cert) == ApplicationUri;
                bool matches = cert.GetRSAPublicKey() is { } pub && pub.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo());
                if (fresh && sameUri && matches) return new ApplicationCertificate(cert, der, key);
                Log.Warning($"opcua: replacing the application certificate {OwnCertificatePath} ({(!fresh ? "expires " + cert.NotAfter.ToString("yyyy-MM-dd") : !sameUri ? "made for another appliance name" : "key does not match")}); servers that trusted the old one must trust the new one");
                key.Dispose();
            }
            catch (Exception e) when (e is CryptographicException or IOException or ArgumentException)
            {
                Log.Warning($"opcua: cannot read the application certificate ({e.Message}); making a new one");
            }
        }
        return Create();
    }

    private ApplicationCertificate Create()
    {
        var key = RSA.Create(2048);
        var subject = new X500DistinguishedName($"CN=Pattoo.Edge {_applianceName.Replace(",", " ", StringComparison.Ordinal)}, O=Pattoo");
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation | X509KeyUsageFlags.KeyEncipherment
            | X509KeyUsageFlags.DataEncipherment | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            new OidCollection { new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2") }, false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(ApplicationUri));
        san.AddDnsName(Environment.MachineName.Length > 0 ? Environment.MachineName : "localhost");
        request.CertificateExtensions.Add(san.Build());
        var ski = new X509SubjectKeyIdentifierExtension(request.PublicKey, false);
        request.CertificateExtensions.Add(ski);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
        var now = DateTimeOffset.UtcNow;
        using var made = request.CreateSelfSigned(now.AddDays(-1), now.Add(Lifetime));
        var der = made.RawData;
        var cert = X509CertificateLoader.LoadCertificate(der);
        WriteAtomically(OwnKeyPath, System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        WriteAtomically(OwnCertificatePath, der, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Log.Info($"opcua: made the application certificate {OwnCertificatePath} ({ApplicationUri}, SHA-256 {Sha256(der)})");
        return new ApplicationCertificate(cert, der, key);
    }

    private static void WriteAtomically(string path, byte[] bytes, UnixFileMode mode)
    {
        string temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        using (var f = new FileStream(temp, options)) f.Write(bytes);
        File.Move(temp, path, overwrite: true);
    }

    public static string Sha256(ReadOnlySpan<byte> der) => Convert.ToHexString(SHA256.HashData(der)).ToLowerInvariant();

    /// <summary>
    /// Decides whether to trust a server certificate; throws <see cref="OpcUaCertificateException"/>
    /// saying why not (and what to do). Checks the validity period, the ApplicationUri in the
    /// certificate against the one the server announces, then the trust rule.
    /// </summary>
    public void CheckServerCertificate(string serverName, byte[] der, string? serverApplicationUri, OpcUaTrust trust, string? pinnedSha256)
    {
        X509Certificate2 cert;
        try
        {
            cert = SecurityPolicies.LoadLeaf(der);
        }
        catch (CryptographicException e)
        {
            throw new OpcUaCertificateException($"the server's certificate cannot be read: {e.Message}");
        }
        using (cert)
        {
            string sha = Sha256(cert.RawData);
            string who = $"\"{cert.Subject}\" (SHA-256 {sha})";
            var now = DateTime.UtcNow;
            if (cert.NotAfter.ToUniversalTime() < now)
                throw new OpcUaCertificateException($"the server's certificate {who} expired on {cert.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC; renew it on the server");
            if (cert.NotBefore.ToUniversalTime() > now)
                throw new OpcUaCertificateException($"the server's certificate {who} is not valid before {cert.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm} UTC; check both clocks");
            string? uri = ApplicationUriOf(cert);
            if (serverApplicationUri is { Length: > 0 } && uri is not null && uri != serverApplicationUri)
                throw new OpcUaCertificateException($"the server's certificate {who} is for ApplicationUri \"{uri}\" but the server says it is \"{serverApplicationUri}\"");
            lock (_gate)
            {
                System.IO.Directory.CreateDirectory(TrustedDirectory);
                System.IO.Directory.CreateDirectory(RejectedDirectory);
                switch (trust)
                {
                    case OpcUaTrust.Pinned:
                        if (sha == pinnedSha256) return;
                        throw new OpcUaCertificateException($"the server's certificate {who} is not the pinned one (server_certificate_sha256 = \"{pinnedSha256}\")");
                    case OpcUaTrust.Tofu:
                        {
                            if (IsTrusted(cert.RawData)) return;
                            string first = Path.Combine(TrustedDirectory, $"tofu-{SafeName(serverName)}.der");
                            if (File.Exists(first))
                            {
                                string saved = Reject(serverName, cert.RawData);
                                throw new OpcUaCertificateException(
                                    $"the server's certificate changed since it was first trusted: now {who}, first {first}. Saved the new one as {saved}; if the change is expected, delete {first} and move it to {TrustedDirectory}");
                            }
                            WriteAtomically(first, cert.RawData, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                            Log.Warning($"opcua/{serverName}: trusted the server's certificate {who} on first use, saved as {first}");
                            return;
                        }
                    default:
                        {
                            if (IsTrusted(cert.RawData)) return;
                            string saved = Reject(serverName, cert.RawData);
                            throw new OpcUaCertificateException(
                                $"the server's certificate {who} is not trusted: saved as {saved}; check its fingerprint and move it to {TrustedDirectory} to trust it");
                        }
                }
            }
        }
    }

    private bool IsTrusted(byte[] der)
    {
        foreach (string file in System.IO.Directory.EnumerateFiles(TrustedDirectory))
        {
            try
            {
                byte[] bytes = File.ReadAllBytes(file);
                if (bytes.AsSpan().SequenceEqual(der)) return true;
                if (file.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".crt", StringComparison.OrdinalIgnoreCase))
                {
                    using var c = X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(bytes));
                    if (c.RawData.AsSpan().SequenceEqual(der)) return true;
                }
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                // an unreadable file trusts nothing
            }
        }
        return false;
    }

    private string Reject(string serverName, byte[] der)
    {
        string path = Path.Combine(RejectedDirectory, $"{SafeName(serverName)}-{Sha256(der)[..16]}.der");
        if (!File.Exists(path)) WriteAtomically(path, der, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return path;
    }

    private static string SafeName(string name)
    {
        var chars = name.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] is '-' or '_' or '.')) chars[i] = '_';
        }
        return new string(chars);
    }

    /// <summary>The URI in the certificate's subjectAltName (RFC 5280 GeneralName [6]), or null.</summary>
    public static string? ApplicationUriOf(X509Certificate2 cert)
    {
        foreach (var ext in cert.Extensions)
        {
            if (ext.Oid?.Value != "2.5.29.17") continue;
            try
            {
                var reader = new AsnReader(ext.RawData, AsnEncodingRules.DER);
                var names = reader.ReadSequence();
                var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
                while (names.HasData)
                {
                    var tag = names.PeekTag();
                    if (tag == uriTag) return names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag);
                    names.ReadEncodedValue();
                }
            }
            catch (AsnContentException)
            {
                return null;
            }
        }
        return null;
    }
}

/// <summary>Our application instance certificate: the certificate, its DER and its private key.</summary>
public sealed record ApplicationCertificate(X509Certificate2 Certificate, byte[] Der, RSA Key);

/// <summary>A server certificate we refuse to trust (untrusted, expired, mismatched, changed).</summary>
public sealed class OpcUaCertificateException(string message) : Exception(message);
