using Pattoo.Edge.Api.Ingest;
using Pattoo.Edge.Common;
using Pattoo.Edge.Forwarding;
using Pattoo.Edge.Forwarding.PattooAgent;
using Pattoo.Edge.Storage;
using Pattoo.Edge.Tests.Storage;

namespace Pattoo.Edge.Tests.Forwarding;

public class PattooForwarderTests
{
    [Fact]
    public async Task APostReadsBackAsTheSameDatapointsWithTheSameChecksums()
    {
        await using var t = new TempStore();
        var temp = TempStore.Key("temperature", DataType.Float, ("room", "north"), ("units", "°C"));
        var packets = TempStore.Key("packets", DataType.Counter64, ("interface", "eth0"));
        var state = TempStore.Key("state", DataType.String, ("pump", "p1"));
        var batch = new SampleBatch();
        for (int i = 0; i < 5; i++)
        {
            batch.Add(temp, 1_700_000_000_000 + i * 10_000, 20.5 + i);
            batch.Add(packets, 1_700_000_000_000 + i * 10_000, 1000 + i * 50);
            batch.AddText(state, 1_700_000_000_000 + i * 10_000, i % 2 == 0 ? "running \"auto\"" : "stopped");
        }
        await t.Store.WriteAsync(batch, default);
        var infos = t.Store.ListDatapoints();
        SeriesBatch Read(DatapointInfo d)
        {
            if (d.DataType != DataType.String) return new SeriesBatch(d, t.Store.ReadRaw(d.IdxDatapoint, 0, long.MaxValue), 5);
            var texts = t.Store.ReadStrings(d.IdxDatapoint, 0, long.MaxValue);
            var points = new SeriesPoints();
            points.Timestamps.AddRange(texts.Select(x => x.Timestamp));
            points.Values.AddRange(texts.Select(_ => double.NaN));
            return new SeriesBatch(d, points, 5, [.. texts.Select(x => x.Value)]);
        }
        var series = infos.Select(Read).ToList();
        await using var forwarder = new PattooForwarder(new PattooForwardOptions { Name = "central", Url = new Uri("http://127.0.0.1:1") }, t.Store);
        byte[] body = forwarder.Encode(TempStore.Agent.AgentId, series, 1_700_000_100_000);

        var parsed = new SampleBatch();
        var result = PattooPayload.Parse(body, parsed);
        Assert.Equal(15, result.Datapoints);
        foreach (var d in infos)
        {
            var samples = parsed.Items.ToArray().Where(s => s.Series.Checksum == d.Checksum).ToList();
            Assert.Equal(5, samples.Count); // the same stored checksum: the central server files it as this box does
            Assert.Equal(d.Key, samples[0].Series.Key);
            Assert.Equal(d.DataType, samples[0].Series.DataType);
            Assert.Equal(d.Metadata, samples[0].Series.Metadata);
            if (d.DataType == DataType.String) Assert.Equal(t.Store.ReadStrings(d.IdxDatapoint, 0, long.MaxValue).Select(x => x.Value), samples.Select(s => s.Text));
            else Assert.Equal(t.Store.ReadRaw(d.IdxDatapoint, 0, long.MaxValue).Values, samples.Select(s => s.Value));
        }
    }
}
