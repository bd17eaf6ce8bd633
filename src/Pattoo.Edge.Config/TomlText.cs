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
