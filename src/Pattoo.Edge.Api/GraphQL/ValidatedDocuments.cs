using System.Collections.Concurrent;
using GraphQLParser.AST;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>
/// Query texts that parsed, fit the document limits and passed validation once, with their
/// parsed documents. A dashboard or a script sends the same few texts again and again (values
/// go in variables), and parsing, measuring and validating them again was a fifth of a small
/// request's time. What depends on the request (variables, the complexity they give) is
/// checked every time. Bounded: past <see cref="Capacity"/> texts it starts afresh, so a client
/// sending ever new texts costs memory for at most that many.
/// </summary>
internal sealed class ValidatedDocuments
{
    public const int Capacity = 256;
    /// <summary>Longer texts are not kept (a generated query of that size is rarely sent twice).</summary>
    public const int MaxQueryLength = 16 * 1024;

    public sealed record Entry(GraphQLDocument Document, bool IntrospectionOnly);

    private readonly ConcurrentDictionary<(bool AllowMutations, string Query), Entry> _entries = new();

    public bool TryGet(string query, bool allowMutations, out Entry entry)
        => _entries.TryGetValue((allowMutations, query), out entry!);

    public void Add(string query, bool allowMutations, Entry entry)
    {
        if (query.Length > MaxQueryLength) return;
        if (_entries.Count >= Capacity) _entries.Clear();
        _entries[(allowMutations, query)] = entry;
    }
}
