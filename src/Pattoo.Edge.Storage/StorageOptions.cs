
namespace Pattoo.Edge.Storage;

/// <summary>The [storage] section (bound by the host: storage knows no config files).</summary>
public sealed record StorageOptions
{
    /// <summary>Directory holding the database (created if missing).</summary>
    public string Path { get; init; } = DefaultPath();
    /// <summary>Samples older than this are pruned in the background.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(400);
    /// <summary>
    /// How long the 5-minute and hourly rollups are kept (charts of long ranges read them); raw
    /// samples follow <see cref="Retention"/>.
    /// </summary>
    public TimeSpan RollupRetention { get; init; } = TimeSpan.FromDays(1826);
    /// <summary>How long samples stay in the uncompressed head before being sealed into chunks.</summary>
    public TimeSpan ChunkSpan { get; init; } = TimeSpan.FromHours(2);
    /// <summary>Seal chunks early once the head holds this many samples (bounds memory).</summary>
    public int MaxHeadSamples { get; init; } = 2_000_000;
    /// <summary>
    /// How often the pollers' samples are written and synced to the disk (they do not wait for
    /// it). A power cut or a killed process loses at most this much of what the pollers stored;
    /// HTTP ingest is synced before it is answered and is never lost. Longer saves flash: every
    /// sync costs a journal commit and rewrites the last partly filled 4 KiB page.
    /// </summary>
    public TimeSpan CommitInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>
    /// How long an HTTP ingest post may wait for others to share its disk sync (group commit).
    /// Only posts that arrive while others come every second or so wait: a lone post, and a
    /// client that posts again as soon as it is answered, are synced at once. Zero syncs every
    /// post at once. Each sync rewrites at least one 4 KiB page of flash.
    /// </summary>
    public TimeSpan IngestSyncWindow { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How long events (traps, alert state changes) are kept: [events] retention.</summary>
    public TimeSpan EventRetention { get; init; } = TimeSpan.FromDays(90);
    /// <summary>How long the write-back audit trail is kept: [audit] retention, 5 years by default.</summary>
    public TimeSpan AuditRetention { get; init; } = TimeSpan.FromDays(1826);

    public const string FileName = "pattoo-edge.db";

    public string DatabaseFile => System.IO.Path.Combine(Path, FileName);

    /// <summary>systemd's StateDirectory when run as the service, else ./pattoo-edge-data.</summary>
    public static string DefaultPath()
    {
        var state = Environment.GetEnvironmentVariable("STATE_DIRECTORY");
        if (!string.IsNullOrEmpty(state)) return state.Split(':')[0];
        return System.IO.Path.GetFullPath("pattoo-edge-data");
    }
}
