using System.Buffers;
using System.Text;
using Pattoo.Edge.Forwarding;
using Pattoo.Edge.Forwarding.RemoteWrite;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Forwarding;

public class SnappyTests
{
    public static TheoryData<string> Inputs => new()
    {
        "", "a", "abcd", new string('a', 1000), "abcabcabcabcabcabcabc",
        string.Concat(Enumerable.Range(0, 500).Select(i => $"__name__=node_cpu_seconds_total,cpu={i % 8},mode=idle;")),
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void CompressedBlocksDecompressToTheInput(string text)
    {
        var input = Encoding.UTF8.GetBytes(text);
        var compressed = Snappy.Compress(input);
        Assert.Equal(input, Snappy.Decompress(compressed));
        if (input.Length > 100) Assert.True(compressed.Length < input.Length / 2, $"{input.Length} -> {compressed.Length} bytes");
    }

    [Fact]
    public void RandomInputsRoundTripAndNeverOutgrowTheBound()
    {
        var rng = new Random(11);
        for (int i = 0; i < 300; i++)
        {
            var input = new byte[rng.Next(0, 70_000)];
            // Runs of repeats among random bytes: long matches, far offsets, literals of every size.
            for (int k = 0; k < input.Length; k++) input[k] = rng.Next(4) == 0 ? (byte)rng.Next(256) : k >= 70 ? input[k - 1 - rng.Next(64)] : (byte)k;
            // Every third: a long incompressible stretch (the compressor skips ahead), then repeats of it.
            if (i % 3 == 0 && input.Length > 3000)
            {
                rng.NextBytes(input.AsSpan(0, input.Length / 2));
                for (int k = input.Length / 2; k < input.Length; k++) input[k] = input[k - 1000];
            }
            var compressed = Snappy.Compress(input);
            Assert.True(compressed.Length <= Snappy.MaxCompressedLength(input.Length));
            Assert.Equal(input, Snappy.Decompress(compressed));
        }
    }

    [Fact]
    public void DamagedBlocksAreNamedNeverACrash()
    {
        var rng = new Random(5);
        var valid = Snappy.Compress(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 200).Select(i => $"label{i % 13}=value{i % 7};"))));
        for (int i = 0; i < 5000; i++)
        {
            var bytes = (byte[])valid.Clone();
            for (int m = rng.Next(1, 4); m > 0; m--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            if (rng.Next(4) == 0) bytes = bytes[..rng.Next(bytes.Length)];
            try { Snappy.Decompress(bytes); }
            catch (SnappyException e) { Assert.False(string.IsNullOrEmpty(e.Message)); }
        }
        Assert.Contains("reaches back", Assert.Throws<SnappyException>(() => Snappy.Decompress([4, 0b01, 0x05])).Message);
    }
}

public class WriteRequestEncoderTests
{
    [Fact]
    public void TheRequestReadsBackAsPrometheusDefinesIt()
    {
        var s = new RemoteSeries([new("__name__", "room_temperature"), new("instance", "plc-1"), new("job", "modbus")]);
        s.Timestamps.AddRange([1_700_000_000_000, 1_700_000_010_000]);
        s.Values.AddRange([21.5, -3]);
        var empty = new RemoteSeries([new("__name__", "nothing")]);
        var buffer = new ArrayBufferWriter<byte>();
        WriteRequestEncoder.Write([s, empty], buffer);

        var series = ProtobufFields.Read(buffer.WrittenSpan);
        var one = Assert.Single(series); // a series without samples is not sent
        Assert.Equal(1, one.Number);
        var fields = ProtobufFields.Read(one.Bytes);
        var labels = fields.Where(f => f.Number == 1).Select(f => ProtobufFields.Read(f.Bytes)).Select(l => (Encoding.UTF8.GetString(l[0].Bytes), Encoding.UTF8.GetString(l[1].Bytes))).ToList();
        Assert.Equal([("__name__", "room_temperature"), ("instance", "plc-1"), ("job", "modbus")], labels);
        var samples = fields.Where(f => f.Number == 2).Select(f => ProtobufFields.Read(f.Bytes)).ToList();
        Assert.Equal(2, samples.Count);
        Assert.Equal(21.5, BitConverter.Int64BitsToDouble((long)samples[0][0].Value));
        Assert.Equal(1_700_000_000_000L, (long)samples[0][1].Value);
        Assert.Equal(-3.0, BitConverter.Int64BitsToDouble((long)samples[1][0].Value));
    }
}

public class ForwardCursorTests
{
    [Fact]
    public void CursorsRoundTrip()
    {
        var sent = new Dictionary<long, long> { [1] = 1_700_000_000_000, [2] = long.MinValue, [17] = 1_699_999_990_000, [100_000] = 5 };
        Assert.Equal(sent.OrderBy(p => p.Key), ForwardCursor.Decode(ForwardCursor.Encode(sent)).OrderBy(p => p.Key));
        Assert.Empty(ForwardCursor.Decode(ForwardCursor.Encode(new Dictionary<long, long>())));
    }

    [Fact]
    public void SeriesMovingTogetherCostAFewBytesEach()
    {
        var sent = Enumerable.Range(1, 10_000).ToDictionary(i => (long)i, i => 1_700_000_000_000L + i % 10 * 1000);
        Assert.True(ForwardCursor.Encode(sent).Length < 10_000 * 5);
    }

    [Fact]
    public void DamagedCursorsAreRefusedNeverACrash()
    {
        var valid = ForwardCursor.Encode(Enumerable.Range(1, 50).ToDictionary(i => (long)i * 3, i => 1_700_000_000_000L + i));
        var rng = new Random(9);
        for (int i = 0; i < 3000; i++)
        {
            var bytes = (byte[])valid.Clone();
            bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            if (rng.Next(3) == 0) bytes = bytes[..rng.Next(bytes.Length)];
            try { ForwardCursor.Decode(bytes); }
            catch (ForwardCursorException) { }
        }
        Assert.Throws<ForwardCursorException>(() => ForwardCursor.Decode([]));
    }
}

public class PrometheusNamesTests
{
    [Theory]
    [InlineData("cpu.load-1m", "cpu_load_1m")]
    [InlineData("1st_sensor", "_1st_sensor")]
    [InlineData("ns:metric", "ns:metric")]
    [InlineData("température", "temp_rature")]
    public void KeysBecomeMetricNames(string key, string name) => Assert.Equal(name, PrometheusNames.Metric(key));

    [Theory]
    [InlineData("if:name", "if_name")]
    [InlineData("__reserved", "_reserved")]
    public void MetadataBecomesLabelNames(string key, string name) => Assert.Equal(name, PrometheusNames.Label(key));

    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("snmp_*", "snmp_if_in", true)]
    [InlineData("snmp_*", "modbus_x", false)]
    [InlineData("if?n", "ifin", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    public void GlobsMatchAsInAShell(string pattern, string text, bool match) => Assert.Equal(match, Glob.IsMatch(pattern, text));

    [Fact]
    public void LabelsAreSortedAndClashesKeptAsExported()
    {
        var d = new Pattoo.Edge.Storage.DatapointInfo(1, 1, "c", Common.DataType.Float, 0, 10_000, "agent", "modbus", "host", "plc-1", "room.temp",
            [new("job", "mine"), new("site", "north"), new("empty", "")]);
        var labels = RemoteWriteLabels.For(d, [new("appliance", "box-1"), new("site", "ignored")]);
        Assert.Equal(["__name__", "appliance", "exported_job", "instance", "job", "site"], labels.Select(l => l.Key));
        Assert.Equal("room_temp", labels[0].Value);
        Assert.Equal("mine", labels.Single(l => l.Key == "exported_job").Value);
        Assert.Equal("north", labels.Single(l => l.Key == "site").Value);
    }
}
