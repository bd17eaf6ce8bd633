using Tomlyn;
using Tomlyn.Parsing;

namespace Pattoo.Edge.Config;

/// <summary>A TOML value with the place it was written, so errors can point at it.</summary>
public abstract class TomlNode
{
    protected TomlNode(int line, int column) { Line = line; Column = column; }
    public int Line { get; internal set; }
    public int Column { get; internal set; }
    /// <summary>The TOML type name as users know it ("string", "integer", "table", ...).</summary>
    public abstract string TypeName { get; }
}

public sealed class TomlTableNode(int line, int column) : TomlNode(line, column)
{
    /// <summary>Keys in file order, each with the position of the key itself.</summary>
    public List<(string Key, int Line, int Column, TomlNode Value)> Entries { get; } = new();
    public override string TypeName => "table";

    public TomlNode? Find(string key, out int line, out int column)
    {
        foreach (var e in Entries)
        {
            if (e.Key == key) { line = e.Line; column = e.Column; return e.Value; }
        }
        line = column = 0;
        return null;
    }
}

public sealed class TomlArrayNode(int line, int column) : TomlNode(line, column)
{
    public List<TomlNode> Items { get; } = new();
    public override string TypeName => "array";
}

public enum TomlValueKind { String, Integer, Float, Boolean, DateTime }

public sealed class TomlValueNode(int line, int column, TomlValueKind kind, object value, string text) : TomlNode(line, column)
{
    public TomlValueKind Kind { get; } = kind;
    /// <summary>string, long, double, bool or TomlDateTime.</summary>
    public object Value { get; } = value;
    /// <summary>The value as it reads in an error message (strings quoted).</summary>
    public string Text { get; } = text;
    public override string TypeName => Kind switch
    {
        TomlValueKind.String => "string",
        TomlValueKind.Integer => "integer",
        TomlValueKind.Float => "float",
        TomlValueKind.Boolean => "boolean",
        _ => "date-time",
    };
}

/// <summary>
/// Reads TOML into a tree that keeps line and column of every key and value. Built on
/// Tomlyn's event parser (no reflection, AOT-safe); the typed deserializer stops at the
/// first error and ignores unknown keys, while a config check must list every problem.
/// </summary>
public static class TomlTree
{
    public static TomlTableNode Parse(string text, string fileName, ConfigErrors errors)
    {
        var root = new TomlTableNode(1, 1);
        var parser = TomlParser.Create(text, new TomlParserOptions { Mode = TomlParserMode.Tolerant },
            new TomlSerializerOptions { SourceName = fileName });
        var stack = new Stack<TomlNode>();
        string? pendingKey = null;
        int keyLine = 0, keyColumn = 0;
        try
        {
            while (parser.MoveNext())
            {
                var ev = parser.Current;
                switch (ev.Kind)
                {
                    case TomlParseEventKind.StartDocument:
                    case TomlParseEventKind.EndDocument:
                        break;
                    case TomlParseEventKind.PropertyName:
                        pendingKey = parser.GetPropertyName();
                        keyLine = ev.Line;
                        keyColumn = ev.Column;
                        break;
                    case TomlParseEventKind.StartTable:
                        if (stack.Count == 0) { stack.Push(root); break; }
                        Push(new TomlTableNode(keyLine, keyColumn));
                        break;
                    case TomlParseEventKind.StartArray:
                        Push(new TomlArrayNode(keyLine, keyColumn));
                        break;
                    case TomlParseEventKind.EndTable:
                    case TomlParseEventKind.EndArray:
                        stack.Pop();
                        break;
                    case TomlParseEventKind.String:
                        {
                            var s = parser.GetString() ?? "";
                            Add(new TomlValueNode(ev.Line, ev.Column, TomlValueKind.String, s, "\"" + s + "\""));
                            break;
                        }
                    case TomlParseEventKind.Integer:
                        {
                            long v = ev.GetInt64();
                            Add(new TomlValueNode(ev.Line, ev.Column, TomlValueKind.Integer, v, v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                            break;
                        }
                    case TomlParseEventKind.Float:
                        {
                            double v = ev.GetDouble();
                            Add(new TomlValueNode(ev.Line, ev.Column, TomlValueKind.Float, v, v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
                            break;
                        }
                    case TomlParseEventKind.Boolean:
                        {
                            bool v = ev.GetBoolean();
                            Add(new TomlValueNode(ev.Line, ev.Column, TomlValueKind.Boolean, v, v ? "true" : "false"));
                            break;
                        }
                    case TomlParseEventKind.DateTime:
                        {
                            var v = ev.GetTomlDateTime();
                            Add(new TomlValueNode(ev.Line, ev.Column, TomlValueKind.DateTime, v, v.ToString()));
                            break;
                        }
                }
            }
        }
        catch (TomlException e)
        {
            if (e.Diagnostics is { Count: > 0 } diags)
            {
                foreach (var d in diags) errors.Add(new ConfigError(fileName, d.Span.Start.Line + 1, d.Span.Start.Column + 1, "", "syntax error: " + Clean(d.Message)));
            }
            else
            {
                errors.Add(new ConfigError(fileName, e.Line ?? 0, e.Column ?? 0, "", "syntax error: " + Clean(e.Message)));
            }
        }
        foreach (var d in parser.Diagnostics)
        {
            if (d.Kind != Tomlyn.Syntax.DiagnosticMessageKind.Error) continue;
            var error = new ConfigError(fileName, d.Span.Start.Line + 1, d.Span.Start.Column + 1, "", "syntax error: " + Clean(d.Message));
            if (!errors.Contains(error)) errors.Add(error);
        }
        if (errors.Count == 0) CheckTableHeaders(text, fileName, errors, root);
        return root;

        void Push(TomlNode node)
        {
            Add(node);
            stack.Push(node);
        }

        void Add(TomlNode node)
        {
            var parent = stack.Peek();
            if (parent is TomlTableNode t)
            {
                var name = pendingKey ?? "";
                if (t.Find(name, out int firstLine, out _) is not null)
                    errors.Add(new ConfigError(fileName, keyLine, keyColumn, "", $"syntax error: duplicate key '{name}', first set on line {firstLine}"));
                t.Entries.Add((name, keyLine, keyColumn, node));
                pendingKey = null;
            }
            else if (parent is TomlArrayNode a)
            {
                // Tables inside an array of tables carry no position of their own: use the array's.
                if (node.Line == 0) { node.Line = a.Line; node.Column = a.Column; }
                a.Items.Add(node);
            }
        }
    }

    /// <summary>
    /// TOML forbids defining a table twice; Tomlyn's event parser merges two adjacent
    /// [x] headers silently, so headers are checked on the syntax tree.
    /// </summary>
    private static void CheckTableHeaders(string text, string fileName, ConfigErrors errors, TomlTableNode root)
    {
        var doc = SyntaxParser.Parse(text, fileName, false);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var arrayHeaders = new Dictionary<string, Queue<(int Line, int Column)>>(StringComparer.Ordinal);
        foreach (var table in doc.Tables)
        {
            if (table is Tomlyn.Syntax.TableArraySyntax && table.Name is not null)
            {
                var arrayName = string.Join('.', table.Name.ToString().Split('.').Select(p => p.Trim().Trim('"', '\'')));
                if (!arrayHeaders.TryGetValue(arrayName, out var queue)) arrayHeaders[arrayName] = queue = new();
                queue.Enqueue((table.Name.Span.Start.Line + 1, table.Name.Span.Start.Column + 1));
            }
            if (table is not Tomlyn.Syntax.TableSyntax || table.Name is null) continue;
            var name = string.Join('.', table.Name.ToString().Split('.').Select(p => p.Trim().Trim('"', '\'')));
            int line = table.Name.Span.Start.Line + 1;
            if (seen.TryGetValue(name, out int first))
                errors.Add(new ConfigError(fileName, line, table.Name.Span.Start.Column + 1, "", $"syntax error: table [{name}] is defined twice, first on line {first}"));
            else
                seen[name] = line;
        }
        PlaceArrayElements(root, "", arrayHeaders);
    }

    /// <summary>
    /// Gives each element of an array of tables ([[x]]) the position of its header: the event
    /// parser gives none, so errors about an element (a key it lacks) pointed at the key before
    /// it, in the previous element. Elements are met in document order, as their headers are.
    /// </summary>
    private static void PlaceArrayElements(TomlTableNode table, string path, Dictionary<string, Queue<(int Line, int Column)>> headers)
    {
        foreach (var (key, _, _, value) in table.Entries)
        {
            string childPath = path.Length == 0 ? key : path + "." + key;
            if (value is TomlTableNode child) PlaceArrayElements(child, childPath, headers);
            else if (value is TomlArrayNode array)
            {
                headers.TryGetValue(childPath, out var queue);
                foreach (var item in array.Items)
                {
                    if (item is not TomlTableNode element) continue;
                    if (queue is { Count: > 0 }) (element.Line, element.Column) = queue.Dequeue();
                    PlaceArrayElements(element, childPath, headers);
                }
            }
        }
    }

    // Tomlyn prefixes "(line,col) : error : " to its messages; the caller adds its own position.
    private static string Clean(string message)
    {
        var m = message;
        int i;
        while ((i = m.IndexOf(" : error : ", StringComparison.Ordinal)) >= 0) m = m[(i + 11)..];
        return m.Trim();
    }
}
