using Pattoo.Edge.Host;

namespace Pattoo.Edge.Tests.Host;

/// <summary>The executable's start-up pages given back (here the test host's own executable).</summary>
public class ExecutablePagesTests
{
    private static long StatusKiB(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"no {field} in /proc/self/status");
    }

    [Fact]
    public void TheExecutablesReadOnlyMappingsArePagedOutAndComeBackWhenUsed()
    {
        Assert.True(OperatingSystem.IsLinux());
        string exe = Environment.ProcessPath!;
        long mapped = File.ReadLines("/proc/self/maps").Count(l => l.EndsWith(" " + exe, StringComparison.Ordinal) && !l.Split(' ')[1].Contains('w'));
        Assert.True(mapped > 0, $"{exe} is not mapped read-only");

        long advised = ExecutablePages.Release();
        Assert.True(advised > 0, "no mapping of the executable was advised");
        // The process goes on: the pages it uses fault back in.
        Assert.Equal(55, Enumerable.Range(1, 10).Sum());
        Assert.True(StatusKiB("VmRSS") > 0);
        Assert.True(ExecutablePages.Release() > 0, "a second release is refused");
    }
}
