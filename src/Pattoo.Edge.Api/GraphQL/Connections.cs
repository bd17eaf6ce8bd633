using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using GraphQL;
using GraphQL.Types;

namespace Pattoo.Edge.Api.GraphQL;

public enum ColumnKind { String, Int }

/// <summary>One scalar field of a pattoo node type; every column is also a filter argument.</summary>
public sealed record Column<TRow>(string Name, ColumnKind Kind, Func<TRow, object?> Get);

/// <summary>How a pattoo table appears in GraphQL: type name, key and columns.</summary>
public sealed class NodeSpec<TRow>(string typeName, Func<TRow, string> key, params Column<TRow>[] columns)
{
    public string TypeName { get; } = typeName;
    public Func<TRow, string> Key { get; } = key;
    public IReadOnlyList<Column<TRow>> Columns { get; } = columns;

    public static Column<TRow> Str(string name, Func<TRow, object?> get) => new(name, ColumnKind.String, get);
    public static Column<TRow> Int(string name, Func<TRow, object?> get) => new(name, ColumnKind.Int, get);
}

/// <summary>A Relay page of rows.</summary>
public sealed record Connection<TRow>(IReadOnlyList<(string Cursor, TRow Node)> Edges, PageInfo PageInfo, int TotalCount);

public sealed record PageInfo(string? StartCursor, string? EndCursor, bool HasNextPage, bool HasPreviousPage);

public sealed class PageInfoType : ObjectGraphType<PageInfo>
{
    public PageInfoType()
    {
        Name = "PageInfo";
        Field<StringGraphType>("startCursor").Resolve(c => c.Source.StartCursor);
        Field<StringGraphType>("endCursor").Resolve(c => c.Source.EndCursor);
        Field<NonNullGraphType<BooleanGraphType>>("hasNextPage").Resolve(c => c.Source.HasNextPage);
        Field<NonNullGraphType<BooleanGraphType>>("hasPreviousPage").Resolve(c => c.Source.HasPreviousPage);
    }
}

public sealed class EdgeType<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TNode, TRow> : ObjectGraphType<(string Cursor, TRow Node)> where TNode : IGraphType
{
    public EdgeType(NodeSpec<TRow> spec)
    {
        Name = spec.TypeName + "Edge";
        Field<NonNullGraphType<StringGraphType>>("cursor").Resolve(c => c.Source.Cursor);
        Field<TNode>("node").Resolve(c => c.Source.Node);
    }
}

public sealed class ConnectionType<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TNode, TRow> : ObjectGraphType<Connection<TRow>> where TNode : IGraphType
{
    public ConnectionType(NodeSpec<TRow> spec)
    {
        Name = spec.TypeName + "Connection";
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => c.Source.PageInfo);
        Field<NonNullGraphType<ListGraphType<EdgeType<TNode, TRow>>>>("edges").Resolve(c => c.Source.Edges);
        Field<NonNullGraphType<IntGraphType>>("totalCount").Resolve(c => c.Source.TotalCount);
    }
}

/// <summary>
/// Connection fields as pattoo's InstrumentedQuery has them: first, last, before, after,
/// sortBy ("field [asc|desc]") and one equality filter per column. Cursors are graphene's
/// ("arrayconnection:N" in base64), so pattoo-web's paging keeps working.
/// </summary>
public static class Connections
{
    /// <summary>No connection returns more nodes than this without first/last.</summary>
    public const int MaxNodes = 100_000;

    public static void Add<TSource, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TNode, TRow>(ObjectGraphType<TSource> parent, string name, NodeSpec<TRow> spec,
        Func<IResolveFieldContext<TSource>, IEnumerable<TRow>> rows) where TNode : IGraphType
    {
        var field = parent.Field<ConnectionType<TNode, TRow>>(name)
            .Argument<IntGraphType>("first")
            .Argument<IntGraphType>("last")
            .Argument<StringGraphType>("before")
            .Argument<StringGraphType>("after")
            .Argument<ListGraphType<StringGraphType>>("sortBy");
        foreach (var column in spec.Columns)
        {
            if (column.Kind == ColumnKind.Int) field.Argument<IntGraphType>(column.Name);
            else field.Argument<StringGraphType>(column.Name);
        }
        field.Resolve(c => Page(c, spec, rows(c)));
    }

    public static Connection<TRow> Page<TSource, TRow>(IResolveFieldContext<TSource> c, NodeSpec<TRow> spec, IEnumerable<TRow> rows)
    {
        IEnumerable<TRow> filtered = rows;
        foreach (var column in spec.Columns)
        {
            if (!c.HasArgument(column.Name)) continue;
            var wanted = c.Arguments![column.Name].Value;
            if (wanted is null) continue;
            string text = Convert.ToString(wanted, CultureInfo.InvariantCulture) ?? "";
            filtered = filtered.Where(r => Convert.ToString(column.Get(r), CultureInfo.InvariantCulture) == text);
        }
        var list = filtered.ToList();
        // Read list arguments raw: GetArgument<List<T>> needs code generated at run time (AOT).
        var sortBy = c.HasArgument("sortBy") && c.Arguments!["sortBy"].Value is IEnumerable<object?> terms
            ? terms.Select(t => Convert.ToString(t, CultureInfo.InvariantCulture) ?? "").ToList()
            : null;
        if (sortBy is { Count: > 0 }) list = Sort(list, spec, sortBy);

        int total = list.Count;
        int start = 0, end = total;
        if (c.GetArgument<string?>("after") is { } after) start = Math.Max(start, Offset(after) + 1);
        if (c.GetArgument<string?>("before") is { } before) end = Math.Min(end, Offset(before));
        if (end < start) end = start;
        int? first = c.GetArgument<int?>("first");
        int? last = c.GetArgument<int?>("last");
        if (first < 0) throw new ExecutionError("first must not be negative");
        if (last < 0) throw new ExecutionError("last must not be negative");
        bool hasNext = false, hasPrevious = false;
        if (first is { } f && end - start > f) { end = start + f; hasNext = true; }
        if (last is { } l && end - start > l) { start = end - l; hasPrevious = true; }
        if (end - start > MaxNodes)
            throw new ExecutionError($"this connection has {end - start} nodes; ask for at most {MaxNodes} with first or last");
        var edges = new List<(string, TRow)>(end - start);
        for (int i = start; i < end; i++) edges.Add((Cursor(i), list[i]));
        return new Connection<TRow>(edges,
            new PageInfo(edges.Count > 0 ? edges[0].Item1 : null, edges.Count > 0 ? edges[^1].Item1 : null, hasNext, hasPrevious),
            total);
    }

    private static List<TRow> Sort<TRow>(List<TRow> list, NodeSpec<TRow> spec, List<string> sortBy)
    {
        IOrderedEnumerable<TRow>? ordered = null;
        foreach (var term in sortBy)
        {
            var parts = term.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var column = parts.Length is 1 or 2 ? spec.Columns.FirstOrDefault(x => x.Name == parts[0]) : null;
            bool desc = parts.Length == 2 && parts[1].Equals("desc", StringComparison.OrdinalIgnoreCase);
            if (column is null || (parts.Length == 2 && !desc && !parts[1].Equals("asc", StringComparison.OrdinalIgnoreCase)))
                throw new ExecutionError($"sortBy: \"{term}\" is not \"<field> [asc|desc]\" with a field of {spec.TypeName}: {string.Join(", ", spec.Columns.Select(x => x.Name))}");
            var comparer = column.Kind == ColumnKind.Int ? (IComparer<object?>)NumericComparer.Instance : TextComparer.Instance;
            ordered = ordered is null
                ? (desc ? list.OrderByDescending(column.Get, comparer) : list.OrderBy(column.Get, comparer))
                : (desc ? ordered.ThenByDescending(column.Get, comparer) : ordered.ThenBy(column.Get, comparer));
        }
        return ordered?.ToList() ?? list;
    }

    private sealed class TextComparer : IComparer<object?>
    {
        public static readonly TextComparer Instance = new();
        public int Compare(object? x, object? y) => string.CompareOrdinal(Convert.ToString(x, CultureInfo.InvariantCulture), Convert.ToString(y, CultureInfo.InvariantCulture));
    }

    private sealed class NumericComparer : IComparer<object?>
    {
        public static readonly NumericComparer Instance = new();
        public int Compare(object? x, object? y) => Convert.ToDouble(x, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(y, CultureInfo.InvariantCulture));
    }

    public static string Cursor(int offset) => Convert.ToBase64String(Encoding.UTF8.GetBytes("arrayconnection:" + offset.ToString(CultureInfo.InvariantCulture)));

    private static int Offset(string cursor)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(cursor));
            if (text.StartsWith("arrayconnection:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(16), NumberStyles.None, CultureInfo.InvariantCulture, out int n)) return n;
        }
        catch (FormatException) { }
        throw new ExecutionError($"\"{cursor}\" is not a cursor this API handed out");
    }
}

/// <summary>
/// Cursors that name a row by its id ("event:42", "audit:7" in base64), for the newest-first
/// connections of events and the audit trail: a page stays stable while new rows arrive.
/// </summary>
public static class IdCursor
{
    public static string Encode(string kind, long id) => Convert.ToBase64String(Encoding.UTF8.GetBytes(kind + ":" + id.ToString(CultureInfo.InvariantCulture)));

    /// <exception cref="ExecutionError">not a cursor of <paramref name="kind"/> (named in <paramref name="what"/>'s words).</exception>
    public static long Decode(string kind, string cursor, string what)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(cursor));
            if (text.StartsWith(kind + ":", StringComparison.Ordinal) && long.TryParse(text.AsSpan(kind.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long id)) return id;
        }
        catch (FormatException) { }
        throw new ExecutionError($"{what}: \"{cursor}\" is not a cursor of {what}");
    }

    /// <summary>A newest-first page as a Relay connection: each row's cursor names it.</summary>
    public static Connection<TRow> Page<TRow>(string kind, IReadOnlyList<TRow> rows, Func<TRow, long> id, bool hasMore, bool isLaterPage, long totalCount)
    {
        var edges = rows.Select(r => (Encode(kind, id(r)), r)).ToList();
        return new Connection<TRow>(edges,
            new PageInfo(edges.Count > 0 ? edges[0].Item1 : null, edges.Count > 0 ? edges[^1].Item1 : null, hasMore, isLaterPage),
            (int)Math.Min(int.MaxValue, totalCount));
    }
}
