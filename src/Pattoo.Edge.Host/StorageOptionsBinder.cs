using Pattoo.Edge.Config;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Host;

/// <summary>The [storage] section bound to <see cref="StorageOptions"/>, whose initial values are the defaults.</summary>
public static class StorageOptionsBinder
{
    public static StorageOptions Bind(ConfigSection s)
    {
        var d = new StorageOptions();
        var o = new StorageOptions
        {
            Path = s.GetString("path", d.Path),
            Retention = s.GetDuration("retention", d.Retention, TimeSpan.FromHours(1), TimeSpan.FromDays(36500)),
            RollupRetention = s.GetDuration("rollup_retention", d.RollupRetention, TimeSpan.FromHours(1), TimeSpan.FromDays(36500)),
            ChunkSpan = s.GetDuration("chunk_span", d.ChunkSpan, TimeSpan.FromMinutes(1), TimeSpan.FromDays(1)),
            MaxHeadSamples = (int)s.GetInteger("max_head_samples", d.MaxHeadSamples, 10_000, 100_000_000),
            CommitInterval = s.GetDuration("commit_interval", d.CommitInterval, TimeSpan.Zero, TimeSpan.FromMinutes(10)),
            IngestSyncWindow = s.GetDuration("ingest_sync_window", d.IngestSyncWindow, TimeSpan.Zero, TimeSpan.FromSeconds(5)),
        };
        if (o.Path.Length == 0) s.Error("path", "expected a directory, got an empty string");
        s.Finish();
        return o;
    }
}
