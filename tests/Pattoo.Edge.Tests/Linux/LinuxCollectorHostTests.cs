using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Linux;
using Xunit;

namespace Pattoo.Edge.Tests.Linux;

/// <summary>The collector against the machine running the tests: its real /proc, /sys and statvfs.</summary>
public sealed class LinuxCollectorHostTests
{
    private static (LinuxCollector Collector, SampleBatch Batch) CollectOnce()
    {
        var collector = new LinuxCollector(LinuxTestSupport.Agent, LinuxTestSupport.Interval);
        var batch = new SampleBatch();
        collector.Collect(batch, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return (collector, batch);
    }

    private static List<Sample> Find(SampleBatch batch, string key)
    {
        var found = new List<Sample>();
        foreach (var s in batch.Items)
        {
            if (s.Series.Key == key) found.Add(s);
        }
        return found;
    }

    [Fact]
    public void ReportsNoProblemAndNoNanOnThisHost()
    {
        if (!OperatingSystem.IsLinux()) return;
        var (collector, batch) = CollectOnce();
        Assert.Empty(collector.Problems);
        Assert.True(batch.Count > 20, $"only {batch.Count} samples");
        foreach (var s in batch.Items) Assert.True(double.IsFinite(s.Value), LinuxCollector.Describe(s));
    }

    [Fact]
    public void MemoryTotalIsMeminfoMemTotalInBytes()
    {
        if (!OperatingSystem.IsLinux()) return;
        ulong kib = 0;
        foreach (string line in File.ReadAllLines("/proc/meminfo"))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            kib = ulong.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        var (_, batch) = CollectOnce();
        var total = Assert.Single(Find(batch, "memory_total_bytes"));
        Assert.Equal(kib * 1024.0, total.Value);
        Assert.Equal(DataType.Integer, total.Series.DataType);
        Assert.InRange(Assert.Single(Find(batch, "memory_available_bytes")).Value, 1, total.Value);
    }

    [Fact]
    public void CountersNeverGoBackBetweenTwoCycles()
    {
        if (!OperatingSystem.IsLinux()) return;
        var collector = new LinuxCollector(LinuxTestSupport.Agent, LinuxTestSupport.Interval);
        var first = new SampleBatch();
        var second = new SampleBatch();
        collector.Collect(first, 1);
        Thread.Sleep(200);
        collector.Collect(second, 2);

        var before = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var s in first.Items)
        {
            if (s.Series.DataType.IsCounter()) before[s.Series.Checksum] = s.Value;
        }
        int compared = 0;
        foreach (var s in second.Items)
        {
            if (!s.Series.DataType.IsCounter() || !before.TryGetValue(s.Series.Checksum, out double earlier)) continue;
            // proc(5): iowait "is not reliable" and can decrease on an idle CPU (NO_HZ accounting).
            if (LinuxTestSupport.Metadata(s.Series, "mode") == "iowait") continue;
            Assert.True(s.Value >= earlier, $"{LinuxCollector.Describe(s)} went back from {earlier}");
            compared++;
        }
        Assert.True(compared > 10, $"only {compared} counters compared");
    }

    [Fact]
    public void ReportsTheTotalAndEveryCpu()
    {
        if (!OperatingSystem.IsLinux()) return;
        var (_, batch) = CollectOnce();
        var cpus = new HashSet<string>(StringComparer.Ordinal);
        int totalModes = 0;
        foreach (var s in Find(batch, "cpu_seconds"))
        {
            Assert.Equal(DataType.Counter64, s.Series.DataType);
            string cpu = LinuxTestSupport.Metadata(s.Series, "cpu");
            if (cpu == "total") totalModes++;
            else cpus.Add(cpu);
        }
        Assert.Equal(8, totalModes);
        int online = 0;
        foreach (string line in File.ReadAllLines("/proc/stat"))
        {
            if (line.Length > 3 && line.StartsWith("cpu", StringComparison.Ordinal) && char.IsAsciiDigit(line[3])) online++;
        }
        Assert.Equal(online, cpus.Count);
        // .NET counts the CPUs this process may use; equal on a plain host, fewer under a CPU affinity or quota.
        Assert.InRange(Environment.ProcessorCount, 1, cpus.Count);
        if (Environment.GetEnvironmentVariable("DOTNET_PROCESSOR_COUNT") is null && online == Environment.ProcessorCount)
            Assert.Equal(Environment.ProcessorCount, cpus.Count);
    }

    [Fact]
    public void LoadAveragesAndProcessCountsAreSane()
    {
        if (!OperatingSystem.IsLinux()) return;
        var (_, batch) = CollectOnce();
        foreach (string key in new[] { "load_1", "load_5", "load_15" })
            Assert.True(Assert.Single(Find(batch, key)).Value >= 0, key);
        double processes = Assert.Single(Find(batch, "processes")).Value;
        double threads = Assert.Single(Find(batch, "threads")).Value;
        Assert.True(processes >= 1);
        Assert.True(threads >= processes, $"{threads} threads < {processes} processes");
        Assert.True(Assert.Single(Find(batch, "uptime_seconds")).Value > 0);
        Assert.True(Assert.Single(Find(batch, "procs_running")).Value >= 1); // this test is running
    }

    [Fact]
    public void ReportsTheFilesystemHoldingRoot()
    {
        if (!OperatingSystem.IsLinux()) return;
        var root = StatVfs.Query("/");
        Assert.NotNull(root);
        var (_, batch) = CollectOnce();
        var sizes = Find(batch, "filesystem_size_bytes");
        Assert.NotEmpty(sizes);
        // The mount reported for / may be another mount of the same filesystem; its size is the same.
        Assert.Contains(sizes, s => s.Value == root.Value.SizeBytes);
    }

    [Fact]
    public void StatvfsAgreesWithDriveInfo()
    {
        if (!OperatingSystem.IsLinux()) return;
        var stats = StatVfs.Query("/");
        Assert.NotNull(stats);
        var fs = stats.Value;
        var drive = new DriveInfo("/");
        Assert.Equal((ulong)drive.TotalSize, fs.SizeBytes);
        Assert.True(fs.AvailBytes <= fs.FreeBytes && fs.FreeBytes <= fs.SizeBytes, fs.ToString());
        Assert.True(fs.FilesFree <= fs.Files, fs.ToString());
        Assert.Null(StatVfs.Query("/no/such/mount/point"));
    }

    [Fact]
    public async Task ThePollerPollsThisHost()
    {
        if (!OperatingSystem.IsLinux()) return;
        await using var poller = new LinuxPoller(LinuxTestSupport.Agent, TimeSpan.FromSeconds(15));
        Assert.Equal("linux", poller.Program);
        Assert.Equal("testhost", poller.Name);
        Assert.Equal(TimeSpan.FromSeconds(15), poller.Interval);
        Assert.Equal("linux:15s", poller.ConfigFingerprint);
        var batch = new SampleBatch();
        var report = new PollReport();
        long start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await poller.PollAsync(batch, report, CancellationToken.None);
        Assert.Empty(report.Problems);
        Assert.True(batch.Count > 20);
        Assert.InRange(batch[0].TimestampMs, start, start + 60_000);
    }
}
