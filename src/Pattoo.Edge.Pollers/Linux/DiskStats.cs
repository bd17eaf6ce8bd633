using System.Text;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>One line of /proc/diskstats; <see cref="Device"/> points into the parsed text.</summary>
public readonly ref struct DiskStat
{
    /// <summary>Sectors in /proc/diskstats are always 512 bytes, whatever the device's real sector size.</summary>
    public const int SectorBytes = 512;

    public DiskStat(ReadOnlySpan<char> device, ulong readsCompleted, ulong sectorsRead, ulong writesCompleted,
        ulong sectorsWritten, ulong ioTimeMs)
    {
        Device = device;
        ReadsCompleted = readsCompleted;
        SectorsRead = sectorsRead;
        WritesCompleted = writesCompleted;
        SectorsWritten = sectorsWritten;
        IoTimeMs = ioTimeMs;
    }

    public ReadOnlySpan<char> Device { get; }
    public ulong ReadsCompleted { get; }
    public ulong SectorsRead { get; }
    public ulong WritesCompleted { get; }
    public ulong SectorsWritten { get; }
    /// <summary>Milliseconds the device had I/O in flight ("time spent doing I/Os").</summary>
    public ulong IoTimeMs { get; }
}

/// <summary>
/// Parses /proc/diskstats (Documentation/admin-guide/iostats.rst):
/// "major minor name reads merged sectors ms writes merged sectors ms in-flight io-ms weighted-ms ...".
/// </summary>
public static class DiskStats
{
    public static DiskStatsReader Parse(ReadOnlySpan<char> text, string source, List<string> problems)
        => new(text, new ProblemWriter(source, problems));

    /// <summary>
    /// Devices that are not storage worth charting: loop devices (one per snap or image), RAM disks,
    /// compressed-RAM swap (zram) and floppies. Whole disks, partitions, dm-* and md* are kept.
    /// </summary>
    public static bool IsIgnoredDevice(ReadOnlySpan<char> name)
        => HasNumberedPrefix(name, "loop") || HasNumberedPrefix(name, "ram")
        || HasNumberedPrefix(name, "zram") || HasNumberedPrefix(name, "fd");

    private static bool HasNumberedPrefix(ReadOnlySpan<char> name, string prefix)
        => name.StartsWith(prefix) && Numbers.IsAllDigits(name[prefix.Length..]);
}

public ref struct DiskStatsReader
{
    // Columns after the name that the collector needs: the 10th is "time spent doing I/Os".
    private const int NeededColumns = 10;
    private SpanLineEnumerator _lines;
    private ProblemWriter _report;
    private int _lineNumber;
    private DiskStat _current;

    internal DiskStatsReader(ReadOnlySpan<char> text, ProblemWriter report)
    {
        _lines = text.EnumerateLines();
        _report = report;
        _lineNumber = 0;
        _current = default;
    }

    public readonly DiskStatsReader GetEnumerator() => this;

    public readonly DiskStat Current => _current;

    public bool MoveNext()
    {
        Span<ulong> columns = stackalloc ulong[NeededColumns];
        while (_lines.MoveNext())
        {
            _lineNumber++;
            var line = _lines.Current;
            var fields = new FieldReader(line);
            if (!fields.Next(out var major)) continue;
            if (!fields.Next(out var minor) || !fields.Next(out var name)
                || !Numbers.IsAllDigits(major) || !Numbers.IsAllDigits(minor))
            {
                _report.Add(_lineNumber, line, "too few fields");
                continue;
            }
            int count = 0;
            bool bad = false;
            while (count < NeededColumns && fields.Next(out var field))
            {
                if (!Numbers.TryParseULong(field, out columns[count]))
                {
                    bad = true;
                    break;
                }
                count++;
            }
            if (bad)
            {
                _report.Add(_lineNumber, line, "not a number");
                continue;
            }
            if (count < NeededColumns)
            {
                _report.Add(_lineNumber, line, "too few fields");
                continue;
            }
            _current = new DiskStat(name, readsCompleted: columns[0], sectorsRead: columns[2],
                writesCompleted: columns[4], sectorsWritten: columns[6], ioTimeMs: columns[9]);
            return true;
        }
        return false;
    }
}
