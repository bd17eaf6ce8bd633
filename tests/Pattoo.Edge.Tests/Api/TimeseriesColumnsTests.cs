using System.Globalization;
using GraphQL.Execution;
using GraphQL.Transport;
using Pattoo.Edge.Api;
using Pattoo.Edge.Api.GraphQL;
using Pattoo.Edge.Common;
using Pattoo.Edge.Control;
using Pattoo.Edge.Tests.Storage;
using Pattoo.Edge.Tests.Write;

namespace Pattoo.Edge.Tests.Api;

/// <summary>
/// timeseries' timestamps and values reach the JSON writer as one array each (ScalarListConverter),
/// not as a node per element, and read exactly as before; the scalars keep their names.
/// </summary>
public class TimeseriesColumnsTests
{
    [Fact]
    public async Task ColumnsAreWrittenWholeAndReadAsTheSameLists()
    {
        await using var t = new TempStore();
        var key = TempStore.Key("temperature");
        var batch = new SampleBatch();
        long start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3_600_000;
        for (int i = 0; i < 100; i++) batch.Add(key, start + i * 10_000, Math.Round(20 + i * 0.1, 1));
        await t.Store.WriteAsync(batch, default);
        var graphql = new GraphQLService(new ApiOptions());
        var context = new ApiUserContext(new WriteApplianceState(t.Store, new WriteService(t.Store, () => [])), Access.Read, new ControlCaller(null, false, "192.0.2.1"));
        string idx = t.IdxOf(key).ToString(CultureInfo.InvariantCulture);
        var request = graphql.Serializer.Deserialize<GraphQLRequest>($"{{\"query\":\"{{ timeseries(idxDatapoint: \\\"{idx}\\\", from: {start}, maxPoints: 1000) {{ timestamps values }} }}\"}}")!;

        var result = await graphql.ExecuteAsync(request, context, allowMutations: false, CancellationToken.None);
        Assert.True(result.Executed);
        var timeseries = Assert.IsType<ObjectExecutionNode>(((ObjectExecutionNode)result.Data!).SubFields!.Single(f => f.Name == "timeseries"), exactMatch: false);
        var timestamps = Assert.IsType<ArrayExecutionNode>(timeseries.SubFields!.Single(f => f.Name == "timestamps"), exactMatch: false);
        Assert.IsType<long[]>(timestamps.SerializedResult);
        Assert.Null(timestamps.Items);
        var values = Assert.IsType<ArrayExecutionNode>(timeseries.SubFields!.Single(f => f.Name == "values"), exactMatch: false);
        Assert.IsType<double[]>(values.SerializedResult);
        Assert.Null(values.Items);

        string json = graphql.Serializer.Serialize(result);
        string expectedTimestamps = string.Join(',', Enumerable.Range(0, 100).Select(i => (start + i * 10_000).ToString(CultureInfo.InvariantCulture)));
        string expectedValues = string.Join(',', Enumerable.Range(0, 100).Select(i => Math.Round(20 + i * 0.1, 1).ToString("R", CultureInfo.InvariantCulture)));
        Assert.Equal($"{{\"data\":{{\"timeseries\":{{\"timestamps\":[{expectedTimestamps}],\"values\":[{expectedValues}]}}}}}}", json);

        var types = await graphql.ExecuteAsync(graphql.Serializer.Deserialize<GraphQLRequest>("{\"query\":\"{ __type(name: \\\"Timeseries\\\") { fields { name type { ofType { ofType { ofType { name } } } } } } }\"}")!, context, allowMutations: false, CancellationToken.None);
        string typesJson = graphql.Serializer.Serialize(types);
        Assert.Contains("\"name\":\"timestamps\",\"type\":{\"ofType\":{\"ofType\":{\"ofType\":{\"name\":\"Long\"}}}}", typesJson);
        Assert.Contains("\"name\":\"values\",\"type\":{\"ofType\":{\"ofType\":{\"ofType\":{\"name\":\"Float\"}}}}", typesJson);
    }
}
