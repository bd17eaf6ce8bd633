using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pattoo.Edge.EndToEnd.Api;

/// <summary>
/// The answers a pattoo client gets, with their JSON types, as the original pattoo server
/// (f4e63de0) gives them: found by sending the same agent post to both and comparing
/// pattoo-web's queries field by field. Through the published binary.
/// </summary>
public partial class PattooAnswersTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task DataTypeIsAStringAsInPattoo()
    {
        var data = await Data("{ allDatapoints { edges { node { idxDatapoint dataType } } } }");
        var types = data.GetProperty("allDatapoints").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node").GetProperty("dataType")).ToList();
        Assert.NotEmpty(types);
        Assert.All(types, t => Assert.Equal(JsonValueKind.String, t.ValueKind));
        Assert.Equal(["2", "32", "64", "99", "101"], types.Select(t => t.GetString()!).Distinct().OrderBy(int.Parse).ToArray());
        // Our own types keep integers.
        var series = await Data("{ series { dataType } }");
        Assert.All(series.GetProperty("series").EnumerateArray(), s => Assert.Equal(JsonValueKind.Number, s.GetProperty("dataType").ValueKind));
    }

    [Theory]
    [InlineData("{ allAgent { edges { node { tsCreated tsModified } } } }", "allAgent")]
    [InlineData("{ allDatapoints { edges { node { tsCreated tsModified } } } }", "allDatapoints")]
    [InlineData("{ allPairs { edges { node { tsCreated tsModified } } } }", "allPairs")]
    [InlineData("{ allLanguage { edges { node { tsCreated tsModified } } } }", "allLanguage")]
    public async Task TimesAreSecondsWithoutAZoneAsInPattoo(string query, string field)
    {
        var data = await Data(query);
        foreach (var edge in data.GetProperty(field).GetProperty("edges").EnumerateArray())
        {
            foreach (var time in edge.GetProperty("node").EnumerateObject())
                Assert.Matches(PattooTime(), time.Value.GetString()!);
        }
    }

    [Fact]
    public async Task RestChartValuesAreFloatsAsInPattoo()
    {
        var list = await Data("{ series(key: \"load_average_01min\") { idxDatapoint } }");
        string idx = list.GetProperty("series")[0].GetProperty("idxDatapoint").GetString()!;
        long secondsAgo = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - ApiFixture.T0) / 1000 + 600;
        string body = await api.Http.GetStringAsync($"/pattoo/api/v1/web/rest/data/{idx}?secondsago={secondsAgo}");
        // The integer loads 1, 2 and 3 are written 1.0, 2.0, 3.0, as Python's json writes floats.
        Assert.Contains("\"value\":1.0}", body.Replace(" ", ""));
        Assert.Contains("\"value\":3.0}", body.Replace(" ", ""));
        Assert.DoesNotMatch(IntegerValue(), body.Replace(" ", ""));
    }

    [Fact]
    public async Task OurKeysAndProgramsHaveEnglishNamesFromTheFirstDay()
    {
        var data = await Data("""
            { allPairXlate { edges { node { key translation units idxPairXlateGroup } } }
              allAgentXlate { edges { node { agentProgram translation } } } }
            """);
        var keys = data.GetProperty("allPairXlate").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node")).ToList();
        // Keyed as pattoo-web looks them up: the pattoo_key pair, "{program}_{key}".
        var load = Assert.Single(keys, k => k.GetProperty("key").GetString() == "linux_load_1");
        Assert.Equal("Load average (1 minute)", load.GetProperty("translation").GetString());
        Assert.Equal("1", load.GetProperty("idxPairXlateGroup").GetString());
        Assert.Contains(keys, k => k.GetProperty("key").GetString() == "snmp_ifHCInOctets" && k.GetProperty("units").GetString() == "bytes");
        var programs = data.GetProperty("allAgentXlate").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node").GetProperty("agentProgram").GetString()).ToList();
        Assert.Contains("linux", programs);
        Assert.Contains("modbus", programs);
    }

    [Fact]
    public async Task StringDatapointsAreStoredAndPattoosViewsStillWork()
    {
        // pattoo drops data type 2 at ingest; we keep it. pattoo-web's views must not trip on it.
        var data = await Data("""
            { allDatapoints { edges { node { idxDatapoint dataType checksum glueDatapoint { edges { node { pair { key value } } } } } } } }
            """);
        var text = data.GetProperty("allDatapoints").GetProperty("edges").EnumerateArray()
            .Select(e => e.GetProperty("node")).Single(n => n.GetProperty("dataType").GetString() == "2");
        var idx = text.GetProperty("idxDatapoint").GetString();
        var values = await Data($"{{ allData(idxDatapoint: \"{idx}\") {{ edges {{ node {{ timestamp value }} }} }} }}");
        Assert.NotEmpty(values.GetProperty("allData").GetProperty("edges").EnumerateArray());
    }

    [Fact]
    public async Task ImportedKeyTranslationsNameSeriesInTheChosenLanguage()
    {
        // pattoo's CLI on the running box's database, then the names the dashboard shows.
        var csv = Path.Combine(api.Dir, "keys.csv");
        await File.WriteAllTextAsync(csv, "language,key,translation,units\nen,pattoo_agent_linux_autonomousd_load_average_01min,Load (1 min),procs\n");
        var (code, _, stderr) = await EdgeProcess.RunAsync("import", "key_translation", "--filename", csv, "--config", Path.Combine(api.Dir, "edge.toml"));
        Assert.True(code == 0, stderr);
        var data = await Data("""{ series(key: "load_average_01min") { key name unit(language: "en") } fr: series(key: "load_average_01min") { name(language: "fr") } }""");
        var s = Assert.Single(data.GetProperty("series").EnumerateArray());
        Assert.Equal("Load (1 min)", s.GetProperty("name").GetString());
        Assert.Equal("procs", s.GetProperty("unit").GetString());
        Assert.Equal(JsonValueKind.Null, Assert.Single(data.GetProperty("fr").EnumerateArray()).GetProperty("name").ValueKind);
    }

    private async Task<JsonElement> Data(string query)
    {
        var (status, body) = await api.GraphQLPost(query);
        Assert.Equal(200, status);
        var root = JsonDocument.Parse(body).RootElement;
        Assert.False(root.TryGetProperty("errors", out var errors), errors.ToString());
        return root.GetProperty("data").Clone();
    }

    /// <summary>pattoo's DATETIME as graphene wrote it: 2026-12-06T06:33:43.</summary>
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")]
    private static partial Regex PattooTime();

    [GeneratedRegex(@"""value"":-?\d+[,}]")]
    private static partial Regex IntegerValue();
}
