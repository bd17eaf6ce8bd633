using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Linux;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Linux;

/// <summary>Finds the fixture trees and turns collected samples into comparable text.</summary>
internal static class LinuxTestSupport
{
    public static readonly AgentIdentity Agent = AgentIdentity.ForPoller("test-appliance", "linux", "testhost");
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    public const long Timestamp = 1_732_600_000_000;

    private const string CasesRelative = "src/Pattoo.Edge.Pollers/Linux/testcases";

    /// <summary>The source tree's testcases folder, found by walking up from the test binaries.</summary>
    public static string TestCasesDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, CasesRelative);
                if (Directory.Exists(candidate)) return candidate;
                if (File.Exists(Path.Combine(dir.FullName, "Pattoo.Edge.sln"))) break;
            }
            throw new DirectoryNotFoundException($"no {CasesRelative} above {AppContext.BaseDirectory}");
        }
    }


    /// <summary>
    /// statvfs answers from the case's statvfs.txt: "mountpoint size free avail files files_free" per line;
    /// the mount point is everything before the last five numbers, so it may hold blanks.
    /// A mount point not listed answers null, as statvfs does for a mount it cannot read.
    /// </summary>
    public static Func<string, FilesystemStats?> LoadStatvfs(string caseDir)
    {
        var table = new Dictionary<string, FilesystemStats>(StringComparer.Ordinal);
        string path = Path.Combine(caseDir, "statvfs.txt");
        if (File.Exists(path))
        {
            foreach (string raw in File.ReadAllLines(path))
            {
                string line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 6) throw new FormatException($"{path}: bad line '{raw}'");
                int n = parts.Length;
                string mountPoint = string.Join(' ', parts, 0, n - 5);
                table[mountPoint] = new FilesystemStats(U(parts[n - 5]), U(parts[n - 4]), U(parts[n - 3]), U(parts[n - 2]), U(parts[n - 1]));
            }
        }
        return mountPoint => table.TryGetValue(mountPoint, out var stats) ? stats : null;

        static ulong U(string s) => ulong.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    public static LinuxCollector CollectorFor(string caseName, TimeSpan? interval = null)
    {
        string caseDir = Path.Combine(TestCasesDirectory, caseName);
        return new LinuxCollector(Agent, interval ?? Interval, Path.Combine(caseDir, "root"), LoadStatvfs(caseDir));
    }

    public static LinuxOptions Bind(string toml) => PollerTestSupport.Bind(toml, "linux", LinuxOptions.Bind);

    /// <summary>Every sample as <see cref="LinuxCollector.Describe"/> writes it, sorted (ordinal).</summary>
    public static List<string> Lines(SampleBatch batch)
    {
        var lines = new List<string>(batch.Count);
        foreach (var sample in batch.Items) lines.Add(LinuxCollector.Describe(sample));
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    public static string Metadata(SeriesKey key, string name)
    {
        foreach (var pair in key.Metadata)
        {
            if (pair.Key == name) return pair.Value;
        }
        return "";
    }
}
