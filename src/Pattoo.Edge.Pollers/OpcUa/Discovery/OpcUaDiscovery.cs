using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa.Discovery;

/// <summary>An endpoint the server offers, as discovery lists it.</summary>
public sealed record OpcUaOfferedEndpoint(string Policy, string Mode, byte SecurityLevel, IReadOnlyList<string> UserTokens)
{
    /// <summary>Stronger first: the policy's strength, then the mode's, then the server's own level.</summary>
    public int Strength => (Policy switch { "Aes256_Sha256_RsaPss" => 4, "Aes128_Sha256_RsaOaep" => 3, "Basic256Sha256" => 2, "None" => 0, _ => 1 }) * 10000
                           + (Mode switch { "SignAndEncrypt" => 2, "Sign" => 1, _ => 0 }) * 1000 + SecurityLevel;
}

/// <summary>A variable found by browsing: its NodeId (nsu= form for namespaces above 0), where it is, its data type.</summary>
public sealed record OpcUaFoundVariable(string NodeId, string Path, string BrowseName, string DataType);

/// <summary>What <see cref="OpcUaDiscovery"/> found on one server.</summary>
public sealed record OpcUaSurvey(IReadOnlyList<OpcUaOfferedEndpoint> Endpoints, IReadOnlyList<OpcUaFoundVariable> Variables,
    int Browsed, int Skipped, bool Truncated, string? CertificateSha256);

/// <summary>
/// <c>pattoo-edge discover opcua</c>: lists the endpoints and security policies the server offers,
/// opens a session with the security asked for, browses from the Objects folder (hierarchical
/// references, the Server object left out, bounded by a node count and a depth), reads each
/// variable's data type, and writes an <c>[[opcua.servers]]</c> table with the numeric, boolean and
/// string variables.
/// </summary>
public static class OpcUaDiscovery
{
    private const uint NodeClassObject = 1, NodeClassVariable = 2, AttributeDataType = 14;
    private static readonly NodeId ServerObject = new(0, 2253);
    private static readonly NodeId HasProperty = new(0, 46);

    public static async Task<string> RunAsync(OpcUaServerOptions server, int maxNodes, int maxDepth, string commandLine, TimeSpan timeout,
        Action<string> progress, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        // The client certificate a secured session needs, made for this run only; the server's is
        // trusted on first use and pinned in the printed config.
        var pki = Directory.CreateTempSubdirectory("pattoo-edge-discover-pki-");
        try
        {
            var offered = await UaSession.GetEndpointsAsync(server, limit.Token).ConfigureAwait(false);
            var endpoints = offered
                .Where(e => e.TransportProfileUri is not { Length: > 0 } t || t == WellKnown.TransportProfileBinary)
                .Select(e => new OpcUaOfferedEndpoint(
                    SecurityPolicies.TryFromUri(e.SecurityPolicyUri, out var p) ? SecurityPolicies.Name(p) : e.SecurityPolicyUri?.Split('#')[^1] ?? "?",
                    SecurityPolicies.ModeName(e.SecurityMode), e.SecurityLevel,
                    [.. e.UserIdentityTokens.Select(t => t.TokenType switch { 0 => "anonymous", 1 => "username", 2 => "certificate", _ => "issued" }).Distinct()]))
                .DistinctBy(e => (e.Policy, e.Mode)).OrderByDescending(e => e.Strength).ToList();
            progress($"{server.Endpoint}: offers {string.Join(", ", endpoints.Select(e => $"{e.Policy}/{e.Mode}"))}");

            string? sha256 = null;
            if (server.SecurityPolicy != SecurityPolicy.None)
            {
                var chosen = offered.FirstOrDefault(e => e.SecurityPolicyUri == SecurityPolicies.Uri(server.SecurityPolicy) && e.SecurityMode == server.SecurityMode);
                if (chosen?.ServerCertificate is { Length: > 0 } cert) sha256 = Convert.ToHexStringLower(SHA256.HashData(cert));
            }
            var store = new OpcUaCertificateStore(pki.FullName, "pattoo-edge-discover");
            await using var session = await UaSession.ConnectAsync(server with { Trust = OpcUaTrust.Tofu }, store, limit.Token).ConfigureAwait(false);
            var namespaces = await session.ReadNamespaceArrayAsync(limit.Token).ConfigureAwait(false);
            var (variables, browsed, truncated) = await BrowseAsync(session, maxNodes, maxDepth, limit.Token).ConfigureAwait(false);
            progress($"browsed {browsed} nodes{(truncated ? $" (stopped at --max-nodes {maxNodes} or --max-depth {maxDepth})" : "")}: {variables.Count} variables");

            var found = new List<OpcUaFoundVariable>();
            int skipped = 0;
            var types = variables.Count == 0 ? []
                : await session.ReadAsync([.. variables.Select(v => new ReadValueId(v.Id, AttributeDataType))], limit.Token).ConfigureAwait(false);
            for (int i = 0; i < variables.Count; i++)
            {
                string? type = types[i].Status.Code == 0 && types[i].Value.Reference is NodeId t ? TypeName(t) : null;
                if (type is null)
                {
                    skipped++;
                    continue;
                }
                found.Add(new OpcUaFoundVariable(Format(variables[i].Id, namespaces), variables[i].Path, variables[i].BrowseName, type));
            }
            return OpcUaDiscoveryToml.Write(commandLine, server, new OpcUaSurvey(endpoints, found, browsed, skipped, truncated, sha256), DateTimeOffset.UtcNow);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new DiscoveryException($"discovery of {server.Endpoint} did not finish within {Duration.Format(timeout)}; lower --max-nodes or give a longer --timeout");
        }
        catch (Exception e) when (e is OpcUaConnectionException or OpcUaServiceException or OpcUaCertificateException or OpcUaFormatException or IOException or System.Net.Sockets.SocketException)
        {
            string place = $"{server.Host}:{server.Port}";
            throw new DiscoveryException(e.Message.StartsWith(place, StringComparison.Ordinal) ? e.Message : $"{server.Endpoint}: {e.Message}");
        }
        finally
        {
            try { pki.Delete(true); } catch (IOException) { }
        }
    }

    private sealed record Found(NodeId Id, string Path, string BrowseName);

    /// <summary>Breadth first from the Objects folder: objects are opened, variables collected (their properties left out).</summary>
    private static async Task<(List<Found> Variables, int Browsed, bool Truncated)> BrowseAsync(UaSession session, int maxNodes, int maxDepth, CancellationToken ct)
    {
        var variables = new List<Found>();
        var seen = new HashSet<NodeId> { WellKnown.ObjectsFolder };
        var level = new List<(NodeId Id, string Path)> { (WellKnown.ObjectsFolder, "Objects") };
        int browsed = 0;
        bool truncated = false;
        for (int depth = 0; level.Count > 0; depth++)
        {
            var next = new List<(NodeId, string)>();
            for (int at = 0; at < level.Count; at += 100)
            {
                var batch = level.GetRange(at, Math.Min(100, level.Count - at));
                var results = await session.BrowseAsync([.. batch.Select(b => b.Id)], ct).ConfigureAwait(false);
                browsed += batch.Count;
                for (int i = 0; i < batch.Count; i++)
                {
                    foreach (var r in results[i].References)
                    {
                        if (r.NodeId.ServerIndex != 0 || r.ReferenceTypeId.Equals(HasProperty) || !seen.Add(r.NodeId.NodeId)) continue;
                        if (r.NodeId.NodeId.Equals(ServerObject)) continue; // the server's own diagnostics: thousands of nodes nobody polls
                        string path = batch[i].Path + "/" + (r.DisplayName.Text ?? r.BrowseName.Name ?? r.NodeId.NodeId.ToString());
                        if (seen.Count > maxNodes)
                        {
                            truncated = true;
                            continue;
                        }
                        if (r.NodeClass == NodeClassVariable) variables.Add(new Found(r.NodeId.NodeId, path, r.BrowseName.Name ?? ""));
                        if (r.NodeClass is NodeClassObject or NodeClassVariable)
                        {
                            if (depth + 1 < maxDepth) next.Add((r.NodeId.NodeId, path));
                            else if (r.NodeClass == NodeClassObject) truncated = true;
                        }
                    }
                }
            }
            level = next;
        }
        return (variables, browsed, truncated);
    }

    /// <summary>The config's name of a standard data type (Part 6, Annex A), null for types the poller does not store.</summary>
    private static string? TypeName(NodeId type)
    {
        if (type.NamespaceIndex != 0 || type.IdType != NodeIdType.Numeric) return null;
        return type.Numeric switch
        {
            1 => "Boolean", 2 => "SByte", 3 => "Byte", 4 => "Int16", 5 => "UInt16", 6 => "Int32", 7 => "UInt32", 8 => "Int64", 9 => "UInt64",
            10 => "Float", 11 => "Double", 12 => "String", 21 => "LocalizedText", 26 => "Number", 27 => "Integer", 28 => "UInteger",
            _ => null,
        };
    }

    /// <summary>"i=2258" in namespace 0, "nsu=URI;s=Name" above it: namespace indexes may change when a server restarts, URIs do not.</summary>
    private static string Format(NodeId id, string?[] namespaces)
        => id.NamespaceIndex == 0 || id.NamespaceIndex >= namespaces.Length || namespaces[id.NamespaceIndex] is not { Length: > 0 } uri
            ? id.ToString()
            : new ExpandedNodeId(id, uri).ToString();
}

/// <summary>Writes an <see cref="OpcUaSurvey"/> as an <c>[[opcua.servers]]</c> table that <c>config check</c> accepts.</summary>
public static class OpcUaDiscoveryToml
{
    public static string Write(string commandLine, OpcUaServerOptions server, OpcUaSurvey survey, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(commandLine).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"# {now.UtcDateTime:yyyy-MM-dd HH:mm} UTC, {survey.Browsed} nodes browsed.\n");
        sb.Append("# Endpoints offered, strongest first:\n");
        foreach (var e in survey.Endpoints)
            sb.Append(CultureInfo.InvariantCulture, $"#   {e.Policy}/{e.Mode} (security level {e.SecurityLevel}; users: {string.Join(", ", e.UserTokens)})\n");
        if (survey.Endpoints.FirstOrDefault() is { } best && best.Policy != SecurityPolicies.Name(server.SecurityPolicy))
        {
            sb.Append(CultureInfo.InvariantCulture, $"# Recommended: security_policy = \"{best.Policy}\", security_mode = \"{best.Mode}\" (the strongest offered; ");
            sb.Append("run discover again with --security to pin its certificate).\n");
        }
        if (survey.Truncated) sb.Append("# The browse stopped at --max-nodes or --max-depth: more variables may exist below.\n");
        if (survey.Skipped > 0) sb.Append(CultureInfo.InvariantCulture, $"# {survey.Skipped} variables of other data types (structures, dates, byte strings, arrays of them) left out.\n");

        if (survey.Variables.Count == 0)
        {
            sb.Append("# Nothing to poll: no numeric, boolean or string variable found under Objects.\n");
            return sb.ToString();
        }
        sb.Append("\n[[opcua.servers]]\n");
        sb.Append("  name = ").Append(TomlText.String(server.Name)).Append('\n');
        sb.Append("  endpoint = ").Append(TomlText.String(server.Endpoint)).Append('\n');
        if (server.SecurityPolicy != SecurityPolicy.None)
        {
            sb.Append("  security_policy = ").Append(TomlText.String(SecurityPolicies.Name(server.SecurityPolicy))).Append('\n');
            sb.Append("  security_mode = ").Append(TomlText.String(SecurityPolicies.ModeName(server.SecurityMode))).Append('\n');
        }
        if (server.Username is not null)
        {
            sb.Append("  username = ").Append(TomlText.String(server.Username)).Append('\n');
            sb.Append("  password = ").Append(TomlText.String(server.Password ?? "")).Append('\n');
        }
        if (survey.CertificateSha256 is not null)
        {
            sb.Append("  ## the certificate the server showed during discovery; a different one is refused\n");
            sb.Append("  trust_server_certificate = \"pinned\"\n");
            sb.Append("  server_certificate_sha256 = ").Append(TomlText.String(survey.CertificateSha256)).Append('\n');
        }
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in survey.Variables)
        {
            sb.Append("\n  [[opcua.servers.nodes]]\n");
            sb.Append("    # ").Append(v.Path.ReplaceLineEndings(" ")).Append(" (").Append(v.DataType).Append(")\n");
            sb.Append("    node_id = ").Append(TomlText.String(v.NodeId)).Append('\n');
            string unique = TomlText.Unique(keys, TomlText.KeyFrom(v.BrowseName, "node"));
            sb.Append("    key = ").Append(TomlText.String(unique)).Append('\n');
        }
        return sb.ToString();
    }
}
