using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Pattoo.Edge.Forwarding;

/// <summary>Which server certificates a forwarder accepts: the system's roots, or <c>ca_file</c>'s, or any (<c>insecure_skip_verify</c>).</summary>
internal static class TlsTrust
{
    /// <summary>The check for <paramref name="options"/>; null leaves the system's default check.</summary>
    public static RemoteCertificateValidationCallback? For(ForwarderOptions options)
    {
        if (options.InsecureSkipVerify) return static (_, _, _, _) => true;
        if (options.CaFile is not { } caFile) return null;
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        return (_, certificate, _, errors) =>
        {
            if (certificate is null) return false;
            if (errors == SslPolicyErrors.None) return true;
            if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) return false; // a wrong name stays wrong
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(certificate));
        };
    }
}
