using Pattoo.Edge.Common;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Linux;

/// <summary>
/// The cases under src/Pattoo.Edge.Pollers/Linux/testcases (see <see cref="PollerCaseRunner"/>): each is a
/// host frozen as files, root/ (its /proc and /sys) and statvfs.txt, with config.toml (its [linux] table);
/// expected.out holds every sample of one cycle, sorted, then a "skipped: ..." line per problem.
/// </summary>
public sealed class LinuxCollectorCaseTests
{
    public static TheoryData<string> Cases => PollerCaseRunner.Cases("Linux");

    [Theory]
    [MemberData(nameof(Cases))]
    public Task CollectsWhatTheCaseExpects(string caseName) => PollerCaseRunner.RunAsync(
        "Linux", caseName, LinuxTestSupport.Bind,
        options =>
        {
            var collector = LinuxTestSupport.CollectorFor(caseName, options.Interval);
            var batch = new SampleBatch();
            collector.Collect(batch, LinuxTestSupport.Timestamp);
            foreach (var sample in batch.Items) Assert.Equal(LinuxTestSupport.Timestamp, sample.TimestampMs);
            var lines = LinuxTestSupport.Lines(batch);
            lines.AddRange(collector.Problems.Select(p => $"skipped: {p}"));
            return Task.FromResult(lines);
        });

    [Theory]
    [MemberData(nameof(Cases))]
    public void ASecondCycleReusesEverySeriesKey(string caseName)
    {
        var collector = LinuxTestSupport.CollectorFor(caseName);
        var first = new SampleBatch();
        var second = new SampleBatch();
        collector.Collect(first, LinuxTestSupport.Timestamp);
        collector.Collect(second, LinuxTestSupport.Timestamp + 10_000);

        Assert.Equal(first.Count, second.Count);
        var checksums = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < first.Count; i++)
        {
            Assert.Same(first[i].Series, second[i].Series);
            Assert.True(checksums.Add(first[i].Series.Checksum), $"two samples of one series: {first[i].Series}");
            Assert.Equal("linux", first[i].Series.Agent.Program);
            Assert.Equal(10_000, first[i].Series.PollingIntervalMs);
        }
    }

    [Fact]
    public void ASteadyCycleAllocatesLittle()
    {
        var collector = LinuxTestSupport.CollectorFor("x86_server");
        var batch = new SampleBatch(256);
        collector.Collect(batch, LinuxTestSupport.Timestamp); // makes the keys and grows the buffers
        batch.Clear();
        collector.Collect(batch, LinuxTestSupport.Timestamp);
        batch.Clear();

        long before = GC.GetAllocatedBytesForCurrentThread();
        collector.Collect(batch, LinuxTestSupport.Timestamp);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // File handles, one directory enumeration of /proc and the NFS mount's statvfs task; nothing per sample.
        int samples = batch.Count;
        Assert.True(samples > 100, $"only {samples} samples");
        Assert.True(allocated < 24 * 1024, $"{allocated} bytes for {samples} samples");
    }

}
