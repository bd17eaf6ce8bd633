using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>
/// A session with one server over a secure channel: discovery (GetEndpoints, picking the
/// endpoint of the configured policy and mode), certificate checks, CreateSession /
/// ActivateSession (anonymous or user name, the password encrypted as the token policy
/// requires) and the services the poller uses: Read, Browse and subscriptions.
/// </summary>
internal sealed partial class UaSession : IAsyncDisposable
{
    private readonly OpcUaServerOptions _server;
    private UaChannel _channel;
    private ApplicationCertificate? _own;
    private byte[] _serverNonce = [];
    private byte[] _serverCertificate = [];

    private UaSession(OpcUaServerOptions server, UaChannel channel, EndpointDescription endpoint)
    {
        _server = server;
        _channel = channel;
        Endpoint = endpoint;
    }

    public EndpointDescription Endpoint { get; }
    public NodeId SessionId { get; private set; } = NodeId.Null;
    public double RevisedSessionTimeoutMs { get; private set; }
    public bool IsOpen => _channel.IsOpen;
    public Exception? Fault => _channel.Fault;
    public UaChannel Channel => _channel;
    private TimeSpan Timeout => _server.Timeout;

    /// <summary>Connects, discovers the endpoint, checks the server certificate and opens an activated session.</summary>
    /// <exception cref="OpcUaConnectionException">the server cannot be reached or talks nonsense.</exception>
    /// <exception cref="OpcUaServiceException">the server refused a step (user, policy, session).</exception>
    /// <exception cref="OpcUaCertificateException">the server's certificate is not trusted.</exception>
    public static async Task<UaSession> ConnectAsync(OpcUaServerOptions server, OpcUaCertificateStore store, CancellationToken ct)
    {
        // 1. Discovery over an unsecured channel: which endpoints, which certificate, which token policies.
        var discovery = await UaChannel.OpenAsync(server.Host, server.Port, server.Endpoint, SecurityPolicy.None, MessageSecurityMode.None,
            null, null, server.Timeout, ct).ConfigureAwait(false);
        EndpointDescription endpoint;
        try
        {
            endpoint = Pick(server, await EndpointsAsync(discovery, server, ct).ConfigureAwait(false));
        }
        catch
        {
            await discovery.CloseAsync().ConfigureAwait(false);
            throw;
        }

        bool usesCertificate = server.SecurityPolicy != SecurityPolicy.None
            || (server.Username is not null && PasswordPolicy(server, endpoint) != SecurityPolicy.None);
        ApplicationCertificate? own = null;
        if (usesCertificate)
        {
            if (endpoint.ServerCertificate is not { Length: > 0 } cert)
            {
                await discovery.CloseAsync().ConfigureAwait(false);
                throw new OpcUaCertificateException("the server's endpoint carries no certificate");
            }
            try
            {
                store.CheckServerCertificate(server.Name, cert, endpoint.Server.ApplicationUri, server.Trust, server.PinnedSha256);
            }
            catch
            {
                await discovery.CloseAsync().ConfigureAwait(false);
                throw;
            }
            own = store.GetApplicationCertificate();
        }

        // 2. The session's channel: the discovery channel itself when unsecured.
        UaChannel channel;
        if (server.SecurityPolicy == SecurityPolicy.None)
        {
            channel = discovery;
        }
        else
        {
            await discovery.CloseAsync().ConfigureAwait(false);
            channel = await OpenChannelAsync(server, own, endpoint, ct).ConfigureAwait(false);
        }
        var session = new UaSession(server, channel, endpoint);
        try
        {
            await session.CreateAsync(own, ct).ConfigureAwait(false);
            await session.ActivateAsync(ct).ConfigureAwait(false);
            await session.ReadOperationLimitsAsync(ct).ConfigureAwait(false);
            return session;
        }
        catch
        {
            await channel.CloseAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Every endpoint the server offers, over an unsecured channel opened and closed for it (discovery tools).</summary>
    public static async Task<EndpointDescription[]> GetEndpointsAsync(OpcUaServerOptions server, CancellationToken ct)
    {
        var discovery = await UaChannel.OpenAsync(server.Host, server.Port, server.Endpoint, SecurityPolicy.None, MessageSecurityMode.None,
            null, null, server.Timeout, ct).ConfigureAwait(false);
        try
        {
            return await EndpointsAsync(discovery, server, ct).ConfigureAwait(false);
        }
        finally
        {
            await discovery.CloseAsync().ConfigureAwait(false);
        }
    }

    private static async Task<EndpointDescription[]> EndpointsAsync(UaChannel discovery, OpcUaServerOptions server, CancellationToken ct)
        => (await discovery.CallAsync("GetEndpoints", (w, h) => UaServices.WriteGetEndpoints(w, h, server.Endpoint),
            EncodingIds.GetEndpointsResponse, UaServices.DecodeGetEndpoints, server.Timeout, ct).ConfigureAwait(false)).Endpoints;

    private static Task<UaChannel> OpenChannelAsync(OpcUaServerOptions server, ApplicationCertificate? own, EndpointDescription endpoint, CancellationToken ct)
        => UaChannel.OpenAsync(server.Host, server.Port, server.Endpoint, server.SecurityPolicy, server.SecurityMode,
            server.SecurityPolicy == SecurityPolicy.None ? null : own, server.SecurityPolicy == SecurityPolicy.None ? null : endpoint.ServerCertificate,
            server.Timeout, ct);

    private static EndpointDescription Pick(OpcUaServerOptions server, EndpointDescription[] endpoints)
    {
        string uri = SecurityPolicies.Uri(server.SecurityPolicy);
        EndpointDescription? best = null;
        foreach (var e in endpoints)
        {
            if (e.SecurityPolicyUri != uri || e.SecurityMode != server.SecurityMode) continue;
            if (e.TransportProfileUri is { Length: > 0 } t && t != WellKnown.TransportProfileBinary) continue;
            if (best is null || e.SecurityLevel > best.SecurityLevel) best = e;
        }
        if (best is not null) return best;
        var offered = endpoints.Select(e => SecurityPolicies.TryFromUri(e.SecurityPolicyUri, out var p)
            ? $"{SecurityPolicies.Name(p)}/{SecurityPolicies.ModeName(e.SecurityMode)}"
            : $"{e.SecurityPolicyUri?.Split('#')[^1]}/{SecurityPolicies.ModeName(e.SecurityMode)}").Distinct();
        throw new OpcUaConnectionException(
            $"the server offers no endpoint with security {server.SecurityDescription}; it offers: {string.Join(", ", offered)}");
    }

    private static UserTokenPolicy? TokenPolicy(OpcUaServerOptions server, EndpointDescription endpoint)
    {
        uint type = server.Username is null ? UserTokenPolicy.Anonymous : UserTokenPolicy.UserName;
        return endpoint.UserIdentityTokens.FirstOrDefault(t => t.TokenType == type);
    }

    /// <summary>The policy that protects the password: the token policy's own, else the endpoint's.</summary>
    private static SecurityPolicy PasswordPolicy(OpcUaServerOptions server, EndpointDescription endpoint)
    {
        var token = TokenPolicy(server, endpoint);
        string? uri = token?.SecurityPolicyUri is { Length: > 0 } u ? u : endpoint.SecurityPolicyUri;
        return SecurityPolicies.TryFromUri(uri, out var p) ? p : SecurityPolicy.Basic256Sha256;
    }

    private async Task CreateAsync(ApplicationCertificate? own, CancellationToken ct)
    {
        var secure = _server.SecurityPolicy != SecurityPolicy.None;
        _own = own;
        byte[] clientNonce = RandomNumberGenerator.GetBytes(32);
        var description = new ApplicationDescription(own is null ? "urn:pattoo-edge" : OwnUri(own), "urn:pattoo:pattoo-edge",
            new LocalizedText(null, "Pattoo.Edge"), 1 /* Client */, null, null, []);
        var created = await _channel.CallAsync("CreateSession", (w, h) => UaServices.WriteCreateSession(w, h, description, Endpoint.Server.ApplicationUri,
                _server.Endpoint, $"pattoo-edge {_server.Name}", clientNonce, secure ? own!.Der : null,
                RequestedSessionTimeoutMs(_server), UaChannel.MaxMessageSize),
            EncodingIds.CreateSessionResponse, UaServices.DecodeCreateSession, Timeout, ct).ConfigureAwait(false);
        SessionId = created.SessionId;
        RevisedSessionTimeoutMs = created.RevisedSessionTimeout;
        _channel.AuthenticationToken = created.AuthenticationToken;
        _serverNonce = created.ServerNonce ?? [];
        _serverCertificate = created.ServerCertificate ?? [];
        if (secure)
        {
            var serverCert = _serverCertificate;
            int leaf = SecurityPolicies.LeafLength(serverCert);
            var expected = Endpoint.ServerCertificate!;
            if (!serverCert.AsSpan(0, leaf).SequenceEqual(expected.AsSpan(0, SecurityPolicies.LeafLength(expected))))
                throw new OpcUaCertificateException("the server's session certificate differs from its endpoint's certificate");
            using (var cert = SecurityPolicies.LoadLeaf(serverCert))
            using (var key = cert.GetRSAPublicKey())
            {
                var signed = Concat(own!.Der, clientNonce);
                if (key is null || created.ServerSignature.Signature is null || !SecurityPolicies.AsymmetricVerify(_server.SecurityPolicy, key, signed, created.ServerSignature.Signature))
                    throw new OpcUaCertificateException("the server's CreateSession signature does not verify against its certificate");
            }
        }
    }

    /// <summary>
    /// ActivateSession on the current channel: after CreateSession, and again on a new channel
    /// after a network break (Part 4, sec 5.6.3), which keeps the session and its subscriptions.
    /// Each activation signs and encrypts with the server nonce of the previous one.
    /// </summary>
    private async Task ActivateAsync(CancellationToken ct)
    {
        var secure = _server.SecurityPolicy != SecurityPolicy.None;
        var own = _own;
        var clientSignature = new SignatureData(null, null);
        if (secure)
            clientSignature = new SignatureData(SecurityPolicies.SignatureUri(_server.SecurityPolicy),
                SecurityPolicies.AsymmetricSign(_server.SecurityPolicy, own!.Key, Concat(_serverCertificate, _serverNonce)));

        var token = TokenPolicy(_server, Endpoint);
        if (token is null)
            throw new OpcUaConnectionException(_server.Username is null
                ? "the server does not allow anonymous sessions on this endpoint; set username and password"
                : "the server does not accept user names on this endpoint");
        byte[]? password = null;
        string? algorithm = null;
        if (_server.Username is not null)
        {
            var passwordPolicy = PasswordPolicy(_server, Endpoint);
            byte[] plain = Encoding.UTF8.GetBytes(_server.Password!);
            if (passwordPolicy == SecurityPolicy.None)
            {
                if (_server.SecurityMode != MessageSecurityMode.SignAndEncrypt)
                    throw new OpcUaConnectionException("the server would receive the password unencrypted; use security_policy = \"Basic256Sha256\" with security_mode = \"SignAndEncrypt\"");
                password = plain;
            }
            else
            {
                password = EncryptPassword(passwordPolicy, plain, _serverNonce, Endpoint.ServerCertificate!);
                algorithm = SecurityPolicies.PasswordEncryptionUri(passwordPolicy);
            }
        }
        try
        {
            var activated = await _channel.CallAsync("ActivateSession", (w, h) => UaServices.WriteActivateSession(w, h, clientSignature, token.PolicyId,
                _server.Username, password, algorithm), EncodingIds.ActivateSessionResponse, UaServices.DecodeActivateSession, Timeout, ct).ConfigureAwait(false);
            if (activated.ServerNonce is { Length: > 0 } next) _serverNonce = next;
        }
        catch (OpcUaServiceException e) when (_server.Username is not null && e.Status.CodeBits is 0x801F0000 or 0x80210000 or 0x80200000)
        {
            throw new OpcUaServiceException("ActivateSession", e.Status, $"the server refused user \"{_server.Username}\" (wrong user name or password?)");
        }
    }

    /// <summary>
    /// The session outlives a network break of this long on the server; the subscription's
    /// lifetime is matched to it, so a link that is back within it loses no notification.
    /// </summary>
    internal static double RequestedSessionTimeoutMs(OpcUaServerOptions server) => server.SessionTimeout.TotalMilliseconds;

    /// <summary>
    /// After the channel broke: a new secure channel to the same endpoint and the same session
    /// activated on it. Throws <see cref="OpcUaServiceException"/> (BadSessionIdInvalid...) when the
    /// server no longer knows the session (it restarted or the session timed out): open a new one then.
    /// </summary>
    public async Task ReconnectAsync(CancellationToken ct)
    {
        var old = _channel;
        await old.CloseAsync().ConfigureAwait(false);
        var channel = await OpenChannelAsync(_server, _own, Endpoint, ct).ConfigureAwait(false);
        channel.AuthenticationToken = old.AuthenticationToken;
        _channel = channel;
        try
        {
            await ActivateAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            // Not activated: the channel must not pass for a usable session's.
            await channel.CloseAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closes the channel only: the session stays on the server for <see cref="ReconnectAsync"/>.</summary>
    public Task AbandonChannelAsync() => _channel.CloseAsync();

    private static string OwnUri(ApplicationCertificate own) => OpcUaCertificateStore.ApplicationUriOf(own.Certificate) ?? "urn:pattoo-edge";

    /// <summary>
    /// A UserNameIdentityToken secret (Part 4, sec 7.36.3): UInt32 length of password + nonce,
    /// the password, the server nonce, encrypted with the server's public key by the asymmetric
    /// encryption of <paramref name="policy"/> (RSA-OAEP SHA-1, or SHA-256 for Aes256_Sha256_RsaPss).
    /// </summary>
    internal static byte[] EncryptPassword(SecurityPolicy policy, byte[] password, byte[] serverNonce, byte[] serverCertificate)
    {
        var plain = new byte[4 + password.Length + serverNonce.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(plain, (uint)(password.Length + serverNonce.Length));
        password.CopyTo(plain, 4);
        serverNonce.CopyTo(plain, 4 + password.Length);
        using var cert = SecurityPolicies.LoadLeaf(serverCertificate);
        using var key = cert.GetRSAPublicKey() ?? throw new OpcUaCertificateException("the server's certificate has no RSA key");
        return SecurityPolicies.AsymmetricEncrypt(policy, key, plain);
    }

    private static byte[] Concat(byte[] a, byte[] b)
    {
        var r = new byte[a.Length + b.Length];
        a.CopyTo(r, 0);
        b.CopyTo(r, a.Length);
        return r;
    }

    /// <summary>
    /// Reads the nodes, in requests of at most the server's MaxNodesPerRead (see
    /// <see cref="OperationLimits"/>); the values come back in the order of <paramref name="nodes"/>.
    /// </summary>
    public Task<DataValue[]> ReadAsync(IReadOnlyList<ReadValueId> nodes, CancellationToken ct)
        => SplitAsync(nodes, OperationLimits.MaxNodesPerRead, part => ReadOnceAsync(part, ct));

    /// <summary>
    /// Forward hierarchical references of each node, complete: at most MaxNodesPerBrowse nodes per
    /// Browse, each node's continuation points followed with BrowseNext (released when cancelled or
    /// on an error), a node the server had no continuation point left for (BadNoContinuationPoints)
    /// browsed again once the others are done. A node whose BrowseNext fails keeps the references
    /// so far and the Bad status. For discovery tools; not used while polling.
    /// </summary>
    public Task<BrowseResult[]> BrowseAsync(IReadOnlyList<NodeId> nodes, CancellationToken ct, uint maxReferencesPerNode = 1000)
        => SplitAsync(nodes, OperationLimits.MaxNodesPerBrowse, part => BrowseCompleteAsync(part, maxReferencesPerNode, ct));

    /// <summary>Reads Server_NamespaceArray: index i holds the URI of namespace i.</summary>
    public async Task<string?[]> ReadNamespaceArrayAsync(CancellationToken ct)
    {
        var values = await ReadAsync([new ReadValueId(WellKnown.NamespaceArray)], ct).ConfigureAwait(false);
        var v = values[0].Value;
        if (!values[0].Status.IsGood || v.Type != BuiltInType.String || !v.IsArray)
            throw new OpcUaConnectionException($"cannot read the server's namespace table: {values[0]}");
        return (string?[])v.Reference!;
    }

    public Task<CreateSubscriptionResponse> CreateSubscriptionAsync(double publishingIntervalMs, uint lifetimeCount, uint keepAliveCount, CancellationToken ct)
        => _channel.CallAsync("CreateSubscription", (w, h) => UaServices.WriteCreateSubscription(w, h, publishingIntervalMs, lifetimeCount, keepAliveCount, 0),
            EncodingIds.CreateSubscriptionResponse, UaServices.DecodeCreateSubscription, Timeout, ct);

    /// <summary>Creates the monitored items, at most MaxMonitoredItemsPerCall per request; results in the order of <paramref name="items"/>.</summary>
    public Task<MonitoredItemCreateResult[]> CreateMonitoredItemsAsync(uint subscriptionId, IReadOnlyList<MonitoredItemRequest> items, CancellationToken ct)
        => SplitAsync(items, OperationLimits.MaxMonitoredItemsPerCall, part => CreateMonitoredItemsOnceAsync(subscriptionId, part, ct));

    public Task<PublishResponse> PublishAsync(IReadOnlyList<(uint, uint)> acknowledgements, TimeSpan timeout, CancellationToken ct)
        => _channel.CallAsync("Publish", (w, h) => UaServices.WritePublish(w, h, acknowledgements), EncodingIds.PublishResponse,
            UaServices.DecodePublish, timeout, ct);

    public async Task<NotificationMessage> RepublishAsync(uint subscriptionId, uint sequenceNumber, CancellationToken ct)
    {
        var response = await _channel.CallAsync("Republish", (w, h) => UaServices.WriteRepublish(w, h, subscriptionId, sequenceNumber),
            EncodingIds.RepublishResponse, UaServices.DecodeRepublish, Timeout, ct).ConfigureAwait(false);
        return response.Message;
    }

    /// <summary>
    /// Moves a subscription of a session the server lost to this one (Part 4, sec 5.13.7); the
    /// result says which of its notification messages can still be fetched with Republish.
    /// </summary>
    public async Task<TransferResult> TransferSubscriptionAsync(uint subscriptionId, CancellationToken ct)
    {
        var response = await _channel.CallAsync("TransferSubscriptions", (w, h) => UaServices.WriteTransferSubscriptions(w, h, [subscriptionId], false),
            EncodingIds.TransferSubscriptionsResponse, UaServices.DecodeTransferSubscriptions, Timeout, ct).ConfigureAwait(false);
        if (response.Results.Length != 1)
            throw new OpcUaConnectionException($"TransferSubscriptions of 1 subscription returned {response.Results.Length} results");
        return response.Results[0];
    }

    /// <summary>Deletes one subscription of this session; its status (Good, or why not).</summary>
    /// <summary>Writes one node's Value; the server's StatusCode for it (Good, or why not: BadUserAccessDenied, BadNotWritable, BadOutOfRange...).</summary>
    public async Task<StatusCode> WriteAsync(NodeId node, Variant value, CancellationToken ct)
    {
        var response = await _channel.CallAsync("Write", (w, h) => UaServices.WriteWrite(w, h, [(node, value)]),
            EncodingIds.WriteResponse, UaServices.DecodeStatusResults, Timeout, ct).ConfigureAwait(false);
        if (response.Results.Length != 1)
            throw new OpcUaConnectionException($"Write of 1 node returned {response.Results.Length} results");
        return response.Results[0];
    }

    public async Task<StatusCode> DeleteSubscriptionAsync(uint subscriptionId, CancellationToken ct)
    {
        var response = await _channel.CallAsync("DeleteSubscriptions", (w, h) => UaServices.WriteDeleteSubscriptions(w, h, [subscriptionId]),
            EncodingIds.DeleteSubscriptionsResponse, UaServices.DecodeStatusResults, Timeout, ct).ConfigureAwait(false);
        if (response.Results.Length != 1)
            throw new OpcUaConnectionException($"DeleteSubscriptions of 1 subscription returned {response.Results.Length} results");
        return response.Results[0];
    }

    /// <summary>Closes the session (deleting its subscriptions) and the channel; never throws.</summary>
    public async Task CloseAsync()
    {
        if (_channel.IsOpen)
        {
            try
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _channel.CallAsync("CloseSession", (w, h) => UaServices.WriteCloseSession(w, h, true), EncodingIds.CloseSessionResponse,
                    UaServices.DecodeHeaderOnly, TimeSpan.FromSeconds(2), limit.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OpcUaConnectionException or OpcUaServiceException or TimeoutException or OperationCanceledException)
            {
                // the server may already be gone
            }
        }
        await _channel.CloseAsync().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => new(CloseAsync());
}
