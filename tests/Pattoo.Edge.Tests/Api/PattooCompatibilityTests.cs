using System.Text;
using Pattoo.Edge.Api.GraphQL;
using Pattoo.Edge.Api.Ingest;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Tests.Api;

/// <summary>Checksums and payloads against the vectors in docs/pattoo-compat.md (computed from pattoo's own code).</summary>
public class PattooChecksumTests
{
    private static readonly string DemoAgent = PattooChecksum.Sha256Hex("demo");

    [Fact]
    public void AgentChecksumMatchesPattooSharedWorkedExample()
    {
        Assert.Equal("2a97516c354b68848cdbd8f54a226a0a55b21ed138e207ad6c5cbb9c00aa5aea", DemoAgent);
        var agent = new AgentIdentity(DemoAgent, "pattoo_agent_linux_autonomousd", "host1", "host1");
        var checksum = PattooChecksum.ForDatapoint(agent, "load_average_01min", DataType.Integer, []);
        Assert.Equal("55f46f823ad73ff9eb787dd6b59cbfb7570fe291cc6e34f221fd9f2c855abf1d", checksum);
        Assert.Equal("c2ba0c8976f2693fdb3d6ed9a3feeaada41bf71b7a836ff44c940bc5b7021cc56119494fb00c837e5bedab479a47acfc6195be6c1c65bb745b4af5fbfb38cb60",
            PattooChecksum.ForStoredDatapoint(DemoAgent, "host1", checksum));
    }

    [Fact]
    public void StoredChecksumIsSha512OfTheConcatenation()
        => Assert.Equal("3c9909afec25354d551dae21590bb26e38d53f2173b8d3dc3eee4c047e7ab1c1eb8b85103e3be7ba613b31bb5c9c36214dc9f14a42fd7a2fdb84856bca5c44c2",
            PattooChecksum.ForStoredDatapoint("1", "2", "3"));
}

public class PattooPayloadTests
{
    // docs/pattoo-compat.md section 4.4: a Linux agent's post of one counter datapoint.
    private const string Example = """
        {"pattoo_agent_timestamp": 1700000000456,
         "pattoo_agent_id": "ade65c37a4d9ac1f3b8541bd68458da8bd618bbe8c503aa5a1669bdb89f64bd7",
         "pattoo_agent_polling_interval": 300000,
         "pattoo_datapoints": {
          "key_value_pairs": {
           "0": ["release", "5.15.0-91-generic"], "1": ["version", "#101-Ubuntu SMP"],
           "2": ["processor", "x86_64"], "3": ["type", "Linux"], "4": ["cpus", "8"],
           "5": ["hostname", "host1.example.org"], "6": ["network_io_interface", "eth0"],
           "7": ["pattoo_agent_polling_interval", "300000"],
           "8": ["pattoo_agent_hostname", "host1.example.org"],
           "9": ["pattoo_agent_id", "ade65c37a4d9ac1f3b8541bd68458da8bd618bbe8c503aa5a1669bdb89f64bd7"],
           "10": ["pattoo_agent_polled_target", "host1.example.org"],
           "11": ["pattoo_agent_program", "pattoo_agent_linux_autonomousd"],
           "12": ["pattoo_key", "network_io_bytes_recv"], "13": ["pattoo_data_type", 64],
           "14": ["pattoo_value", 123456789], "15": ["pattoo_timestamp", 1700000000123],
           "16": ["pattoo_checksum", "feba2ab56fbf1493d00df9d84a09f03f359d788540f6a269641f96cc00f883c0"]},
          "datapoint_pairs": [[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]]}}
        """;

    [Fact]
    public void ThePostOfAPattooLinuxAgentReadsAsPattooStoresIt()
    {
        var batch = new SampleBatch();
        var result = PattooPayload.Parse(Encoding.UTF8.GetBytes(Example), batch);
        Assert.Equal(1, result.Datapoints);
        var s = batch[0];
        Assert.Equal(1700000000123, s.TimestampMs);
        Assert.Equal(123456789, s.Value);
        Assert.Equal(DataType.Counter64, s.Series.DataType);
        Assert.Equal("network_io_bytes_recv", s.Series.Key);
        Assert.Equal(300000, s.Series.PollingIntervalMs);
        Assert.Equal("pattoo_agent_linux_autonomousd", s.Series.Agent.Program);
        Assert.Equal("host1.example.org", s.Series.Agent.PolledTarget);
        Assert.Equal("71c0b7582525b5cfc2cd2c89d3a099aa85ea10fb81355dbcc19d9d35e3ece73bcd2afddfd8466bcf09cc44be6c1102570f010508ca31bfc0a74e1b81a9d56118", s.Series.Checksum);
        Assert.Equal(["cpus", "hostname", "network_io_interface", "processor", "release", "type", "version"], s.Series.Metadata.Select(m => m.Key));
    }

    public static TheoryData<string, string> Broken => new()
    {
        { "{", "not valid JSON" },
        { "42", "must be a JSON object, got a number" },
        { Example.Replace("\"pattoo_agent_timestamp\"", "\"pattoo_agent_time\""), "unknown top-level key \"pattoo_agent_time\"" },
        { Example.Replace("\"datapoint_pairs\"", "\"datapoints\""), "unknown key \"pattoo_datapoints.datapoints\"; expected key_value_pairs and datapoint_pairs" },
        { "{\"pattoo_agent_id\":\"a\",\"pattoo_agent_polling_interval\":1,\"pattoo_agent_timestamp\":1,\"pattoo_datapoints\":{\"key_value_pairs\":{},\"datapoint_pairs\":{\"a\":1}}}", "pattoo_datapoints.datapoint_pairs must be an array of arrays of pair ids" },
        { Example.Replace("[[0,1,2,3", "[0,[1,2,3"), "datapoint_pairs[0] must be an array of pair ids, got a number" },
        { Example.Replace("[[0,1,2,3", "[[{\"x\":1},1,2,3"), "datapoint_pairs[0]: pair id {\"x\":1} is not an integer" },
        { Example.Replace("[[0,1,2,3", "[[-1,1,2,3"), "datapoint_pairs[0]: pair id -1 is not in key_value_pairs" },
        { Example + " x", "not valid JSON" },
        { "{\"pattoo_agent_id\":\"a\",\"pattoo_agent_polling_interval\":1,\"pattoo_agent_timestamp\":1,\"pattoo_datapoints\":{},\"extra\":1}", "unknown top-level key \"extra\"" },
        { "{\"pattoo_agent_id\":\"a\",\"pattoo_agent_polling_interval\":1,\"pattoo_agent_timestamp\":1,\"pattoo_datapoints\":{\"key_value_pairs\":{\"0\":[1,2]}}}", "key_value_pairs[\"0\"] must be [key, value]" },
        { "{\"pattoo_datapoints\":{\"key_value_pairs\":{\"0\":[1,2]}}}", "missing top-level key \"pattoo_agent_id\"" },
        { new string('[', 40) + new string(']', 40), "not valid JSON" }, // nested too deep (the binary names it so: tests/Pattoo.Edge.EndToEnd/Hostile)
        { Example.Replace("\"pattoo_agent_id\": \"ade", "\"pattoo_agent_timestamp\": 1, \"pattoo_agent_id\": \"ade"), "top-level key \"pattoo_agent_timestamp\" appears twice" },
        { Example.Replace("\"pattoo_agent_polling_interval\": 300000,", ""), "missing top-level key \"pattoo_agent_polling_interval\"" },
        { "{\"pattoo_agent_id\":\"a\",\"pattoo_agent_polling_interval\":1,\"pattoo_agent_timestamp\":1,\"pattoo_datapoints\":[1]}", "pattoo_datapoints must be an object, got an array" },
        { Example.Replace("\"3\": [\"type\", \"Linux\"]", "\"3\": [\"type\"]"), "key_value_pairs[\"3\"] must be [key, value] with a string key, got [\"type\"]" },
        { Example.Replace("\"3\": [\"type\", \"Linux\"]", "\"3\": [\"type\", \"Linux\", 1]"), "key_value_pairs[\"3\"] must be [key, value] with a string key, got [\"type\", \"Linux\", 1]" },
        { Example.Replace("[\"pattoo_timestamp\", 1700000000123]", "[\"pattoo_timestamp\", -3]"), "pattoo_timestamp must be milliseconds since 1970, got -3" },
        { Example.Replace("\"7\": [\"pattoo_agent_polling_interval\", \"300000\"]", "\"7\": [\"pattoo_agent_polling_interval\", \"0\"]"), "pattoo_agent_polling_interval must be positive milliseconds, got 0" },
        { Example.Replace("\"10\": [\"pattoo_agent_polled_target\", \"host1.example.org\"]", "\"10\": [\"pattoo_agent_polled_target\", [1]]"), "datapoint_pairs[0] (pattoo_key \"network_io_bytes_recv\"): pattoo_agent_polled_target must be a non-empty string, got [1]" },
        { Example.Replace("[0,1,2,3", "[99,1,2,3"), "datapoint_pairs[0]: pair id 99 is not in key_value_pairs" },
        { Example.Replace("\"16\": [\"pattoo_checksum\", \"feba2ab56fbf1493d00df9d84a09f03f359d788540f6a269641f96cc00f883c0\"]", "\"16\": [\"pattoo_comment\", \"x\"]"), "datapoint_pairs[0]: missing \"pattoo_checksum\"" },
        { Example.Replace("[\"pattoo_data_type\", 64]", "[\"pattoo_data_type\", 7]"), "(pattoo_key \"network_io_bytes_recv\"): pattoo_data_type must be 99, 101, 32, 64, 2 or null, got 7" },
        { Example.Replace("[\"pattoo_value\", 123456789]", "[\"pattoo_value\", \"lots\"]"), "pattoo_value must be a number for data type 64, got \"lots\"" },
        { Example.Replace("[\"pattoo_value\", 123456789]", "[\"pattoo_value\", -5]"), "pattoo_value of a counter cannot be negative" },
        { Example.Replace("[\"pattoo_timestamp\", 1700000000123]", "[\"pattoo_timestamp\", \"soon\"]"), "pattoo_timestamp must be an integer, got \"soon\"" },
        { Example.Replace("\"12\": [\"pattoo_key\", \"network_io_bytes_recv\"]", "\"12\": [\"pattoo_key\", \"\"]"), "pattoo_key must be a non-empty string" },
        { Example.Replace("\"4\": [\"cpus\", \"8\"]", "\"4\": [7, \"8\"]"), "key_value_pairs[\"4\"] must be [key, value] with a string key" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void EveryProblemIsNamedAndNothingIsKept(string json, string message)
    {
        var batch = new SampleBatch();
        var e = Assert.Throws<PayloadException>(() => PattooPayload.Parse(Encoding.UTF8.GetBytes(json), batch));
        Assert.Contains(message, e.Message);
        Assert.Equal(0, batch.Count);
    }

    [Fact]
    public void DataTypeNullIsSkippedAsPattooDoes()
    {
        var batch = new SampleBatch();
        var result = PattooPayload.Parse(Encoding.UTF8.GetBytes(Example.Replace("[\"pattoo_data_type\", 64]", "[\"pattoo_data_type\", null]")), batch);
        Assert.Equal(0, result.Datapoints);
        Assert.Equal(1, result.Skipped);
        Assert.Equal(0, batch.Count);
    }

    [Theory]
    [InlineData("Network IO Interface", "network_io_interface")]
    [InlineData("cpu's-load (1m)", "cpu's_load_1m")]
    [InlineData("---", "")]
    public void MetadataKeysAreNormalisedLikePattoo(string key, string expected) => Assert.Equal(expected, PattooPayload.NormaliseKey(key));

    /// <summary>
    /// A post as pattoo-shared writes a backlog: the agent's pairs shared by every datapoint,
    /// the series' pairs by its points, a value and a timestamp pair per point.
    /// </summary>
    private static string Backlog(string order = "pairs first", string ids = "numbers")
    {
        string pairs = """
            "0": ["pattoo_agent_polling_interval", "10000"], "1": ["pattoo_agent_hostname", "h\u00e9"], "2": ["pattoo_agent_id", "agent-1"],
            "3": ["pattoo_agent_polled_target", "t1"], "4": ["pattoo_agent_program", "prog"], "5": ["pattoo_data_type", 101],
            "6": ["pattoo_key", "temp"], "7": ["pattoo_checksum", "c-temp"], "8": ["room", "A"],
            "9": ["pattoo_value", 1.5e3], "10": ["pattoo_timestamp", 1700000000000],
            "11": ["pattoo_value", "12.5"], "12": ["pattoo_timestamp", 1700000010000.0],
            "13": ["pattoo_value", true], "14": ["pattoo_timestamp", "1700000020000"],
            "15": ["pattoo_key", "door"], "16": ["pattoo_checksum", "c-door"], "17": ["pattoo_data_type", 2], "18": ["pattoo_value", "open"],
            "19": ["room", "B"], "20": ["Room", "C"]
            """;
        string Id(int n) => ids == "numbers" ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"\"{n}\"";
        string Dp(params int[] p) => "[" + string.Join(",", p.Select(Id)) + "]";
        string datapoints = string.Join(",", Dp(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Dp(0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12), Dp(0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 14),
            Dp(0, 1, 2, 3, 4, 17, 15, 16, 8, 19, 20, 18, 10));
        string body = order == "pairs first"
            ? $"\"key_value_pairs\": {{{pairs}}}, \"datapoint_pairs\": [{datapoints}]"
            : $"\"datapoint_pairs\": [{datapoints}], \"key_value_pairs\": {{{pairs}}}";
        return $"{{\"pattoo_datapoints\": {{{body}}}, \"pattoo_agent_id\": \"agent-1\", \"pattoo_agent_timestamp\": 1700000020000, \"pattoo_agent_polling_interval\": 10000}}";
    }

    [Theory]
    [InlineData("pairs first", "numbers")]
    [InlineData("datapoints first", "numbers")]
    [InlineData("pairs first", "strings")]
    public void ABacklogReadsWhateverTheOrderOfKeysAndHowIdsAreWritten(string order, string ids)
    {
        var batch = new SampleBatch();
        var result = PattooPayload.Parse(Encoding.UTF8.GetBytes(Backlog(order, ids)), batch);
        Assert.Equal(4, result.Datapoints);
        Assert.Equal([1500.0, 12.5, 1.0], batch.Items[..3].ToArray().Select(s => s.Value));
        Assert.Equal([1700000000000L, 1700000010000L, 1700000020000L, 1700000000000L], batch.Items.ToArray().Select(s => s.TimestampMs));
        var temp = batch[0].Series;
        Assert.Same(temp, batch[1].Series);
        Assert.Same(temp, batch[2].Series);
        Assert.Equal("hé", temp.Agent.Hostname);
        Assert.Equal([new KeyValuePair<string, string>("room", "A")], temp.Metadata);
        var door = batch[3];
        Assert.Equal(DataType.String, door.Series.DataType);
        Assert.Equal("open", door.Text);
        // "room" B and "Room" C normalise to one key: one of them is kept, never both.
        Assert.Single(door.Series.Metadata);
        Assert.Contains(door.Series.Metadata[0].Value, new[] { "B", "C" });
    }

    [Fact]
    public void OfTwoPairsWithOneKeyInADatapointTheLaterWins()
    {
        var json = Backlog();
        var batch = new SampleBatch();
        // Datapoint 0 names pattoo_value 9 and then, appended, 11: the later is stored.
        json = json.Replace("[0,1,2,3,4,5,6,7,8,9,10]", "[0,1,2,3,4,5,6,7,8,9,10,11]");
        PattooPayload.Parse(Encoding.UTF8.GetBytes(json), batch);
        Assert.Equal(12.5, batch[0].Value);
    }

    /// <summary>What a body reads as: its samples, or the error's message without its line and byte.</summary>
    private static string Outcome(string json)
    {
        var batch = new SampleBatch();
        try
        {
            PattooPayload.Parse(Encoding.UTF8.GetBytes(json), batch);
            return string.Join(";", batch.Items.ToArray().Select(s => $"{s.Series.Key}/{s.Series.Checksum}@{s.TimestampMs}={s.Value}|{s.Text}"));
        }
        catch (PayloadException e)
        {
            Assert.Equal(0, batch.Count);
            return "error: " + System.Text.RegularExpressions.Regex.Replace(e.Message, @" \(line \d+, byte \d+\)", "");
        }
    }

    /// <summary>
    /// The pair ids of datapoint_pairs and the pairs of key_value_pairs on one line are read by
    /// scans of their own (PattooPayloadLayout.ScanCanonicalIds, ScanPlainPairs); after a line
    /// break the JSON reader reads them. Both must take and refuse the same bodies, with the same
    /// messages: mutations of each part, read both ways.
    /// </summary>
    [Theory]
    [InlineData("\"datapoint_pairs\": [", "], \"key_value_pairs\"", "01234567890123456789012345678901234567890123456789,,   \t\t[] -.e\"x{}")]
    [InlineData("\"key_value_pairs\": {", "}}, \"pattoo_agent_id\"", "0123456789012345678901234567890123456789\"\"\"\\,,::[]{}  .eE+-truefalsenx\u00e9\u0001")]
    public void APartReadsTheSameByTheScanAndByTheReader(string opening, string closing, string alphabet)
    {
        var rng = new Random(11);
        string body = Backlog("datapoints first").Replace("\n", " ").Replace("\\u00e9", "\u00e9"); // one line, no escape: what the scans take
        int from = body.IndexOf(opening, StringComparison.Ordinal) + opening.Length;
        int to = body.IndexOf(closing, from, StringComparison.Ordinal);
        Assert.True(from > opening.Length && to > from);
        int accepted = 0;
        for (int i = 0; i < 3000; i++)
        {
            var chars = body.ToCharArray();
            for (int m = rng.Next(1, 4); m > 0; m--) chars[rng.Next(from, to)] = alphabet[rng.Next(alphabet.Length)];
            string mutated = new(chars);
            string scanned = Outcome(mutated), read = Outcome(mutated.Insert(from, "\n"));
            Assert.True(read == scanned, $"{mutated[from..to]}\nscan:   {scanned}\nreader: {read}");
            if (!scanned.StartsWith("error", StringComparison.Ordinal)) accepted++;
        }
        Assert.InRange(accepted, 50, 2950); // both kinds were tried (most mutations break the body or name a pair that is not there)
        Assert.Equal(Outcome(body), Outcome(body.Insert(from, "\n")));
        Assert.DoesNotContain("error", Outcome(body));
    }

    [Fact]
    public void ABadJsonAfterScannedIdsIsPlacedWhereItIs()
    {
        string body = Backlog("datapoints first").Replace("\n", " ").Replace("\\u00e9", "\u00e9"); // one line, no escape: what the scans take
        // After both scans (ids, then pairs), on the line they were on.
        string broken = body.Replace("\"pattoo_agent_id\": \"agent-1\", \"pattoo_agent_timestamp\"", "\"pattoo_agent_id\": \"agent-1\", , \"pattoo_agent_timestamp\"");
        int expected = -1;
        try { System.Text.Json.JsonDocument.Parse(broken); }
        catch (System.Text.Json.JsonException e) { expected = (int)e.BytePositionInLine!.Value; }
        var error = Assert.Throws<PayloadException>(() => PattooPayload.Parse(Encoding.UTF8.GetBytes(broken), new SampleBatch()));
        Assert.Contains($"(line 1, byte {expected + 1})", error.Message);
    }

    [Fact]
    public void RandomBytesNeverEscapeAsAnythingButAPayloadError()
    {
        var rng = new Random(7);
        var valid = Encoding.UTF8.GetBytes(Example);
        for (int i = 0; i < 3000; i++)
        {
            var bytes = (byte[])valid.Clone();
            for (int m = rng.Next(1, 6); m > 0; m--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            var batch = new SampleBatch();
            try { PattooPayload.Parse(bytes, batch); }
            catch (PayloadException) { Assert.Equal(0, batch.Count); }
        }
    }
}

public class DownsamplerTests
{
    [Fact]
    public void FewPointsPassThroughRaw()
    {
        var p = new SeriesPoints();
        p.Timestamps.AddRange([10, 20]);
        p.Values.AddRange([1, 2]);
        var r = Downsampler.Bucket(p, 0, 100, 10, "avg", out long bucket);
        Assert.Equal(0, bucket);
        Assert.Equal([1.0, 2.0], r.Select(x => x.Value));
    }

    [Theory]
    [InlineData("avg", new[] { 1.5, 3.5 })]
    [InlineData("min", new[] { 1.0, 3.0 })]
    [InlineData("max", new[] { 2.0, 4.0 })]
    [InlineData("last", new[] { 2.0, 4.0 })]
    public void BucketsAggregateAndNeverExceedMaxPoints(string aggregate, double[] expected)
    {
        var p = new SeriesPoints();
        p.Timestamps.AddRange([0, 30, 60, 99]);
        p.Values.AddRange([1, 2, 3, 4]);
        var r = Downsampler.Bucket(p, 0, 99, 2, aggregate, out long bucket);
        Assert.Equal(50, bucket);
        Assert.Equal(expected, r.Select(x => x.Value));
        Assert.Equal([2, 2], r.Select(x => x.Count));
    }
}
