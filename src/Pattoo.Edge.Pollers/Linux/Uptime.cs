namespace Pattoo.Edge.Pollers.Linux;

/// <summary>Parses /proc/uptime: "96431.27 380102.55" (seconds up, seconds idle summed over CPUs).</summary>
public static class Uptime
{
    public static bool TryParse(ReadOnlySpan<char> text, out double seconds, string source, List<string> problems)
    {
        var line = LoadAvg.FirstLine(text);
        var fields = new FieldReader(line);
        if (fields.Next(out var first) && Numbers.TryParseFraction(first, out seconds)) return true;
        seconds = 0;
        new ProblemWriter(source, problems).Add(1, line, "cannot parse uptime");
        return false;
    }
}
