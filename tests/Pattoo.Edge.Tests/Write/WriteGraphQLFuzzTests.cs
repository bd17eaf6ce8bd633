using System.Globalization;
using System.Text;
using GraphQL.Transport;
using Pattoo.Edge.Api;
using Pattoo.Edge.Api.GraphQL;
using Pattoo.Edge.Control;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Tests.Storage;

namespace Pattoo.Edge.Tests.Write;

/// <summary>
/// Random writeValue and relinquish documents, literal and with variables of every JSON type,
/// through the GraphQL schema the binary serves: whatever they say, the device receives only
/// values its point's limits allow, and never a write without the control token.
/// </summary>
public class WriteGraphQLFuzzTests
{
    private static readonly string[] Values =
    [
        "21.5", "5", "30", "30.000001", "4.999", "-0", "0", "1e308", "-1e308", "1e-400", "1e400", "12345678901234567890123", "0.1e2",
        "\"21\"", "\"  22 \"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"0x10\"", "\"1,5\"", "\"２１\"", "\"\"", "\"\\u0000\"",
        "true", "false", "null", "[21]", "{ a: 21 }", "ENUM", "$v", "\"" + new string('9', 5000) + "\"", "1", "2", "3", "-1",
    ];

    private static readonly string[] VariableValues =
        ["21.5", "\"25\"", "true", "null", "[1]", "{\"a\":1}", "1e999", "-5", "9007199254740993", "\"\\ud800\"", "29.9", "3"];

    [Fact]
    public async Task FuzzedWriteRequestsNeverReachTheDeviceOutsideTheLimits()
    {
        await using var t = new TempStore();
        var setpoint = new WriteLimits(WriteKind.Number, 5, 30, [], 10);
        var mode = new WriteLimits(WriteKind.Integer, null, null, ["0", "1", "2"], null);
        var target = new RecordingTarget(("setpoint", setpoint, 20), ("mode", mode, 0));
        var service = new WriteService(t.Store, () => [target]) { Options = new WriteOptions { Enabled = true, MinInterval = TimeSpan.Zero }, HasControlTokens = true };
        var ids = await target.StoreAsync(t.Store);
        var state = new WriteApplianceState(t.Store, service);
        var graphql = new GraphQLService(new ApiOptions());
        var random = new Random(21);
        var idxChoices = new[] { ids["setpoint"].ToString(CultureInfo.InvariantCulture), ids["mode"].ToString(CultureInfo.InvariantCulture), "0", "-1", "99999999999999999999", "abc", "" };
        double previous = target.Values[0];
        int executed = 0;

        for (int i = 0; i < 3000; i++)
        {
            bool withToken = random.Next(10) > 0;
            var caller = new ControlCaller(withToken ? "operator" : null, random.Next(2) == 0, "192.0.2.1");
            string idx = idxChoices[random.Next(idxChoices.Length)];
            string value = Values[random.Next(Values.Length)];
            string document = random.Next(6) switch
            {
                0 => $"mutation($v: WriteValue!) {{ writeValue(idxDatapoint: \"{idx}\", value: $v) {{ result readBackValue }} }}",
                1 => $"mutation {{ relinquish(idxDatapoint: \"{idx}\") {{ result }} }}",
                2 => $"mutation {{ a: writeValue(idxDatapoint: \"{idx}\", value: {value}) {{ result }} b: writeValue(idxDatapoint: \"{idx}\", value: {Values[random.Next(Values.Length)]}, comment: \"x\") {{ result }} }}",
                3 => Mutate(random, $"mutation {{ writeValue(idxDatapoint: \"{idx}\", value: {value}, comment: \"fuzz\") {{ result oldValue }} }}"),
                _ => $"mutation {{ writeValue(idxDatapoint: \"{idx}\", value: {value}, comment: \"fuzz\") {{ result oldValue readBackValue }} }}",
            };
            string variables = $"{{\"v\":{VariableValues[random.Next(VariableValues.Length)]}}}";
            string json = $"{{\"query\":\"{System.Text.Json.JsonEncodedText.Encode(document)}\",\"variables\":{variables}}}";
            GraphQLRequest? request;
            try { request = graphql.Serializer.Deserialize<GraphQLRequest>(json); }
            catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException) { continue; }
            if (request is null) continue;
            int before = target.Received.Count;
            var result = await graphql.ExecuteAsync(request, new ApiUserContext(state, Access.Read, caller), allowMutations: true, CancellationToken.None);
            executed++;
            foreach (var (key, received) in target.Received.Skip(before))
            {
                Assert.True(withToken, $"a write without the control token reached the device: {document}");
                if (key == "setpoint")
                {
                    Assert.InRange(received.Number, 5, 30);
                    Assert.True(Math.Abs(received.Number - previous) <= 10, $"{received} is more than the ramp from {previous}: {document}");
                    previous = received.Number;
                }
                else Assert.Contains(received.Number, new double[] { 0, 1, 2 });
                Assert.False(received.IsText);
            }
            Assert.True(result.Errors is not null || result.Data is not null);
        }
        Assert.True(executed > 2500, $"only {executed} documents executed");
        Assert.NotEmpty(target.Received); // the fuzz did write, within the limits
        Assert.True(t.Store.ReadAudit(new Pattoo.Edge.Storage.AuditQuery()).TotalCount > 100);
    }

    /// <summary>A document with a few bytes changed, added or removed.</summary>
    private static string Mutate(Random random, string document)
    {
        var sb = new StringBuilder(document);
        for (int k = random.Next(1, 4); k > 0 && sb.Length > 0; k--)
        {
            int at = random.Next(sb.Length);
            switch (random.Next(3))
            {
                case 0: sb[at] = (char)random.Next(32, 127); break;
                case 1: sb.Insert(at, (char)random.Next(32, 127)); break;
                default: sb.Remove(at, 1); break;
            }
        }
        return sb.ToString();
    }
}
