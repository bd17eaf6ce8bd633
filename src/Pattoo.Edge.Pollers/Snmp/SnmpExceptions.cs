namespace Pattoo.Edge.Pollers.Snmp;

/// <summary>The agent did not answer within the timeout, retries included.</summary>
public sealed class SnmpTimeoutException(string message) : TimeoutException(message);

/// <summary>
/// The agent answered with a Report PDU (RFC 3412 sec 7.2): the USM refused the request. The
/// message names the cause in plain words (unknown user, wrong password, ...).
/// </summary>
public sealed class SnmpReportException(string message, string reportOid) : Exception(message)
{
    /// <summary>The counter the report carried, e.g. 1.3.6.1.6.3.15.1.1.3.0 (usmStatsUnknownUserNames).</summary>
    public string ReportOid { get; } = reportOid;
}

/// <summary>The agent answered a request with an error-status that applies to the whole request.</summary>
public sealed class SnmpAgentException(string message) : Exception(message);
