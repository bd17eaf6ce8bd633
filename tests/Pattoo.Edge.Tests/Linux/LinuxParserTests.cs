using Pattoo.Edge.Pollers.Linux;
using Xunit;

namespace Pattoo.Edge.Tests.Linux;

/// <summary>Each parser on text: well-formed, garbled, truncated and empty input. None may throw.</summary>
public sealed class LinuxParserTests
{
    private readonly List<string> _problems = new();

    // ---------------------------------------------------------------- /proc/stat

    [Fact]
    public void ProcStatReadsCpusAndCounters()
    {
        const string text = "cpu  84613 1021 36402 3861220 6810 0 1284 7 0 0\n"
            + "cpu0 21903 253 9912 963451 1794 0 1011 7 0 0\n"
            + "cpu12 1 2 3 4 5 6 7 8 9 10\n"
            + "intr 21874630 0 0 5\nctxt 38514297\nbtime 1732520400\nprocesses 25874\n"
            + "procs_running 1\nprocs_blocked 2\nsoftirq 9843517 2 2181935\n";
        var data = new ProcStatData();
        ProcStat.Parse(text, data, "/proc/stat", _problems);

        Assert.Empty(_problems);
        Assert.Equal(3, data.Cpus.Count);
        Assert.Equal(CpuTimes.Total, data.Cpus[0].Cpu);
        Assert.Equal(84613UL, data.Cpus[0].User);
        Assert.Equal(7UL, data.Cpus[0].Steal);
        Assert.Equal(8, data.Cpus[0].ModeCount);
        Assert.Equal(0, data.Cpus[1].Cpu);
        Assert.Equal(963451UL, data.Cpus[1].Jiffies(3));
        Assert.Equal(12, data.Cpus[2].Cpu);
        Assert.Equal(8UL, data.Cpus[2].Jiffies(7)); // guest columns are not read
        Assert.Equal(21874630UL, data.Interrupts);
        Assert.Equal(38514297UL, data.ContextSwitches);
        Assert.Equal(25874UL, data.Forks);
        Assert.Equal(1UL, data.ProcsRunning);
        Assert.Equal(2UL, data.ProcsBlocked);
        Assert.Equal(1732520400UL, data.BootTime);
    }

    [Fact]
    public void ProcStatReportsGarbledAndTruncatedLinesAndKeepsTheRest()
    {
        const string text = "cpu  10 20 30 40 50 60 70 80\n"
            + "cpuX 1 2 3 4 5 6 7 8\n"     // bad cpu name
            + "cpu1 1 2 three 4 5 6 7 8\n" // not a number
            + "cpu2 1 2 3 4 5\n"           // five modes: kept, but reported
            + "ctxt lots\n"
            + "cpu3 1 2";                  // cut off
        var data = new ProcStatData();
        ProcStat.Parse(text, data, "/proc/stat", _problems);

        Assert.Equal(2, data.Cpus.Count);
        Assert.Equal(5, data.Cpus[1].ModeCount);
        Assert.Null(data.ContextSwitches);
        Assert.Equal(
        [
            "/proc/stat: line 2: bad cpu name: \"cpuX 1 2 3 4 5 6 7 8\"",
            "/proc/stat: line 3: not a number: \"cpu1 1 2 three 4 5 6 7 8\"",
            "/proc/stat: line 4: too few fields (kept the first 5): \"cpu2 1 2 3 4 5\"",
            "/proc/stat: line 5: not a number: \"ctxt lots\"",
            "/proc/stat: line 6: too few fields: \"cpu3 1 2\"",
        ], _problems);
    }

    [Fact]
    public void ProcStatReportsAnEmptyFileAndClearsOldResults()
    {
        var data = new ProcStatData();
        ProcStat.Parse("cpu 1 2 3 4 5 6 7 8\nctxt 5\n", data, "/proc/stat", _problems);
        ProcStat.Parse("", data, "/proc/stat", _problems);
        Assert.Empty(data.Cpus);
        Assert.Null(data.ContextSwitches);
        Assert.Equal(["/proc/stat: file is empty"], _problems);
    }

    [Fact]
    public void ProcStatCapsTheProblemsOfOneFile()
    {
        var data = new ProcStatData();
        string garbage = string.Concat(Enumerable.Repeat("cpu? x\n", 50));
        ProcStat.Parse(garbage, data, "/proc/stat", _problems);
        Assert.Equal(6, _problems.Count); // five lines, then "more problems not shown" and silence
        Assert.Equal("/proc/stat: more problems not shown", _problems[5]);
    }

    // ---------------------------------------------------------------- /proc/meminfo

    [Fact]
    public void MemInfoReadsKibAsBytes()
    {
        const string text = "MemTotal:        3885396 kB\nMemFree:         2641572 kB\nMemAvailable:    3358732 kB\n"
            + "Buffers:           61236 kB\nCached:           737424 kB\nSwapCached:            0 kB\n"
            + "SwapTotal:        204796 kB\nSwapFree:        204790 kB\nHugePages_Total:       0\n";
        var m = MemInfo.Parse(text, "/proc/meminfo", _problems);
        Assert.Empty(_problems);
        Assert.Equal(3885396UL * 1024, m.MemTotalBytes);
        Assert.Equal(2641572UL * 1024, m.MemFreeBytes);
        Assert.Equal(3358732UL * 1024, m.MemAvailableBytes);
        Assert.Equal(61236UL * 1024, m.BuffersBytes);
        Assert.Equal(737424UL * 1024, m.CachedBytes);
        Assert.Equal(204796UL * 1024, m.SwapTotalBytes);
        Assert.Equal(204790UL * 1024, m.SwapFreeBytes);
    }

    [Fact]
    public void MemInfoWithoutMemAvailableIsAnOldKernelNotAProblem()
    {
        var m = MemInfo.Parse("MemTotal: 1000 kB\nMemFree: 500 kB\n", "/proc/meminfo", _problems);
        Assert.Empty(_problems);
        Assert.Null(m.MemAvailableBytes);
        Assert.Equal(1024000UL, m.MemTotalBytes);
    }

    [Fact]
    public void MemInfoReportsGarbledValuesAndKeepsTheGoodOnes()
    {
        const string text = "MemTotal: 1000 kB\nMemFree: 5x0 kB\nno colon here\nCached:\nSwapFree: 9 MB\n"
            + "Buffers: 18446744073709551615 kB\nActive: junk\nMemAvailable: 700 kB extra\n";
        var m = MemInfo.Parse(text, "/proc/meminfo", _problems);
        Assert.Equal(1024000UL, m.MemTotalBytes);
        Assert.Null(m.MemFreeBytes);
        Assert.Null(m.CachedBytes);
        Assert.Null(m.SwapFreeBytes);
        Assert.Null(m.BuffersBytes); // would overflow in bytes
        Assert.Null(m.MemAvailableBytes);
        Assert.Equal(
        [
            "/proc/meminfo: line 2: cannot parse: \"MemFree: 5x0 kB\"",
            "/proc/meminfo: line 3: no name: \"no colon here\"",
            "/proc/meminfo: line 4: cannot parse: \"Cached:\"",
            "/proc/meminfo: line 5: cannot parse: \"SwapFree: 9 MB\"",
            "/proc/meminfo: line 6: cannot parse: \"Buffers: 18446744073709551615 kB\"",
            "/proc/meminfo: more problems not shown",
        ], _problems);
    }

    [Fact]
    public void MemInfoReportsEmptyAndHeadlessFiles()
    {
        MemInfo.Parse("", "/proc/meminfo", _problems);
        MemInfo.Parse("MemFree: 1 kB\n", "/proc/meminfo", _problems);
        Assert.Equal(["/proc/meminfo: file is empty", "/proc/meminfo: no MemTotal line"], _problems);
    }

    // ---------------------------------------------------------------- /proc/loadavg, /proc/uptime

    [Fact]
    public void LoadAvgReadsLoadsAndThreads()
    {
        Assert.True(LoadAvg.TryParse("0.31 0.22 12.18 2/287 25874\n", out var load, "/proc/loadavg", _problems));
        Assert.Empty(_problems);
        Assert.Equal(0.31, load.Load1);
        Assert.Equal(0.22, load.Load5);
        Assert.Equal(12.18, load.Load15);
        Assert.Equal(2UL, load.Running);
        Assert.Equal(287UL, load.Total);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0.31 0.22")]
    [InlineData("0.31 abc 0.18 2/287 1")]
    [InlineData("-1 0.22 0.18 2/287 1")]
    public void LoadAvgRefusesBadLoads(string text)
    {
        Assert.False(LoadAvg.TryParse(text, out _, "/proc/loadavg", _problems));
        Assert.Single(_problems);
        Assert.StartsWith("/proc/loadavg: line 1: cannot parse load averages", _problems[0]);
    }

    [Fact]
    public void LoadAvgKeepsTheLoadsWhenTheEntityFieldIsBadOrMissing()
    {
        Assert.True(LoadAvg.TryParse("1.00 2.00 3.00", out var cut, "/proc/loadavg", _problems));
        Assert.Null(cut.Total);
        Assert.Empty(_problems);
        Assert.True(LoadAvg.TryParse("1.00 2.00 3.00 2/", out var bad, "/proc/loadavg", _problems));
        Assert.Equal(3.0, bad.Load15);
        Assert.Null(bad.Total);
        Assert.Equal(["/proc/loadavg: line 1: cannot parse running/total: \"1.00 2.00 3.00 2/\""], _problems);
    }

    [Fact]
    public void UptimeReadsTheFirstNumber()
    {
        Assert.True(Uptime.TryParse("96431.27 380102.55\n", out double up, "/proc/uptime", _problems));
        Assert.Equal(96431.27, up);
        Assert.False(Uptime.TryParse("", out _, "/proc/uptime", _problems));
        Assert.False(Uptime.TryParse("abc 1.0", out _, "/proc/uptime", _problems));
        Assert.Equal(["/proc/uptime: line 1: cannot parse uptime: \"\"", "/proc/uptime: line 1: cannot parse uptime: \"abc 1.0\""], _problems);
    }

    // ---------------------------------------------------------------- /proc/diskstats

    [Fact]
    public void DiskStatsReadsBothOldAndNewColumnCounts()
    {
        const string text = " 179       0 mmcblk0 24807 9283 1962342 94613 102340 127744 4963146 982345 0 309720 1079410 0 0 0 0 2314 2451\n"
            + "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n";
        var names = new List<string>();
        var values = new List<ulong>();
        foreach (var d in DiskStats.Parse(text, "/proc/diskstats", _problems))
        {
            names.Add(d.Device.ToString());
            values.AddRange([d.ReadsCompleted, d.SectorsRead, d.WritesCompleted, d.SectorsWritten, d.IoTimeMs]);
        }
        Assert.Empty(_problems);
        Assert.Equal(["mmcblk0", "sda"], names);
        Assert.Equal([24807UL, 1962342, 102340, 4963146, 309720, 1, 3, 5, 7, 10], values);
    }

    [Fact]
    public void DiskStatsReportsBadLinesAndGoesOn()
    {
        const string text = "   8 0\n   8 1 sda1 1 2 x 4 5 6 7 8 9 10 11\n   8 2 sda2 1 2 3 4 5 6 7 8 9 10 11\nx y sdc 1 2 3 4 5 6 7 8 9 10\n   8 3 sda3 1 2 3 4 5";
        var names = new List<string>();
        foreach (var d in DiskStats.Parse(text, "/proc/diskstats", _problems)) names.Add(d.Device.ToString());
        Assert.Equal(["sda2"], names);
        Assert.Equal(4, _problems.Count);
        Assert.StartsWith("/proc/diskstats: line 1: too few fields", _problems[0]);
        Assert.StartsWith("/proc/diskstats: line 2: not a number", _problems[1]);
        Assert.StartsWith("/proc/diskstats: line 4: too few fields", _problems[2]);
        Assert.StartsWith("/proc/diskstats: line 5: too few fields", _problems[3]);
    }

    [Theory]
    [InlineData("loop0", true)]
    [InlineData("loop12", true)]
    [InlineData("ram0", true)]
    [InlineData("zram0", true)]
    [InlineData("fd0", true)]
    [InlineData("sda", false)]
    [InlineData("sda1", false)]
    [InlineData("nvme0n1p2", false)]
    [InlineData("mmcblk0p1", false)]
    [InlineData("dm-0", false)]
    [InlineData("md127", false)]
    [InlineData("loop", false)]
    [InlineData("ramdisk", false)]
    public void DiskStatsIgnoresLoopRamZramAndFloppies(string device, bool ignored)
        => Assert.Equal(ignored, DiskStats.IsIgnoredDevice(device));

    // ---------------------------------------------------------------- /proc/net/dev

    private const string NetHeader = "Inter-|   Receive                                                |  Transmit\n"
        + " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

    [Fact]
    public void NetDevReadsInterfacesIncludingCountersThatTouchTheColon()
    {
        const string text = NetHeader
            + "    lo:  184732    1682    0    0    0     0          0         0   184732    1682    0    0    0     0       0          0\n"
            + "  eno1:8765432109876 7654321098    3  125    0     3          0    123456 1234567890123 2345678901    7    9    0     0       0          0\n";
        var seen = new List<string>();
        foreach (var n in NetDev.Parse(text, "/proc/net/dev", _problems))
        {
            seen.Add($"{n.Interface}:{n.ReceiveBytes}/{n.ReceivePackets}/{n.ReceiveErrors}/{n.ReceiveDrops}:"
                + $"{n.TransmitBytes}/{n.TransmitPackets}/{n.TransmitErrors}/{n.TransmitDrops}");
        }
        Assert.Empty(_problems);
        Assert.Equal(["lo:184732/1682/0/0:184732/1682/0/0", "eno1:8765432109876/7654321098/3/125:1234567890123/2345678901/7/9"], seen);
    }

    [Fact]
    public void NetDevReportsTruncatedAndGarbledLines()
    {
        const string text = NetHeader
            + "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
            + "no colon at all\n"
            + "  eth1: 1 2 x 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
            + "  eth2: 1 2 3";
        int count = 0;
        foreach (var _ in NetDev.Parse(text, "/proc/net/dev", _problems)) count++;
        Assert.Equal(1, count);
        Assert.Equal(
        [
            "/proc/net/dev: line 4: no interface name: \"no colon at all\"",
            "/proc/net/dev: line 5: not a number: \"eth1: 1 2 x 4 5 6 7 8 9 10 11 12 13 14 15 16\"",
            "/proc/net/dev: line 6: too few fields: \"eth2: 1 2 3\"",
        ], _problems);
    }

    [Fact]
    public void NetDevOfAnEmptyFileHasNoInterface()
    {
        foreach (var _ in NetDev.Parse("", "/proc/net/dev", _problems)) Assert.Fail("no interface expected");
        Assert.Empty(_problems);
    }

    // ---------------------------------------------------------------- mounts

    [Fact]
    public void MountsReadsTheFstabFormat()
    {
        const string text = "/dev/mmcblk0p2 / ext4 rw,noatime 0 0\n/dev/sda1 /mnt/usb\\040backup ext4 rw 0 0\n";
        var seen = new List<string>();
        foreach (var m in Mounts.ParseMounts(text, "/proc/self/mounts", _problems))
        {
            Assert.False(m.HasDeviceId);
            Assert.Equal("/", m.Root.ToString());
            seen.Add($"{m.Device}|{Mounts.Unescape(m.MountPoint)}|{m.FsType}");
        }
        Assert.Empty(_problems);
        Assert.Equal(["/dev/mmcblk0p2|/|ext4", "/dev/sda1|/mnt/usb backup|ext4"], seen);
    }

    [Fact]
    public void MountsReadsMountinfoWithAndWithoutOptionalFields()
    {
        const string text = "28 1 259:2 / / rw,relatime shared:1 master:3 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro\n"
            + "56 28 259:2 /srv/www /var/www rw,relatime - ext4 /dev/nvme0n1p2 rw\n"
            + "60 28 0:52 / /mnt/nas rw shared:34 - nfs4 nas:/volume1 rw,vers=4.2\n";
        var seen = new List<string>();
        foreach (var m in Mounts.ParseMountInfo(text, "/proc/self/mountinfo", _problems))
        {
            Assert.True(m.HasDeviceId);
            seen.Add($"{m.DeviceId >> 32}:{m.DeviceId & 0xffffffff}|{m.Root}|{m.MountPoint}|{m.FsType}|{m.Device}");
        }
        Assert.Empty(_problems);
        Assert.Equal(["259:2|/|/|ext4|/dev/nvme0n1p2", "259:2|/srv/www|/var/www|ext4|/dev/nvme0n1p2", "0:52|/|/mnt/nas|nfs4|nas:/volume1"], seen);
    }

    [Fact]
    public void MountsReportsCutAndGarbledLines()
    {
        const string mountinfo = "28 1 8:1 / / rw - ext4 /dev/sda1 rw\n29 28 8:2 / /var rw,relatime shared\n30 28 x:y / /x rw - ext4 /dev/sdb rw\n31 28 8:3 / /y rw - ext4";
        int count = 0;
        foreach (var _ in Mounts.ParseMountInfo(mountinfo, "/proc/self/mountinfo", _problems)) count++;
        Assert.Equal(1, count);
        Assert.Equal(3, _problems.Count);
        Assert.StartsWith("/proc/self/mountinfo: line 2: cannot parse", _problems[0]);

        _problems.Clear();
        foreach (var _ in Mounts.ParseMounts("/dev/sda1 /\n", "/proc/self/mounts", _problems)) Assert.Fail("a cut line is not a mount");
        Assert.Equal(["/proc/self/mounts: line 1: cannot parse: \"/dev/sda1 /\""], _problems);
    }

    [Theory]
    [InlineData("/plain", "/plain")]
    [InlineData("/mnt/usb\\040backup", "/mnt/usb backup")]
    [InlineData("/a\\011b\\012c\\134d", "/a\tb\nc\\d")]
    [InlineData("/trailing\\", "/trailing\\")]
    [InlineData("/short\\04", "/short\\04")]
    [InlineData("/not\\999octal", "/not\\999octal")]
    public void MountsUnescapesOctal(string escaped, string expected) => Assert.Equal(expected, Mounts.Unescape(escaped));

    [Theory]
    [InlineData("ext4", false)]
    [InlineData("xfs", false)]
    [InlineData("btrfs", false)]
    [InlineData("vfat", false)]
    [InlineData("overlay", false)]
    [InlineData("nfs4", false)]
    [InlineData("zfs", false)]
    [InlineData("tmpfs", true)]
    [InlineData("devtmpfs", true)]
    [InlineData("proc", true)]
    [InlineData("sysfs", true)]
    [InlineData("cgroup", true)]
    [InlineData("cgroup2", true)]
    [InlineData("squashfs", true)]
    [InlineData("autofs", true)]
    [InlineData("nsfs", true)]
    public void MountsIgnoresPseudoFilesystems(string fsType, bool ignored) => Assert.Equal(ignored, Mounts.IsIgnoredFsType(fsType));

    [Theory]
    [InlineData("/", false)]
    [InlineData("/home", false)]
    [InlineData("/device", false)]
    [InlineData("/system", false)]
    [InlineData("/var/lib/docker", false)]
    [InlineData("/dev", true)]
    [InlineData("/dev/shm", true)]
    [InlineData("/proc/sys/fs/binfmt_misc", true)]
    [InlineData("/sys/fs/cgroup", true)]
    [InlineData("/var/lib/docker/overlay2/abc/merged", true)]
    [InlineData("/var/lib/kubelet/pods/1/volumes/x", true)]
    [InlineData("/run/credentials/systemd-journald.service", true)]
    public void MountsIgnoresKernelAndContainerMountPoints(string mountPoint, bool ignored)
        => Assert.Equal(ignored, Mounts.IsIgnoredMountPoint(mountPoint));

    // ---------------------------------------------------------------- thermal

    [Theory]
    [InlineData("48686\n", 48.686)]
    [InlineData("  -5000 ", -5.0)]
    [InlineData("0", 0.0)]
    [InlineData("100000", 100.0)]
    public void ThermalReadsMillidegrees(string text, double celsius)
    {
        Assert.True(Thermal.TryParseMillidegrees(text, out double value));
        Assert.Equal(celsius, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("N/A")]
    [InlineData("48.6")]
    [InlineData("4868 6")]
    public void ThermalRefusesWhatIsNotAnInteger(string text) => Assert.False(Thermal.TryParseMillidegrees(text, out _));

    [Fact]
    public void ThermalNamesTheHwmonCopyOfAZone() => Assert.Equal("cpu_thermal", Thermal.HwmonFormOf("cpu-thermal"));
}
