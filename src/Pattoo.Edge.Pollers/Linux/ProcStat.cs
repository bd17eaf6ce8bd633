namespace Pattoo.Edge.Pollers.Linux;

/// <summary>One "cpu" or "cpuN" line of /proc/stat, in jiffies (USER_HZ ticks).</summary>
public struct CpuTimes
{
    /// <summary>The CPU number, or <see cref="Total"/> for the "cpu" line that sums them all.</summary>
    public int Cpu;
    /// <summary>How many of the eight modes the line had (the kernel has printed all eight since 2.6.11).</summary>
    public int ModeCount;
    public ulong User, Nice, System, Idle, IoWait, Irq, SoftIrq, Steal;

    public const int Total = -1;

    /// <summary>The jiffies of mode <paramref name="mode"/>, in the order of <see cref="ProcStat.ModeNames"/>.</summary>
    public readonly ulong Jiffies(int mode) => mode switch
    {
        0 => User,
        1 => Nice,
        2 => System,
        3 => Idle,
        4 => IoWait,
        5 => Irq,
        6 => SoftIrq,
        7 => Steal,
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    internal void Set(int mode, ulong value)
    {
        switch (mode)
        {
            case 0: User = value; break;
            case 1: Nice = value; break;
            case 2: System = value; break;
            case 3: Idle = value; break;
            case 4: IoWait = value; break;
            case 5: Irq = value; break;
            case 6: SoftIrq = value; break;
            case 7: Steal = value; break;
        }
    }
}

/// <summary>What /proc/stat says; reused every cycle so parsing allocates nothing.</summary>
public sealed class ProcStatData
{
    public List<CpuTimes> Cpus { get; } = new();
    public ulong? ContextSwitches { get; internal set; }
    /// <summary>Interrupts serviced since boot (the first number of the "intr" line).</summary>
    public ulong? Interrupts { get; internal set; }
    /// <summary>Processes and threads created since boot (the "processes" line).</summary>
    public ulong? Forks { get; internal set; }
    public ulong? ProcsRunning { get; internal set; }
    public ulong? ProcsBlocked { get; internal set; }
    public ulong? BootTime { get; internal set; }

    public void Clear()
    {
        Cpus.Clear();
        ContextSwitches = Interrupts = Forks = ProcsRunning = ProcsBlocked = BootTime = null;
    }
}

/// <summary>Parses /proc/stat (proc(5)).</summary>
public static class ProcStat
{
    /// <summary>The CPU modes reported, in /proc/stat's column order. guest and guest_nice are left
    /// out: the kernel already counts them inside user and nice.</summary>
    public static IReadOnlyList<string> ModeNames { get; } = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"];

    private const int MinimumModes = 4;
    private const int MaxCpu = 1 << 16;

    public static void Parse(ReadOnlySpan<char> text, ProcStatData result, string source, List<string> problems)
    {
        result.Clear();
        var report = new ProblemWriter(source, problems);
        int lineNumber = 0;
        bool sawLine = false;
        foreach (var line in text.EnumerateLines())
        {
            lineNumber++;
            var fields = new FieldReader(line);
            if (!fields.Next(out var name)) continue;
            sawLine = true;
            if (name.StartsWith("cpu"))
            {
                ParseCpu(name, ref fields, line, lineNumber, result, ref report);
                continue;
            }
            switch (name)
            {
                case "ctxt": result.ContextSwitches = ParseSingle(ref fields, line, lineNumber, ref report); break;
                case "intr": result.Interrupts = ParseSingle(ref fields, line, lineNumber, ref report); break;
                case "processes": result.Forks = ParseSingle(ref fields, line, lineNumber, ref report); break;
                case "procs_running": result.ProcsRunning = ParseSingle(ref fields, line, lineNumber, ref report); break;
                case "procs_blocked": result.ProcsBlocked = ParseSingle(ref fields, line, lineNumber, ref report); break;
                case "btime": result.BootTime = ParseSingle(ref fields, line, lineNumber, ref report); break;
            }
        }
        if (!sawLine) report.Add("file is empty");
        else if (result.Cpus.Count == 0) report.Add("no cpu line");
    }

    private static void ParseCpu(ReadOnlySpan<char> name, ref FieldReader fields, ReadOnlySpan<char> line, int lineNumber,
        ProcStatData result, ref ProblemWriter report)
    {
        var times = new CpuTimes { Cpu = CpuTimes.Total };
        var number = name[3..];
        if (!number.IsEmpty)
        {
            if (!Numbers.TryParseInt(number, out int cpu) || cpu >= MaxCpu)
            {
                report.Add(lineNumber, line, "bad cpu name");
                return;
            }
            times.Cpu = cpu;
        }
        int mode = 0;
        while (mode < ModeNames.Count && fields.Next(out var field))
        {
            if (!Numbers.TryParseULong(field, out ulong jiffies))
            {
                report.Add(lineNumber, line, "not a number");
                return;
            }
            times.Set(mode++, jiffies);
        }
        if (mode < MinimumModes)
        {
            report.Add(lineNumber, line, "too few fields");
            return;
        }
        if (mode < ModeNames.Count) report.Add(lineNumber, line, "too few fields (kept the first " + mode + ")");
        times.ModeCount = mode;
        result.Cpus.Add(times);
    }

    private static ulong? ParseSingle(ref FieldReader fields, ReadOnlySpan<char> line, int lineNumber, ref ProblemWriter report)
    {
        if (fields.Next(out var field) && Numbers.TryParseULong(field, out ulong value)) return value;
        report.Add(lineNumber, line, "not a number");
        return null;
    }
}
