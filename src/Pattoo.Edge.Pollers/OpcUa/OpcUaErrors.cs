using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>The connection failed or broke: refused, closed, timed out, an Error message, malformed data.</summary>
public sealed class OpcUaConnectionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The server answered a service with a Bad status (ServiceFault or a Bad service result).</summary>
public sealed class OpcUaServiceException(string service, StatusCode status, string? detail = null)
    : Exception($"{service} failed: {status}{(detail is null ? "" : ": " + detail)}")
{
    public string Service { get; } = service;
    public StatusCode Status { get; } = status;

    /// <summary>The session or channel is gone on the server: reconnect rather than retry.</summary>
    public bool SessionLost => Status.CodeBits is 0x80250000 /* BadSessionIdInvalid */ or 0x80260000 /* BadSessionClosed */
        or 0x80270000 /* BadSessionNotActivated */ or 0x80220000 /* BadSecureChannelIdInvalid */ or 0x80860000 /* BadSecureChannelClosed */
        or 0x80870000 /* BadSecureChannelTokenUnknown */;
}

/// <summary>What an OPC UA target has seen, counted in a <see cref="Shared.Counters{TKey}"/>; the API shows them as its diagnostics.</summary>
public enum OpcUaCounter
{
    /// <summary>Sessions opened (1 + reconnects).</summary>
    SessionsOpened,
    /// <summary>Times the session was carried over to a new channel after the connection broke.</summary>
    SessionReactivations,
    /// <summary>Values with a Bad status, not stored.</summary>
    BadValues,
    // Subscribe mode only, from here on.
    /// <summary>Subscriptions created: 1 unless the server lost one.</summary>
    SubscriptionsCreated,
    /// <summary>Times the subscription was transferred to a new session (TransferSubscriptions).</summary>
    SubscriptionTransfers,
    /// <summary>Data change notifications received.</summary>
    Notifications,
    /// <summary>Notification messages fetched again with Republish after a gap.</summary>
    Republished,
    /// <summary>Notification messages missing from the sequence that the server could no longer send again (values possibly lost).</summary>
    RepublishMissed,
    /// <summary>Received values dropped because nobody collected them (more than 100,000 waiting).</summary>
    ValuesDroppedUncollected,
}
