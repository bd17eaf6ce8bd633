using Pattoo.Edge.Common;
using Xunit;

namespace Pattoo.Edge.Tests.Linux;

/// <summary>
/// Each folder of src/Pattoo.Edge.Pollers/Linux/testcases is a host frozen as files: root/ (its /proc
/// and /sys), statvfs.txt, expected.out (every sample) and expected.err (every problem; absent = none).
/// Set PATTOO_UPDATE_EXPECTED=1 to rewrite the expected files from what the collector says now,
/// then read the diff before committing it.
/// </summary>
public sealed class LinuxCollectorCaseTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string name in LinuxTestSupport.CaseNames()) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CollectsWhatTheCaseExpects(string caseName)
    {
        string caseDir = Path.Combine(LinuxTestSupport.TestCasesDirectory, caseName);
        var collector = LinuxTestSupport.CollectorFor(caseName);
        var batch = new SampleBatch();
        collector.Collect(batch, LinuxTestSupport.Timestamp);

        var actualOut = LinuxTestSupport.Lines(batch);
        var actualErr = new List<string>(collector.Problems);
        string outPath = Path.Combine(caseDir, "expected.out");
        string errPath = Path.Combine(caseDir, "expected.err");
        if (Environment.GetEnvironmentVariable("PATTOO_UPDATE_EXPECTED") == "1")
        {
            File.WriteAllLines(outPath, actualOut);
            if (actualErr.Count > 0) File.WriteAllLines(errPath, actualErr);
            else File.Delete(errPath);
        }

        Assert.Equal(ReadLines(outPath), actualOut);
        Assert.Equal(File.Exists(errPath) ? ReadLines(errPath) : new List<string>(), actualErr);
        foreach (var sample in batch.Items) Assert.Equal(LinuxTestSupport.Timestamp, sample.TimestampMs);
    }

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

    private static List<string> ReadLines(string path) => new(File.ReadAllLines(path));
}
