using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pattoo.Edge.EndToEnd.Api;

/// <summary>
/// GraphQL through the published binary: every folder under Api/graphql holds query.graphql
/// (and variables.json) with the expected answer in expected.json. They run in name order
/// against one appliance, so mutation cases see their own earlier changes. Each query runs
/// by POST; read-only ones also by GET, which must answer the same.
/// Set PATTOO_UPDATE_EXPECTED=1 to rewrite the expected files (then read them before committing).
/// </summary>
public class GraphQLCaseTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static string CasesDir => Path.Combine(EndToEndSupport.RepoRoot, "tests", "Pattoo.Edge.EndToEnd", "Api", "graphql");

    [Fact]
    public async Task EveryCaseAnswersAsExpected()
    {
        bool update = Environment.GetEnvironmentVariable("PATTOO_UPDATE_EXPECTED") == "1";
        var failures = new List<string>();
        foreach (var dir in Directory.GetDirectories(CasesDir).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(dir);
            string query = await File.ReadAllTextAsync(Path.Combine(dir, "query.graphql"));
            string? variables = File.Exists(Path.Combine(dir, "variables.json")) ? await File.ReadAllTextAsync(Path.Combine(dir, "variables.json")) : null;
            var (status, body) = await api.GraphQLPost(query, variables);
            string actual = Normalise(body);
            var expectedFile = Path.Combine(dir, "expected.json");
            if (update) { await File.WriteAllTextAsync(expectedFile, actual + "\n"); continue; }
            if (status != 200) failures.Add($"{name}: POST answered {status}");
            string expected = File.Exists(expectedFile) ? Normalise(await File.ReadAllTextAsync(expectedFile)) : "(missing expected.json)";
            if (actual != expected) failures.Add($"{name}: POST answer differs\n--- expected\n{expected}\n--- actual\n{actual}");
            if (!query.TrimStart().StartsWith("mutation", StringComparison.Ordinal))
            {
                var url = "/graphql?query=" + Uri.EscapeDataString(query) + (variables is null ? "" : "&variables=" + Uri.EscapeDataString(variables));
                var get = Normalise(await api.Http.GetStringAsync(url));
                if (get != actual) failures.Add($"{name}: GET answer differs from POST\n{get}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    [Fact]
    public async Task GraphQLResponseMediaTypeGives400ForRequestsThatDidNotRun()
    {
        var (status, body) = await api.GraphQLPost("{ allAgent { ", accept: "application/graphql-response+json");
        Assert.Equal(400, status);
        Assert.Contains("errors", body);
        (status, _) = await api.GraphQLPost("{ appliance { name } }", accept: "application/graphql-response+json");
        Assert.Equal(200, status);
        // A mutation by GET is refused: GET must be safe.
        using var response = await api.Http.GetAsync("/graphql?query=" + Uri.EscapeDataString("mutation { createChart(Input: {name: \"x\"}) { chart { idxChart } } }"));
        Assert.Contains("must be sent with POST", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HostileQueriesGetAnErrorNotAnOutage()
    {
        // Nested far past api.max_depth.
        string deep = "idxAgent";
        for (int i = 0; i < 12; i++) deep = $"datapointAgent {{ edges {{ node {{ agent {{ {deep} }} }} }} }}";
        deep = "{ allAgent { edges { node { " + deep + " } } } }";
        var (status, body) = await api.GraphQLPost(deep);
        Assert.Equal(200, status);
        Assert.Contains("depth", body, StringComparison.OrdinalIgnoreCase);
        (status, body) = await api.GraphQLPost("{ appliance { name } }");
        Assert.Contains("api-box", body);
        // Not JSON at all.
        using var bad = await api.Http.PostAsync("/graphql", new StringContent("{\"query\": ", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(400, (int)bad.StatusCode);
    }

    [Fact]
    public async Task GraphiQLIsServedFromTheBinary()
    {
        var html = await api.Http.GetStringAsync("/pattoo/api/v1/web/igraphql");
        Assert.Contains("\"/pattoo/api/v1/web/graphql\"", html);
        Assert.DoesNotContain("__GRAPHQL_ENDPOINT__", html);
        foreach (var asset in new[] { "graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js" })
        {
            using var r = await api.Http.GetAsync("/graphiql-assets/" + asset);
            Assert.True(r.IsSuccessStatusCode, asset);
            Assert.True((await r.Content.ReadAsByteArrayAsync()).Length > 1000, asset);
        }
        using var missing = await api.Http.GetAsync("/graphiql-assets/nope.js");
        Assert.Equal(404, (int)missing.StatusCode);
    }

    internal static string Normalise(string json)
    {
        var node = JsonNode.Parse(json);
        return node!.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
