namespace Pattoo.Edge.Host;

/// <summary>
/// Settings that are valid but probably not what the technician meant. <c>config check</c>
/// prints them as warnings (the file is still accepted) and the appliance logs them at start.
/// Each poller says its own (<see cref="Pollers.IPollerOptions.Warnings"/>).
/// </summary>
public static class ConfigAdvice
{
    public static IReadOnlyList<string> Warnings(EdgeOptions o) => [.. o.Pollers.SelectMany(p => p.Warnings())];
}
