namespace Pattoo.Edge.Common;

/// <summary>A forwarder's state as the API and the dashboard show it.</summary>
/// <param name="Name">Its configured name.</param>
/// <param name="Kind">"remote_write" (later "mqtt", "pattoo").</param>
/// <param name="Connected">The last request was acknowledged.</param>
/// <param name="BacklogSamples">Samples stored and not yet acknowledged (estimated from each series' polling interval).</param>
/// <param name="OldestUnsentAge">How old the oldest unsent sample is; null when nothing is waiting.</param>
/// <param name="LastError">What the last failure said, null after a success.</param>
/// <param name="SamplesPerSecond">Acknowledged samples a second over the last minute.</param>
/// <param name="SamplesSent">Acknowledged samples since the start.</param>
public sealed record ForwarderStatus(string Name, string Kind, bool Connected, long BacklogSamples, TimeSpan? OldestUnsentAge, string? LastError, double SamplesPerSecond, long SamplesSent);
