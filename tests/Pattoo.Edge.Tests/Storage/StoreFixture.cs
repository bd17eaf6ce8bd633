using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Tests.Storage;

/// <summary>A store in a fresh temporary directory, deleted afterwards.</summary>
public sealed class TempStore : IAsyncDisposable
{
    public TempStore(TimeSpan? retention = null, int maxHeadSamples = 2_000_000, TimeSpan? chunkSpan = null, TimeSpan? rollupRetention = null, TimeSpan? ingestSyncWindow = null)
    {
        Directory = Path.Combine(Path.GetTempPath(), "pattoo-edge-test-" + Guid.NewGuid().ToString("N"));
        Options = new StorageOptions { Path = Directory, Retention = retention ?? TimeSpan.FromDays(400), MaxHeadSamples = maxHeadSamples, ChunkSpan = chunkSpan ?? TimeSpan.FromHours(2), RollupRetention = rollupRetention ?? TimeSpan.FromDays(1826), IngestSyncWindow = ingestSyncWindow ?? TimeSpan.FromSeconds(1) };
        Store = TimeSeriesStore.Open(Options);
    }

    public string Directory { get; }
    public StorageOptions Options { get; }
    public TimeSeriesStore Store { get; private set; }

    public async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        Store = TimeSeriesStore.Open(Options);
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }

    public static readonly AgentIdentity Agent = new("agent-1", "test", "host-1", "target-1");

    public static SeriesKey Key(string key, DataType type = DataType.Float, params (string, string)[] metadata)
        => new(Agent, key, type, TimeSpan.FromSeconds(10), metadata.Select(m => new KeyValuePair<string, string>(m.Item1, m.Item2)));

    public long IdxOf(SeriesKey key) => Store.ListDatapoints().Single(d => d.Checksum == key.Checksum).IdxDatapoint;
}
