using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd;

/// <summary>What every end-to-end test needs: the repository root and a GraphQL call.</summary>
public static class EndToEndSupport
{
    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "Pattoo.Edge.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException($"Pattoo.Edge.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>POSTs <paramref name="query"/> to /graphql and returns its data; GraphQL errors throw.</summary>
    public static async Task<JsonElement> GraphQLAsync(HttpClient http, string query)
    {
        var body = $"{{\"query\":{JsonSerializer.Serialize(query, Api.PayloadJson.Default.String)}}}";
        using var response = await http.PostAsync("/graphql", new StringContent(body, Encoding.UTF8, "application/json"));
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        if (root.TryGetProperty("errors", out var errors)) throw new InvalidOperationException($"GraphQL errors: {errors}");
        return root.GetProperty("data").Clone();
    }
}
