using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Linux;
using Xunit;

namespace Pattoo.Edge.Tests.Linux;

/// <summary>How the collector copes with a host that changes or misbehaves, on throw-away fixture trees.</summary>
public sealed class LinuxCollectorBehaviourTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pattoo-linux-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private void Write(string relative, string text)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private List<string> Collect(LinuxCollector collector)
    {
        var batch = new SampleBatch();
        collector.Collect(batch, LinuxTestSupport.Timestamp);
        return LinuxTestSupport.Lines(batch);
    }

    private LinuxCollector NewCollector(Func<string, FilesystemStats?>? statvfs = null)
        => new(LinuxTestSupport.Agent, LinuxTestSupport.Interval, _root + "/", statvfs ?? (_ => null));

    private const string NetHeader = "Inter-|   Receive                                                |  Transmit\n"
        + " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

    [Fact]
    public void AnEmptyRootYieldsNothingAndNoProblem()
    {
        Directory.CreateDirectory(_root);
        var collector = NewCollector();
        Assert.Empty(Collect(collector));
        Assert.Empty(collector.Problems);
    }

    [Fact]
    public void AFileThatCannotBeReadIsAProblemAndTheRestIsCollected()
    {
        Directory.CreateDirectory(Path.Combine(_root, "proc/stat")); // a directory where a file should be
        Write("proc/loadavg", "1.00 2.00 3.00 1/10 99\n");
        var collector = NewCollector();
        var lines = Collect(collector);
        Assert.Contains("load_1 float 1", lines);
        var problem = Assert.Single(collector.Problems);
        Assert.StartsWith("/proc/stat: cannot read: ", problem);
    }

    [Fact]
    public void InterfacesThatAppearAndVanishComeAndGoWithTheirSamples()
    {
        Write("proc/net/dev", NetHeader + "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
        var collector = NewCollector();
        Assert.Contains("network_receive_bytes{interface=eth0} counter64 1", Collect(collector));

        Write("proc/net/dev", NetHeader + "  eth0: 2 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n  veth9: 7 1 0 0 0 0 0 0 8 1 0 0 0 0 0 0\n");
        var both = Collect(collector);
        Assert.Contains("network_receive_bytes{interface=eth0} counter64 2", both);
        Assert.Contains("network_transmit_bytes{interface=veth9} counter64 8", both);

        Write("proc/net/dev", NetHeader);
        Assert.Empty(Collect(collector));
        Assert.Empty(collector.Problems);
    }

    [Fact]
    public void ARemountedMountPointGetsTheNewDevice()
    {
        Write("proc/self/mounts", "/dev/sdb1 /data ext4 rw 0 0\n");
        var collector = NewCollector(_ => new FilesystemStats(4096, 2048, 1024, 10, 5));
        Assert.Contains("filesystem_size_bytes{device=/dev/sdb1,fstype=ext4,mountpoint=/data} integer 4096", Collect(collector));
        Write("proc/self/mounts", "/dev/sdc1 /data xfs rw 0 0\n");
        var lines = Collect(collector);
        Assert.Contains("filesystem_size_bytes{device=/dev/sdc1,fstype=xfs,mountpoint=/data} integer 4096", lines);
        Assert.Equal(5, lines.Count);
    }

    [Fact]
    public void AFilesystemOfSizeZeroIsNotReported()
    {
        Write("proc/self/mounts", "/dev/sdb1 /data ext4 rw 0 0\n");
        var collector = NewCollector(_ => new FilesystemStats(0, 0, 0, 0, 0));
        Assert.Empty(Collect(collector));
    }

    [Fact]
    public void AHangingNetworkFilesystemIsSkippedUntilItsStatvfsReturns()
    {
        Write("proc/self/mounts", "nas:/share /mnt/nas nfs4 rw 0 0\n/dev/sda1 / ext4 rw 0 0\n");
        using var release = new ManualResetEventSlim(false);
        int calls = 0;
        var collector = NewCollector(mountPoint =>
        {
            if (mountPoint == "/mnt/nas" && Interlocked.Increment(ref calls) == 1) release.Wait(TimeSpan.FromSeconds(30));
            return new FilesystemStats(100, 50, 40, 10, 5);
        });

        var first = Collect(collector); // waits out the time limit
        Assert.Equal(5, first.Count);
        Assert.All(first, line => Assert.Contains("mountpoint=/}", line));
        Assert.Equal(["/mnt/nas: statvfs did not answer within 2s; skipped"], collector.Problems);

        Collect(collector); // still hanging: not called again
        Assert.Equal(["/mnt/nas: statvfs still hanging; skipped"], collector.Problems);
        Assert.Equal(1, Volatile.Read(ref calls));

        release.Set();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        List<string> lines;
        do
        {
            Thread.Sleep(20);
            lines = Collect(collector);
        } while (lines.Count < 10 && DateTime.UtcNow < deadline);
        Assert.Equal(10, lines.Count);
        Assert.Empty(collector.Problems);
    }

    [Fact]
    public void ASensorThatDisappearsIsDroppedAndANewOneFound()
    {
        Write("sys/class/hwmon/hwmon0/name", "nvme\n");
        Write("sys/class/hwmon/hwmon0/temp1_input", "40000\n");
        var collector = NewCollector();
        Assert.Equal(["temperature_celsius{sensor=nvme/temp1} float 40"], Collect(collector));

        Directory.Delete(Path.Combine(_root, "sys/class/hwmon/hwmon0"), recursive: true);
        Write("sys/class/hwmon/hwmon1/name", "drivetemp\n");
        Write("sys/class/hwmon/hwmon1/temp1_input", "31000\n");
        Assert.Empty(Collect(collector)); // the read finds the file gone and asks for a rescan
        Assert.Equal(["temperature_celsius{sensor=drivetemp/temp1} float 31"], Collect(collector));
        Assert.Empty(collector.Problems);
    }

    [Fact]
    public async Task ThePollerReportsParseProblemsThroughThePollReport()
    {
        string caseRoot = Path.Combine(LinuxTestSupport.TestCasesDirectory, "garbled_meminfo", "root");
        await using var poller = new LinuxPoller(LinuxTestSupport.Agent, TimeSpan.FromSeconds(30), caseRoot, _ => null);
        var batch = new SampleBatch();
        var report = new PollReport();
        await poller.PollAsync(batch, report, CancellationToken.None);
        Assert.NotEmpty(report.Problems);
        Assert.Contains(report.Problems, p => p.StartsWith("/proc/meminfo: line 2: cannot parse", StringComparison.Ordinal));
        Assert.True(batch.Count > 0);
        Assert.Equal("linux:30s", poller.ConfigFingerprint);
    }

    [Fact]
    public async Task ThePollerHonoursCancellation()
    {
        Directory.CreateDirectory(_root);
        await using var poller = new LinuxPoller(LinuxTestSupport.Agent, TimeSpan.FromSeconds(10), _root, _ => null);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => poller.PollAsync(new SampleBatch(), new PollReport(), cts.Token));
    }

    [Fact]
    public void ThePollerRefusesAnotherProgramAndAZeroInterval()
    {
        var snmp = AgentIdentity.ForPoller("test-appliance", "snmp", "testhost");
        Assert.Throws<ArgumentException>(() => new LinuxPoller(snmp, TimeSpan.FromSeconds(10)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinuxPoller(LinuxTestSupport.Agent, TimeSpan.Zero));
    }
}
