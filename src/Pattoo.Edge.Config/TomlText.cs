using System.Globalization;
using System.Text;

namespace Pattoo.Edge.Config;

/// <summary>Values written into TOML that the config loader reads back unchanged (discovery's output).</summary>
public static class TomlText
{
    /// <summary>A TOML basic string: quoted, with quotes, backslashes and control characters escaped.</summary>
    public static string String(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(c)) sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A number as TOML reads it back exactly: "0.1", "1000", "1E-05".</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary><paramref name="wanted"/>, or wanted_2, wanted_3 ... when it is taken; adds what it returns to <paramref name="taken"/>.</summary>
    public static string Unique(HashSet<string> taken, string wanted)
    {
        string candidate = wanted;
        for (int i = 2; !taken.Add(candidate); i++) candidate = $"{wanted}_{i}";
        return candidate;
    }

    /// <summary>Free text for a one-line comment: line breaks as blanks, cut at <paramref name="max"/> characters with "...".</summary>
    public static string OneLine(string text, int max = 120)
    {
        string line = text.ReplaceLineEndings(" ").Trim();
        return line.Length > max ? line[..(max - 3)] + "..." : line;
    }

    /// <summary>
    /// A config key made from free text (an object's or interface's name): lower case letters,
    /// digits and '_', runs of anything else as one '_', words of CamelCase apart
    /// ("SupplyAirTemp" is supply_air_temp), never empty, never starting with a digit.
    /// </summary>
    public static string KeyFrom(string text, string fallback = "value")
    {
        var sb = new StringBuilder(text.Length);
        bool gap = false;
        char previous = ' ';
        foreach (char raw in text.Trim())
        {
            if (char.IsAsciiLetterUpper(raw) && (char.IsAsciiLetterLower(previous) || char.IsAsciiDigit(previous))) gap = true;
            previous = raw;
            char c = char.ToLowerInvariant(raw);
            if (char.IsAsciiLetterOrDigit(c))
            {
                if (gap && sb.Length > 0) sb.Append('_');
                sb.Append(c);
                gap = false;
            }
            else
            {
                gap = true;
            }
        }
        if (sb.Length == 0) return fallback;
        if (char.IsAsciiDigit(sb[0])) sb.Insert(0, fallback + "_");
        return sb.ToString();
    }
}
