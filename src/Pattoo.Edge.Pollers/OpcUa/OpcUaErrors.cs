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
