namespace Pattoo.Edge.Pollers.Linux;

/// <summary>The /proc/meminfo values the collector reports, in bytes; null where the line is missing or bad.</summary>
public struct MemInfoValues
{
    public ulong? MemTotalBytes;
    public ulong? MemFreeBytes;
    /// <summary>Missing before Linux 3.14.</summary>
    public ulong? MemAvailableBytes;
    public ulong? BuffersBytes;
    public ulong? CachedBytes;
    public ulong? SwapTotalBytes;
    public ulong? SwapFreeBytes;
}

/// <summary>Parses /proc/meminfo ("Name:   value kB" lines).</summary>
public static class MemInfo
{
    public static MemInfoValues Parse(ReadOnlySpan<char> text, string source, List<string> problems)
    {
        var values = new MemInfoValues();
        var report = new ProblemWriter(source, problems);
        int lineNumber = 0;
        bool sawLine = false, sawMemTotal = false;
        foreach (var line in text.EnumerateLines())
        {
            lineNumber++;
            if (line.IsWhiteSpace()) continue;
            sawLine = true;
            int colon = line.IndexOf(':');
            if (colon <= 0)
            {
                report.Add(lineNumber, line, "no name");
                continue;
            }
            var name = line[..colon].Trim();
            // Only the values reported are parsed; a bad value elsewhere in the file is not our concern.
            int slot = name switch
            {
                "MemTotal" => 0,
                "MemFree" => 1,
                "MemAvailable" => 2,
                "Buffers" => 3,
                "Cached" => 4,
                "SwapTotal" => 5,
                "SwapFree" => 6,
                _ => -1,
            };
            if (slot < 0) continue;
            if (slot == 0) sawMemTotal = true;
            if (!TryParseValue(line[(colon + 1)..], out ulong bytes))
            {
                report.Add(lineNumber, line, "cannot parse");
                continue;
            }
            switch (slot)
            {
                case 0: values.MemTotalBytes = bytes; break;
                case 1: values.MemFreeBytes = bytes; break;
                case 2: values.MemAvailableBytes = bytes; break;
                case 3: values.BuffersBytes = bytes; break;
                case 4: values.CachedBytes = bytes; break;
                case 5: values.SwapTotalBytes = bytes; break;
                case 6: values.SwapFreeBytes = bytes; break;
            }
        }
        if (!sawLine) report.Add("file is empty");
        else if (!sawMemTotal) report.Add("no MemTotal line");
        return values;
    }

    /// <summary>"  3885396 kB" → bytes; a value without a unit is a plain count.</summary>
    private static bool TryParseValue(ReadOnlySpan<char> rest, out ulong bytes)
    {
        bytes = 0;
        var fields = new FieldReader(rest);
        if (!fields.Next(out var number) || !Numbers.TryParseULong(number, out ulong value)) return false;
        if (!fields.Next(out var unit))
        {
            bytes = value;
            return true;
        }
        if (!unit.SequenceEqual("kB") || fields.Next(out _)) return false;
        if (value > ulong.MaxValue / 1024) return false;
        bytes = value * 1024;
        return true;
    }
}
