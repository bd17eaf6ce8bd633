using System.Globalization;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>Splits a line into blank-separated fields without allocating.</summary>
internal ref struct FieldReader
{
    private ReadOnlySpan<char> _rest;

    public FieldReader(ReadOnlySpan<char> line) => _rest = line;

    public bool Next(out ReadOnlySpan<char> field)
    {
        int i = 0;
        while (i < _rest.Length && IsBlank(_rest[i])) i++;
        if (i == _rest.Length)
        {
            field = default;
            _rest = default;
            return false;
        }
        int start = i;
        while (i < _rest.Length && !IsBlank(_rest[i])) i++;
        field = _rest[start..i];
        _rest = _rest[i..];
        return true;
    }

    private static bool IsBlank(char c) => c is ' ' or '\t';
}

/// <summary>
/// Adds "source: line N: what: "text"" lines to a problem list, at most a few per file so that
/// a file full of garbage does not drown the report.
/// </summary>
internal struct ProblemWriter
{
    private const int MaxPerFile = 5;
    private const int MaxQuoted = 80;
    private readonly List<string> _problems;
    private readonly string _source;
    private int _count;

    public ProblemWriter(string source, List<string> problems)
    {
        _source = source;
        _problems = problems;
        _count = 0;
    }

    public void Add(int lineNumber, ReadOnlySpan<char> line, string what)
    {
        _count++;
        if (_count > MaxPerFile + 1) return;
        if (_count == MaxPerFile + 1)
        {
            _problems.Add($"{_source}: more problems not shown");
            return;
        }
        string quoted = Quote(line);
        _problems.Add(lineNumber > 0
            ? $"{_source}: line {lineNumber}: {what}: {quoted}"
            : $"{_source}: {what}");
    }

    public void Add(string what) => Add(0, default, what);

    public static string Quote(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        return text.Length <= MaxQuoted ? $"\"{text}\"" : $"\"{text[..MaxQuoted]}...\"";
    }
}

internal static class Numbers
{
    /// <summary>Plain unsigned decimal, as the kernel prints counters: no sign, no blanks.</summary>
    public static bool TryParseULong(ReadOnlySpan<char> s, out ulong value)
        => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    public static bool TryParseInt(ReadOnlySpan<char> s, out int value)
        => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>An unsigned decimal fraction such as "0.31" or "96431.27".</summary>
    public static bool TryParseFraction(ReadOnlySpan<char> s, out double value)
        => double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value);

    public static bool IsAllDigits(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty) return false;
        foreach (char c in s)
        {
            if (!char.IsAsciiDigit(c)) return false;
        }
        return true;
    }
}
