using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Api.Ingest;

/// <summary>
/// A body (or query) that cannot be imported. <see cref="Line"/> is the 1-based line of the
/// body the problem is on, or 0 for a problem with the query parameters.
/// </summary>
public sealed class PrometheusTextException(int line, string problem)
    : Exception(line > 0 ? $"line {line}: {problem}" : problem)
{
    public int Line { get; } = line;
    public string Problem { get; } = problem;
}

/// <summary>The metric types of a <c># TYPE</c> line.</summary>
public enum PrometheusMetricType { Untyped, Counter, Gauge, Summary, Histogram }

/// <summary>What a sample is within its metric family.</summary>
public enum PrometheusSampleRole
{
    /// <summary>The value of a counter, gauge or untyped metric.</summary>
    Value,
    /// <summary>A histogram's <c>_bucket</c> (has an <c>le</c> label).</summary>
    Bucket,
    /// <summary>A summary's quantile (has a <c>quantile</c> label).</summary>
    Quantile,
    /// <summary>A histogram's or summary's <c>_sum</c>.</summary>
    Sum,
    /// <summary>A histogram's or summary's <c>_count</c>.</summary>
    Count,
}

/// <summary>
/// Reads the Prometheus text exposition format (version 0.0.4) from UTF-8 bytes, one sample
/// at a time: <c># HELP</c> and <c># TYPE</c> lines, other comments, blank lines, LF or CRLF,
/// <c>name{label="value",...} value [timestamp]</c> with the escapes <c>\\</c>, <c>\"</c> and
/// <c>\n</c> in label values. Pure: no I/O, no clock. Names and label strings are interned per
/// reader, so repeated names and values cost no allocation. Any problem throws
/// <see cref="PrometheusTextException"/> naming the line.
/// </summary>
public ref struct PrometheusTextReader
{
    /// <summary>Longest line accepted, in bytes (without its line break).</summary>
    public const int MaxLineBytes = 16 * 1024;
    /// <summary>Most labels one sample may carry.</summary>
    public const int MaxLabels = 64;
    /// <summary>Longest metric or label name.</summary>
    public const int MaxNameLength = 256;
    /// <summary>Longest label value, in characters: pattoo's limit for metadata.</summary>
    public const int MaxLabelValueLength = PattooPayload.MaxPairLength;
    private const int MaxInterned = 100_000;

    private readonly ReadOnlySpan<byte> _text;
    private int _next;
    private readonly Dictionary<string, (PrometheusMetricType Type, int Line)> _types;
    private readonly Dictionary<string, (PrometheusMetricType Type, int Line)>.AlternateLookup<ReadOnlySpan<char>> _typesBySpan;
    private readonly Dictionary<string, int> _sampleNames;
    private readonly Dictionary<string, string> _strings;
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _stringsBySpan;
    private readonly List<KeyValuePair<string, string>> _labels;
    private byte[] _bytes;
    private char[] _chars;
    private readonly RawSeriesCache? _known;
    private readonly Dictionary<byte[], PrometheusSeriesEntry> _entries;
    private readonly Dictionary<byte[], PrometheusSeriesEntry>.AlternateLookup<ReadOnlySpan<byte>> _entriesBySpan;
    private byte[]? _entryKey;
    private readonly Dictionary<byte[], (string Name, string Family, PrometheusMetricType Type, PrometheusSampleRole Role)> _names;
    private readonly Dictionary<byte[], (string Name, string Family, PrometheusMetricType Type, PrometheusSampleRole Role)>.AlternateLookup<ReadOnlySpan<byte>> _namesByBytes;
    private int _rawStart, _rawLength, _lineStart;

    /// <param name="utf8">the text</param>
    /// <param name="known">
    /// Series whose <c>name{labels}</c> bytes were read and validated before: a line that repeats
    /// them byte for byte is not parsed label by label again (<see cref="KnownSeries"/>).
    /// </param>
    public PrometheusTextReader(ReadOnlySpan<byte> utf8, RawSeriesCache? known = null)
    {
        _known = known;
        _names = new(RawSeriesCache.BytesComparer.Instance);
        _entries = new(RawSeriesCache.BytesComparer.Instance);
        _entriesBySpan = _entries.GetAlternateLookup<ReadOnlySpan<byte>>();
        Entry = null;
        _namesByBytes = _names.GetAlternateLookup<ReadOnlySpan<byte>>();
        _text = utf8.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? utf8[3..] : utf8; // a byte order mark from an editor
        _types = new(StringComparer.Ordinal);
        _typesBySpan = _types.GetAlternateLookup<ReadOnlySpan<char>>();
        _sampleNames = new(StringComparer.Ordinal);
        _strings = new(StringComparer.Ordinal);
        _stringsBySpan = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
        _labels = new();
        _bytes = new byte[256];
        _chars = new char[256];
        Name = Family = "";
    }

    /// <summary>The 1-based line of the current sample.</summary>
    public int Line { get; private set; }
    /// <summary>The sample's metric name, e.g. <c>http_request_duration_seconds_bucket</c>.</summary>
    public string Name { get; private set; }
    /// <summary>The family it belongs to (the <c># TYPE</c> name), e.g. <c>http_request_duration_seconds</c>; its own name when untyped.</summary>
    public string Family { get; private set; }
    public PrometheusMetricType Type { get; private set; }
    public PrometheusSampleRole Role { get; private set; }
    /// <summary>The labels as written (order kept, empty values kept); valid until the next <see cref="Read"/>.</summary>
    public readonly IReadOnlyList<KeyValuePair<string, string>> Labels => _labels;
    /// <summary>The value; NaN and infinities as written.</summary>
    public double Value { get; private set; }
    /// <summary>The trailing timestamp (ms since 1970) when the line has one.</summary>
    public long? TimestampMs { get; private set; }
    /// <summary>
    /// The series of the sample when its <c>name{labels}</c> bytes are in the cache given to the
    /// constructor; <see cref="Labels"/> is then empty (not read).
    /// </summary>
    public SeriesKey? KnownSeries { get; private set; }
    /// <summary>The sample's series in this body: shared by every line of the same name{labels} (set after a successful <see cref="Read"/>).</summary>
    public PrometheusSeriesEntry? Entry { get; private set; }
    /// <summary>The sample's <c>name{labels}</c> as written; valid until the next <see cref="Read"/>.</summary>
    public readonly ReadOnlySpan<byte> RawSeries => _text.Slice(_rawStart, _rawLength);
    /// <summary>What besides the raw bytes decides a series: the sample's role and its family's type.</summary>
    public readonly byte RawSeriesTag => (byte)((int)Role << 4 | (int)Type);

    /// <summary>Moves to the next sample; false at the end of the text.</summary>
    /// <exception cref="PrometheusTextException">the text is malformed at <see cref="Line"/>.</exception>
    public bool Read()
    {
        while (_next < _text.Length)
        {
            var rest = _text[_next..];
            int newline = rest.IndexOf((byte)'\n');
            var line = newline < 0 ? rest : rest[..newline];
            _lineStart = _next;
            _next += newline < 0 ? rest.Length : newline + 1;
            Line++;
            if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
            if (line.Length > MaxLineBytes) throw Error($"the line is longer than {MaxLineBytes} bytes");
            if (!Utf8.IsValid(line)) throw Error("the line is not valid UTF-8");
            int i = SkipBlanks(line, 0);
            if (i == line.Length) continue;
            if (line[i] == '#')
            {
                Comment(line, i + 1);
                continue;
            }
            Sample(line, i);
            return true;
        }
        return false;
    }

    private readonly PrometheusTextException Error(string problem) => new(Line, problem);

    private void Comment(ReadOnlySpan<byte> line, int i)
    {
        i = SkipBlanks(line, i);
        int start = i;
        i = TokenEnd(line, i);
        var word = line[start..i];
        bool help = word.SequenceEqual("HELP"u8);
        if (!help && !word.SequenceEqual("TYPE"u8)) return; // any other comment
        string what = help ? "HELP" : "TYPE";
        i = SkipBlanks(line, i);
        start = i;
        i = TokenEnd(line, i);
        var nameBytes = line[start..i];
        if (nameBytes.IsEmpty) throw Error($"# {what} needs a metric name");
        if (!IsMetricName(nameBytes)) throw Error($"# {what}: \"{Show(nameBytes)}\" is not a valid metric name");
        string name = Intern(nameBytes);
        if (help)
        {
            // The docstring may escape only backslash and line feed.
            for (int j = i; j < line.Length; j++)
            {
                if (line[j] != '\\') continue;
                if (j + 1 < line.Length && line[j + 1] is (byte)'\\' or (byte)'n') { j++; continue; }
                throw Error($"# HELP {name}: invalid escape \"\\{CharAt(line, j + 1)}\"; only \\\\ and \\n are allowed");
            }
            return;
        }
        i = SkipBlanks(line, i);
        start = i;
        i = TokenEnd(line, i);
        var typeBytes = line[start..i];
        if (typeBytes.IsEmpty) throw Error($"# TYPE {name} needs a type: counter, gauge, histogram, summary or untyped");
        PrometheusMetricType type;
        if (Ascii.EqualsIgnoreCase(typeBytes, "counter"u8)) type = PrometheusMetricType.Counter;
        else if (Ascii.EqualsIgnoreCase(typeBytes, "gauge"u8)) type = PrometheusMetricType.Gauge;
        else if (Ascii.EqualsIgnoreCase(typeBytes, "histogram"u8)) type = PrometheusMetricType.Histogram;
        else if (Ascii.EqualsIgnoreCase(typeBytes, "summary"u8)) type = PrometheusMetricType.Summary;
        else if (Ascii.EqualsIgnoreCase(typeBytes, "untyped"u8)) type = PrometheusMetricType.Untyped;
        else throw Error($"# TYPE {name}: unknown type \"{Show(typeBytes)}\"; expected counter, gauge, histogram, summary or untyped");
        i = SkipBlanks(line, i);
        if (i < line.Length) throw Error($"unexpected text \"{Show(line[i..])}\" after # TYPE {name} {Show(typeBytes)}");
        if (_types.TryGetValue(name, out var first)) throw Error($"second # TYPE line for {name} (the first is line {first.Line})");
        // A family's type must come before its samples, as Prometheus requires.
        string[] members = type switch
        {
            PrometheusMetricType.Histogram => [name, name + "_bucket", name + "_sum", name + "_count"],
            PrometheusMetricType.Summary => [name, name + "_sum", name + "_count"],
            PrometheusMetricType.Counter => [name, name + "_total"],
            _ => [name],
        };
        foreach (var member in members)
        {
            if (_sampleNames.TryGetValue(member, out int seen)) throw Error($"# TYPE {name} comes after its sample {member} on line {seen}");
        }
        _types[name] = (type, Line);
    }

    private void Sample(ReadOnlySpan<byte> line, int i)
    {
        bool hasLabels;
        if (Entry is { Series: { } previous } entry && _rawLength > 0 && line.Length - i > _rawLength
            && IsBlank(line[i + _rawLength]) && line.Slice(i, _rawLength).SequenceEqual(RawSeries))
        {
            // The same name{labels} as the line before, as an export of history writes a series'
            // points one after another: taken without scanning, hashing or a lookup.
            _rawStart = _lineStart + i;
            (Name, Family, Type, Role) = (entry.Name, entry.Family, entry.Type, entry.Role);
            KnownSeries = previous;
            _labels.Clear();
            hasLabels = line[i + _rawLength - 1] == (byte)'}';
            i += _rawLength;
        }
        else i = NameAndLabels(line, i, out hasLabels);
        i = SkipBlanks(line, i);
        int start = i;
        i = TokenEnd(line, i);
        if (i == start) throw Error(hasLabels ? "expected a value after the labels" : "expected a value after the metric name");
        if (!TryParseFloat(line[start..i], out double value)) throw Error($"\"{Show(line[start..i])}\" is not a number");
        Value = value;

        i = SkipBlanks(line, i);
        TimestampMs = null;
        if (i < line.Length)
        {
            start = i;
            i = TokenEnd(line, i);
            if (!NumberText.TryParseMilliseconds(line[start..i], out long t))
                throw Error($"the timestamp \"{Show(line[start..i])}\" is not an integer (milliseconds since 1970)");
            TimestampMs = t;
            i = SkipBlanks(line, i);
            if (i < line.Length) throw Error($"unexpected text \"{Show(line[i..])}\" after the timestamp");
        }

        if (KnownSeries is not null) return; // its labels were checked when it was first read
        if (Role == PrometheusSampleRole.Bucket) RequireNumericLabel("le", "histogram bucket");
        else if (Role == PrometheusSampleRole.Quantile) RequireNumericLabel("quantile", "summary quantile");
    }

    /// <summary>Reads a sample's name and labels from <paramref name="i"/>; returns where they end.</summary>
    private int NameAndLabels(ReadOnlySpan<byte> line, int i, out bool hasLabels)
    {
        int start = i;
        while (i < line.Length && IsNameByte(line[i], first: i == start, metric: true)) i++;
        if (i == start) throw Error($"expected a metric name, got \"{Show(line[start..])}\"");
        if (i - start > MaxNameLength) throw Error($"the metric name is longer than {MaxNameLength} characters");
        var nameBytes = line[start..i];
        if (i < line.Length && !IsBlank(line[i]) && line[i] != '{')
            throw Error($"unexpected character \"{CharAt(line, i)}\" after the metric name \"{Show(nameBytes)}\"");
        int nameStart = start;
        _labels.Clear();
        i = SkipBlanks(line, i);
        hasLabels = i < line.Length && line[i] == '{';
        int rawEnd = hasLabels ? LabelsEnd(line, i + 1) : i;
        KnownSeries = null;
        _rawLength = 0;
        if (rawEnd > 0)
        {
            _rawStart = _lineStart + nameStart;
            _rawLength = rawEnd - nameStart;
            // The same name{labels} earlier in this body: one lookup instead of resolving the
            // name, looking the series up and checking it again.
            if (_entriesBySpan.TryGetValue(RawSeries, out var seen) && seen.Series is not null)
            {
                Entry = seen;
                (Name, Family, Type, Role) = (seen.Name, seen.Family, seen.Type, seen.Role);
                KnownSeries = seen.Series;
                hasLabels = false;
                i = rawEnd;
            }
        }
        if (KnownSeries is null) NewEntry(line, nameBytes, ref i, ref hasLabels, rawEnd);
        return i;
    }

    /// <summary>
    /// A name{labels} not yet seen in this body: the name resolved (memoised by its bytes),
    /// the series looked up in the cache of earlier bodies, else the labels read; the entry
    /// that later lines of the same bytes find.
    /// </summary>
    private void NewEntry(ReadOnlySpan<byte> line, ReadOnlySpan<byte> nameBytes, ref int i, ref bool hasLabels, int rawEnd)
    {
        if (_namesByBytes.TryGetValue(nameBytes, out var known))
        {
            (Name, Family, Type, Role) = known;
        }
        else
        {
            string name = Intern(nameBytes);
            ResolveFamily(name);
            _sampleNames.TryAdd(name, Line);
            // Safe to remember: a # TYPE line that would change this name's family now fails (it comes after its sample).
            if (_names.Count < MaxInterned) _names[nameBytes.ToArray()] = (Name, Family, Type, Role);
        }
        if (rawEnd > 0 && _known is not null && _known.TryGet(RawSeries, RawSeriesTag, out var series))
        {
            KnownSeries = series;
            hasLabels = false;
            i = rawEnd;
        }
        if (hasLabels) i = ReadLabels(line, i + 1);
        Entry = new PrometheusSeriesEntry(Name, Family, Type, Role) { Series = KnownSeries };
        if (rawEnd > 0 && _entries.Count < MaxInterned)
        {
            _entryKey = RawSeries.ToArray();
            _entries[_entryKey] = Entry;
        }
        else _entryKey = null;
    }

    /// <summary>
    /// The current sample's bytes spell a series another entry of this body already holds (its
    /// labels in another order, say): they share that entry, so repeats are caught across spellings.
    /// </summary>
    public void ShareEntry(PrometheusSeriesEntry other)
    {
        if (_entryKey is not null) _entries[_entryKey] = other;
        Entry = other;
    }

    /// <summary>
    /// Where the labels that start after '{' at <paramref name="i"/> end (the index after '}'),
    /// skipping quoted values; -1 when they are not closed (<see cref="ReadLabels"/> says why).
    /// </summary>
    private static int LabelsEnd(ReadOnlySpan<byte> line, int i)
    {
        bool quoted = false;
        for (; i < line.Length; i++)
        {
            byte b = line[i];
            if (quoted)
            {
                if (b == '\\') i++;
                else if (b == '"') quoted = false;
            }
            else if (b == '"') quoted = true;
            else if (b == '}') return i + 1;
        }
        return -1;
    }

    /// <summary>Reads the labels after '{'; returns the index after '}'.</summary>
    private int ReadLabels(ReadOnlySpan<byte> line, int i)
    {
        while (true)
        {
            i = SkipBlanks(line, i);
            if (i >= line.Length) throw Error("the labels are not closed with \"}\"");
            if (line[i] == '}') return i + 1;
            int start = i;
            while (i < line.Length && IsNameByte(line[i], first: i == start, metric: false)) i++;
            if (i == start) throw Error($"expected a label name or \"}}\", got \"{CharAt(line, i)}\"");
            if (i - start > MaxNameLength) throw Error($"a label name is longer than {MaxNameLength} characters");
            string label = Intern(line[start..i]);
            i = SkipBlanks(line, i);
            if (i >= line.Length || line[i] != '=') throw Error($"expected \"=\" after the label name \"{label}\"");
            i = SkipBlanks(line, i + 1);
            if (i >= line.Length || line[i] != '"') throw Error($"expected a quoted value for the label \"{label}\"");
            string value = LabelValue(line, ref i, label);
            if (label == "__name__") throw Error("the label name \"__name__\" is reserved");
            foreach (var l in _labels)
            {
                if (l.Key == label) throw Error($"label \"{label}\" appears twice");
            }
            if (_labels.Count == MaxLabels) throw Error($"more than {MaxLabels} labels");
            _labels.Add(new(label, value));
            i = SkipBlanks(line, i);
            if (i < line.Length && line[i] == ',') { i++; continue; }
            if (i < line.Length && line[i] == '}') return i + 1;
            if (i >= line.Length) throw Error("the labels are not closed with \"}\"");
            throw Error($"expected \",\" or \"}}\" after the value of the label \"{label}\", got \"{CharAt(line, i)}\"");
        }
    }

    /// <summary>Reads a quoted value at <paramref name="i"/> (the opening quote), leaving i after the closing one.</summary>
    private string LabelValue(ReadOnlySpan<byte> line, ref int i, string label)
    {
        int j = i + 1, n = 0;
        if (_bytes.Length < line.Length) _bytes = new byte[Math.Max(line.Length, _bytes.Length * 2)];
        while (true)
        {
            int k = line[j..].IndexOfAny((byte)'"', (byte)'\\');
            if (k < 0) throw Error($"the value of the label \"{label}\" is not closed with a quote");
            line.Slice(j, k).CopyTo(_bytes.AsSpan(n));
            n += k;
            j += k;
            if (line[j] == '"') break;
            if (j + 1 >= line.Length) throw Error($"the value of the label \"{label}\" is not closed with a quote");
            _bytes[n++] = line[j + 1] switch
            {
                (byte)'\\' => (byte)'\\',
                (byte)'"' => (byte)'"',
                (byte)'n' => (byte)'\n',
                _ => throw Error($"the value of the label \"{label}\" has an invalid escape \"\\{CharAt(line, j + 1)}\"; only \\\\, \\\" and \\n are allowed"),
            };
            j += 2;
        }
        i = j + 1;
        // Escapes replace ASCII with ASCII, so the bytes stay valid UTF-8 (the line was checked).
        var utf8 = _bytes.AsSpan(0, n);
        if (_chars.Length < n) _chars = new char[Math.Max(n, _chars.Length * 2)];
        int chars = Encoding.UTF8.GetChars(utf8, _chars);
        if (chars > MaxLabelValueLength) throw Error($"the value of the label \"{label}\" is longer than {MaxLabelValueLength} characters");
        return Intern(_chars.AsSpan(0, chars));
    }

    private void ResolveFamily(string name)
    {
        Name = name;
        if (_types.TryGetValue(name, out var own))
        {
            Family = name;
            Type = own.Type;
            Role = own.Type switch
            {
                PrometheusMetricType.Summary => PrometheusSampleRole.Quantile,
                PrometheusMetricType.Histogram => throw Error($"{name} is a histogram: its samples are {name}_bucket, {name}_sum and {name}_count"),
                _ => PrometheusSampleRole.Value,
            };
            return;
        }
        if (Member(name, "_bucket", PrometheusSampleRole.Bucket, PrometheusMetricType.Histogram, PrometheusMetricType.Histogram)) return;
        if (Member(name, "_sum", PrometheusSampleRole.Sum, PrometheusMetricType.Histogram, PrometheusMetricType.Summary)) return;
        if (Member(name, "_count", PrometheusSampleRole.Count, PrometheusMetricType.Histogram, PrometheusMetricType.Summary)) return;
        // OpenMetrics names a counter family without the _total its sample carries.
        if (Member(name, "_total", PrometheusSampleRole.Value, PrometheusMetricType.Counter, PrometheusMetricType.Counter)) return;
        Family = name;
        Type = PrometheusMetricType.Untyped;
        Role = PrometheusSampleRole.Value;
    }

    private bool Member(string name, string suffix, PrometheusSampleRole role, PrometheusMetricType type1, PrometheusMetricType type2)
    {
        if (name.Length <= suffix.Length || !name.EndsWith(suffix, StringComparison.Ordinal)) return false;
        if (!_typesBySpan.TryGetValue(name.AsSpan(0, name.Length - suffix.Length), out string? family, out var t)) return false;
        if (t.Type != type1 && t.Type != type2) return false;
        Family = family;
        Type = t.Type;
        Role = role;
        return true;
    }

    private readonly void RequireNumericLabel(string label, string what)
    {
        foreach (var l in _labels)
        {
            if (l.Key != label) continue;
            if (TryParseFloat(l.Value, out double v) && !double.IsNaN(v)) return;
            throw Error($"the \"{label}\" label of {Name} must be a number, got \"{Shorten(l.Value)}\"");
        }
        throw Error($"{Name} is a {what} and needs a \"{label}\" label");
    }

    private string Intern(ReadOnlySpan<byte> ascii)
    {
        if (_chars.Length < ascii.Length) _chars = new char[Math.Max(ascii.Length, _chars.Length * 2)];
        Ascii.ToUtf16(ascii, _chars, out int n);
        return Intern(_chars.AsSpan(0, n));
    }

    private string Intern(ReadOnlySpan<char> chars)
    {
        if (_stringsBySpan.TryGetValue(chars, out string? s)) return s;
        s = new string(chars);
        if (_strings.Count < MaxInterned) _strings[s] = s;
        return s;
    }

    /// <summary>
    /// Parses a sample value as Prometheus (Go's ParseFloat) writes them: decimal and exponent
    /// notation, <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c> (case-insensitive, also <c>Infinity</c>).
    /// </summary>
    public static bool TryParseFloat(ReadOnlySpan<byte> s, out double value)
    {
        if (NumberText.TryParsePlainDecimal(s, out value)) return true;
        var unsigned = s.Length > 0 && s[0] is (byte)'+' or (byte)'-' ? s[1..] : s;
        if (Ascii.EqualsIgnoreCase(unsigned, "inf"u8) || Ascii.EqualsIgnoreCase(unsigned, "infinity"u8))
        {
            value = s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        if (Ascii.EqualsIgnoreCase(s, "nan"u8))
        {
            value = double.NaN;
            return true;
        }
        value = 0;
        if (unsigned.IsEmpty || unsigned.IndexOfAnyExcept("0123456789.eE+-"u8) >= 0) return false;
        return double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value);
    }

    /// <inheritdoc cref="TryParseFloat(ReadOnlySpan{byte}, out double)"/>
    public static bool TryParseFloat(string s, out double value)
    {
        Span<byte> ascii = stackalloc byte[64];
        if (s.Length > ascii.Length || Ascii.FromUtf16(s, ascii, out int n) != System.Buffers.OperationStatus.Done)
        {
            value = 0;
            return false;
        }
        return TryParseFloat(ascii[..n], out value);
    }

    /// <summary>A metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.</summary>
    public static bool IsMetricName(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty || s.Length > MaxNameLength) return false;
        for (int i = 0; i < s.Length; i++)
        {
            if (!IsNameByte(s[i], first: i == 0, metric: true)) return false;
        }
        return true;
    }

    /// <summary>A label name: [a-zA-Z_][a-zA-Z0-9_]*.</summary>
    public static bool IsLabelName(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty || s.Length > MaxNameLength) return false;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] > 127 || !IsNameByte((byte)s[i], first: i == 0, metric: false)) return false;
        }
        return true;
    }

    private static bool IsNameByte(byte b, bool first, bool metric)
        => char.IsAsciiLetter((char)b) || b == '_' || (metric && b == ':') || (!first && char.IsAsciiDigit((char)b));

    private static bool IsBlank(byte b) => b is (byte)' ' or (byte)'\t';

    private static int SkipBlanks(ReadOnlySpan<byte> line, int i)
    {
        while (i < line.Length && IsBlank(line[i])) i++;
        return i;
    }

    private static int TokenEnd(ReadOnlySpan<byte> line, int i)
    {
        while (i < line.Length && !IsBlank(line[i])) i++;
        return i;
    }

    /// <summary>The character at <paramref name="i"/> for a message ("end of line" past the end).</summary>
    private static string CharAt(ReadOnlySpan<byte> line, int i)
    {
        if (i >= line.Length) return "end of line";
        System.Text.Rune.DecodeFromUtf8(line[i..], out var rune, out _);
        return rune.ToString();
    }

    private static string Show(ReadOnlySpan<byte> s) => Shorten(Encoding.UTF8.GetString(s[..Math.Min(s.Length, 200)]));

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
