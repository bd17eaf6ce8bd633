using System.Globalization;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Config;

/// <summary>
/// Reads one TOML table into options, collecting every error instead of stopping at the
/// first: a wrong type, an out-of-range number, a bad duration, and, once the owner calls
/// <see cref="Finish"/>, every key that nobody read (a typo must not pass silently).
/// Getters return the default after reporting an error so binding can go on.
/// </summary>
public sealed class ConfigSection
{
    private readonly TomlTableNode? _table;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public ConfigSection(string file, string path, TomlTableNode? table, ConfigErrors errors, int line = 1, int column = 1)
    {
        File = file;
        Path = path;
        _table = table;
        Errors = errors;
        Line = table?.Line ?? line;
        Column = table?.Column ?? column;
    }

    public string File { get; }
    /// <summary>Dotted key path of this table ("snmp.targets[2]"), empty for the root.</summary>
    public string Path { get; }
    public ConfigErrors Errors { get; }
    public int Line { get; }
    public int Column { get; }
    /// <summary>True when the table was written in the file at all.</summary>
    public bool Exists => _table is not null;

    public bool Has(string key)
    {
        _known.Add(key);
        return _table?.Find(key, out _, out _) is not null;
    }

    public string KeyPath(string key) => Path.Length == 0 ? key : Path + "." + key;

    public string GetString(string key, string defaultValue) => GetOptionalString(key) ?? defaultValue;

    public string? GetOptionalString(string key)
    {
        var node = Value(key, out _, out _);
        if (node is null) return null;
        if (node is TomlValueNode { Kind: TomlValueKind.String } v) return (string)v.Value;
        Expected(key, node, "a string");
        return null;
    }

    /// <summary>A string that must be one of <paramref name="choices"/>.</summary>
    public string GetChoice(string key, string defaultValue, params string[] choices)
    {
        var node = Value(key, out _, out _);
        if (node is null) return defaultValue;
        if (node is TomlValueNode { Kind: TomlValueKind.String } v && Array.IndexOf(choices, (string)v.Value) >= 0)
            return (string)v.Value;
        Expected(key, node, "one of " + string.Join(", ", choices.Select(c => "\"" + c + "\"")));
        return defaultValue;
    }

    public bool GetBool(string key, bool defaultValue)
    {
        var node = Value(key, out _, out _);
        if (node is null) return defaultValue;
        if (node is TomlValueNode { Kind: TomlValueKind.Boolean } v) return (bool)v.Value;
        Expected(key, node, "true or false");
        return defaultValue;
    }

    public long GetInteger(string key, long defaultValue, long min, long max)
    {
        var node = Value(key, out _, out _);
        if (node is null) return defaultValue;
        if (node is TomlValueNode { Kind: TomlValueKind.Integer } v)
        {
            long n = (long)v.Value;
            if (n >= min && n <= max) return n;
            Error(node, key, $"expected an integer from {min} to {max}, got {n}");
            return defaultValue;
        }
        Expected(key, node, $"an integer from {min} to {max}");
        return defaultValue;
    }

    public double GetFloat(string key, double defaultValue, double min = double.MinValue, double max = double.MaxValue)
    {
        var node = Value(key, out _, out _);
        if (node is null) return defaultValue;
        double d;
        if (node is TomlValueNode { Kind: TomlValueKind.Float } f) d = (double)f.Value;
        else if (node is TomlValueNode { Kind: TomlValueKind.Integer } i) d = (long)i.Value;
        else { Expected(key, node, "a number"); return defaultValue; }
        if (double.IsFinite(d) && d >= min && d <= max) return d;
        Error(node, key, $"expected a number from {Fmt(min)} to {Fmt(max)}, got {Fmt(d)}");
        return defaultValue;
    }

    public TimeSpan GetDuration(string key, TimeSpan defaultValue, TimeSpan min, TimeSpan max)
    {
        var node = Value(key, out _, out _);
        if (node is null) return defaultValue;
        if (node is TomlValueNode { Kind: TomlValueKind.String } v && Duration.TryParse((string)v.Value, out var d))
        {
            if (d >= min && d <= max) return d;
            Error(node, key, $"expected a duration from {Duration.Format(min)} to {Duration.Format(max)}, got \"{v.Value}\"");
            return defaultValue;
        }
        Expected(key, node, "a duration like \"10s\"");
        return defaultValue;
    }

    public List<string> GetStringArray(string key)
    {
        var result = new List<string>();
        var node = Value(key, out _, out _);
        if (node is null) return result;
        if (node is not TomlArrayNode a) { Expected(key, node, "an array of strings"); return result; }
        for (int i = 0; i < a.Items.Count; i++)
        {
            if (a.Items[i] is TomlValueNode { Kind: TomlValueKind.String } s) result.Add((string)s.Value);
            else Error(a.Items[i], $"{key}[{i}]", $"expected a string, got {Describe(a.Items[i])}");
        }
        return result;
    }

    /// <summary>An array of finite numbers (integers or floats).</summary>
    public List<double> GetFloatArray(string key)
    {
        var result = new List<double>();
        var node = Value(key, out _, out _);
        if (node is null) return result;
        if (node is not TomlArrayNode a) { Expected(key, node, "an array of numbers"); return result; }
        for (int i = 0; i < a.Items.Count; i++)
        {
            if (a.Items[i] is TomlValueNode { Kind: TomlValueKind.Float } f && double.IsFinite((double)f.Value)) result.Add((double)f.Value);
            else if (a.Items[i] is TomlValueNode { Kind: TomlValueKind.Integer } n) result.Add((long)n.Value);
            else Error(a.Items[i], $"{key}[{i}]", $"expected a finite number, got {Describe(a.Items[i])}");
        }
        return result;
    }

    /// <summary>An inline or standard table of string values (labels = { ifName = "..." }).</summary>
    public List<KeyValuePair<string, string>> GetStringMap(string key)
    {
        var result = new List<KeyValuePair<string, string>>();
        var node = Value(key, out _, out _);
        if (node is null) return result;
        if (node is not TomlTableNode t) { Expected(key, node, "a table of strings"); return result; }
        foreach (var e in t.Entries)
        {
            if (e.Value is TomlValueNode { Kind: TomlValueKind.String } s) result.Add(new(e.Key, (string)s.Value));
            else Error(e.Value, $"{key}.{e.Key}", $"expected a string, got {Describe(e.Value)}");
        }
        return result;
    }

    /// <summary>A sub-table; an absent one reads as empty, so defaults apply.</summary>
    public ConfigSection GetSection(string key)
    {
        var node = Value(key, out int line, out int column);
        if (node is null) return new ConfigSection(File, KeyPath(key), null, Errors, Line, Column);
        if (node is TomlTableNode t) return new ConfigSection(File, KeyPath(key), t, Errors);
        Expected(key, node, "a table");
        return new ConfigSection(File, KeyPath(key), null, Errors, line, column);
    }

    /// <summary>An array of tables ([[snmp.targets]]), one section per element.</summary>
    public List<ConfigSection> GetSectionArray(string key)
    {
        var result = new List<ConfigSection>();
        var node = Value(key, out _, out _);
        if (node is null) return result;
        if (node is not TomlArrayNode a) { Expected(key, node, "an array of tables"); return result; }
        for (int i = 0; i < a.Items.Count; i++)
        {
            if (a.Items[i] is TomlTableNode t) result.Add(new ConfigSection(File, $"{KeyPath(key)}[{i}]", t, Errors));
            else Error(a.Items[i], $"{key}[{i}]", $"expected a table, got {Describe(a.Items[i])}");
        }
        return result;
    }

    /// <summary>
    /// The table's <c>name</c>, trimmed: what names a device, server or forwarder in logs, the API
    /// and its storage. A missing name is reported with <paramref name="whenMissing"/> (say what
    /// needs it and show an example), an empty one as such; both return "".
    /// </summary>
    public string GetName(string whenMissing)
    {
        string name = (GetOptionalString("name") ?? "").Trim();
        if (!Has("name")) Error(whenMissing);
        else if (name.Length == 0) Error("name", "expected a name, got an empty string");
        return name;
    }

    /// <summary>A poll is cut off at one interval: a longer <c>timeout</c> is reported.</summary>
    public void CheckTimeoutWithinInterval(TimeSpan timeout, TimeSpan interval)
    {
        if (timeout > interval)
            Error("timeout", $"{Duration.Format(timeout)} is longer than the interval ({Duration.Format(interval)}); a poll is cut off at one interval");
    }

    /// <summary>Reports a problem found by the owner's own validation, at the key's value.</summary>
    public void Error(string key, string message)
    {
        var node = _table?.Find(key, out _, out _);
        if (node is not null) Error(node, key, message);
        else Errors.Add(new ConfigError(File, Line, Column, KeyPath(key), message));
    }

    /// <summary>Reports a problem with the table as a whole.</summary>
    public void Error(string message) => Errors.Add(new ConfigError(File, Line, Column, Path, message));

    /// <summary>Reports every key of this table that no getter asked for.</summary>
    public void Finish()
    {
        if (_table is null) return;
        foreach (var e in _table.Entries)
        {
            if (_known.Contains(e.Key)) continue;
            var expected = _known.Count == 0 ? "this table takes no keys" : "expected one of: " + string.Join(", ", _known.Order(StringComparer.Ordinal));
            Errors.Add(new ConfigError(File, e.Line, e.Column, KeyPath(e.Key), $"unknown key; {expected}"));
        }
    }

    private TomlNode? Value(string key, out int line, out int column)
    {
        _known.Add(key);
        line = column = 0;
        return _table?.Find(key, out line, out column);
    }

    private void Expected(string key, TomlNode node, string what) => Error(node, key, $"expected {what}, got {Describe(node)}");

    private void Error(TomlNode node, string key, string message)
        => Errors.Add(new ConfigError(File, node.Line, node.Column, KeyPath(key), message));

    private static string Describe(TomlNode node) => node is TomlValueNode v
        ? (v.Kind == TomlValueKind.String ? v.Text : $"{v.Text}")
        : "a " + node.TypeName;

    private static string Fmt(double d) => d == double.MinValue ? "-inf" : d == double.MaxValue ? "inf" : d.ToString("G", CultureInfo.InvariantCulture);
}
