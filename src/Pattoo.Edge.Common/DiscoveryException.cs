namespace Pattoo.Edge.Common;

/// <summary>A discovery that could not finish: unreachable, silent or out of time; the message says which and what to try.</summary>
public sealed class DiscoveryException(string message) : Exception(message);
