using GraphQL.Transport;
using Pattoo.Edge.Api;
using Pattoo.Edge.Api.GraphQL;
using Pattoo.Edge.Control;
using Pattoo.Edge.Tests.Storage;
using Pattoo.Edge.Tests.Write;

namespace Pattoo.Edge.Tests.Api;

/// <summary>
/// A query text validated once is not parsed or validated again (ValidatedDocuments); what a
/// request adds to it (variables, the complexity they give, GET or POST) is still checked
/// every time, and a text that failed is never taken as validated.
/// </summary>
public class ValidatedDocumentsTests
{
    private static (GraphQLService GraphQL, ApiUserContext Context, TempStore Store) Service(ApiOptions options)
    {
        var t = new TempStore();
        var writes = new WriteService(t.Store, () => []);
        var context = new ApiUserContext(new WriteApplianceState(t.Store, writes), Access.Read, new ControlCaller(null, false, "192.0.2.1"));
        return (new GraphQLService(options), context, t);
    }

    private static GraphQLRequest Request(GraphQLService graphql, string query, string variables = "null")
        => graphql.Serializer.Deserialize<GraphQLRequest>($"{{\"query\":\"{System.Text.Json.JsonEncodedText.Encode(query)}\",\"variables\":{variables}}}")!;

    private static string Errors(global::GraphQL.ExecutionResult result) => string.Join(" | ", result.Errors?.Select(e => e.Message) ?? []);

    [Fact]
    public async Task VariablesAndTheComplexityTheyGiveAreCheckedAtEveryRequest()
    {
        var (graphql, context, t) = Service(new ApiOptions { MaxComplexity = 500 });
        await using var _ = t;
        const string query = "query($n: Int) { series(first: $n) { idxDatapoint key agentProgram } }";

        var small = await graphql.ExecuteAsync(Request(graphql, query, "{\"n\":2}"), context, allowMutations: true, CancellationToken.None);
        Assert.True(small.Executed, Errors(small));
        var wrongType = await graphql.ExecuteAsync(Request(graphql, query, "{\"n\":\"many\"}"), context, allowMutations: true, CancellationToken.None);
        Assert.False(wrongType.Executed);
        Assert.Contains("$n", Errors(wrongType));
        var huge = await graphql.ExecuteAsync(Request(graphql, query, "{\"n\":1000000}"), context, allowMutations: true, CancellationToken.None);
        Assert.False(huge.Executed);
        Assert.Contains("complexity", Errors(huge), StringComparison.OrdinalIgnoreCase);
        var again = await graphql.ExecuteAsync(Request(graphql, query, "{\"n\":3}"), context, allowMutations: true, CancellationToken.None);
        Assert.True(again.Executed, Errors(again));
    }

    [Fact]
    public async Task ATextThatFailedIsRefusedEveryTime()
    {
        var (graphql, context, t) = Service(new ApiOptions());
        await using var _ = t;
        for (int i = 0; i < 3; i++)
        {
            var result = await graphql.ExecuteAsync(Request(graphql, "{ appliance { name noSuchField } }"), context, allowMutations: true, CancellationToken.None);
            Assert.False(result.Executed);
            Assert.Contains("noSuchField", Errors(result));
        }
    }

    [Fact]
    public async Task AMutationValidatedForPostIsStillRefusedOverGet()
    {
        var (graphql, context, t) = Service(new ApiOptions());
        await using var _ = t;
        const string mutation = "mutation { relinquish(idxDatapoint: \"1\") { result } }";
        var posted = await graphql.ExecuteAsync(Request(graphql, mutation), context, allowMutations: true, CancellationToken.None);
        Assert.True(posted.Executed, Errors(posted));
        var got = await graphql.ExecuteAsync(Request(graphql, mutation), context, allowMutations: false, CancellationToken.None);
        Assert.False(got.Executed);
        Assert.Contains("must be sent with POST", Errors(got));
    }

    [Fact]
    public void WhatIsKeptIsBoundedInTextsAndCharacters()
    {
        var kept = new ValidatedDocuments();
        var document = GraphQLParser.Parser.Parse("{ appliance { name } }");
        for (int i = 0; i < 1000; i++)
        {
            kept.Add($"{{ appliance {{ name }} }} # {i}", allowMutations: true, new(document, false));
            Assert.InRange(kept.Count, 1, ValidatedDocuments.Capacity);
        }
        kept = new ValidatedDocuments();
        string big = "{ appliance { name } }" + new string(' ', ValidatedDocuments.MaxQueryLength - 30);
        for (int i = 0; i < 100; i++)
        {
            kept.Add(big + i, allowMutations: false, new(document, false));
            Assert.InRange(kept.Count, 1, ValidatedDocuments.CapacityChars / (ValidatedDocuments.MaxQueryLength - 30) + 1);
        }
        kept.Add(new string(' ', ValidatedDocuments.MaxQueryLength + 1), allowMutations: true, new(document, false));
        Assert.False(kept.TryGet(new string(' ', ValidatedDocuments.MaxQueryLength + 1), allowMutations: true, out _));
    }
}
