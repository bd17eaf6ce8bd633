using System.Text.Json;
using Pattoo.Edge.Api;
using Pattoo.Edge.Api.GraphQL;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Tests.Api;

/// <summary>The pure parts of the API's bounds and messages: a document or an exception in, a verdict or words out.</summary>
public class HardeningTests
{
    private static readonly QueryLimits Defaults = new(10_000, 500, 5_000);

    private static string? Budget(string query, QueryLimits? limits = null)
        => QueryBudget.Check(GraphQLParser.Parser.Parse(query), limits ?? Defaults);

    private static string Doubling(int levels)
    {
        var q = "{ appliance { ...F0 } }\n";
        for (int i = 0; i < levels; i++) q += $"fragment F{i} on Appliance {{ ...F{i + 1} ...F{i + 1} }}\n";
        return q + $"fragment F{levels} on Appliance {{ name }}\n";
    }

    public static TheoryData<string, string?> Cases => new()
    {
        { "{ appliance { name } }", null },
        { Doubling(8), null }, // 256 selections, all "name"
        { Doubling(10), "repeats the field \"name\" 1024 times" }, // fragments spread twice at each level meet in one set
        { Doubling(13), "selects 8193 fields once its fragments are expanded; api.max_selections allows 5000" },
        { Doubling(70), "selects more fields than can be counted" },
        { "{ " + string.Join(" ", Enumerable.Repeat("appliance { name }", 6_000)) + " }", "has 12000 nodes; api.max_query_nodes allows 10000" },
        { "{ " + string.Join(" ", Enumerable.Repeat("appliance { name }", 500)) + " }", null },
        { "{ " + string.Join(" ", Enumerable.Repeat("appliance { name }", 501)) + " }", "repeats the field \"appliance\" 501 times in one selection set" },
        // The same copies hidden in a fragment spread twice still meet in one set.
        { "{ ...A ...A } fragment A on Query { " + string.Join(" ", Enumerable.Repeat("appliance { name }", 300)) + " }", "repeats the field \"appliance\" 600 times" },
        { "{ " + string.Join(" ", Enumerable.Range(0, 2_400).Select(i => $"a{i}: appliance {{ name }}")) + " }", null },
        { "{ appliance { ...A } } " + string.Join(" ", Enumerable.Range(0, 1).Select(_ => "fragment A on Appliance { " + string.Join(" ", Enumerable.Repeat("...B", 501)) + " } fragment B on Appliance { name }")), "has 502 fragment spreads; api.max_fragment_spreads allows 500" },
        // Cycles and unknown fragments are graphql-dotnet's to report; the walk must end.
        { "{ appliance { ...A } } fragment A on Appliance { ...B } fragment B on Appliance { ...A name }", null },
        { "{ appliance { ...Missing } }", null },
        { "{ appliance(x: [[[1, 2, {a: [3]}]]]) { name } }", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void QueryBudgetRefusesWhatWouldBeExpensiveAndOnlyThat(string query, string? expected)
    {
        var verdict = Budget(query);
        if (expected is null) Assert.Null(verdict);
        else Assert.Contains(expected, verdict);
    }

    [Fact]
    public void ADoublingFragmentChainOfAnyDepthIsMeasuredInLinearTime()
    {
        var doc = GraphQLParser.Parser.Parse(Doubling(5_000), new GraphQLParser.ParserOptions { MaxDepth = 64 });
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.Contains("more fields than can be counted", QueryBudget.Check(doc, Defaults with { MaxNodes = 1_000_000, MaxFragmentSpreads = 1_000_000 }));
        // Not a timing assertion of the code's speed: 2^5000 expansions would never finish at all.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData("{ __schema { types { name } } }", true)]
    [InlineData("{ __type(name: \"String\") { name } __typename }", true)]
    [InlineData("{ __schema { types { name } } appliance { name } }", false)]
    [InlineData("{ ...F } fragment F on Query { __schema { types { name } } }", false)]
    public void OnlyPureIntrospectionIsExemptFromComplexity(string query, bool exempt)
        => Assert.Equal(exempt, QueryBudget.IsIntrospectionOnly(GraphQLParser.Parser.Parse(query)));

    [Theory]
    [InlineData(42.0, "42.0")]
    [InlineData(-3.0, "-3.0")]
    [InlineData(0.5, "0.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(1234.5678901234, "1234.5678901234")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(1.5e-07, "1.5e-07")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(2.5e20, "2.5e+20")]
    [InlineData(0.0, "0.0")]
    public void RestValuesAreWrittenAsPythonWritesFloats(double value, string expected)
        => Assert.Equal(expected, ApiEndpoints.PythonFloat(value));

    [Fact]
    public void FrameworkResourceKeysBecomeWords()
    {
        Assert.Equal("no such file or directory", SystemMessages.Describe(new FileNotFoundException("IO_FileNotFound_FileName, /etc/x.toml")));
        Assert.Equal("permission denied", SystemMessages.Describe(new UnauthorizedAccessException("UnauthorizedAccess_IODenied_Path, /x")));
        Assert.Equal("file exists", SystemMessages.Describe(new IOException("IO_FileExists_Name, /x")));
        Assert.Equal("no space left on device", SystemMessages.Describe(new IOException("IO_Whatever", 28)));
        Assert.Equal("the body is not valid UTF-8", SystemMessages.Describe(new InvalidOperationException("the body is not valid UTF-8")));
        Assert.Equal("Content-Type must be JSON", SystemMessages.Describe(new InvalidOperationException("Content-Type must be JSON")));
    }

    [Theory]
    [InlineData("ArrayDepthTooLarge, 16", 0L, 16L, "nested too deep (line 1, byte 17)")]
    [InlineData("ZeroDepthAtEnd", 0L, 6L, "the JSON ends early (line 1, byte 7)")]
    [InlineData("ExpectedEndAfterSingleJson, 0x78", 2L, 3L, "unexpected text after the JSON value (line 3, byte 4)")]
    [InlineData("DeserializeUnableToConvertValue, GraphQL.Transport.GraphQLRequest", 0L, 10L, "a value has the wrong JSON type (line 1, byte 11)")]
    [InlineData("SomeFutureKey, x", null, null, "some future key")]
    [InlineData("The maximum configured depth of 16 has been exceeded.", 0L, 16L, "The maximum configured depth of 16 has been exceeded. (line 1, byte 17)")]
    public void JsonReaderErrorsAreNamedWithTheirPlace(string message, long? line, long? column, string expected)
    {
        // What the binary's JsonException carries (UseSystemResourceKeys): the key, then its arguments.
        var e = new JsonException(line is null ? message : $"{message} LineNumber: {line} | BytePositionInLine: {column}.", null, line, column);
        Assert.Equal(expected, SystemMessages.DescribeJson(e));
    }
}
