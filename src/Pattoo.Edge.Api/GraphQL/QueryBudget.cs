using GraphQLParser.AST;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>Limits on the shape of a GraphQL document, checked before graphql-dotnet validates it.</summary>
public sealed record QueryLimits(int MaxNodes, int MaxFragmentSpreads, int MaxSelections);

/// <summary>
/// Bounds the work a document can cause before the complexity and depth rules get to refuse it.
/// graphql-dotnet's validation expands fragment spreads (a fragment that spreads the next one
/// twice doubles the work per level: 20 levels cost 1.6 s of CPU only to be refused) and
/// compares same-named fields pairwise (10,000 copies of one selection took 26 s). This walk
/// is linear in the document: it counts the nodes as written and computes the size of the
/// selections once every fragment is expanded, memoising each fragment's size, so a
/// document is measured in microseconds however explosive it is.
/// </summary>
public static class QueryBudget
{
    /// <summary>Null when the document fits <paramref name="limits"/>, else a message naming the limit.</summary>
    public static string? Check(GraphQLDocument document, QueryLimits limits)
    {
        var walk = new Walk(limits);
        foreach (var definition in document.Definitions)
        {
            if (definition is GraphQLFragmentDefinition f) walk.Fragments.TryAdd(f.FragmentName.Name.StringValue, f);
        }
        foreach (var definition in document.Definitions)
        {
            switch (definition)
            {
                case GraphQLOperationDefinition op:
                    walk.Selections += walk.Expanded(op.SelectionSet);
                    walk.CountVariables(op.Variables);
                    break;
                case GraphQLFragmentDefinition f:
                    walk.FragmentSize(f.FragmentName.Name.StringValue); // memoised: an unused fragment's nodes count too, once
                    break;
                default:
                    walk.Nodes++;
                    break;
            }
        }
        return walk.CheckTotals();
    }

    /// <summary>True when every operation selects only <c>__schema</c>, <c>__type</c> and <c>__typename</c>.</summary>
    public static bool IsIntrospectionOnly(GraphQLDocument document)
    {
        bool any = false;
        foreach (var definition in document.Definitions)
        {
            if (definition is not GraphQLOperationDefinition op) continue;
            foreach (var selection in op.SelectionSet.Selections)
            {
                if (selection is not GraphQLField field) return false;
                var name = field.Name.StringValue;
                if (name is not ("__schema" or "__type" or "__typename")) return false;
                any = true;
            }
        }
        return any;
    }

    private sealed class Walk(QueryLimits limits)
    {
        public readonly Dictionary<string, GraphQLFragmentDefinition> Fragments = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _fragmentSize = new(StringComparer.Ordinal);
        private readonly HashSet<string> _expanding = new(StringComparer.Ordinal);
        public long Nodes;
        public long Spreads;
        public long Selections;

        /// <summary>
        /// Field selections once fragments are expanded (saturating at long.MaxValue). Each
        /// selection set as written is walked once: fragment sizes are memoised.
        /// </summary>
        public long Expanded(GraphQLSelectionSet? set)
        {
            if (set is null) return 0;
            CountOverlaps(set);
            long total = 0;
            foreach (var selection in set.Selections)
            {
                Nodes++;
                long size;
                switch (selection)
                {
                    case GraphQLField field:
                        CountArguments(field.Arguments);
                        CountDirectives(field.Directives);
                        size = Add(1, Expanded(field.SelectionSet));
                        break;
                    case GraphQLFragmentSpread spread:
                        Spreads++;
                        CountDirectives(spread.Directives);
                        size = FragmentSize(spread.FragmentName.Name.StringValue);
                        break;
                    case GraphQLInlineFragment inline:
                        CountDirectives(inline.Directives);
                        size = Expanded(inline.SelectionSet);
                        break;
                    default:
                        size = 0;
                        break;
                }
                total = Add(total, size);
            }
            return total;
        }

        /// <summary>
        /// graphql-dotnet's overlap rule compares every pair of fields with the same response
        /// name that meet in one selection set (directly, or through fragments): 2,450 copies
        /// of one field cost 1.4 s of CPU. The pairs are counted here from each name's count.
        /// </summary>
        private void CountOverlaps(GraphQLSelectionSet set)
        {
            var names = new Dictionary<string, long>(StringComparer.Ordinal);
            TopLevelNames(set, names, 1);
            foreach (var (name, count) in names)
            {
                long pairs = count > 3_000_000_000 ? long.MaxValue : count * (count - 1) / 2;
                if (pairs > _worstPairs) { _worstPairs = pairs; _worstName = name; _worstCount = count; }
                OverlapPairs = Add(OverlapPairs, pairs);
            }
        }

        private void TopLevelNames(GraphQLSelectionSet set, Dictionary<string, long> into, long times)
        {
            foreach (var selection in set.Selections)
            {
                switch (selection)
                {
                    case GraphQLField field:
                        string name = (field.Alias?.Name ?? field.Name).StringValue;
                        into[name] = Add(into.GetValueOrDefault(name), times);
                        break;
                    case GraphQLInlineFragment inline:
                        TopLevelNames(inline.SelectionSet, into, times);
                        break;
                    case GraphQLFragmentSpread spread:
                        foreach (var (n, c) in FragmentNames(spread.FragmentName.Name.StringValue))
                            into[n] = Add(into.GetValueOrDefault(n), c > long.MaxValue / times ? long.MaxValue : c * times);
                        break;
                }
            }
        }

        private readonly Dictionary<string, Dictionary<string, long>> _fragmentNames = new(StringComparer.Ordinal);
        private readonly HashSet<string> _naming = new(StringComparer.Ordinal);

        private Dictionary<string, long> FragmentNames(string fragment)
        {
            if (_fragmentNames.TryGetValue(fragment, out var known)) return known;
            var names = new Dictionary<string, long>(StringComparer.Ordinal);
            if (Fragments.TryGetValue(fragment, out var definition) && _naming.Add(fragment))
            {
                TopLevelNames(definition.SelectionSet, names, 1);
                _naming.Remove(fragment);
            }
            _fragmentNames[fragment] = names;
            return names;
        }

        public long OverlapPairs;
        private long _worstPairs, _worstCount;
        private string _worstName = "";

        public long FragmentSize(string name)
        {
            if (_fragmentSize.TryGetValue(name, out long known)) return known;
            // Unknown fragments and cycles are reported by graphql-dotnet's own rules; here they cost nothing.
            if (!Fragments.TryGetValue(name, out var fragment) || !_expanding.Add(name)) return 0;
            long size = Expanded(fragment.SelectionSet);
            _expanding.Remove(name);
            _fragmentSize[name] = size;
            return size;
        }

        public void CountVariables(GraphQLVariablesDefinition? variables)
        {
            if (variables is null) return;
            foreach (var v in variables.Items)
            {
                Nodes++;
                if (v.DefaultValue is not null) CountValue(v.DefaultValue);
            }
        }

        private void CountArguments(GraphQLArguments? arguments)
        {
            if (arguments is null) return;
            foreach (var a in arguments.Items)
            {
                Nodes++;
                CountValue(a.Value);
            }
        }

        private void CountDirectives(GraphQLDirectives? directives)
        {
            if (directives is null) return;
            foreach (var d in directives.Items)
            {
                Nodes++;
                CountArguments(d.Arguments);
            }
        }

        private void CountValue(GraphQLValue value)
        {
            Nodes++;
            switch (value)
            {
                case GraphQLListValue list when list.Values is not null:
                    foreach (var item in list.Values) CountValue(item);
                    break;
                case GraphQLObjectValue obj when obj.Fields is not null:
                    foreach (var field in obj.Fields) CountValue(field.Value);
                    break;
            }
        }

        public string? CheckTotals()
        {
            if (Nodes > limits.MaxNodes)
                return $"the query has {Nodes} nodes; api.max_query_nodes allows {limits.MaxNodes}";
            if (Spreads > limits.MaxFragmentSpreads)
                return $"the query has {Spreads} fragment spreads; api.max_fragment_spreads allows {limits.MaxFragmentSpreads}";
            if (Selections > limits.MaxSelections)
                return Selections == long.MaxValue
                    ? $"the query selects more fields than can be counted once its fragments are expanded; api.max_selections allows {limits.MaxSelections}"
                    : $"the query selects {Selections} fields once its fragments are expanded; api.max_selections allows {limits.MaxSelections}";
            long maxPairs = 25L * limits.MaxSelections;
            if (OverlapPairs > maxPairs)
                return $"the query repeats the field \"{_worstName}\" {_worstCount} times in one selection set; every copy is compared with every other, {OverlapPairs} comparisons in all, and api.max_selections ({limits.MaxSelections}) allows {maxPairs}";
            return null;
        }

        private static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
    }
}
