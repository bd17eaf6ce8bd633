using System.Globalization;
using GraphQL;
using GraphQL.Types;
using GraphQLParser.AST;
using Pattoo.Edge.Control;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>
/// A value to write, as the request spells it: a number (21.5), a string ("auto") or a boolean.
/// Kept as text, so the point decides how to read it (a whole number, 0/1, a text).
/// </summary>
public sealed class WriteValueGraphType : ScalarGraphType
{
    public WriteValueGraphType()
    {
        Name = "WriteValue";
        Description = "A value to write: a number, a string or a boolean; the point's type decides how it is read";
    }

    public override object? ParseLiteral(GraphQLValue value) => value switch
    {
        GraphQLStringValue s => (string)s.Value,
        GraphQLIntValue i => (string)i.Value,
        GraphQLFloatValue f => (string)f.Value,
        GraphQLBooleanValue b => b.BoolValue ? "true" : "false",
        GraphQLNullValue => null,
        _ => ThrowLiteralConversionError(value, "expected a number, a string or a boolean"),
    };

    public override object? ParseValue(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable n when value is int or long or double or decimal or float or short or byte or System.Numerics.BigInteger => n.ToString(null, CultureInfo.InvariantCulture),
        _ => ThrowValueConversionError(value),
    };

    public override object? Serialize(object? value) => value?.ToString();
}

/// <summary>How a datapoint may be written (null on a datapoint that may not).</summary>
public sealed class WritableType : ObjectGraphType<WritableDatapoint>
{
    public WritableType()
    {
        Name = "Writable";
        Description = "A datapoint the config declares writable, and what a write may set";
        Field<NonNullGraphType<StringGraphType>>("kind").Description("\"number\", \"integer\", \"bool\" or \"text\"").Resolve(c => c.Source.Point.Limits.Kind.ToString().ToLowerInvariant());
        Field<FloatGraphType>("min").Resolve(c => c.Source.Point.Limits.Min);
        Field<FloatGraphType>("max").Resolve(c => c.Source.Point.Limits.Max);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("allowed").Description("The only values a write may set; empty when min/max apply").Resolve(c => c.Source.Point.Limits.Allowed);
        Field<FloatGraphType>("ramp").Description("The largest change one write may make from what the device reports").Resolve(c => c.Source.Point.Limits.Ramp);
        Field<NonNullGraphType<StringGraphType>>("limits").Description("The limits in words: \"min 5, max 30, ramp 2 per write\"").Resolve(c => c.Source.Point.Limits.Describe());
        Field<NonNullGraphType<StringGraphType>>("address").Description("Where the point is on the device").Resolve(c => c.Source.Point.Address);
        Field<NonNullGraphType<BooleanGraphType>>("canRelinquish").Description("True for BACnet points: relinquish releases this box's priority").Resolve(c => c.Source.Point.CanRelinquish);
        Field<NonNullGraphType<BooleanGraphType>>("enabled").Description("False while write.enabled = false: every write is refused").Resolve(c => ((ApiUserContext)c.UserContext).Appliance.Writes.Options.Enabled);
    }
}

/// <summary>One row of the audit trail; also what writeValue and relinquish answer.</summary>
public sealed class AuditEntryType : ObjectGraphType<AuditEntry>
{
    public AuditEntryType()
    {
        Name = "AuditEntry";
        Description = "A write or relinquish request that reached the box, and what became of it";
        Field<NonNullGraphType<StringGraphType>>("idxAudit").Resolve(c => c.Source.Id.ToString(CultureInfo.InvariantCulture));
        Field<NonNullGraphType<LongGraphType>>("timestamp").Description("Unix ms").Resolve(c => c.Source.Timestamp);
        Field<NonNullGraphType<StringGraphType>>("tokenName").Description("The control token's name; empty when the request had none that is valid").Resolve(c => c.Source.Token);
        Field<NonNullGraphType<StringGraphType>>("client").Description("The client's address").Resolve(c => c.Source.Client);
        Field<NonNullGraphType<StringGraphType>>("idxDatapoint").Resolve(c => c.Source.IdxDatapoint.ToString(CultureInfo.InvariantCulture));
        Field<NonNullGraphType<StringGraphType>>("point").Description("program/target/key and where it is on the device").Resolve(c => c.Source.Point);
        Field<NonNullGraphType<StringGraphType>>("action").Description("\"write\" or \"relinquish\"").Resolve(c => c.Source.Action);
        Field<StringGraphType>("oldValue").Description("What the device reported before").Resolve(c => c.Source.OldValue);
        Field<StringGraphType>("requestedValue").Resolve(c => c.Source.Requested);
        Field<StringGraphType>("readBackValue").Description("What the device reported after the write").Resolve(c => c.Source.ReadBack);
        Field<NonNullGraphType<StringGraphType>>("result").Description("\"written\", \"mismatch\" (the device reports another value), \"refused\" or \"failed\"").Resolve(c => c.Source.Result);
        Field<NonNullGraphType<StringGraphType>>("message").Resolve(c => c.Source.Message);
        Field<NonNullGraphType<StringGraphType>>("comment").Resolve(c => c.Source.Comment);
    }
}

public sealed class AuditEdgeType : ObjectGraphType<(string Cursor, AuditEntry Node)>
{
    public AuditEdgeType()
    {
        Name = "AuditEdge";
        Field<NonNullGraphType<StringGraphType>>("cursor").Resolve(c => c.Source.Cursor);
        Field<NonNullGraphType<AuditEntryType>>("node").Resolve(c => c.Source.Node);
    }
}

public sealed class AuditConnectionType : ObjectGraphType<Connection<AuditEntry>>
{
    public AuditConnectionType()
    {
        Name = "AuditConnection";
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => c.Source.PageInfo);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<AuditEdgeType>>>>("edges").Resolve(c => c.Source.Edges);
        Field<NonNullGraphType<IntGraphType>>("totalCount").Resolve(c => c.Source.TotalCount);
    }
}

/// <summary>Write-back in the schema: the audit query, DataPoint.writable, and the writeValue and relinquish mutations.</summary>
public static class WriteFields
{
    public const int DefaultFirst = 100, MaxFirst = 1000;

    public static void AddQuery(ObjectGraphType query)
    {
        query.Field<NonNullGraphType<AuditConnectionType>>("audit")
            .Description($"The write-back audit trail, newest first. idxDatapoint: one datapoint's; from/to: Unix ms; result: \"written\", \"mismatch\", \"refused\", \"failed\"; first: at most {MaxFirst} (default {DefaultFirst}); after: a cursor of the previous page")
            .Argument<StringGraphType>("idxDatapoint").Argument<LongGraphType>("from").Argument<LongGraphType>("to").Argument<StringGraphType>("result")
            .Argument<IntGraphType>("first").Argument<StringGraphType>("after")
            .Resolve(ResolveAudit);
    }

    /// <summary>The writable field of DataPoint and Series: how the datapoint may be written, or null.</summary>
    public static void AddWritableField<TSource>(ObjectGraphType<TSource> type, Func<TSource, DatapointRow> datapoint)
    {
        type.Field<WritableType>("writable")
            .Description("How this datapoint may be written (write-back); null when the config does not declare its point writable")
            .Resolve(c => ((ApiUserContext)c.UserContext).Appliance.Writes.Describe(datapoint(c.Source)));
    }

    public static void AddMutations(ObjectGraphType mutation)
    {
        mutation.Field<NonNullGraphType<AuditEntryType>>("writeValue")
            .Description("Writes a value to a writable datapoint's device point, then reads it back. Needs a control token (api.control_tokens) and write.enabled = true; the value must be within the point's limits. The answer is the audit row: what the device reported before and reports now")
            .Argument<NonNullGraphType<StringGraphType>>("idxDatapoint").Argument<NonNullGraphType<WriteValueGraphType>>("value").Argument<StringGraphType>("comment")
            .ResolveAsync(async c =>
            {
                var (ctx, idx) = Target(c);
                string value = c.GetArgument<string>("value") ?? throw new ExecutionError("writeValue: value is required");
                return await Run(c, () => ctx.Appliance.Writes.WriteAsync(ctx.Caller, idx, value, c.GetArgument<string?>("comment"), c.CancellationToken)).ConfigureAwait(false);
            });
        mutation.Field<NonNullGraphType<AuditEntryType>>("relinquish")
            .Description("Releases this box's command on a BACnet point (writes NULL at its write_priority), so a lower priority or the relinquish default applies; other protocols answer \"not supported\". Needs a control token")
            .Argument<NonNullGraphType<StringGraphType>>("idxDatapoint").Argument<StringGraphType>("comment")
            .ResolveAsync(async c =>
            {
                var (ctx, idx) = Target(c);
                return await Run(c, () => ctx.Appliance.Writes.RelinquishAsync(ctx.Caller, idx, c.GetArgument<string?>("comment"), c.CancellationToken)).ConfigureAwait(false);
            });
    }

    private static (ApiUserContext, long) Target(IResolveFieldContext<object?> c)
    {
        var ctx = (ApiUserContext)c.UserContext;
        string? text = c.GetArgument<string?>("idxDatapoint");
        long idx = Ids.ParseIdx(text, "idxDatapoint", "DataPoint");
        return (ctx, idx);
    }

    private static async Task<object?> Run(IResolveFieldContext<object?> c, Func<Task<AuditEntry>> work)
    {
        try
        {
            var entry = await work().ConfigureAwait(false);
            ((ApiUserContext)c.UserContext).Invalidate();
            return entry;
        }
        catch (WriteRefusedException e)
        {
            var error = new ExecutionError($"{c.FieldDefinition.Name}: {e.Message}") { Code = e.Code };
            if (e.Audit is { } audit) error.Data["idxAudit"] = audit.Id.ToString(CultureInfo.InvariantCulture);
            throw error;
        }
    }

    private static Connection<AuditEntry> ResolveAudit(IResolveFieldContext<object?> c)
    {
        int first = c.GetArgument<int?>("first") ?? DefaultFirst;
        if (first is < 0 or > MaxFirst) throw new ExecutionError($"audit: first must be 0 to {MaxFirst}, got {first}");
        var query = new AuditQuery
        {
            From = c.GetArgument<long?>("from"),
            To = c.GetArgument<long?>("to"),
            Result = c.GetArgument<string?>("result"),
            Limit = first,
        };
        if (c.GetArgument<string?>("idxDatapoint") is { } idx) query = query with { IdxDatapoint = Ids.ParseIdx(idx, "idxDatapoint", "DataPoint") };
        if (c.GetArgument<string?>("after") is { } after) query = query with { BeforeId = IdCursor.Decode("audit", after, "audit") };
        var page = ((ApiUserContext)c.UserContext).Appliance.Store.ReadAudit(query);
        return IdCursor.Page("audit", page.Entries, e => e.Id, page.HasMore, query.BeforeId is not null, page.TotalCount);
    }
}
