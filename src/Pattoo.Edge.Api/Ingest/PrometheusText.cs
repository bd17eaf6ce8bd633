using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Api.Ingest;

/// <summary>Where imported samples go: the query parameters of the import route.</summary>
public sealed record PrometheusImportOptions
{
    /// <summary>The appliance's name: the agent host of the samples, and their target without an instance label.</summary>
    public required string ApplianceName { get; init; }
    /// <summary>The agent program for samples without a <c>job</c> label (query <c>program</c>).</summary>
    public string Program { get; init; } = PrometheusText.DefaultProgram;
    /// <summary>The polled target for samples without an <c>instance</c> label (query <c>target</c>); null = the appliance.</summary>
    public string? Target { get; init; }
    /// <summary>The polling interval recorded with new series (query <c>interval</c>).</summary>
    public TimeSpan Interval { get; init; } = PrometheusText.DefaultInterval;
    /// <summary>Labels set on every sample, replacing labels of the same name (query <c>extra_label=name=value</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ExtraLabels { get; init; } = [];

    public const int MaxExtraLabels = 16;

    /// <summary>Reads the query parameters (names case-insensitive, each value separately).</summary>
    /// <exception cref="PrometheusTextException">an unknown or malformed parameter (Line 0).</exception>
    public static PrometheusImportOptions FromQuery(string applianceName, IEnumerable<KeyValuePair<string, string?>> query)
    {
        var o = new PrometheusImportOptions { ApplianceName = applianceName };
        bool program = false, target = false, interval = false;
        var extra = new List<KeyValuePair<string, string>>();
        foreach (var (name, raw) in query)
        {
            string value = raw ?? "";
            switch (name.ToLowerInvariant())
            {
                case "program":
                    Once(ref program, "program");
                    o = o with { Program = Text("program", value) };
                    break;
                case "target":
                    Once(ref target, "target");
                    o = o with { Target = Text("target", value) };
                    break;
                case "interval":
                    Once(ref interval, "interval");
                    if (!Duration.TryParse(value, out var span) || span < TimeSpan.FromSeconds(1) || span > TimeSpan.FromDays(1))
                        throw new PrometheusTextException(0, $"interval must be a duration from 1s to 1d such as \"15s\", got \"{Cut(value)}\"");
                    o = o with { Interval = span };
                    break;
                case "extra_label":
                    int eq = value.IndexOf('=', StringComparison.Ordinal);
                    if (eq < 0) throw new PrometheusTextException(0, $"extra_label must be name=value, got \"{Cut(value)}\"");
                    string label = value[..eq], labelValue = value[(eq + 1)..];
                    if (!PrometheusTextReader.IsLabelName(label) || label == "__name__")
                        throw new PrometheusTextException(0, $"extra_label: \"{Cut(label)}\" is not a valid label name");
                    if (labelValue.Length > PrometheusTextReader.MaxLabelValueLength)
                        throw new PrometheusTextException(0, $"extra_label {label}: the value is longer than {PrometheusTextReader.MaxLabelValueLength} characters");
                    if (extra.Any(e => e.Key == label)) throw new PrometheusTextException(0, $"extra_label {label} is given twice");
                    if (extra.Count == MaxExtraLabels) throw new PrometheusTextException(0, $"more than {MaxExtraLabels} extra_label parameters");
                    extra.Add(new(label, labelValue));
                    break;
                default:
                    throw new PrometheusTextException(0, $"unknown query parameter \"{Cut(name)}\"; expected program, target, interval or extra_label");
            }
        }
        return o with { ExtraLabels = extra };

        static void Once(ref bool seen, string name)
        {
            if (seen) throw new PrometheusTextException(0, $"query parameter {name} is given twice");
            seen = true;
        }

        static string Text(string name, string value)
        {
            if (string.IsNullOrWhiteSpace(value)) throw new PrometheusTextException(0, $"{name} must not be empty");
            if (value.Length > PrometheusTextReader.MaxLabelValueLength) throw new PrometheusTextException(0, $"{name} is longer than {PrometheusTextReader.MaxLabelValueLength} characters");
            return value;
        }

        static string Cut(string s) => s.Length <= 40 ? s : s[..37] + "...";
    }
}

/// <summary>
/// Maps Prometheus text onto pattoo's model and into a <see cref="SampleBatch"/> (README.md,
/// "Prometheus text import"): key = metric name; labels = metadata; agent program = the
/// <c>job</c> label, else the query's program; polled target = the <c>instance</c> label, else
/// the query's target, else the appliance; agent host and id as the in-process pollers'.
/// Counters, histogram buckets and counts are 64-bit counters; gauges, untyped, quantiles and
/// sums are floats. The whole body is validated before anything is handed on.
/// </summary>
public static class PrometheusText
{
    public const string DefaultProgram = "prometheus-import";
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(60);
    /// <summary>Most samples one request may carry (split larger files).</summary>
    public const int MaxSamples = 100_000;
    /// <summary>Timestamps may run ahead of the box's clock by this much (a later one would block the series until then).</summary>
    public const long MaxFutureMs = 10 * 60_000;
    /// <summary>Earlier timestamps are refused: they are almost always seconds sent as milliseconds.</summary>
    public const long MinTimestampMs = 946_684_800_000; // 2000-01-01

    public sealed record Result(int Stored, int Skipped);

    /// <summary>
    /// Parses <paramref name="utf8"/> into the empty <paramref name="batch"/>. Samples without
    /// a timestamp get <paramref name="receivedAtMs"/>. NaN and infinite values are skipped
    /// (counted in <see cref="Result.Skipped"/>), as the pollers skip them.
    /// </summary>
    /// <exception cref="PrometheusTextException">the text is malformed; the batch is left empty.</exception>
    public static Result Import(ReadOnlySpan<byte> utf8, PrometheusImportOptions options, long receivedAtMs, SampleBatch batch)
    {
        if (batch.Count != 0) throw new ArgumentException("the batch must be empty", nameof(batch));
        try
        {
            return Read(utf8, options, receivedAtMs, batch);
        }
        catch (PrometheusTextException)
        {
            batch.Clear();
            throw;
        }
    }

    private static Result Read(ReadOnlySpan<byte> utf8, PrometheusImportOptions options, long receivedAtMs, SampleBatch batch)
    {
        var known = RawSeriesCache.For(options);
        var reader = new PrometheusTextReader(utf8, known);
        var labels = new List<KeyValuePair<string, string>>(16);
        // SeriesKeys are shared (cached by identity), so a series is one object: compare references.
        var bySeries = new Dictionary<SeriesKey, PrometheusSeriesEntry>(ReferenceEqualityComparer.Instance);
        var key = new KeyText();
        int stored = 0, skipped = 0, samples = 0;
        while (reader.Read())
        {
            int line = reader.Line;
            if (++samples > MaxSamples) throw new PrometheusTextException(line, $"more than {MaxSamples} samples in one request; split the file");
            var type = reader.Role switch
            {
                PrometheusSampleRole.Bucket or PrometheusSampleRole.Count => DataType.Counter64,
                PrometheusSampleRole.Value when reader.Type == PrometheusMetricType.Counter => DataType.Counter64,
                _ => DataType.Float,
            };
            long timestamp = receivedAtMs;
            if (reader.TimestampMs is { } t)
            {
                if (t < MinTimestampMs) throw new PrometheusTextException(line, $"the timestamp {t} is before the year 2000: Prometheus timestamps are milliseconds since 1970, not seconds");
                if (t > receivedAtMs + MaxFutureMs) throw new PrometheusTextException(line, $"the timestamp {t} is more than {MaxFutureMs / 60_000} minutes ahead of the box's clock ({receivedAtMs})");
                timestamp = t;
            }
            double value = reader.Value;
            if (!double.IsFinite(value))
            {
                skipped++; // NaN is "no reading"; the store keeps no infinities
                continue;
            }
            if (type.IsCounter() && value < 0)
                throw new PrometheusTextException(line, $"{reader.Name} is a counter and cannot be negative, got {value.ToString(CultureInfo.InvariantCulture)}");

            var entry = reader.Entry!;
            if (!entry.Registered)
            {
                entry.Series ??= SeriesOf(ref reader, options, key, labels, type, known);
                if (bySeries.TryGetValue(entry.Series, out var same))
                {
                    reader.ShareEntry(same);
                    entry = same;
                }
                else
                {
                    entry.Registered = true;
                    bySeries[entry.Series] = entry;
                }
            }
            if (timestamp <= entry.LastTimestamp)
                throw new PrometheusTextException(line, $"{reader.Name} repeats the series of line {entry.LastLine} without a later timestamp");
            entry.LastLine = line;
            entry.LastTimestamp = timestamp;
            batch.Add(entry.Series!, timestamp, value);
            stored++;
        }
        return new Result(stored, skipped);
    }

    /// <summary>The series of a sample read label by label (its first line in the body, and not in the cache).</summary>
    private static SeriesKey SeriesOf(ref PrometheusTextReader reader, PrometheusImportOptions options, KeyText key, List<KeyValuePair<string, string>> labels, DataType type, RawSeriesCache known)
    {
        if (reader.KnownSeries is { } cached) return cached;
        // Labels: extra labels replace those of the same name; empty values mean "no label";
        // job and instance say who collected the sample and from where.
        labels.Clear();
        string? program = null, target = null;
        foreach (var l in reader.Labels)
        {
            if (!IsExtra(options, l.Key)) Place(l, labels, ref program, ref target);
        }
        foreach (var l in options.ExtraLabels) Place(l, labels, ref program, ref target);
        program ??= options.Program;
        target ??= options.Target ?? options.ApplianceName;
        labels.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var series = Series(key, options, program, target, reader.Name, type, labels);
        if (!reader.RawSeries.IsEmpty) known.Add(reader.RawSeries, reader.RawSeriesTag, series);
        return series;
    }

    private static bool IsExtra(PrometheusImportOptions options, string label)
    {
        foreach (var e in options.ExtraLabels)
        {
            if (e.Key == label) return true;
        }
        return false;
    }

    private static void Place(KeyValuePair<string, string> label, List<KeyValuePair<string, string>> labels, ref string? program, ref string? target)
    {
        if (label.Value.Length == 0) return;
        if (label.Key == "job") program = label.Value;
        else if (label.Key == "instance") target = label.Value;
        else labels.Add(label);
    }

    /// <summary>
    /// The series of a sample, built once: a SeriesKey computes SHA-256 per label and a SHA-512,
    /// so repeated imports of the same series look it up by its text instead.
    /// </summary>
    private static SeriesKey Series(KeyText key, PrometheusImportOptions o, string program, string target, string name, DataType type, List<KeyValuePair<string, string>> labels)
    {
        key.Clear();
        key.Add(o.ApplianceName);
        key.Add(program);
        key.Add(target);
        key.Add(((long)o.Interval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        key.Add(type.Name());
        key.Add(name);
        foreach (var l in labels)
        {
            key.Add(l.Key);
            key.Add(l.Value);
        }
        var text = key.Span;
        if (KnownBySpan.TryGetValue(text, out var series)) return series;
        series = new SeriesKey(AgentIdentity.ForPoller(o.ApplianceName, program, target), name, type, o.Interval, labels);
        if (Known.Count >= MaxKnownSeries) Known.Clear(); // bounded: a cache, not a registry
        Known[new string(text)] = series;
        return series;
    }

    private const int MaxKnownSeries = 200_000;
    private static readonly ConcurrentDictionary<string, SeriesKey> Known = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, SeriesKey>.AlternateLookup<ReadOnlySpan<char>> KnownBySpan = Known.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>A series' identity as text: each part length-prefixed, so no part can run into the next.</summary>
    private sealed class KeyText
    {
        private char[] _buffer = new char[512];
        private int _length;

        public ReadOnlySpan<char> Span => _buffer.AsSpan(0, _length);

        public void Clear() => _length = 0;

        public void Add(string part)
        {
            int need = _length + part.Length + 2;
            if (need > _buffer.Length) Array.Resize(ref _buffer, Math.Max(need, _buffer.Length * 2));
            _buffer[_length++] = (char)(part.Length >> 16);
            _buffer[_length++] = (char)(part.Length & 0xFFFF);
            part.CopyTo(_buffer.AsSpan(_length));
            _length += part.Length;
        }
    }
}

/// <summary>
/// Series already read, by the bytes of their <c>name{labels}</c> as written and what their
/// family's type makes of them, one cache per set of import options (program, target, interval,
/// extra labels decide the series too). A repeated line costs a hash of its bytes instead of
/// decoding, interning and sorting its labels and building its identity: on 10,000 series
/// that was a third of the import's CPU. Bytes equal to ones that were validated need no
/// validation. Bounded: cleared when full, like the identity cache behind it.
/// </summary>
public sealed class RawSeriesCache
{
    private const int MaxSeries = 200_000, MaxOptionSets = 64;
    private static readonly ConcurrentDictionary<string, RawSeriesCache> ByOptions = new(StringComparer.Ordinal);
    [ThreadStatic] private static byte[]? t_key;

    private readonly ConcurrentDictionary<byte[], SeriesKey> _series = new(BytesComparer.Instance);
    private readonly ConcurrentDictionary<byte[], SeriesKey>.AlternateLookup<ReadOnlySpan<byte>> _bySpan;
    private int _count;

    private RawSeriesCache() => _bySpan = _series.GetAlternateLookup<ReadOnlySpan<byte>>();

    /// <summary>The cache for these options.</summary>
    public static RawSeriesCache For(PrometheusImportOptions o)
    {
        var id = new StringBuilder().Append(o.ApplianceName).Append('\0').Append(o.Program).Append('\0').Append(o.Target).Append('\0')
            .Append((long)o.Interval.TotalMilliseconds);
        foreach (var (k, v) in o.ExtraLabels) id.Append('\0').Append(k).Append('=').Append(v);
        string key = id.ToString();
        if (ByOptions.TryGetValue(key, out var cache)) return cache;
        if (ByOptions.Count >= MaxOptionSets) ByOptions.Clear();
        return ByOptions.GetOrAdd(key, _ => new RawSeriesCache());
    }

    public bool TryGet(ReadOnlySpan<byte> raw, byte tag, out SeriesKey series)
        => _bySpan.TryGetValue(Key(raw, tag), out series!);

    public void Add(ReadOnlySpan<byte> raw, byte tag, SeriesKey series)
    {
        if (Interlocked.Increment(ref _count) > MaxSeries)
        {
            _series.Clear();
            Volatile.Write(ref _count, 1);
        }
        _series[Key(raw, tag).ToArray()] = series;
    }

    /// <summary>tag, then the bytes, in a per-thread buffer.</summary>
    private static ReadOnlySpan<byte> Key(ReadOnlySpan<byte> raw, byte tag)
    {
        var buffer = t_key;
        if (buffer is null || buffer.Length < raw.Length + 1) t_key = buffer = new byte[Math.Max(256, raw.Length + 1)];
        buffer[0] = tag;
        raw.CopyTo(buffer.AsSpan(1));
        return buffer.AsSpan(0, raw.Length + 1);
    }

    internal sealed class BytesComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly BytesComparer Instance = new();
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] bytes) => GetHashCode((ReadOnlySpan<byte>)bytes);
        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);
        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var h = new HashCode();
            h.AddBytes(alternate);
            return h.ToHashCode();
        }
        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}

/// <summary>
/// One series as it appears in one body: the name's family, the series once known, and the
/// line and time of its latest sample (a repeat must be later).
/// </summary>
public sealed class PrometheusSeriesEntry(string name, string family, PrometheusMetricType type, PrometheusSampleRole role)
{
    public string Name { get; } = name;
    public string Family { get; } = family;
    public PrometheusMetricType Type { get; } = type;
    public PrometheusSampleRole Role { get; } = role;
    public SeriesKey? Series { get; set; }
    /// <summary>Entered in the body's by-series table (an entry of another spelling may own the series).</summary>
    public bool Registered { get; set; }
    public int LastLine { get; set; }
    public long LastTimestamp { get; set; } = long.MinValue;
}
