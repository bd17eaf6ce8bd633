using System.Text;

namespace Pattoo.Edge.Storage;

/// <summary>
/// pattoo's translation CSV files (docs/pattoo-compat.md section 9): key translations with the
/// header <c>language,key,translation,units</c> and agent translations with
/// <c>language,key,translation</c>. RFC 4180 quoting; every problem names its line.
/// </summary>
public static class TranslationCsv
{
    public static List<KeyTranslation> ReadKeyTranslations(string text, string fileName)
    {
        var rows = new List<KeyTranslation>();
        foreach (var (line, fields) in Records(text, fileName, ["language", "key", "translation", "units"], minFields: 3))
            rows.Add(new KeyTranslation(Required(fields[0], fileName, line, "language"), Required(fields[1], fileName, line, "key"), fields[2], fields.Count > 3 ? fields[3] : ""));
        return rows;
    }

    public static List<AgentTranslation> ReadAgentTranslations(string text, string fileName)
    {
        var rows = new List<AgentTranslation>();
        foreach (var (line, fields) in Records(text, fileName, ["language", "key", "translation"], minFields: 3))
            rows.Add(new AgentTranslation(Required(fields[0], fileName, line, "language"), Required(fields[1], fileName, line, "key"), fields[2]));
        return rows;
    }

    private static string Required(string value, string file, int line, string column)
        => value.Trim().Length > 0 ? value.Trim() : throw new CatalogException($"{file}:{line}: the {column} column is empty");

    private static IEnumerable<(int Line, List<string> Fields)> Records(string text, string file, string[] header, int minFields)
    {
        var records = Parse(text, file);
        if (records.Count == 0) throw new CatalogException($"{file}: the file is empty; expected the header {string.Join(',', header)}");
        var first = records[0].Fields.Select(f => f.Trim().ToLowerInvariant()).ToList();
        if (!first.SequenceEqual(header))
            throw new CatalogException($"{file}:1: expected the header {string.Join(',', header)}, got {string.Join(',', records[0].Fields)}");
        foreach (var (line, fields) in records.Skip(1))
        {
            if (fields.Count == 1 && fields[0].Trim().Length == 0) continue; // blank line
            if (fields.Count < minFields || fields.Count > header.Length)
                throw new CatalogException($"{file}:{line}: expected {header.Length} columns ({string.Join(',', header)}), got {fields.Count}");
            yield return (line, fields);
        }
    }

    private static List<(int Line, List<string> Fields)> Parse(string text, string file)
    {
        var records = new List<(int, List<string>)>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1;
        bool quoted = false, any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else { if (c == '\n') line++; field.Append(c); }
                continue;
            }
            switch (c)
            {
                case '"' when field.Length == 0: quoted = true; any = true; break;
                case ',': fields.Add(field.ToString()); field.Clear(); any = true; break;
                case '\r': break;
                case '\n':
                    fields.Add(field.ToString());
                    records.Add((recordLine, fields));
                    fields = new List<string>();
                    field.Clear();
                    any = false;
                    line++;
                    recordLine = line;
                    break;
                default: field.Append(c); any = true; break;
            }
        }
        if (quoted) throw new CatalogException($"{file}:{recordLine}: a quoted field is not closed");
        if (any || field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            records.Add((recordLine, fields));
        }
        return records;
    }
}
