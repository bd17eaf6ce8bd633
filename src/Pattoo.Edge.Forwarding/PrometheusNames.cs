using System.Text;

namespace Pattoo.Edge.Forwarding;

/// <summary>
/// pattoo's keys and metadata as Prometheus names (the data model's rules): a metric name is
/// <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>, a label name <c>[a-zA-Z_][a-zA-Z0-9_]*</c> not starting with
/// <c>__</c>. Every other character becomes <c>_</c>, and a leading digit gets a <c>_</c> before it,
/// as Prometheus' own exporters do. remote_write and <c>/metrics</c> use the same names.
/// </summary>
public static class PrometheusNames
{
    public static string Metric(string key) => Sanitise(key, colons: true);

    public static string Label(string name)
    {
        string s = Sanitise(name, colons: false);
        return s.StartsWith("__", StringComparison.Ordinal) ? "_" + s.TrimStart('_') : s;
    }

    public static bool IsLabelName(string name)
        => name.Length > 0 && !name.StartsWith("__", StringComparison.Ordinal) && Sanitise(name, colons: false) == name;

    private static string Sanitise(string text, bool colons)
    {
        if (text.Length == 0) return "_";
        var sb = new StringBuilder(text.Length + 1);
        if (char.IsAsciiDigit(text[0])) sb.Append('_');
        foreach (char c in text)
            sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || (colons && c == ':') ? c : '_');
        return sb.ToString();
    }
}
