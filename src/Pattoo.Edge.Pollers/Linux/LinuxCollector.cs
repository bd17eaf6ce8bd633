using System.Globalization;
using System.IO.Enumeration;
using System.Runtime.InteropServices;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>
/// Reads the Linux host's CPU, load, memory, disks, network, filesystems and temperatures from
/// /proc, /sys and statvfs, the way pattoo's OS agent and node_exporter do, into one sample per
/// series. Series keys are made on first sight of a CPU, disk, interface, mount or sensor and
/// reused every cycle. Not thread-safe: one caller collects at a time.
/// </summary>
public sealed partial class LinuxCollector
{
    public const string ProgramName = "linux";

    /// <summary>The unit of /proc/stat CPU times: USER_HZ, fixed at 100 by the kernel ABI on every architecture.</summary>
    public const double UserHz = 100;

    // Sensors rarely come and go (a USB device, a driver loaded late), so their directories are
    // listed again only every so often, or at once when a known sensor file disappears.
    private const int SensorRescanCycles = 30;
    // Disks, interfaces and mounts not seen for this many cycles lose their cached keys.
    private const int PruneCycles = 64;
    private static readonly TimeSpan NetworkStatTimeout = TimeSpan.FromSeconds(2);

    private const string StatPath = "/proc/stat";
    private const string LoadAvgPath = "/proc/loadavg";
    private const string MemInfoPath = "/proc/meminfo";
    private const string UptimePath = "/proc/uptime";
    private const string DiskStatsPath = "/proc/diskstats";
    private const string NetDevPath = "/proc/net/dev";
    private const string ThermalDir = "/sys/class/thermal";
    private const string HwmonDir = "/sys/class/hwmon";
    // The first that exists is read; mountinfo tells bind mounts apart by device number.
    private static readonly string[] MountTablePaths = ["/proc/self/mountinfo", "/proc/self/mounts", "/proc/mounts"];

    private static readonly EnumerationOptions ProcEnumeration = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
        AttributesToSkip = 0,
        ReturnSpecialDirectories = false,
    };

    private readonly AgentIdentity _agent;
    private readonly TimeSpan _interval;
    private readonly string _root; // "" for the real root, else the prefix without a trailing '/'
    private readonly Func<string, FilesystemStats?> _statvfs;
    private readonly TextFileReader _reader = new();
    private readonly List<string> _problems = new();
    private readonly ProcStatData _stat = new();
    private long _cycle;

    private SeriesKey[]?[] _cpuKeys = new SeriesKey[]?[8]; // index cpu + 1; slot 0 is the total
    private SeriesKey? _load1, _load5, _load15;
    private SeriesKey? _memTotal, _memAvailable, _memFree, _memBuffers, _memCached, _swapTotal, _swapFree;
    private SeriesKey? _uptime, _processes, _threads, _procsRunning, _procsBlocked;
    private SeriesKey? _contextSwitches, _interrupts, _forks;
    private readonly SeriesCache<DiskKeys> _disks = new();
    private readonly SeriesCache<NetKeys> _interfaces = new();
    private readonly SeriesCache<FilesystemKeys> _filesystems = new();
    private readonly List<MountSlot> _mountSlots = new();
    private readonly HashSet<string> _hungMounts = new(StringComparer.Ordinal);
    private readonly List<Sensor> _sensors = new();
    private readonly Dictionary<string, SeriesKey> _sensorKeys = new(StringComparer.Ordinal);
    private long _sensorsScannedAt;
    private bool _rescanSensors = true;

    public LinuxCollector(AgentIdentity agent, TimeSpan interval, string rootPath = "/")
        : this(agent, interval, rootPath, StatVfs.Query)
    {
    }

    /// <param name="statvfs">Reads a mount point's size and free space; null skips the mount.
    /// Called with the mount point as the mount table names it (not prefixed by
    /// <paramref name="rootPath"/>); tests pass canned numbers.</param>
    public LinuxCollector(AgentIdentity agent, TimeSpan interval, string rootPath, Func<string, FilesystemStats?> statvfs)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentException.ThrowIfNullOrEmpty(rootPath);
        ArgumentNullException.ThrowIfNull(statvfs);
        _agent = agent;
        _interval = interval;
        _root = rootPath.TrimEnd('/');
        _statvfs = statvfs;
    }

    /// <summary>Files that exist but could not be read or parsed in the last <see cref="Collect"/>.
    /// Missing files (no swap, no sensors, no /sys in a container) are normal and not listed.</summary>
    public IReadOnlyList<string> Problems => _problems;

    /// <summary>Appends one sample per series to <paramref name="batch"/>. Never throws for a bad
    /// or missing file: what can be read is reported and the rest goes to <see cref="Problems"/>.</summary>
    public void Collect(SampleBatch batch, long timestampMs)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _problems.Clear();
        _cycle++;
        for (int section = 0; section < SectionCount; section++)
        {
            try
            {
                CollectSection(section, batch, timestampMs);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A parser bug or an odd kernel must cost one section, not the whole poll.
                _problems.Add($"{SectionName(section)}: unexpected {e.GetType().Name}: {e.Message}");
            }
        }
        if (_cycle % PruneCycles == 0)
        {
            long oldest = _cycle - PruneCycles;
            _disks.PruneUnseenSince(oldest);
            _interfaces.PruneUnseenSince(oldest);
            _filesystems.PruneUnseenSince(oldest);
        }
    }

    /// <summary>A sample as one line, "key{name=value,...} type value", for logs, tests and the README.</summary>
    public static string Describe(in Sample sample)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(sample.Series.Key);
        var metadata = sample.Series.Metadata;
        if (metadata.Count > 0)
        {
            sb.Append('{');
            for (int i = 0; i < metadata.Count; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(metadata[i].Key).Append('=').Append(metadata[i].Value);
            }
            sb.Append('}');
        }
        sb.Append(' ').Append(sample.Series.DataType.Name()).Append(' ');
        if (sample.Text is not null) sb.Append(sample.Text);
        else sb.Append(sample.Value.ToString("R", CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    private const int SectionCount = 9;

    private static string SectionName(int section) => section switch
    {
        0 => StatPath,
        1 => LoadAvgPath,
        2 => MemInfoPath,
        3 => UptimePath,
        4 => "/proc",
        5 => DiskStatsPath,
        6 => NetDevPath,
        7 => "filesystems",
        _ => "temperatures",
    };

    private void CollectSection(int section, SampleBatch batch, long ts)
    {
        switch (section)
        {
            case 0: CollectStat(batch, ts); break;
            case 1: CollectLoadAvg(batch, ts); break;
            case 2: CollectMemInfo(batch, ts); break;
            case 3: CollectUptime(batch, ts); break;
            case 4: CollectProcessCount(batch, ts); break;
            case 5: CollectDiskStats(batch, ts); break;
            case 6: CollectNetDev(batch, ts); break;
            case 7: CollectFilesystems(batch, ts); break;
            default: CollectTemperatures(batch, ts); break;
        }
    }

    private void CollectStat(SampleBatch batch, long ts)
    {
        if (!TryRead(StatPath, out var text)) return;
        ProcStat.Parse(text, _stat, StatPath, _problems);
        foreach (ref readonly var cpu in CollectionsMarshal.AsSpan(_stat.Cpus))
        {
            var keys = CpuKeys(cpu.Cpu);
            for (int mode = 0; mode < cpu.ModeCount; mode++)
            {
                var key = keys[mode] ??= NewKey("cpu_seconds", DataType.Counter64,
                    "cpu", cpu.Cpu == CpuTimes.Total ? "total" : cpu.Cpu.ToString(CultureInfo.InvariantCulture),
                    "mode", ProcStat.ModeNames[mode]);
                batch.Add(key, ts, cpu.Jiffies(mode) / UserHz);
            }
        }
        Add(batch, ref _contextSwitches, "context_switches", DataType.Counter64, _stat.ContextSwitches, ts);
        Add(batch, ref _interrupts, "interrupts", DataType.Counter64, _stat.Interrupts, ts);
        Add(batch, ref _forks, "forks", DataType.Counter64, _stat.Forks, ts);
        Add(batch, ref _procsRunning, "procs_running", DataType.Integer, _stat.ProcsRunning, ts);
        Add(batch, ref _procsBlocked, "procs_blocked", DataType.Integer, _stat.ProcsBlocked, ts);
    }

    private SeriesKey?[] CpuKeys(int cpu)
    {
        int slot = cpu + 1;
        if (slot >= _cpuKeys.Length) Array.Resize(ref _cpuKeys, Math.Max(slot + 1, _cpuKeys.Length * 2));
        return _cpuKeys[slot] ??= new SeriesKey[ProcStat.ModeNames.Count];
    }

    private void CollectLoadAvg(SampleBatch batch, long ts)
    {
        if (!TryRead(LoadAvgPath, out var text)) return;
        if (!LoadAvg.TryParse(text, out var load, LoadAvgPath, _problems)) return;
        batch.Add(_load1 ??= NewKey("load_1", DataType.Float), ts, load.Load1);
        batch.Add(_load5 ??= NewKey("load_5", DataType.Float), ts, load.Load5);
        batch.Add(_load15 ??= NewKey("load_15", DataType.Float), ts, load.Load15);
        Add(batch, ref _threads, "threads", DataType.Integer, load.Total, ts);
    }

    private void CollectMemInfo(SampleBatch batch, long ts)
    {
        if (!TryRead(MemInfoPath, out var text)) return;
        var mem = MemInfo.Parse(text, MemInfoPath, _problems);
        Add(batch, ref _memTotal, "memory_total_bytes", DataType.Integer, mem.MemTotalBytes, ts);
        Add(batch, ref _memAvailable, "memory_available_bytes", DataType.Integer, mem.MemAvailableBytes, ts);
        Add(batch, ref _memFree, "memory_free_bytes", DataType.Integer, mem.MemFreeBytes, ts);
        Add(batch, ref _memBuffers, "memory_buffers_bytes", DataType.Integer, mem.BuffersBytes, ts);
        Add(batch, ref _memCached, "memory_cached_bytes", DataType.Integer, mem.CachedBytes, ts);
        Add(batch, ref _swapTotal, "swap_total_bytes", DataType.Integer, mem.SwapTotalBytes, ts);
        Add(batch, ref _swapFree, "swap_free_bytes", DataType.Integer, mem.SwapFreeBytes, ts);
    }

    private void CollectUptime(SampleBatch batch, long ts)
    {
        if (!TryRead(UptimePath, out var text)) return;
        if (Uptime.TryParse(text, out double seconds, UptimePath, _problems))
            batch.Add(_uptime ??= NewKey("uptime_seconds", DataType.Float), ts, seconds);
    }

    /// <summary>Counts the numeric directories of /proc, one per process (thread groups, not threads).</summary>
    private void CollectProcessCount(SampleBatch batch, long ts)
    {
        int count = 0;
        try
        {
            // FileName is a span into the directory entry: counting allocates no string per process.
            var entries = new FileSystemEnumerable<byte>(Rooted("/proc"), static (ref FileSystemEntry _) => 0, ProcEnumeration)
            {
                ShouldIncludePredicate = static (ref FileSystemEntry entry) => Numbers.IsAllDigits(entry.FileName),
            };
            foreach (byte _ in entries) count++;
        }
        catch (DirectoryNotFoundException)
        {
            return;
        }
        // No process directory at all means this is not a procfs (a fixture without them, say), not zero processes.
        if (count > 0) batch.Add(_processes ??= NewKey("processes", DataType.Integer), ts, count);
    }

    private void CollectDiskStats(SampleBatch batch, long ts)
    {
        if (!TryRead(DiskStatsPath, out var text)) return;
        foreach (var disk in DiskStats.Parse(text, DiskStatsPath, _problems))
        {
            if (DiskStats.IsIgnoredDevice(disk.Device)) continue;
            var keys = _disks.Find(disk.Device, _cycle);
            if (keys is null)
            {
                string device = disk.Device.ToString();
                keys = _disks.Add(device, new DiskKeys(this, device), _cycle);
            }
            batch.Add(keys.ReadBytes, ts, (double)disk.SectorsRead * DiskStat.SectorBytes);
            batch.Add(keys.WrittenBytes, ts, (double)disk.SectorsWritten * DiskStat.SectorBytes);
            batch.Add(keys.ReadsCompleted, ts, disk.ReadsCompleted);
            batch.Add(keys.WritesCompleted, ts, disk.WritesCompleted);
            batch.Add(keys.IoTimeSeconds, ts, disk.IoTimeMs / 1000.0);
        }
    }

    private void CollectNetDev(SampleBatch batch, long ts)
    {
        if (!TryRead(NetDevPath, out var text)) return;
        foreach (var net in NetDev.Parse(text, NetDevPath, _problems))
        {
            var keys = _interfaces.Find(net.Interface, _cycle);
            if (keys is null)
            {
                string name = net.Interface.ToString();
                keys = _interfaces.Add(name, new NetKeys(this, name), _cycle);
            }
            batch.Add(keys.ReceiveBytes, ts, net.ReceiveBytes);
            batch.Add(keys.TransmitBytes, ts, net.TransmitBytes);
            batch.Add(keys.ReceivePackets, ts, net.ReceivePackets);
            batch.Add(keys.TransmitPackets, ts, net.TransmitPackets);
            batch.Add(keys.ReceiveErrors, ts, net.ReceiveErrors);
            batch.Add(keys.TransmitErrors, ts, net.TransmitErrors);
            batch.Add(keys.ReceiveDrops, ts, net.ReceiveDrops);
            batch.Add(keys.TransmitDrops, ts, net.TransmitDrops);
        }
    }

    private void CollectFilesystems(SampleBatch batch, long ts)
    {
        ReadOnlySpan<char> text = default;
        string? source = null;
        foreach (string path in MountTablePaths)
        {
            if (TryRead(path, out text))
            {
                source = path;
                break;
            }
        }
        if (source is null) return;
        bool mountInfo = source.EndsWith("mountinfo", StringComparison.Ordinal);

        // First pass: keep real filesystems, one mount per filesystem.
        _mountSlots.Clear();
        var reader = mountInfo ? Mounts.ParseMountInfo(text, source, _problems) : Mounts.ParseMounts(text, source, _problems);
        foreach (var mount in reader)
        {
            if (Mounts.IsIgnoredFsType(mount.FsType) || Mounts.IsIgnoredMountPoint(mount.MountPoint)) continue;
            var slot = new MountSlot(text, mount);
            int same = FindSameFilesystem(text, mount);
            if (same < 0) _mountSlots.Add(slot);
            else if (!_mountSlots[same].RootIsWhole && slot.RootIsWhole) _mountSlots[same] = slot; // prefer the mount of the whole filesystem over a bind of a subdirectory
        }

        // Second pass: statvfs each and report.
        foreach (var slot in _mountSlots)
        {
            var device = slot.Device(text);
            var mountPoint = slot.MountPoint(text);
            var fsType = slot.FsType(text);
            var keys = _filesystems.Find(mountPoint, _cycle);
            if (keys is null || !device.SequenceEqual(keys.RawDevice) || !fsType.SequenceEqual(keys.FsType))
            {
                keys = _filesystems.Add(mountPoint.ToString(), new FilesystemKeys(this, Mounts.Unescape(mountPoint),
                    device.ToString(), fsType.ToString()), _cycle);
            }
            var stats = keys.IsNetwork ? StatWithTimeout(keys.MountPoint) : _statvfs(keys.MountPoint);
            if (stats is not FilesystemStats fs || fs.SizeBytes == 0) continue; // unreadable, or a pseudo filesystem
            batch.Add(keys.Size, ts, fs.SizeBytes);
            batch.Add(keys.Free, ts, fs.FreeBytes);
            batch.Add(keys.Avail, ts, fs.AvailBytes);
            batch.Add(keys.Files, ts, fs.Files);
            batch.Add(keys.FilesFree, ts, fs.FilesFree);
        }
    }

    /// <summary>The slot already holding the filesystem of <paramref name="mount"/>: by device number
    /// (mountinfo), else by device path ("/dev/sda1"; names such as "overlay" or "tmpfs" are not unique).</summary>
    private int FindSameFilesystem(ReadOnlySpan<char> text, in MountEntry mount)
    {
        bool byPath = !mount.HasDeviceId && mount.Device.StartsWith("/");
        if (!mount.HasDeviceId && !byPath) return -1;
        for (int i = 0; i < _mountSlots.Count; i++)
        {
            var slot = _mountSlots[i];
            if (mount.HasDeviceId ? slot.DeviceId == mount.DeviceId : slot.Device(text).SequenceEqual(mount.Device)) return i;
        }
        return -1;
    }

    /// <summary>
    /// statvfs of a network filesystem blocks for as long as its server is gone, so it runs aside
    /// with a time limit; a mount whose call hangs is skipped until that call returns.
    /// </summary>
    private FilesystemStats? StatWithTimeout(string mountPoint)
    {
        lock (_hungMounts)
        {
            if (_hungMounts.Contains(mountPoint))
            {
                _problems.Add($"{mountPoint}: statvfs still hanging; skipped");
                return null;
            }
        }
        var statvfs = _statvfs;
        var call = Task.Run(() => statvfs(mountPoint));
        if (call.Wait(NetworkStatTimeout)) return call.Result;
        lock (_hungMounts) _hungMounts.Add(mountPoint);
        call.ContinueWith(_ => { lock (_hungMounts) _hungMounts.Remove(mountPoint); }, TaskScheduler.Default);
        _problems.Add($"{mountPoint}: statvfs did not answer within {NetworkStatTimeout.TotalSeconds:0}s; skipped");
        return null;
    }

    private bool TryRead(string displayPath, out ReadOnlySpan<char> text)
    {
        switch (_reader.Read(Rooted(displayPath), out text, out string? error))
        {
            case TextFileReader.Outcome.Ok:
                return true;
            case TextFileReader.Outcome.Missing:
                return false;
            default:
                _problems.Add($"{displayPath}: cannot read: {error}");
                return false;
        }
    }

    private string Rooted(string displayPath) => _root.Length == 0 ? displayPath : _root + displayPath;

    private void Add(SampleBatch batch, ref SeriesKey? slot, string key, DataType type, ulong? value, long ts)
    {
        if (value is ulong v) batch.Add(slot ??= NewKey(key, type), ts, v);
    }

    private SeriesKey NewKey(string key, DataType type) => new(_agent, key, type, _interval);

    private SeriesKey NewKey(string key, DataType type, string name, string value)
        => new(_agent, key, type, _interval, [KeyValuePair.Create(name, value)]);

    private SeriesKey NewKey(string key, DataType type, string name1, string value1, string name2, string value2)
        => new(_agent, key, type, _interval, [KeyValuePair.Create(name1, value1), KeyValuePair.Create(name2, value2)]);

    private SeriesKey NewKey(string key, DataType type, string name1, string value1, string name2, string value2,
        string name3, string value3)
        => new(_agent, key, type, _interval,
            [KeyValuePair.Create(name1, value1), KeyValuePair.Create(name2, value2), KeyValuePair.Create(name3, value3)]);

    private sealed class DiskKeys(LinuxCollector c, string device)
    {
        public readonly SeriesKey ReadBytes = c.NewKey("disk_read_bytes", DataType.Counter64, "device", device);
        public readonly SeriesKey WrittenBytes = c.NewKey("disk_written_bytes", DataType.Counter64, "device", device);
        public readonly SeriesKey ReadsCompleted = c.NewKey("disk_reads_completed", DataType.Counter64, "device", device);
        public readonly SeriesKey WritesCompleted = c.NewKey("disk_writes_completed", DataType.Counter64, "device", device);
        public readonly SeriesKey IoTimeSeconds = c.NewKey("disk_io_time_seconds", DataType.Counter64, "device", device);
    }

    private sealed class NetKeys(LinuxCollector c, string name)
    {
        public readonly SeriesKey ReceiveBytes = c.NewKey("network_receive_bytes", DataType.Counter64, "interface", name);
        public readonly SeriesKey TransmitBytes = c.NewKey("network_transmit_bytes", DataType.Counter64, "interface", name);
        public readonly SeriesKey ReceivePackets = c.NewKey("network_receive_packets", DataType.Counter64, "interface", name);
        public readonly SeriesKey TransmitPackets = c.NewKey("network_transmit_packets", DataType.Counter64, "interface", name);
        public readonly SeriesKey ReceiveErrors = c.NewKey("network_receive_errors", DataType.Counter64, "interface", name);
        public readonly SeriesKey TransmitErrors = c.NewKey("network_transmit_errors", DataType.Counter64, "interface", name);
        public readonly SeriesKey ReceiveDrops = c.NewKey("network_receive_drops", DataType.Counter64, "interface", name);
        public readonly SeriesKey TransmitDrops = c.NewKey("network_transmit_drops", DataType.Counter64, "interface", name);
    }

    private sealed class FilesystemKeys
    {
        public FilesystemKeys(LinuxCollector c, string mountPoint, string rawDevice, string fsType)
        {
            MountPoint = mountPoint;
            RawDevice = rawDevice;
            FsType = fsType;
            IsNetwork = Mounts.IsNetworkFsType(fsType);
            string device = Mounts.Unescape(rawDevice);
            Size = Make("filesystem_size_bytes");
            Free = Make("filesystem_free_bytes");
            Avail = Make("filesystem_avail_bytes");
            Files = Make("filesystem_files");
            FilesFree = Make("filesystem_files_free");

            SeriesKey Make(string key)
                => c.NewKey(key, DataType.Integer, "mountpoint", mountPoint, "device", device, "fstype", fsType);
        }

        /// <summary>Unescaped: what statvfs is given.</summary>
        public string MountPoint { get; }
        /// <summary>As the mount table writes it: what the next cycle's entry is compared with.</summary>
        public string RawDevice { get; }
        public string FsType { get; }
        public bool IsNetwork { get; }
        public SeriesKey Size { get; }
        public SeriesKey Free { get; }
        public SeriesKey Avail { get; }
        public SeriesKey Files { get; }
        public SeriesKey FilesFree { get; }
    }

    private sealed record Sensor(string Path, SeriesKey Key);

    /// <summary>Where one chosen mount's fields sit in the mount table text (the text is reused, so no copies).</summary>
    private readonly struct MountSlot
    {
        private readonly int _deviceStart, _deviceLength, _mountPointStart, _mountPointLength, _fsTypeStart, _fsTypeLength;

        public MountSlot(ReadOnlySpan<char> text, in MountEntry mount)
        {
            (_deviceStart, _deviceLength) = Locate(text, mount.Device);
            (_mountPointStart, _mountPointLength) = Locate(text, mount.MountPoint);
            (_fsTypeStart, _fsTypeLength) = Locate(text, mount.FsType);
            DeviceId = mount.HasDeviceId ? mount.DeviceId : ulong.MaxValue;
            RootIsWhole = mount.Root.SequenceEqual("/");
        }

        public ulong DeviceId { get; }
        public bool RootIsWhole { get; }

        public ReadOnlySpan<char> Device(ReadOnlySpan<char> text) => text.Slice(_deviceStart, _deviceLength);
        public ReadOnlySpan<char> MountPoint(ReadOnlySpan<char> text) => text.Slice(_mountPointStart, _mountPointLength);
        public ReadOnlySpan<char> FsType(ReadOnlySpan<char> text) => text.Slice(_fsTypeStart, _fsTypeLength);

        private static (int Start, int Length) Locate(ReadOnlySpan<char> text, ReadOnlySpan<char> part)
            => text.Overlaps(part, out int offset) ? (offset, part.Length) : (0, 0);
    }
}
