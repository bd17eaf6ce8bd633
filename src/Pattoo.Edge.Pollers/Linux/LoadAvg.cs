namespace Pattoo.Edge.Pollers.Linux;

public struct LoadAvgValues
{
    public double Load1, Load5, Load15;
    /// <summary>Runnable scheduling entities (threads), from the "running/total" field; null if it is missing.</summary>
    public ulong? Running;
    /// <summary>All scheduling entities (threads, kernel threads included).</summary>
    public ulong? Total;
}

/// <summary>Parses /proc/loadavg: "0.31 0.22 0.18 2/287 25874".</summary>
public static class LoadAvg
{
    /// <summary>False (and a problem) when the three load averages cannot be read.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out LoadAvgValues values, string source, List<string> problems)
    {
        values = default;
        var report = new ProblemWriter(source, problems);
        var fields = new FieldReader(FirstLine(text));
        if (!fields.Next(out var f1) || !fields.Next(out var f5) || !fields.Next(out var f15)
            || !Numbers.TryParseFraction(f1, out values.Load1)
            || !Numbers.TryParseFraction(f5, out values.Load5)
            || !Numbers.TryParseFraction(f15, out values.Load15))
        {
            values = default;
            report.Add(1, FirstLine(text), "cannot parse load averages");
            return false;
        }
        if (!fields.Next(out var entities)) return true; // an old or trimmed file: the loads alone are fine
        int slash = entities.IndexOf('/');
        if (slash > 0
            && Numbers.TryParseULong(entities[..slash], out ulong running)
            && Numbers.TryParseULong(entities[(slash + 1)..], out ulong total))
        {
            values.Running = running;
            values.Total = total;
        }
        else
        {
            report.Add(1, FirstLine(text), "cannot parse running/total");
        }
        return true;
    }

    internal static ReadOnlySpan<char> FirstLine(ReadOnlySpan<char> text)
    {
        int end = text.IndexOfAny('\n', '\r');
        return end < 0 ? text : text[..end];
    }
}
