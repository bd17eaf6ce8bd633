using System.Globalization;

namespace Pattoo.Edge.Common;

/// <summary>
/// Durations as people write them in config files: "250ms", "10s", "5m", "2h", "400d",
/// or a sum such as "1h30m". Integers alone are refused: "10" could mean anything.
/// </summary>
public static class Duration
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var s = text.AsSpan().Trim();
        if (s.IsEmpty) return false;
        long totalMs = 0;
        int i = 0;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start || i - start > 12) return false;
            long n = long.Parse(s[start..i], NumberStyles.None, CultureInfo.InvariantCulture);
            int unitStart = i;
            while (i < s.Length && char.IsAsciiLetterLower(s[i])) i++;
            long unitMs = s[unitStart..i] switch
            {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 604_800_000,
                _ => -1,
            };
            if (unitMs < 0) return false;
            try { totalMs = checked(totalMs + checked(n * unitMs)); }
            catch (OverflowException) { return false; }
        }
        if (totalMs > (long)TimeSpan.MaxValue.TotalMilliseconds / 2) return false;
        value = TimeSpan.FromMilliseconds(totalMs);
        return true;
    }

    /// <summary>Formats the way <see cref="TryParse"/> reads, largest units first ("1h30m").</summary>
    public static string Format(TimeSpan value)
    {
        long ms = (long)value.TotalMilliseconds;
        if (ms == 0) return "0s";
        var sb = new System.Text.StringBuilder();
        foreach (var (unit, size) in new (string, long)[] { ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1) })
        {
            if (ms >= size) { sb.Append(ms / size).Append(unit); ms %= size; }
        }
        return sb.ToString();
    }
}
