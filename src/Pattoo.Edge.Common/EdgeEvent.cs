namespace Pattoo.Edge.Common;

/// <summary>How much an event matters; the names are Alertmanager's usual severity labels.</summary>
public enum EventSeverity
{
    Info,
    Warning,
    Critical,
}

/// <summary>
/// Something that happened, as opposed to a value polled: an SNMP trap, an alert changing
/// state. <see cref="Program"/> and <see cref="Target"/> name its source as datapoints do
/// theirs ("snmp" and the sending device; "alerts" and the rule); <see cref="Kind"/> says what
/// it is ("trap", "inform", "alert"), <see cref="Details"/> carries the rest as key/value pairs.
/// </summary>
public sealed record EdgeEvent(long Timestamp, string Program, string Target, string Kind, EventSeverity Severity, string Text,
    IReadOnlyList<KeyValuePair<string, string>> Details)
{
    /// <summary>The store's number for it (0 until stored): newer events have larger ids.</summary>
    public long Id { get; init; }
}

/// <summary>Where events go; <see cref="Publish"/> never blocks (the store batches them).</summary>
public interface IEventSink
{
    void Publish(EdgeEvent e);
}

public static class EventSeverities
{
    public static string Name(this EventSeverity s) => s switch
    {
        EventSeverity.Warning => "warning",
        EventSeverity.Critical => "critical",
        _ => "info",
    };

    public static bool TryParse(string text, out EventSeverity severity)
    {
        switch (text)
        {
            case "info": severity = EventSeverity.Info; return true;
            case "warning": severity = EventSeverity.Warning; return true;
            case "critical": severity = EventSeverity.Critical; return true;
            default: severity = EventSeverity.Info; return false;
        }
    }

    public static readonly string[] Names = ["info", "warning", "critical"];
}
