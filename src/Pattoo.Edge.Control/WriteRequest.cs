namespace Pattoo.Edge.Control;

/// <summary>Who asks for a write: the control token's name (null: none or a wrong one was sent) and the client's address.</summary>
/// <param name="TokenName">The name of the control token the request carried, or null.</param>
/// <param name="TokenSent">Whether the request carried a bearer token at all (to tell "missing" from "wrong").</param>
/// <param name="Client">The client's address, as the audit trail records it.</param>
public sealed record ControlCaller(string? TokenName, bool TokenSent, string Client);

/// <summary>
/// A write or relinquish the box refused or could not complete. <see cref="Audit"/> is its
/// audit row (null when none was kept: an unauthenticated client over its audit rate).
/// </summary>
public sealed class WriteRefusedException(string message, Storage.AuditEntry? audit, string code) : Exception(message)
{
    public Storage.AuditEntry? Audit { get; } = audit;

    /// <summary>A short machine-readable reason: UNAUTHORIZED, DISABLED, NOT_FOUND, NOT_WRITABLE, BAD_VALUE, RATE_LIMITED, OUT_OF_LIMITS, AUDIT_FAILED, DEVICE_REFUSED, DEVICE_FAILED, NOT_SUPPORTED.</summary>
    public string Code { get; } = code;
}
