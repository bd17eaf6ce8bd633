using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.EndToEnd.Write;

/// <summary>GraphQL calls of the write-back tests: with or without a bearer token, errors returned rather than thrown.</summary>
internal static class WriteBackSupport
{
    public const string ControlToken = "operator-control-token-0123456789";
    public const string WriteToken = "ingest-write-token-0123456789abc";

    /// <summary>The config of a box that takes writes: the control token "operator" and [write] enabled with <paramref name="minInterval"/>.</summary>
    public static string WriteConfig(string minInterval) => $"""
        [api.control_tokens]
        operator = "{ControlToken}"
        [write]
        enabled = true
        min_interval = "{minInterval}"
        """;

    /// <summary>The whole response (data and errors) of <paramref name="query"/> sent with <paramref name="token"/>.</summary>
    public static async Task<JsonElement> PostAsync(HttpClient http, string query, string? token = ControlToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql")
        {
            Content = new StringContent($"{{\"query\":{JsonSerializer.Serialize(query, Api.PayloadJson.Default.String)}}}", Encoding.UTF8, "application/json"),
        };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>writeValue's audit row; fails the test on a GraphQL error.</summary>
    public static async Task<JsonElement> WriteAsync(HttpClient http, string idx, string value, string comment = "test")
    {
        var root = await PostAsync(http, $"mutation {{ writeValue(idxDatapoint: \"{idx}\", value: {value}, comment: \"{comment}\") {{ idxAudit result oldValue requestedValue readBackValue message tokenName }} }}");
        if (root.TryGetProperty("errors", out var errors)) throw new InvalidOperationException($"writeValue {idx} = {value}: {errors}");
        return root.GetProperty("data").GetProperty("writeValue");
    }

    /// <summary>The error of a write that must be refused: its message and code.</summary>
    public static async Task<(string Message, string Code)> RefusedAsync(HttpClient http, string idx, string value, string? token = ControlToken)
    {
        var root = await PostAsync(http, $"mutation {{ writeValue(idxDatapoint: \"{idx}\", value: {value}) {{ result }} }}", token);
        if (!root.TryGetProperty("errors", out var errors)) throw new InvalidOperationException($"writeValue {idx} = {value} was not refused: {root}");
        var error = errors[0];
        string code = error.TryGetProperty("extensions", out var ext) && ext.TryGetProperty("code", out var c) ? c.GetString() ?? "" : "";
        return (error.GetProperty("message").GetString()!, code);
    }

    /// <summary>idxDatapoint by key of one program's series.</summary>
    public static async Task<Dictionary<string, string>> IdsAsync(HttpClient http, string program)
    {
        var data = await EndToEndSupport.GraphQLAsync(http, $"{{ series(agentProgram: \"{program}\") {{ idxDatapoint key }} }}");
        return data.GetProperty("series").EnumerateArray().ToDictionary(s => s.GetProperty("key").GetString()!, s => s.GetProperty("idxDatapoint").GetString()!);
    }

    /// <summary>Waits until every key in <paramref name="keys"/> has been stored (its datapoint exists).</summary>
    public static async Task<Dictionary<string, string>> WaitForIdsAsync(HttpClient http, string program, params string[] keys)
    {
        for (int i = 0; ; i++)
        {
            var ids = await IdsAsync(http, program);
            if (keys.All(ids.ContainsKey)) return ids;
            if (i > 100) throw new InvalidOperationException($"{program}: only {string.Join(", ", ids.Keys)} were stored, waiting for {string.Join(", ", keys)}");
            await Task.Delay(200);
        }
    }

    /// <summary>The audit rows of one datapoint, newest first.</summary>
    public static async Task<List<JsonElement>> AuditAsync(HttpClient http, string idx)
    {
        var data = await EndToEndSupport.GraphQLAsync(http, $"{{ audit(idxDatapoint: \"{idx}\") {{ totalCount edges {{ node {{ idxAudit tokenName client action oldValue requestedValue readBackValue result message comment }} }} }} }}");
        return [.. data.GetProperty("audit").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node"))];
    }
}
