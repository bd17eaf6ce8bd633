using System.Globalization;
using GraphQL;
using GraphQL.Types;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>One key/value pair of an event's details.</summary>
public sealed class EventDetailType : ObjectGraphType<KeyValuePair<string, string>>
{
    public EventDetailType()
    {
        Name = "EventDetail";
        Field<NonNullGraphType<StringGraphType>>("key").Resolve(c => c.Source.Key);
        Field<NonNullGraphType<StringGraphType>>("value").Resolve(c => c.Source.Value);
    }
}

/// <summary>An event: an SNMP trap or inform, an alert changing state.</summary>
public sealed class EventType : ObjectGraphType<EdgeEvent>
{
    public EventType()
    {
        Name = "Event";
        Field<NonNullGraphType<StringGraphType>>("idxEvent").Description("The store's number for it; newer events have larger ones").Resolve(c => c.Source.Id.ToString(CultureInfo.InvariantCulture));
        Field<NonNullGraphType<LongGraphType>>("timestamp").Description("When it happened (received), Unix ms").Resolve(c => c.Source.Timestamp);
        Field<NonNullGraphType<StringGraphType>>("agentProgram").Description("What produced it: \"snmp\" (traps), \"alerts\"").Resolve(c => c.Source.Program);
        Field<NonNullGraphType<StringGraphType>>("agentPolledTarget").Description("Its source: the SNMP target (or address) that sent it, the alert rule").Resolve(c => c.Source.Target);
        Field<NonNullGraphType<StringGraphType>>("source").Description("agentProgram/agentPolledTarget").Resolve(c => c.Source.Program + "/" + c.Source.Target);
        Field<NonNullGraphType<StringGraphType>>("kind").Description("\"trap\", \"inform\", \"alert\"").Resolve(c => c.Source.Kind);
        Field<NonNullGraphType<StringGraphType>>("severity").Description("\"info\", \"warning\" or \"critical\"").Resolve(c => c.Source.Severity.Name());
        Field<NonNullGraphType<StringGraphType>>("text").Description("One line saying what happened").Resolve(c => c.Source.Text);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<EventDetailType>>>>("details").Description("Everything it carried, as key/value pairs (a trap's varbinds by name)").Resolve(c => c.Source.Details);
    }
}

public sealed class EventEdgeType : ObjectGraphType<(string Cursor, EdgeEvent Node)>
{
    public EventEdgeType()
    {
        Name = "EventEdge";
        Field<NonNullGraphType<StringGraphType>>("cursor").Resolve(c => c.Source.Cursor);
        Field<NonNullGraphType<EventType>>("node").Resolve(c => c.Source.Node);
    }
}

public sealed class EventConnectionType : ObjectGraphType<Connection<EdgeEvent>>
{
    public EventConnectionType()
    {
        Name = "EventConnection";
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => c.Source.PageInfo);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<EventEdgeType>>>>("edges").Resolve(c => c.Source.Edges);
        Field<NonNullGraphType<IntGraphType>>("totalCount").Description("Events matching the filters, all pages").Resolve(c => c.Source.TotalCount);
    }
}

/// <summary>
/// The events field: newest first, pattoo's Relay paging (first, after, edges, pageInfo,
/// totalCount). Cursors name an event ("event:ID" in base64), so a page stays stable while
/// new events arrive.
/// </summary>
public static class EventsField
{
    public const int DefaultFirst = 100, MaxFirst = 1000;

    public static void Add(ObjectGraphType parent)
    {
        parent.Field<NonNullGraphType<EventConnectionType>>("events")
            .Description($"Events (SNMP traps and informs, alert state changes), newest first. from/to: Unix ms; source: \"program\" or \"program/target\"; kind: \"trap\", \"inform\", \"alert\"; severity: \"info\", \"warning\", \"critical\"; first: at most {MaxFirst} (default {DefaultFirst}); after: a cursor of the previous page")
            .Argument<LongGraphType>("from").Argument<LongGraphType>("to").Argument<StringGraphType>("source")
            .Argument<StringGraphType>("kind").Argument<StringGraphType>("severity")
            .Argument<IntGraphType>("first").Argument<StringGraphType>("after")
            .Resolve(Resolve);
        parent.Field<NonNullGraphType<ListGraphType<NonNullGraphType<ActiveAlertType>>>>("alerts")
            .Description("Alerts pending or firing now ([[alerts.rules]]), firing first; their history is in events(source: \"alerts\")")
            .Resolve(c => ((ApiUserContext)c.UserContext).Appliance.Alerts);
    }

    private static Connection<EdgeEvent> Resolve(IResolveFieldContext<object?> c)
    {
        int first = c.GetArgument<int?>("first") ?? DefaultFirst;
        if (first is < 0 or > MaxFirst) throw new ExecutionError($"events: first must be 0 to {MaxFirst}, got {first}");
        var query = new EventQuery
        {
            From = c.GetArgument<long?>("from"),
            To = c.GetArgument<long?>("to"),
            Kind = c.GetArgument<string?>("kind"),
            Limit = first,
        };
        if (c.GetArgument<string?>("source") is { } source)
        {
            int slash = source.IndexOf('/', StringComparison.Ordinal);
            query = slash < 0 ? query with { Program = source } : query with { Program = source[..slash], Target = source[(slash + 1)..] };
        }
        if (c.GetArgument<string?>("severity") is { } severityText)
        {
            if (!EventSeverities.TryParse(severityText, out var severity))
                throw new ExecutionError($"events: severity \"{severityText}\" is not one of {string.Join(", ", EventSeverities.Names)}");
            query = query with { Severity = severity };
        }
        if (c.GetArgument<string?>("after") is { } after) query = query with { BeforeId = IdCursor.Decode("event", after, "events") };
        var page = ((ApiUserContext)c.UserContext).Appliance.Store.ReadEvents(query);
        return IdCursor.Page("event", page.Events, e => e.Id, page.HasMore, query.BeforeId is not null, page.TotalCount);
    }
}

/// <summary>An alert pending or firing now.</summary>
public sealed class ActiveAlertType : ObjectGraphType<Alerts.ActiveAlert>
{
    public ActiveAlertType()
    {
        Name = "Alert";
        Field<NonNullGraphType<StringGraphType>>("rule").Description("The [[alerts.rules]] name").Resolve(c => c.Source.Rule);
        Field<NonNullGraphType<StringGraphType>>("state").Description("\"pending\" (the condition holds, not yet for long enough) or \"firing\"").Resolve(c => c.Source.State == Alerts.AlertState.Firing ? "firing" : "pending");
        Field<NonNullGraphType<StringGraphType>>("severity").Resolve(c => c.Source.Severity.Name());
        Field<NonNullGraphType<LongGraphType>>("since").Description("When the condition began to hold, Unix ms").Resolve(c => c.Source.Since);
        Field<FloatGraphType>("value").Description("The value last judged (a counter's per-second rate); null for no_data_for").Resolve(c => c.Source.Value);
        Field<NonNullGraphType<StringGraphType>>("message").Resolve(c => c.Source.Message);
        Field<NonNullGraphType<StringGraphType>>("idxDatapoint").Resolve(c => c.Source.Series.Idx.ToString(CultureInfo.InvariantCulture));
        Field<NonNullGraphType<StringGraphType>>("agentProgram").Resolve(c => c.Source.Series.Program);
        Field<NonNullGraphType<StringGraphType>>("agentPolledTarget").Resolve(c => c.Source.Series.Target);
        Field<NonNullGraphType<StringGraphType>>("key").Resolve(c => c.Source.Series.Key);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<EventDetailType>>>>("labels").Resolve(c => c.Source.Series.Labels);
    }
}
