using System.Diagnostics;
using System.Text;
using Pattoo.Edge.Api.Ingest;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Tests.Api;

/// <summary>The Prometheus text reader on byte vectors: every construct, every error with its line.</summary>
public class PrometheusTextReaderTests
{
    private sealed record Read(int Line, string Name, string Family, PrometheusMetricType Type, PrometheusSampleRole Role,
        KeyValuePair<string, string>[] Labels, double Value, long? TimestampMs);

    private static List<Read> ReadAll(string text) => ReadAll(Encoding.UTF8.GetBytes(text));

    private static List<Read> ReadAll(byte[] bytes)
    {
        var list = new List<Read>();
        var r = new PrometheusTextReader(bytes);
        while (r.Read()) list.Add(new Read(r.Line, r.Name, r.Family, r.Type, r.Role, [.. r.Labels], r.Value, r.TimestampMs));
        return list;
    }

    private static KeyValuePair<string, string> L(string k, string v) => new(k, v);

    [Fact]
    public void ASampleWithLabelsValueAndTimestamp()
    {
        var s = Assert.Single(ReadAll("http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"));
        Assert.Equal(1, s.Line);
        Assert.Equal("http_requests_total", s.Name);
        Assert.Equal(PrometheusMetricType.Untyped, s.Type);
        Assert.Equal([L("method", "post"), L("code", "200")], s.Labels);
        Assert.Equal(1027, s.Value);
        Assert.Equal(1395066363000, s.TimestampMs);
    }

    [Fact]
    public void HelpTypeCommentsBlankLinesAndCrlf()
    {
        const string text = "# HELP up Whether the target is up \\\\ escaped\\n.\r\n"
            + "# TYPE up gauge\r\n"
            + "\r\n"
            + "   \t\r\n"
            + "# just a comment with \"quotes\" and {braces}\r\n"
            + "#\r\n"
            + "up 1\r\n"
            + "  \tlast  2  \t";
        var all = ReadAll(text);
        Assert.Equal(2, all.Count);
        Assert.Equal((7, "up", PrometheusMetricType.Gauge, 1.0, (long?)null), (all[0].Line, all[0].Name, all[0].Type, all[0].Value, all[0].TimestampMs));
        Assert.Equal((8, "last", PrometheusMetricType.Untyped, 2.0), (all[1].Line, all[1].Name, all[1].Type, all[1].Value));
    }

    [Fact]
    public void EscapesInLabelValuesAndUtf8()
    {
        var s = Assert.Single(ReadAll("msg{path=\"C:\\\\temp\\\\x\",quote=\"say \\\"hi\\\"\",nl=\"a\\nb\",utf=\"Zürich ☃\",empty=\"\"} 3"));
        Assert.Equal([L("path", "C:\\temp\\x"), L("quote", "say \"hi\""), L("nl", "a\nb"), L("utf", "Zürich ☃"), L("empty", "")], s.Labels);
    }

    [Theory]
    [InlineData("m{} 1")]
    [InlineData("m { } 1")]
    [InlineData("m{a=\"x\",} 1")]
    [InlineData("m{ a = \"x\" , } 1")]
    [InlineData("m{a=\"x\"}1")]
    [InlineData("m\t{a=\"x\"}\t1\t")]
    public void WhitespaceAndTrailingCommaAsPrometheusReadsThem(string line)
    {
        var s = Assert.Single(ReadAll(line));
        Assert.Equal(1, s.Value);
        Assert.True(s.Labels.Length == 0 || s.Labels.SequenceEqual([L("a", "x")]));
    }

    [Theory]
    [InlineData("NaN", double.NaN)]
    [InlineData("nan", double.NaN)]
    [InlineData("+Inf", double.PositiveInfinity)]
    [InlineData("-Inf", double.NegativeInfinity)]
    [InlineData("Inf", double.PositiveInfinity)]
    [InlineData("+infinity", double.PositiveInfinity)]
    [InlineData("-1.5e-3", -0.0015)]
    [InlineData("1E6", 1e6)]
    [InlineData(".5", 0.5)]
    [InlineData("+7", 7)]
    [InlineData("0", 0)]
    [InlineData("18446744073709551615", 18446744073709551615.0)]
    public void ValuesAsGoParsesThem(string text, double expected)
    {
        var s = Assert.Single(ReadAll("m " + text));
        Assert.Equal(expected, s.Value);
    }

    [Fact]
    public void PlainDecimalsParseToTheSameDoubleAsTheGeneralParser()
    {
        var random = new Random(15);
        var buffer = new byte[40];
        for (int n = 0; n < 200_000; n++)
        {
            // Up to 17 digits (past the fast path's 15) with the point anywhere or nowhere, signs, leading zeros.
            int digits = random.Next(1, 18), point = random.Next(-1, digits + 1);
            var text = new System.Text.StringBuilder();
            if (random.Next(4) == 0) text.Append(random.Next(2) == 0 ? '-' : '+');
            for (int d = 0; d < digits; d++)
            {
                if (d == point) text.Append('.');
                text.Append((char)('0' + random.Next(10)));
            }
            if (point == digits) text.Append('.');
            string s = text.ToString();
            int length = System.Text.Encoding.ASCII.GetBytes(s, buffer);
            Assert.True(PrometheusTextReader.TryParseFloat(buffer.AsSpan(0, length), out double parsed), s);
            double expected = double.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(parsed), $"{s}: {parsed:R} vs {expected:R}");
        }
        foreach (var bad in new[] { "", "-", "+", ".", "1.2.3", "1-2", "--1", "1e", "0x10" })
            Assert.False(PrometheusTextReader.TryParseFloat(System.Text.Encoding.ASCII.GetBytes(bad), out _), bad);
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("-5", -5L)]
    [InlineData("+5", 5L)]
    [InlineData("1733500000000", 1733500000000L)]
    [InlineData("999999999999999999", 999999999999999999L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    public void TimestampsParseAsIntegers(string text, long expected)
    {
        Assert.True(NumberText.TryParseMilliseconds(System.Text.Encoding.ASCII.GetBytes(text), out long parsed));
        Assert.Equal(expected, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("1.5")]
    [InlineData("12a")]
    [InlineData("9223372036854775808")]
    public void TimestampsThatAreNotIntegersAreRefused(string text)
        => Assert.False(NumberText.TryParseMilliseconds(System.Text.Encoding.ASCII.GetBytes(text), out _));

    [Fact]
    public void TimestampsMayBeNegativeOrSignedForTheReader()
    {
        Assert.Equal(-5, Assert.Single(ReadAll("m 1 -5")).TimestampMs);
        Assert.Equal(5, Assert.Single(ReadAll("m 1 +5")).TimestampMs);
    }

    [Fact]
    public void AByteOrderMarkIsIgnored()
        => Assert.Equal("m", Assert.Single(ReadAll([0xEF, 0xBB, 0xBF, .. "m 1\n"u8])).Name);

    [Fact]
    public void HistogramSamplesBelongToTheirFamily()
    {
        var all = ReadAll("""
            # HELP rpc_duration_seconds A histogram of RPC durations.
            # TYPE rpc_duration_seconds histogram
            rpc_duration_seconds_bucket{le="0.05"} 24054
            rpc_duration_seconds_bucket{le="+Inf"} 144320
            rpc_duration_seconds_sum 53423
            rpc_duration_seconds_count 144320
            rpc_duration_seconds_other 1
            """);
        Assert.Equal([PrometheusSampleRole.Bucket, PrometheusSampleRole.Bucket, PrometheusSampleRole.Sum, PrometheusSampleRole.Count, PrometheusSampleRole.Value], all.Select(s => s.Role));
        Assert.All(all.Take(4), s => Assert.Equal(("rpc_duration_seconds", PrometheusMetricType.Histogram), (s.Family, s.Type)));
        Assert.Equal(("rpc_duration_seconds_other", PrometheusMetricType.Untyped), (all[4].Family, all[4].Type));
        Assert.Equal([L("le", "+Inf")], all[1].Labels);
    }

    [Fact]
    public void SummarySamplesBelongToTheirFamily()
    {
        var all = ReadAll("""
            # TYPE rpc summary
            rpc{quantile="0.5"} 4773
            rpc{quantile="0.99"} NaN
            rpc_sum 1.7560473e+07
            rpc_count 2693
            rpc_bucket 1
            """);
        Assert.Equal([PrometheusSampleRole.Quantile, PrometheusSampleRole.Quantile, PrometheusSampleRole.Sum, PrometheusSampleRole.Count, PrometheusSampleRole.Value], all.Select(s => s.Role));
        Assert.Equal(PrometheusMetricType.Untyped, all[4].Type); // a summary has no buckets
    }

    [Fact]
    public void CounterTypesIncludingOpenMetricsTotal()
    {
        var all = ReadAll("# TYPE a_total counter\na_total 1\n# TYPE b COUNTER\nb_total 2\nb 3\n");
        Assert.All(all, s => Assert.Equal(PrometheusMetricType.Counter, s.Type));
        Assert.Equal(["a_total", "b", "b"], all.Select(s => s.Family));
    }

    [Fact]
    public void NamesAndValuesAreInterned()
    {
        var all = ReadAll("m{host=\"a\"} 1\nm{host=\"a\"} 2\n");
        Assert.Same(all[0].Name, all[1].Name);
        Assert.Same(all[0].Labels[0].Key, all[1].Labels[0].Key);
        Assert.Same(all[0].Labels[0].Value, all[1].Labels[0].Value);
    }

    public static TheoryData<string, int, string> Malformed => new()
    {
        { "ok 1\nok 2\n{a=\"b\"} 3", 3, "expected a metric name, got \"{a=\"b\"} 3\"" },
        { "9lives 1", 1, "expected a metric name" },
        { "m-x 1", 1, "unexpected character \"-\" after the metric name \"m\"" },
        { "m", 1, "expected a value after the metric name" },
        { "m   ", 1, "expected a value after the metric name" },
        { "ok 1\n\nm{a=\"b\"}", 3, "expected a value after the labels" },
        { "m{a=\"b\"} ", 1, "expected a value after the labels" },
        { "m abc", 1, "\"abc\" is not a number" },
        { "m 0x10", 1, "\"0x10\" is not a number" },
        { "m 1,5", 1, "\"1,5\" is not a number" },
        { "m 1 2 3", 1, "unexpected text \"3\" after the timestamp" },
        { "m 1 1.5", 1, "the timestamp \"1.5\" is not an integer" },
        { "m 1 99999999999999999999", 1, "the timestamp \"99999999999999999999\" is not an integer" },
        { "m{a=\"b\" 1", 1, "expected \",\" or \"}\" after the value of the label \"a\", got \"1\"" },
        { "m{a=\"b\"", 1, "the labels are not closed with \"}\"" },
        { "m{", 1, "the labels are not closed" },
        { "m{a} 1", 1, "expected \"=\" after the label name \"a\"" },
        { "m{a=b} 1", 1, "expected a quoted value for the label \"a\"" },
        { "m{a=\"b} 1", 1, "the value of the label \"a\" is not closed with a quote" },
        { "m{a=\"b\\", 1, "the value of the label \"a\" is not closed with a quote" },
        { "m{a=\"\\t\"} 1", 1, "the value of the label \"a\" has an invalid escape \"\\t\"" },
        { "m{,} 1", 1, "expected a label name or \"}\", got \",\"" },
        { "m{a=\"1\",,b=\"2\"} 1", 1, "expected a label name or \"}\", got \",\"" },
        { "m{1a=\"1\"} 1", 1, "expected a label name or \"}\", got \"1\"" },
        { "m{a:b=\"1\"} 1", 1, "expected \"=\" after the label name \"a\"" },
        { "a 1\nb 2\nc 3\nd 4\ne 5\nf 6\nm{le=\"1\",x=\"2\",le=\"3\"} 1", 7, "label \"le\" appears twice" },
        { "m{__name__=\"x\"} 1", 1, "the label name \"__name__\" is reserved" },
        { "# TYPE", 1, "# TYPE needs a metric name" },
        { "# HELP", 1, "# HELP needs a metric name" },
        { "# TYPE m", 1, "# TYPE m needs a type" },
        { "# TYPE m-x gauge", 1, "# TYPE: \"m-x\" is not a valid metric name" },
        { "# TYPE m meter", 1, "# TYPE m: unknown type \"meter\"" },
        { "# TYPE m gauge extra", 1, "unexpected text \"extra\" after # TYPE m gauge" },
        { "# TYPE m gauge\n# TYPE m counter", 2, "second # TYPE line for m (the first is line 1)" },
        { "m 1\n# TYPE m gauge", 2, "# TYPE m comes after its sample m on line 1" },
        { "h_bucket{le=\"1\"} 1\n# TYPE h histogram", 2, "# TYPE h comes after its sample h_bucket on line 1" },
        { "# HELP m bad \\t escape", 1, "# HELP m: invalid escape \"\\t\"" },
        { "# TYPE h histogram\nh 1", 2, "h is a histogram: its samples are h_bucket, h_sum and h_count" },
        { "# TYPE h histogram\nh_bucket 1", 2, "h_bucket is a histogram bucket and needs a \"le\" label" },
        { "# TYPE h histogram\nh_bucket{le=\"big\"} 1", 2, "the \"le\" label of h_bucket must be a number, got \"big\"" },
        { "# TYPE s summary\ns 1", 2, "s is a summary quantile and needs a \"quantile\" label" },
        { "# TYPE s summary\ns{quantile=\"NaN\"} 1", 2, "the \"quantile\" label of s must be a number" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void EveryErrorNamesItsLine(string text, int line, string problem)
    {
        var e = Assert.Throws<PrometheusTextException>(() => ReadAll(text));
        Assert.Equal(line, e.Line);
        Assert.StartsWith($"line {line}: ", e.Message);
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void InvalidUtf8IsRefusedWithItsLine()
    {
        var e = Assert.Throws<PrometheusTextException>(() => ReadAll([.. "ok 1\r\nm{a=\""u8, 0xC3, 0x28, .. "\"} 1\n"u8]));
        Assert.Equal("line 2: the line is not valid UTF-8", e.Message);
    }

    [Fact]
    public void LinesAndLabelsAreLimited()
    {
        var longLine = "m{a=\"" + new string('x', PrometheusTextReader.MaxLineBytes) + "\"} 1";
        Assert.Contains("longer than 16384 bytes", Assert.Throws<PrometheusTextException>(() => ReadAll("ok 1\n" + longLine)).Message);
        var labels = string.Join(",", Enumerable.Range(0, PrometheusTextReader.MaxLabels + 1).Select(i => $"l{i}=\"v\""));
        Assert.Equal("line 1: more than 64 labels", Assert.Throws<PrometheusTextException>(() => ReadAll("m{" + labels + "} 1")).Message);
        var longValue = "m{a=\"" + new string('é', PrometheusTextReader.MaxLabelValueLength + 1) + "\"} 1";
        Assert.Contains("longer than 512 characters", Assert.Throws<PrometheusTextException>(() => ReadAll(longValue)).Message);
        Assert.Single(ReadAll("m{a=\"" + new string('é', PrometheusTextReader.MaxLabelValueLength) + "\"} 1"));
        Assert.Contains("metric name is longer", Assert.Throws<PrometheusTextException>(() => ReadAll(new string('m', 300) + " 1")).Message);
    }
}

/// <summary>Prometheus text onto pattoo's model: program, target, labels, data types, timestamps, refusals.</summary>
public class PrometheusImportTests
{
    private const long Now = 1_750_000_000_000;
    private static readonly PrometheusImportOptions Box = new() { ApplianceName = "gw-1" };

    private static (PrometheusText.Result Result, SampleBatch Batch) Import(string text, PrometheusImportOptions? options = null)
    {
        var batch = new SampleBatch();
        var result = PrometheusText.Import(Encoding.UTF8.GetBytes(text), options ?? Box, Now, batch);
        return (result, batch);
    }

    private static PrometheusTextException Refused(string text, PrometheusImportOptions? options = null)
    {
        var batch = new SampleBatch();
        var e = Assert.Throws<PrometheusTextException>(() => PrometheusText.Import(Encoding.UTF8.GetBytes(text), options ?? Box, Now, batch));
        Assert.Equal(0, batch.Count);
        return e;
    }

    private static PrometheusImportOptions Query(params (string, string?)[] pairs)
        => PrometheusImportOptions.FromQuery("gw-1", pairs.Select(p => new KeyValuePair<string, string?>(p.Item1, p.Item2)));

    [Fact]
    public void RepeatedSeriesBytesReadFromTheCacheGiveTheSameSeriesAndStillNameEveryProblem()
    {
        // A unique program keeps this test's cache to itself (the cache is shared per option set).
        var options = Query(("program", "cache-" + Guid.NewGuid().ToString("N")));
        const string body = "# TYPE req counter\nreq{code=\"200\",path=\"/a}b\\\"c\"} 5 1749999990000\n# TYPE lat histogram\nlat_bucket{le=\"0.5\"} 1 1749999990000\nlat_bucket{le=\"+Inf\"} 2 1749999990000\nlat_count 2 1749999990000\nlat_sum 0.7 1749999990000\n";
        var first = Import(body, options).Batch.Items.ToArray().Select(x => x.Series).ToList();
        var second = Import(body.Replace("1749999990000", "1749999995000"), options).Batch.Items.ToArray().Select(x => x.Series).ToList();
        Assert.Equal(5, second.Count);
        for (int i = 0; i < first.Count; i++) Assert.Same(first[i], second[i]);
        Assert.Equal("/a}b\"c", second[0].Metadata.Single(m => m.Key == "path").Value);
        Assert.Equal(DataType.Counter64, second[0].DataType);

        // The same bytes under another type are another series, not the cached one.
        var gauge = Import("# TYPE req gauge\nreq{code=\"200\",path=\"/a}b\\\"c\"} 5 1749999996000\n", options).Batch.Items[0].Series;
        Assert.Equal(DataType.Float, gauge.DataType);
        Assert.NotEqual(second[0].Checksum, gauge.Checksum);
        // ... and under other options (another program) too.
        var other = Import("req{code=\"200\",path=\"/a}b\\\"c\"} 5 1749999996000\n", Query(("program", "cache-other-" + Guid.NewGuid().ToString("N")))).Batch.Items[0].Series;
        Assert.NotEqual(gauge.Checksum, other.Checksum);

        // Cached series are still checked: repeats without a later time, bad values after the labels.
        Assert.Equal("line 2: req repeats the series of line 1 without a later timestamp",
            Refused("req{code=\"200\",path=\"/a}b\\\"c\"} 5 1749999997000\nreq{code=\"200\",path=\"/a}b\\\"c\"} 6 1749999997000\n", options).Message);
        Assert.Contains("line 1: \"x\" is not a number", Refused("req{code=\"200\",path=\"/a}b\\\"c\"} x\n", options).Message);
        // Another spelling of the same series (labels in another order) is the same series.
        Assert.Equal("line 2: req repeats the series of line 1 without a later timestamp",
            Refused("req{path=\"x\",code=\"200\"} 5 1749999997000\nreq{code=\"200\",path=\"x\"} 6 1749999997000\n", options).Message);
        // A line skipped for its NaN leaves no half-made series behind for the same bytes later.
        var afterNaN = Import("m{a=\"1\"} NaN 1749999997000\nm{a=\"1\"} 5 1749999998000\n", options);
        Assert.Equal(new PrometheusText.Result(1, 1), afterNaN.Result);
        Assert.Equal("1", afterNaN.Batch.Items[0].Series.Metadata.Single(m => m.Key == "a").Value);
        // Bytes that only look like a cached series up to a point are read label by label.
        Assert.Contains("appears twice", Refused("req{code=\"200\",code=\"200\"} 1\n", options).Message);
    }

    [Fact]
    public void ASeriesOnLinesOneAfterAnotherReadsAsWhenItsLinesAreInterleaved()
    {
        // Consecutive lines of one series take the previous line's series without reading the
        // name and labels again (PrometheusTextReader.Sample); interleaved lines never do.
        string[] series = ["m", "m{a=\"1\"}", "m{a=\"1\",b=\"x y\"}", "mm", "m_total", "n{a=\"1\"}"];
        var lines = new List<(int Series, int Point, string Text)>();
        for (int s = 0; s < series.Length; s++)
            for (int p = 0; p < 5; p++) lines.Add((s, p, $"{series[s]} {s * 10 + p}.5 {1749999900000 + p * 1000}"));
        string consecutive = string.Join("\n", lines.Select(l => l.Text)) + "\n";
        string interleaved = string.Join("\n", lines.OrderBy(l => l.Point).ThenBy(l => l.Series).Select(l => l.Text)) + "\n";
        static string Read(SampleBatch batch) => string.Join(";", batch.Items.ToArray()
            .OrderBy(x => x.Series.Checksum, StringComparer.Ordinal).ThenBy(x => x.TimestampMs)
            .Select(x => $"{x.Series.Key}{string.Concat(x.Series.Metadata.Select(m => $",{m.Key}={m.Value}"))}@{x.TimestampMs}={x.Value}"));
        var (a, batchA) = Import(consecutive);
        var (b, batchB) = Import(interleaved);
        Assert.Equal(new PrometheusText.Result(30, 0), a);
        Assert.Equal(b, a);
        Assert.Equal(Read(batchB), Read(batchA));
        // A line that starts like the one before but goes on differently is read in full.
        Assert.Contains("line 2", Refused("m{a=\"1\"} 1 1749999900000\nm{a=\"1\"}} 2 1749999901000\n").Message);
        Assert.Equal("line 2: m repeats the series of line 1 without a later timestamp", Refused("m{a=\"1\"} 1 1749999900000\nm{a=\"1\"} 2 1749999900000\n").Message);
    }

    [Fact]
    public void JobAndInstanceNameTheAgentAndTargetAndLeaveTheLabels()
    {
        var (result, batch) = Import("node_load1{job=\"node\",instance=\"pi-3:9100\",zone=\"b\",area=\"a\"} 0.25\n");
        Assert.Equal(new PrometheusText.Result(1, 0), result);
        var s = batch[0];
        Assert.Equal(Now, s.TimestampMs);
        Assert.Equal(0.25, s.Value);
        Assert.Equal("node_load1", s.Series.Key);
        Assert.Equal(DataType.Float, s.Series.DataType);
        Assert.Equal(60_000, s.Series.PollingIntervalMs);
        Assert.Equal(AgentIdentity.ForPoller("gw-1", "node", "pi-3:9100"), s.Series.Agent);
        Assert.Equal("gw-1", s.Series.Agent.Hostname);
        Assert.Equal(["area", "zone"], s.Series.Metadata.Select(m => m.Key)); // sorted, job and instance removed
        // The same series a poller would make from the same parts: one path into the store.
        var direct = new SeriesKey(AgentIdentity.ForPoller("gw-1", "node", "pi-3:9100"), "node_load1", DataType.Float, TimeSpan.FromMinutes(1), [new("zone", "b"), new("area", "a")]);
        Assert.Equal(direct.Checksum, s.Series.Checksum);
    }

    [Fact]
    public void WithoutJobAndInstanceTheQueryOrTheApplianceDecides()
    {
        var (_, batch) = Import("a 1\n");
        Assert.Equal(("prometheus-import", "gw-1"), (batch[0].Series.Agent.Program, batch[0].Series.Agent.PolledTarget));
        (_, batch) = Import("a 1\nb{job=\"\",instance=\"\"} 2\n", Query(("program", "backup"), ("target", "nas-1"), ("interval", "15s")));
        Assert.All(batch.Items.ToArray(), s => Assert.Equal(("backup", "nas-1", 15_000L), (s.Series.Agent.Program, s.Series.Agent.PolledTarget, s.Series.PollingIntervalMs)));
        Assert.Empty(batch[1].Series.Metadata); // empty label values are no labels
    }

    [Fact]
    public void ExtraLabelsAreAddedAndReplaceLabelsOfTheirName()
    {
        var options = Query(("extra_label", "site=plant-2"), ("extra_label", "zone=c"), ("EXTRA_LABEL", "job=scripts"), ("extra_label", "drop="));
        var (_, batch) = Import("m{zone=\"b\",drop=\"x\",job=\"ignored\",a=\"1\"} 1\n", options);
        var s = batch[0].Series;
        Assert.Equal("scripts", s.Agent.Program);
        Assert.Equal([new("a", "1"), new("site", "plant-2"), new("zone", "c")], s.Metadata);
    }

    [Fact]
    public void DataTypesOfEveryFamily()
    {
        var (result, batch) = Import("""
            # TYPE c counter
            c 10
            # TYPE g gauge
            g -3.5
            u 7
            # TYPE h histogram
            h_bucket{le="0.1"} 3
            h_bucket{le="+Inf"} 5
            h_sum -1.25
            h_count 5
            # TYPE s summary
            s{quantile="0.5"} 0.2
            s_sum 9.5
            s_count 12
            # TYPE om counter
            om_total 4
            """);
        Assert.Equal(11, result.Stored);
        var types = batch.Items.ToArray().ToDictionary(s => s.Series.Key + string.Concat(s.Series.Metadata.Select(m => m.Value)), s => s.Series.DataType);
        Assert.Equal(DataType.Counter64, types["c"]);
        Assert.Equal(DataType.Float, types["g"]);
        Assert.Equal(DataType.Float, types["u"]);
        Assert.Equal(DataType.Counter64, types["h_bucket0.1"]);
        Assert.Equal(DataType.Counter64, types["h_bucket+Inf"]);
        Assert.Equal(DataType.Float, types["h_sum"]);   // a sum may fall (negative observations)
        Assert.Equal(DataType.Counter64, types["h_count"]);
        Assert.Equal(DataType.Float, types["s0.5"]);
        Assert.Equal(DataType.Float, types["s_sum"]);
        Assert.Equal(DataType.Counter64, types["s_count"]);
        Assert.Equal(DataType.Counter64, types["om_total"]);
        Assert.Equal([new KeyValuePair<string, string>("quantile", "0.5")], batch.Items.ToArray().Single(s => s.Series.Key == "s").Series.Metadata);
    }

    [Fact]
    public void NaNAndInfinitiesAreSkippedAndCounted()
    {
        var (result, batch) = Import("# TYPE c counter\nc NaN\ng +Inf\nh -Inf\nk 2\n");
        Assert.Equal(new PrometheusText.Result(1, 3), result);
        Assert.Equal("k", Assert.Single(batch.Items.ToArray()).Series.Key);
    }

    [Fact]
    public void TimestampsAreKeptAndTheSameSeriesMayRepeatWithLaterOnes()
    {
        var (_, batch) = Import("m{a=\"1\"} 1 1749999000000\nm{a=\"1\"} 2 1749999060000\nm{a=\"2\"} 3\n");
        Assert.Equal([1749999000000, 1749999060000, Now], batch.Items.ToArray().Select(s => s.TimestampMs));
        Assert.Same(batch[0].Series, batch[1].Series);
    }

    [Fact]
    public void SeriesAreBuiltOncePerIdentity()
    {
        var (_, first) = Import("cached_metric{x=\"1\"} 1\n");
        var (_, second) = Import("cached_metric{ x = \"1\" ,} 2\n");
        Assert.Same(first[0].Series, second[0].Series);
        var (_, other) = Import("cached_metric{x=\"1\"} 2\n", Query(("interval", "30s")));
        Assert.NotSame(first[0].Series, other[0].Series);
        Assert.Equal(30_000, other[0].Series.PollingIntervalMs);
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { "# TYPE c counter\nc 1\nc -1 1749999000000", "line 3: c is a counter and cannot be negative, got -1" },
        { "# TYPE h histogram\nh_bucket{le=\"1\"} -2", "line 2: h_bucket is a counter and cannot be negative" },
        { "a 1\nm 1 1700000000", "line 2: the timestamp 1700000000 is before the year 2000: Prometheus timestamps are milliseconds since 1970, not seconds" },
        { "m 1 1750000600001", "line 1: the timestamp 1750000600001 is more than 10 minutes ahead of the box's clock (1750000000000)" },
        { "m{a=\"1\"} 1\nx 2\nm{a=\"1\"} 2", "line 3: m repeats the series of line 1 without a later timestamp" },
        { "m{a=\"1\",b=\"\"} 1 1749999000000\nm{job=\"\",a=\"1\"} 2 1749999000000", "line 2: m repeats the series of line 1" },
        { "m 1 1749999060000\nm 2 1749999000000", "line 2: m repeats the series of line 1 without a later timestamp" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void RefusedImportsNameTheLineAndKeepNothing(string text, string message)
        => Assert.StartsWith(message, Refused(text).Message);

    [Fact]
    public void ExtraLabelsCanMakeTwoLinesOneSeries()
        => Assert.Equal("line 2: m repeats the series of line 1 without a later timestamp",
            Refused("m{site=\"a\"} 1\nm{site=\"b\"} 2", Query(("extra_label", "site=c"))).Message);

    [Fact]
    public void AnErrorOnTheLastLineKeepsNothingOfTheGoodOnes()
    {
        var text = string.Concat(Enumerable.Range(0, 500).Select(i => $"ok_{i} {i}\n")) + "bad{ 1\n";
        Assert.Equal(501, Refused(text).Line);
    }

    [Fact]
    public void SamplesPerRequestAreLimited()
    {
        var sb = new StringBuilder();
        for (int i = 0; i <= PrometheusText.MaxSamples; i++) sb.Append("m 1 ").Append(1_700_000_000_000L + i).Append('\n');
        var e = Refused(sb.ToString());
        Assert.Equal(PrometheusText.MaxSamples + 1, e.Line);
        Assert.Contains("split the file", e.Message);
    }

    public static TheoryData<string, string, string> BadQueries => new()
    {
        { "interval", "15", "interval must be a duration from 1s to 1d such as \"15s\", got \"15\"" },
        { "interval", "2d", "interval must be a duration from 1s to 1d" },
        { "interval", "500ms", "interval must be a duration from 1s to 1d" },
        { "program", "", "program must not be empty" },
        { "target", " ", "target must not be empty" },
        { "extra_label", "site", "extra_label must be name=value, got \"site\"" },
        { "extra_label", "1x=a", "extra_label: \"1x\" is not a valid label name" },
        { "extra_label", "__name__=a", "extra_label: \"__name__\" is not a valid label name" },
        { "job", "x", "unknown query parameter \"job\"; expected program, target, interval or extra_label" },
    };

    [Theory]
    [MemberData(nameof(BadQueries))]
    public void BadQueryParametersAreNamed(string name, string value, string message)
    {
        var e = Assert.Throws<PrometheusTextException>(() => Query((name, value)));
        Assert.Equal(0, e.Line);
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void QueryParametersAreGivenOnce()
    {
        Assert.Equal("query parameter program is given twice", Assert.Throws<PrometheusTextException>(() => Query(("program", "a"), ("program", "b"))).Message);
        Assert.Equal("extra_label a is given twice", Assert.Throws<PrometheusTextException>(() => Query(("extra_label", "a=1"), ("extra_label", "a=2"))).Message);
        Assert.Contains("more than 16 extra_label", Assert.Throws<PrometheusTextException>(() => Query(Enumerable.Range(0, 17).Select(i => ("extra_label", (string?)$"l{i}=v")).ToArray())).Message);
    }
}

/// <summary>Random and mutated input ends in <see cref="PrometheusTextException"/> and nothing else. Seeded.</summary>
public class PrometheusTextFuzzTests
{
    private const string Valid = """
        # HELP http_requests_total The total number of HTTP requests.
        # TYPE http_requests_total counter
        http_requests_total{method="post",code="200",job="web",instance="10.0.0.5:80"} 1027 1749999000000
        http_requests_total{method="post",code="400"}    3 1749999000000
        # TYPE temp gauge
        temp{room="a \"big\" one\\nsecond line",path="C:\\dir"} -3.5
        # TYPE rpc histogram
        rpc_bucket{le="0.05"} 24054
        rpc_bucket{le="+Inf"} 144320
        rpc_sum 53423
        rpc_count 144320
        # TYPE lat summary
        lat{quantile="0.5",} 4773
        lat{quantile="0.99"} NaN
        lat_sum 1.7560473e+07
        lat_count 2693
        something_untyped{ a = "1" } +Inf

        """;

    private static readonly string[] Tokens =
    [
        "{", "}", "\"", "\\", "=", ",", " ", "\t", "\n", "\r\n", "#", "# TYPE ", "# HELP ", "counter", "histogram", "summary",
        "le", "quantile", "_bucket", "_sum", "_count", "NaN", "+Inf", "-1", "1e309", "9223372036854775808", "é", "\u2603", "\0", "_total",
    ];

    [Fact]
    public void MutatedExpositionsOnlyThrowTheParserError()
    {
        var rng = new Random(20251125);
        var valid = Encoding.UTF8.GetBytes(Valid.ReplaceLineEndings("\n"));
        var options = new PrometheusImportOptions { ApplianceName = "fuzz" };
        const long now = 1_750_000_000_000;
        var watch = Stopwatch.StartNew();
        int imported = 0, refused = 0;
        Assert.Equal(new PrometheusText.Result(10, 2), PrometheusText.Import(valid, options, now, new SampleBatch()));
        for (int i = 0; i < 30_000; i++)
        {
            byte[] bytes = (i % 3) switch
            {
                0 => FlipBytes(valid, rng),
                1 => SpliceTokens(valid, rng),
                _ => RandomBytes(rng),
            };
            var batch = new SampleBatch();
            try
            {
                PrometheusText.Import(bytes, options, now, batch);
                imported++;
            }
            catch (PrometheusTextException e)
            {
                refused++;
                Assert.Equal(0, batch.Count);
                Assert.True(e.Line >= 1, e.Message);
                Assert.StartsWith($"line {e.Line}: ", e.Message);
            }
        }
        Assert.True(imported > 1000 && refused > 1000, $"imported {imported}, refused {refused}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}");
    }

    private static byte[] FlipBytes(byte[] valid, Random rng)
    {
        var bytes = (byte[])valid.Clone();
        for (int m = rng.Next(1, 5); m > 0; m--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
        return bytes;
    }

    private static byte[] SpliceTokens(byte[] valid, Random rng)
    {
        var text = Encoding.UTF8.GetString(valid);
        for (int m = rng.Next(1, 4); m > 0; m--)
        {
            int at = rng.Next(text.Length);
            text = rng.Next(3) switch
            {
                0 => text.Insert(at, Tokens[rng.Next(Tokens.Length)]),
                1 => text.Remove(at, Math.Min(rng.Next(1, 8), text.Length - at)),
                _ => text.Remove(at, Math.Min(1, text.Length - at)).Insert(at, Tokens[rng.Next(Tokens.Length)]),
            };
        }
        return Encoding.UTF8.GetBytes(text);
    }

    private static byte[] RandomBytes(Random rng)
    {
        // Mostly the format's own characters, so the reader gets deep into lines.
        const string alphabet = "abc_:{}=\",# \t\n\r\\01.e+-InfNa";
        var bytes = new byte[rng.Next(0, 200)];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = rng.Next(10) == 0 ? (byte)rng.Next(256) : (byte)alphabet[rng.Next(alphabet.Length)];
        return bytes;
    }
}
