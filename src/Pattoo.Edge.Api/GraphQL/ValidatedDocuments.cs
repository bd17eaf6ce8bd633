using System.Collections.Concurrent;
using GraphQLParser.AST;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>
/// Query texts that parsed, fit the document limits and passed validation once, with their
/// parsed documents. A dashboard or a script sends the same few texts again and again (values
/// go in variables), and parsing, measuring and validating them again was a fifth of a small
/// request's time. What depends on the request (variables, the complexity they give) is
/// checked every time. Bounded: past <see cref="Capacity"/> texts or <see cref="CapacityChars"/>
/// characters of them it starts afresh, so a client on the LAN sending ever new texts holds at
/// most that much (a parsed document takes some ten times its text).
/// </summary>
internal sealed class ValidatedDocuments
{
    public const int Capacity = 256;
    public const int CapacityChars = 256 * 1024;
    /// <summary>Longer texts are not kept (the dashboard's are a few hundred characters; a generated query of that size is rarely sent twice).</summary>
    public const int MaxQueryLength = 8 * 1024;

    public sealed record Entry(GraphQLDocument Document, bool IntrospectionOnly);

    private readonly ConcurrentDictionary<(bool AllowMutations, string Query), Entry> _entries = new();
    private long _chars;

    /// <summary>Texts kept now.</summary>
    public int Count => _entries.Count;

    public bool TryGet(string query, bool allowMutations, out Entry entry)
        => _entries.TryGetValue((allowMutations, query), out entry!);

    public void Add(string query, bool allowMutations, Entry entry)
    {
        if (query.Length > MaxQueryLength) return;
        if (_entries.Count >= Capacity || Interlocked.Add(ref _chars, query.Length) > CapacityChars)
        {
            _entries.Clear();
            Interlocked.Exchange(ref _chars, query.Length);
        }
        _entries[(allowMutations, query)] = entry;
    }
}
