namespace Pattoo.Edge.Protocols.OpcUa;

/// <summary>The binary encoding ids (namespace 0) of the structures this client sends and reads (Part 6, NodeIds.csv).</summary>
public static class EncodingIds
{
    public const uint AnonymousIdentityToken = 321;
    public const uint UserNameIdentityToken = 324;
    public const uint ServiceFault = 397;
    public const uint GetEndpointsRequest = 428;
    public const uint GetEndpointsResponse = 431;
    public const uint OpenSecureChannelRequest = 446;
    public const uint OpenSecureChannelResponse = 449;
    public const uint CloseSecureChannelRequest = 452;
    public const uint CreateSessionRequest = 461;
    public const uint CreateSessionResponse = 464;
    public const uint ActivateSessionRequest = 467;
    public const uint ActivateSessionResponse = 470;
    public const uint CloseSessionRequest = 473;
    public const uint CloseSessionResponse = 476;
    public const uint BrowseRequest = 527;
    public const uint BrowseResponse = 530;
    public const uint BrowseNextRequest = 533;
    public const uint BrowseNextResponse = 536;
    public const uint ReadRequest = 631;
    public const uint ReadResponse = 634;
    public const uint WriteRequest = 673;
    public const uint WriteResponse = 676;
    public const uint CreateMonitoredItemsRequest = 751;
    public const uint CreateMonitoredItemsResponse = 754;
    public const uint CreateSubscriptionRequest = 787;
    public const uint CreateSubscriptionResponse = 790;
    public const uint DataChangeNotification = 811;
    public const uint StatusChangeNotification = 820;
    public const uint PublishRequest = 826;
    public const uint PublishResponse = 829;
    public const uint RepublishRequest = 832;
    public const uint RepublishResponse = 835;
    public const uint TransferSubscriptionsRequest = 841;
    public const uint TransferSubscriptionsResponse = 844;
    public const uint DeleteSubscriptionsRequest = 847;
    public const uint DeleteSubscriptionsResponse = 850;
}

/// <summary>Well-known nodes and attribute ids.</summary>
public static class WellKnown
{
    /// <summary>Server_NamespaceArray (i=2255): the namespace table nsu= NodeIds resolve against.</summary>
    public static readonly NodeId NamespaceArray = new(0, 2255);
    /// <summary>Server_ServerStatus_State (i=2259).</summary>
    public static readonly NodeId ServerState = new(0, 2259);
    /// <summary>The Objects folder (i=85).</summary>
    public static readonly NodeId ObjectsFolder = new(0, 85);
    /// <summary>HierarchicalReferences (i=33).</summary>
    public static readonly NodeId HierarchicalReferences = new(0, 33);
    /// <summary>Server_ServerCapabilities_OperationLimits_MaxNodesPerRead (i=11705): UInt32, 0 or absent = no limit.</summary>
    public static readonly NodeId MaxNodesPerRead = new(0, 11705);
    /// <summary>Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse (i=11710); also bounds BrowseNext.</summary>
    public static readonly NodeId MaxNodesPerBrowse = new(0, 11710);
    /// <summary>Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall (i=11714).</summary>
    public static readonly NodeId MaxMonitoredItemsPerCall = new(0, 11714);
    public const uint AttributeValue = 13;
    public const string TransportProfileBinary = "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary";
}

/// <summary>The common header of every request (Part 4, sec 7.32).</summary>
public readonly record struct RequestHeader(NodeId AuthenticationToken, uint RequestHandle, uint TimeoutHintMs)
{
    internal void Encode(UaWriter w)
    {
        w.NodeId(AuthenticationToken);
        w.DateTime(DateTime.UtcNow);
        w.UInt32(RequestHandle);
        w.UInt32(0);          // ReturnDiagnostics: none
        w.String(null);       // AuditEntryId
        w.UInt32(TimeoutHintMs);
        w.NullExtensionObject(); // AdditionalHeader
    }
}

/// <summary>The common header of every response (Part 4, sec 7.33).</summary>
public sealed record ResponseHeader(DateTime Timestamp, uint RequestHandle, StatusCode ServiceResult, string?[] StringTable)
{
    internal static ResponseHeader Decode(ref UaReader r)
    {
        var timestamp = r.DateTime();
        uint handle = r.UInt32();
        var result = r.StatusCode();
        r.SkipDiagnosticInfo();
        var table = r.StringArray("StringTable");
        r.ExtensionObject(); // AdditionalHeader
        return new ResponseHeader(timestamp, handle, result, table);
    }
}

public sealed record ChannelSecurityToken(uint ChannelId, uint TokenId, DateTime CreatedAt, uint RevisedLifetimeMs);

public sealed record OpenSecureChannelResponse(ResponseHeader Header, uint ServerProtocolVersion, ChannelSecurityToken Token, byte[]? ServerNonce);

public sealed record ApplicationDescription(string? ApplicationUri, string? ProductUri, LocalizedText ApplicationName, uint ApplicationType,
    string? GatewayServerUri, string? DiscoveryProfileUri, string?[] DiscoveryUrls)
{
    internal static ApplicationDescription Decode(ref UaReader r) => new(r.String(), r.String(), r.LocalizedText(), r.UInt32(),
        r.String(), r.String(), r.StringArray("DiscoveryUrls"));

    internal void Encode(UaWriter w)
    {
        w.String(ApplicationUri);
        w.String(ProductUri);
        w.LocalizedText(ApplicationName);
        w.UInt32(ApplicationType);
        w.String(GatewayServerUri);
        w.String(DiscoveryProfileUri);
        w.StringArray(DiscoveryUrls);
    }
}

/// <summary>UserTokenType: 0 anonymous, 1 user name, 2 certificate, 3 issued token.</summary>
public sealed record UserTokenPolicy(string? PolicyId, uint TokenType, string? IssuedTokenType, string? IssuerEndpointUrl, string? SecurityPolicyUri)
{
    public const uint Anonymous = 0;
    public const uint UserName = 1;
}

public sealed record EndpointDescription(string? EndpointUrl, ApplicationDescription Server, byte[]? ServerCertificate, MessageSecurityMode SecurityMode,
    string? SecurityPolicyUri, UserTokenPolicy[] UserIdentityTokens, string? TransportProfileUri, byte SecurityLevel)
{
    internal static EndpointDescription Decode(ref UaReader r)
    {
        string? url = r.String();
        var server = ApplicationDescription.Decode(ref r);
        var cert = r.ByteString();
        uint mode = r.UInt32();
        if (mode > 3) OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"MessageSecurityMode {mode}");
        string? policy = r.String();
        int n = r.ArrayLength("UserIdentityTokens", 4);
        var tokens = new UserTokenPolicy[n];
        for (int i = 0; i < n; i++) tokens[i] = new UserTokenPolicy(r.String(), r.UInt32(), r.String(), r.String(), r.String());
        return new EndpointDescription(url, server, cert, (MessageSecurityMode)mode, policy, tokens, r.String(), r.Byte());
    }

    internal static EndpointDescription[] DecodeArray(ref UaReader r)
    {
        int n = r.ArrayLength("Endpoints", 4);
        var a = new EndpointDescription[n];
        for (int i = 0; i < n; i++) a[i] = Decode(ref r);
        return a;
    }
}

public sealed record GetEndpointsResponse(ResponseHeader Header, EndpointDescription[] Endpoints);

public sealed record SignatureData(string? Algorithm, byte[]? Signature);

public sealed record CreateSessionResponse(ResponseHeader Header, NodeId SessionId, NodeId AuthenticationToken, double RevisedSessionTimeout,
    byte[]? ServerNonce, byte[]? ServerCertificate, EndpointDescription[] ServerEndpoints, SignatureData ServerSignature, uint MaxRequestMessageSize);

public sealed record ActivateSessionResponse(ResponseHeader Header, byte[]? ServerNonce, StatusCode[] Results);

public sealed record ReadResponse(ResponseHeader Header, DataValue[] Results);

public sealed record ReferenceDescription(NodeId ReferenceTypeId, bool IsForward, ExpandedNodeId NodeId, QualifiedName BrowseName,
    LocalizedText DisplayName, uint NodeClass, ExpandedNodeId TypeDefinition);

public sealed record BrowseResult(StatusCode Status, byte[]? ContinuationPoint, ReferenceDescription[] References);

public sealed record BrowseResponse(ResponseHeader Header, BrowseResult[] Results);

public sealed record BrowseNextResponse(ResponseHeader Header, BrowseResult[] Results);

public sealed record CreateSubscriptionResponse(ResponseHeader Header, uint SubscriptionId, double RevisedPublishingInterval,
    uint RevisedLifetimeCount, uint RevisedMaxKeepAliveCount);

public sealed record MonitoredItemCreateResult(StatusCode Status, uint MonitoredItemId, double RevisedSamplingInterval, uint RevisedQueueSize);

public sealed record CreateMonitoredItemsResponse(ResponseHeader Header, MonitoredItemCreateResult[] Results);

/// <summary>One changed value of a monitored item, named by the client handle we gave it.</summary>
public readonly record struct MonitoredItemNotification(uint ClientHandle, DataValue Value);

/// <summary>
/// A NotificationMessage (Part 4, sec 7.21): data changes are decoded; a status change (the
/// subscription ended on the server) is kept as its status; event notifications are skipped.
/// An empty message is a keep-alive.
/// </summary>
public sealed record NotificationMessage(uint SequenceNumber, DateTime PublishTime, MonitoredItemNotification[] DataChanges, StatusCode[] StatusChanges)
{
    public bool IsKeepAlive => DataChanges.Length == 0 && StatusChanges.Length == 0;

    internal static NotificationMessage Decode(ref UaReader r)
    {
        uint seq = r.UInt32();
        var time = r.DateTime();
        int n = r.ArrayLength("NotificationData", 3);
        var changes = new List<MonitoredItemNotification>();
        var statuses = new List<StatusCode>();
        for (int i = 0; i < n; i++)
        {
            var eo = r.ExtensionObject();
            switch (eo.BinaryTypeId)
            {
                case EncodingIds.DataChangeNotification:
                    {
                        var br = new UaReader(eo.Body);
                        int m = br.ArrayLength("MonitoredItems", 5);
                        for (int j = 0; j < m; j++) changes.Add(new MonitoredItemNotification(br.UInt32(), br.DataValue()));
                        br.SkipDiagnosticInfoArray();
                        break;
                    }
                case EncodingIds.StatusChangeNotification:
                    {
                        var br = new UaReader(eo.Body);
                        statuses.Add(br.StatusCode());
                        br.SkipDiagnosticInfo();
                        break;
                    }
                default:
                    break; // events and unknown notifications are not ours to store
            }
        }
        return new NotificationMessage(seq, time, changes.ToArray(), statuses.ToArray());
    }
}

public sealed record PublishResponse(ResponseHeader Header, uint SubscriptionId, uint[] AvailableSequenceNumbers, bool MoreNotifications,
    NotificationMessage Message, StatusCode[] Results);

public sealed record RepublishResponse(ResponseHeader Header, NotificationMessage Message);

/// <summary>One subscription's outcome of TransferSubscriptions: its status and the notification messages still available for Republish.</summary>
public sealed record TransferResult(StatusCode Status, uint[] AvailableSequenceNumbers);

public sealed record TransferSubscriptionsResponse(ResponseHeader Header, TransferResult[] Results);

public sealed record StatusResultsResponse(ResponseHeader Header, StatusCode[] Results);

/// <summary>What one Read asks for: a node's attribute (13 = Value).</summary>
public readonly record struct ReadValueId(NodeId NodeId, uint AttributeId = WellKnown.AttributeValue)
{
    internal void Encode(UaWriter w)
    {
        w.NodeId(NodeId);
        w.UInt32(AttributeId);
        w.String(null);                          // IndexRange
        w.QualifiedName(new QualifiedName(0, null)); // DataEncoding: default
    }
}

/// <summary>One item to monitor: the node's Value, reported with our handle, sampled at the interval.</summary>
public readonly record struct MonitoredItemRequest(NodeId NodeId, uint ClientHandle, double SamplingIntervalMs, uint QueueSize);

/// <summary>Request encoders and response decoders of the services this client uses (Part 4, sec 5; Part 6, sec 5.2).</summary>
public static class UaServices
{
    public delegate T Decoder<T>(ref UaReader r, ResponseHeader header);

    private static void Begin(UaWriter w, uint encodingId, in RequestHeader header)
    {
        w.NodeId(new NodeId(0, encodingId));
        header.Encode(w);
    }

    /// <summary>requestType 0 = Issue, 1 = Renew.</summary>
    public static void WriteOpenSecureChannel(UaWriter w, in RequestHeader h, uint requestType, MessageSecurityMode mode, byte[]? clientNonce, uint lifetimeMs)
    {
        Begin(w, EncodingIds.OpenSecureChannelRequest, h);
        w.UInt32(0);              // ClientProtocolVersion
        w.UInt32(requestType);
        w.UInt32((uint)mode);
        w.ByteString(clientNonce ?? []);
        w.UInt32(lifetimeMs);
    }

    public static void WriteCloseSecureChannel(UaWriter w, in RequestHeader h) => Begin(w, EncodingIds.CloseSecureChannelRequest, h);

    public static void WriteGetEndpoints(UaWriter w, in RequestHeader h, string endpointUrl)
    {
        Begin(w, EncodingIds.GetEndpointsRequest, h);
        w.String(endpointUrl);
        w.StringArray(null); // LocaleIds
        w.StringArray(null); // ProfileUris
    }

    public static void WriteCreateSession(UaWriter w, in RequestHeader h, ApplicationDescription client, string? serverUri, string endpointUrl,
        string sessionName, byte[]? clientNonce, byte[]? clientCertificate, double sessionTimeoutMs, uint maxResponseMessageSize)
    {
        Begin(w, EncodingIds.CreateSessionRequest, h);
        client.Encode(w);
        w.String(serverUri);
        w.String(endpointUrl);
        w.String(sessionName);
        w.ByteString(clientNonce);
        w.ByteString(clientCertificate);
        w.Double(sessionTimeoutMs);
        w.UInt32(maxResponseMessageSize);
    }

    /// <summary>
    /// ActivateSession with an anonymous token (<paramref name="userName"/> null) or a user name
    /// token whose password is already in its wire form (<paramref name="password"/>, encrypted
    /// per policy, with <paramref name="passwordAlgorithm"/> naming the encryption or null when plain).
    /// </summary>
    public static void WriteActivateSession(UaWriter w, in RequestHeader h, SignatureData clientSignature, string? policyId,
        string? userName, byte[]? password, string? passwordAlgorithm)
    {
        Begin(w, EncodingIds.ActivateSessionRequest, h);
        w.String(clientSignature.Algorithm);
        w.ByteString(clientSignature.Signature);
        w.ArrayLength(0);      // ClientSoftwareCertificates
        w.StringArray(["en"]); // LocaleIds
        if (userName is null)
        {
            w.ExtensionObject(EncodingIds.AnonymousIdentityToken, b => b.String(policyId));
        }
        else
        {
            w.ExtensionObject(EncodingIds.UserNameIdentityToken, b =>
            {
                b.String(policyId);
                b.String(userName);
                b.ByteString(password);
                b.String(passwordAlgorithm);
            });
        }
        w.String(null);    // UserTokenSignature.Algorithm
        w.ByteString(null); // UserTokenSignature.Signature
    }

    public static void WriteCloseSession(UaWriter w, in RequestHeader h, bool deleteSubscriptions)
    {
        Begin(w, EncodingIds.CloseSessionRequest, h);
        w.Boolean(deleteSubscriptions);
    }

    /// <summary>Read with TimestampsToReturn = Both (2) and MaxAge 0 (a fresh value).</summary>
    public static void WriteRead(UaWriter w, in RequestHeader h, IReadOnlyList<ReadValueId> nodes, double maxAgeMs = 0)
    {
        Begin(w, EncodingIds.ReadRequest, h);
        w.Double(maxAgeMs);
        w.UInt32(2); // TimestampsToReturn: Both
        w.ArrayLength(nodes.Count);
        foreach (var n in nodes) n.Encode(w);
    }

    /// <summary>
    /// Write (Part 4, sec 5.10.4) of each node's Value attribute: NodesToWrite = WriteValue { NodeId,
    /// AttributeId 13, IndexRange null, DataValue with the value only (servers refuse timestamps
    /// they do not take) }. The response is a StatusCode per node (<see cref="DecodeStatusResults"/>).
    /// </summary>
    public static void WriteWrite(UaWriter w, in RequestHeader h, IReadOnlyList<(NodeId Node, Variant Value)> nodes)
    {
        Begin(w, EncodingIds.WriteRequest, h);
        w.ArrayLength(nodes.Count);
        foreach (var (node, value) in nodes)
        {
            w.NodeId(node);
            w.UInt32(WellKnown.AttributeValue);
            w.String(null);
            w.DataValue(new DataValue(value));
        }
    }

    /// <summary>Browse forward along hierarchical references, all node classes, every result field.</summary>
    public static void WriteBrowse(UaWriter w, in RequestHeader h, IReadOnlyList<NodeId> nodes, uint maxReferencesPerNode)
    {
        Begin(w, EncodingIds.BrowseRequest, h);
        w.NodeId(NodeId.Null);    // View.ViewId
        w.DateTime(DateTime.MinValue); // View.Timestamp
        w.UInt32(0);              // View.ViewVersion
        w.UInt32(maxReferencesPerNode);
        w.ArrayLength(nodes.Count);
        foreach (var n in nodes)
        {
            w.NodeId(n);
            w.UInt32(0);          // BrowseDirection: Forward
            w.NodeId(WellKnown.HierarchicalReferences);
            w.Boolean(true);      // IncludeSubtypes
            w.UInt32(0);          // NodeClassMask: all
            w.UInt32(0x3F);       // ResultMask: all fields
        }
    }

    /// <summary>
    /// BrowseNext (Part 4, sec 5.8.3): the next references of each continuation point, or, with
    /// <paramref name="releaseContinuationPoints"/>, their release (the server then returns no references).
    /// </summary>
    public static void WriteBrowseNext(UaWriter w, in RequestHeader h, bool releaseContinuationPoints, IReadOnlyList<byte[]> continuationPoints)
    {
        Begin(w, EncodingIds.BrowseNextRequest, h);
        w.Boolean(releaseContinuationPoints);
        w.ArrayLength(continuationPoints.Count);
        foreach (var cp in continuationPoints) w.ByteString(cp);
    }

    public static void WriteCreateSubscription(UaWriter w, in RequestHeader h, double publishingIntervalMs, uint lifetimeCount, uint maxKeepAliveCount,
        uint maxNotificationsPerPublish)
    {
        Begin(w, EncodingIds.CreateSubscriptionRequest, h);
        w.Double(publishingIntervalMs);
        w.UInt32(lifetimeCount);
        w.UInt32(maxKeepAliveCount);
        w.UInt32(maxNotificationsPerPublish);
        w.Boolean(true); // PublishingEnabled
        w.Byte(0);       // Priority
    }

    public static void WriteCreateMonitoredItems(UaWriter w, in RequestHeader h, uint subscriptionId, IReadOnlyList<MonitoredItemRequest> items)
    {
        Begin(w, EncodingIds.CreateMonitoredItemsRequest, h);
        w.UInt32(subscriptionId);
        w.UInt32(2); // TimestampsToReturn: Both
        w.ArrayLength(items.Count);
        foreach (var item in items)
        {
            new ReadValueId(item.NodeId).Encode(w);
            w.UInt32(2);                  // MonitoringMode: Reporting
            w.UInt32(item.ClientHandle);
            w.Double(item.SamplingIntervalMs);
            w.NullExtensionObject();      // Filter: default (status or value change)
            w.UInt32(item.QueueSize);
            w.Boolean(true);              // DiscardOldest
        }
    }

    public static void WritePublish(UaWriter w, in RequestHeader h, IReadOnlyList<(uint SubscriptionId, uint SequenceNumber)> acknowledgements)
    {
        Begin(w, EncodingIds.PublishRequest, h);
        w.ArrayLength(acknowledgements.Count);
        foreach (var (sub, seq) in acknowledgements)
        {
            w.UInt32(sub);
            w.UInt32(seq);
        }
    }

    public static void WriteRepublish(UaWriter w, in RequestHeader h, uint subscriptionId, uint sequenceNumber)
    {
        Begin(w, EncodingIds.RepublishRequest, h);
        w.UInt32(subscriptionId);
        w.UInt32(sequenceNumber);
    }

    public static void WriteTransferSubscriptions(UaWriter w, in RequestHeader h, IReadOnlyList<uint> subscriptionIds, bool sendInitialValues)
    {
        Begin(w, EncodingIds.TransferSubscriptionsRequest, h);
        w.UInt32Array(subscriptionIds);
        w.Boolean(sendInitialValues);
    }

    public static void WriteDeleteSubscriptions(UaWriter w, in RequestHeader h, IReadOnlyList<uint> subscriptionIds)
    {
        Begin(w, EncodingIds.DeleteSubscriptionsRequest, h);
        w.UInt32Array(subscriptionIds);
    }

    /// <summary>
    /// Decodes a response body. A ServiceFault (or any response whose header is Bad) comes back as
    /// <paramref name="fault"/> with a default result; a body of another type is malformed.
    /// </summary>
    /// <exception cref="OpcUaFormatException">not the expected response, truncated, or trailing bytes.</exception>
    public static T? Decode<T>(ReadOnlySpan<byte> body, uint expectedEncodingId, Decoder<T> decode, out ResponseHeader? fault) where T : class
    {
        var r = new UaReader(body);
        var typeId = r.NodeId();
        uint id = typeId.IdType == NodeIdType.Numeric && typeId.NamespaceIndex == 0 ? typeId.Numeric : 0;
        if (id == EncodingIds.ServiceFault)
        {
            fault = ResponseHeader.Decode(ref r);
            return null;
        }
        if (id != expectedEncodingId)
            OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"expected response type i={expectedEncodingId}, got {typeId}");
        var header = ResponseHeader.Decode(ref r);
        if (header.ServiceResult.IsBad)
        {
            fault = header;
            return null;
        }
        var result = decode(ref r, header);
        r.ExpectEnd($"response i={expectedEncodingId}");
        fault = null;
        return result;
    }

    public static OpenSecureChannelResponse DecodeOpenSecureChannel(ref UaReader r, ResponseHeader h)
        => new(h, r.UInt32(), new ChannelSecurityToken(r.UInt32(), r.UInt32(), r.DateTime(), r.UInt32()), r.ByteString());

    public static GetEndpointsResponse DecodeGetEndpoints(ref UaReader r, ResponseHeader h) => new(h, EndpointDescription.DecodeArray(ref r));

    public static CreateSessionResponse DecodeCreateSession(ref UaReader r, ResponseHeader h)
    {
        var sessionId = r.NodeId();
        var token = r.NodeId();
        double timeout = r.Double();
        var nonce = r.ByteString();
        var cert = r.ByteString();
        var endpoints = EndpointDescription.DecodeArray(ref r);
        int n = r.ArrayLength("ServerSoftwareCertificates", 8);
        for (int i = 0; i < n; i++) { r.ByteString(); r.ByteString(); }
        var signature = new SignatureData(r.String(), r.ByteString());
        return new CreateSessionResponse(h, sessionId, token, timeout, nonce, cert, endpoints, signature, r.UInt32());
    }

    public static ActivateSessionResponse DecodeActivateSession(ref UaReader r, ResponseHeader h)
    {
        var nonce = r.ByteString();
        var results = r.StatusCodeArray("Results");
        r.SkipDiagnosticInfoArray();
        return new ActivateSessionResponse(h, nonce, results);
    }

    public static ResponseHeader DecodeHeaderOnly(ref UaReader r, ResponseHeader h) => h;

    public static ReadResponse DecodeRead(ref UaReader r, ResponseHeader h)
    {
        int n = r.ArrayLength("Results", 1);
        var values = new DataValue[n];
        for (int i = 0; i < n; i++) values[i] = r.DataValue();
        r.SkipDiagnosticInfoArray();
        return new ReadResponse(h, values);
    }

    public static BrowseResponse DecodeBrowse(ref UaReader r, ResponseHeader h)
    {
        int n = r.ArrayLength("Results", 12);
        var results = new BrowseResult[n];
        for (int i = 0; i < n; i++)
        {
            var status = r.StatusCode();
            var cp = r.ByteString();
            int m = r.ArrayLength("References", 10);
            var refs = new ReferenceDescription[m];
            for (int j = 0; j < m; j++)
                refs[j] = new ReferenceDescription(r.NodeId(), r.Boolean(), r.ExpandedNodeId(), r.QualifiedName(), r.LocalizedText(), r.UInt32(), r.ExpandedNodeId());
            results[i] = new BrowseResult(status, cp, refs);
        }
        r.SkipDiagnosticInfoArray();
        return new BrowseResponse(h, results);
    }

    /// <summary>A BrowseNextResponse has the body of a BrowseResponse: Results, DiagnosticInfos.</summary>
    public static BrowseNextResponse DecodeBrowseNext(ref UaReader r, ResponseHeader h) => new(h, DecodeBrowse(ref r, h).Results);

    public static CreateSubscriptionResponse DecodeCreateSubscription(ref UaReader r, ResponseHeader h)
        => new(h, r.UInt32(), r.Double(), r.UInt32(), r.UInt32());

    public static CreateMonitoredItemsResponse DecodeCreateMonitoredItems(ref UaReader r, ResponseHeader h)
    {
        int n = r.ArrayLength("Results", 23);
        var results = new MonitoredItemCreateResult[n];
        for (int i = 0; i < n; i++)
        {
            results[i] = new MonitoredItemCreateResult(r.StatusCode(), r.UInt32(), r.Double(), r.UInt32());
            r.ExtensionObject(); // FilterResult
        }
        r.SkipDiagnosticInfoArray();
        return new CreateMonitoredItemsResponse(h, results);
    }

    public static PublishResponse DecodePublish(ref UaReader r, ResponseHeader h)
    {
        uint sub = r.UInt32();
        var available = r.UInt32Array("AvailableSequenceNumbers");
        bool more = r.Boolean();
        var message = NotificationMessage.Decode(ref r);
        var results = r.StatusCodeArray("Results");
        r.SkipDiagnosticInfoArray();
        return new PublishResponse(h, sub, available, more, message, results);
    }

    public static TransferSubscriptionsResponse DecodeTransferSubscriptions(ref UaReader r, ResponseHeader h)
    {
        int n = r.ArrayLength("Results", 8);
        var results = new TransferResult[n];
        for (int i = 0; i < n; i++) results[i] = new TransferResult(r.StatusCode(), r.UInt32Array("AvailableSequenceNumbers"));
        r.SkipDiagnosticInfoArray();
        return new TransferSubscriptionsResponse(h, results);
    }

    public static RepublishResponse DecodeRepublish(ref UaReader r, ResponseHeader h) => new(h, NotificationMessage.Decode(ref r));

    public static StatusResultsResponse DecodeStatusResults(ref UaReader r, ResponseHeader h)
    {
        var results = r.StatusCodeArray("Results");
        r.SkipDiagnosticInfoArray();
        return new StatusResultsResponse(h, results);
    }
}
