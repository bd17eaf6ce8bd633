using System.Runtime.InteropServices;
using GraphQL;
using GraphQL.Types;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;
using Pattoo.Edge.Storage.Encoding;

namespace Pattoo.Edge.Api.GraphQL;

public sealed record ApplianceInfo(string Name, string Version, DateTimeOffset StartedAt, long DatabaseBytes, long SampleCount, int Series, long SamplesWritten);

public sealed class ApplianceType : ObjectGraphType<ApplianceInfo>
{
    public ApplianceType()
    {
        Name = "Appliance";
        Description = "This box: its name, software version, uptime and storage.";
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<StringGraphType>>("version").Resolve(c => c.Source.Version);
        Field<NonNullGraphType<StringGraphType>>("startedAt").Resolve(c => Ids.Time(c.Source.StartedAt.ToUnixTimeMilliseconds()));
        Field<NonNullGraphType<LongGraphType>>("uptimeSeconds").Resolve(c => (long)(DateTimeOffset.UtcNow - c.Source.StartedAt).TotalSeconds);
        Field<NonNullGraphType<LongGraphType>>("databaseBytes").Resolve(c => c.Source.DatabaseBytes);
        Field<NonNullGraphType<LongGraphType>>("sampleCount").Resolve(c => c.Source.SampleCount);
        Field<NonNullGraphType<IntGraphType>>("seriesCount").Resolve(c => c.Source.Series);
        Field<NonNullGraphType<LongGraphType>>("samplesWritten").Description("Samples committed since start").Resolve(c => c.Source.SamplesWritten);
    }
}

public sealed class PollerTargetType : ObjectGraphType<TargetState>
{
    public PollerTargetType()
    {
        Name = "PollerTarget";
        Description = "One polled thing (the Linux host, an SNMP agent, a Modbus unit ...) and how it is doing.";
        Field<NonNullGraphType<StringGraphType>>("program").Description("pattoo agent program: linux, snmp, modbus, bacnet, opcua").Resolve(c => c.Source.Program);
        Field<NonNullGraphType<StringGraphType>>("name").Description("The target's name (agent_polled_target)").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<FloatGraphType>>("intervalSeconds").Resolve(c => c.Source.Interval.TotalSeconds);
        Field<NonNullGraphType<BooleanGraphType>>("ok").Description("The last poll succeeded").Resolve(c => !c.Source.Failing && c.Source.LastSuccess is not null);
        Field<StringGraphType>("lastSuccess").Resolve(c => c.Source.LastSuccess is { } t ? Ids.Time(t.ToUnixTimeMilliseconds()) : null);
        Field<StringGraphType>("lastError").Resolve(c => c.Source.LastError);
        Field<StringGraphType>("lastErrorAt").Resolve(c => c.Source.LastErrorAt is { } t ? Ids.Time(t.ToUnixTimeMilliseconds()) : null);
        Field<NonNullGraphType<FloatGraphType>>("roundTripMs").Resolve(c => Math.Round(c.Source.RoundTrip.TotalMilliseconds, 3));
        Field<NonNullGraphType<IntGraphType>>("datapoints").Description("Values the last successful poll produced").Resolve(c => c.Source.Datapoints);
        Field<NonNullGraphType<LongGraphType>>("samplesToday").Description("Values stored since local midnight").Resolve(c => c.Source.SamplesToday);
        Field<NonNullGraphType<LongGraphType>>("polls").Resolve(c => c.Source.Polls);
        Field<NonNullGraphType<LongGraphType>>("failures").Resolve(c => c.Source.Failures);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<DiagnosticType>>>>("diagnostics")
            .Description("The poller's own figures since it started: reconnects, timeouts, dropped datagrams ... (link.* and socket.* are shared with the other targets on that link or socket)")
            .Resolve(c => c.Source.Diagnostics);
    }
}

public sealed class DiagnosticType : ObjectGraphType<KeyValuePair<string, long>>
{
    public DiagnosticType()
    {
        Name = "Diagnostic";
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Key);
        Field<NonNullGraphType<LongGraphType>>("value").Resolve(c => c.Source.Value);
    }
}

public sealed record LabelRow(string Key, string Value);

public sealed class LabelType : ObjectGraphType<LabelRow>
{
    public LabelType()
    {
        Name = "Label";
        Field<NonNullGraphType<StringGraphType>>("key").Resolve(c => c.Source.Key);
        Field<NonNullGraphType<StringGraphType>>("value").Resolve(c => c.Source.Value);
    }
}

/// <summary>A datapoint described the way people look for it: program, target, key, labels.</summary>
public sealed record SeriesRow(DatapointRow Datapoint, AgentRow? Agent, string Key, IReadOnlyList<LabelRow> Labels);

public sealed class SeriesType : ObjectGraphType<SeriesRow>
{
    private static PairXlateRow? Translation(IResolveFieldContext<SeriesRow> c)
    {
        var language = (c.GetArgument<string?>("language") ?? "en").Trim().ToLowerInvariant();
        var group = c.Source.Agent?.IdxPairXlateGroup ?? 1;
        var catalog = ((ApiUserContext)c.UserContext!).Catalog;
        // pattoo's translations are keyed by the pattoo_key pair, "{program}_{key}"; a bare key is accepted too.
        return (c.Source.Agent is { } agent ? catalog.Translation(group, language, $"{agent.AgentProgram}_{c.Source.Key}") : null)
            ?? catalog.Translation(group, language, c.Source.Key);
    }

    public SeriesType()
    {
        Name = "Series";
        Description = "A datapoint with its agent, key and labels flattened, for browsing and search.";
        Field<NonNullGraphType<StringGraphType>>("idxDatapoint").Resolve(c => Ids.Text(c.Source.Datapoint.IdxDatapoint));
        Field<NonNullGraphType<StringGraphType>>("key").Resolve(c => c.Source.Key);
        Field<NonNullGraphType<StringGraphType>>("checksum").Description("pattoo's datapoint checksum: the series' identity here and on a central pattoo server").Resolve(c => c.Source.Datapoint.Checksum);
        Field<NonNullGraphType<StringGraphType>>("agentProgram").Resolve(c => c.Source.Agent?.AgentProgram ?? "");
        Field<NonNullGraphType<StringGraphType>>("agentPolledTarget").Resolve(c => c.Source.Agent?.AgentPolledTarget ?? "");
        Field<NonNullGraphType<IntGraphType>>("dataType").Resolve(c => (int)c.Source.Datapoint.DataType);
        Field<NonNullGraphType<BooleanGraphType>>("counter").Description("Charted as a per-second rate").Resolve(c => c.Source.Datapoint.DataType.IsCounter());
        Field<NonNullGraphType<LongGraphType>>("lastTimestamp").Resolve(c => c.Source.Datapoint.LastTimestamp);
        Field<NonNullGraphType<LongGraphType>>("pollingInterval").Description("Milliseconds").Resolve(c => c.Source.Datapoint.PollingInterval);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<LabelType>>>>("labels").Resolve(c => c.Source.Labels);
        WriteFields.AddWritableField(this, row => row.Datapoint);
        Field<StringGraphType>("unit").Description("The `units` label when the poller knows one, else the units of the key's translation (pattoo's pair_xlate) in `language`")
            .Argument<StringGraphType>("language", "A language code such as \"en\"; default en")
            .Resolve(c => c.Source.Labels.FirstOrDefault(l => l.Key == "units")?.Value
                ?? (Translation(c) is { Units.Length: > 0 } x ? x.Units : null));
        Field<StringGraphType>("name").Description("The key's translation (pattoo's pair_xlate, in the agent's translation group) in `language`, or null")
            .Argument<StringGraphType>("language", "A language code such as \"en\"; default en")
            .Resolve(c => Translation(c) is { Translation.Length: > 0 } x ? x.Translation : null);
        Field<FloatGraphType>("lastValue").Description("The latest value: a gauge's last sample, a counter's last per-second rate; null for strings and when nothing is stored")
            .Resolve(c => ((ApiUserContext)c.UserContext!).Latest(c.Source.Datapoint.IdxDatapoint)?.Value);
        Field<StringGraphType>("lastText").Description("The latest text of a string series")
            .Resolve(c => ((ApiUserContext)c.UserContext!).Latest(c.Source.Datapoint.IdxDatapoint)?.Text);
    }
}

public sealed class ForwarderType : ObjectGraphType<ForwarderStatus>
{
    public ForwarderType()
    {
        Name = "Forwarder";
        Description = "A destination samples are forwarded to, with a durable cursor over the store";
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<StringGraphType>>("kind").Description("remote_write").Resolve(c => c.Source.Kind);
        Field<NonNullGraphType<BooleanGraphType>>("connected").Description("The destination acknowledged the last request").Resolve(c => c.Source.Connected);
        Field<NonNullGraphType<LongGraphType>>("backlogSamples").Description("Samples stored and not yet acknowledged (estimated from the polling intervals)").Resolve(c => c.Source.BacklogSamples);
        Field<LongGraphType>("oldestUnsentAge").Description("Milliseconds since the oldest unsent sample; null when nothing waits")
            .Resolve(c => c.Source.OldestUnsentAge is { } age ? (long)age.TotalMilliseconds : null);
        Field<StringGraphType>("lastError").Description("What the last failure said; null after a success").Resolve(c => c.Source.LastError);
        Field<NonNullGraphType<FloatGraphType>>("samplesPerSecond").Description("Acknowledged samples a second over the last minute").Resolve(c => c.Source.SamplesPerSecond);
        Field<NonNullGraphType<LongGraphType>>("samplesSent").Description("Acknowledged samples since the start").Resolve(c => c.Source.SamplesSent);
    }
}

public readonly record struct PointRow(long Timestamp, double Value, double Min, double Max, int Count);

public sealed class PointType : ObjectGraphType<PointRow>
{
    public PointType()
    {
        Name = "Point";
        Field<NonNullGraphType<LongGraphType>>("timestamp").Description("Unix milliseconds (start of the bucket when downsampled)").Resolve(c => c.Source.Timestamp);
        Field<NonNullGraphType<FloatGraphType>>("value").Description("The aggregate asked for").Resolve(c => c.Source.Value);
        Field<NonNullGraphType<FloatGraphType>>("min").Resolve(c => c.Source.Min);
        Field<NonNullGraphType<FloatGraphType>>("max").Resolve(c => c.Source.Max);
        Field<NonNullGraphType<IntGraphType>>("count").Description("Samples in the bucket").Resolve(c => c.Source.Count);
    }
}

public sealed record TimeseriesResult(SeriesRow Series, long From, long To, string Aggregate, long BucketMs, IReadOnlyList<PointRow> Points, IReadOnlyList<(long, string)> Texts);

public sealed class TimeseriesType : ObjectGraphType<TimeseriesResult>
{
    public TimeseriesType()
    {
        Name = "Timeseries";
        Description = "Points of one datapoint over a range, downsampled on the box; counters as per-second rates.";
        Field<NonNullGraphType<SeriesType>>("series").Resolve(c => c.Source.Series);
        Field<NonNullGraphType<LongGraphType>>("from").Resolve(c => c.Source.From);
        Field<NonNullGraphType<LongGraphType>>("to").Resolve(c => c.Source.To);
        Field<NonNullGraphType<StringGraphType>>("aggregate").Resolve(c => c.Source.Aggregate);
        Field<NonNullGraphType<LongGraphType>>("bucketMs").Description("0 when the points are raw samples").Resolve(c => c.Source.BucketMs);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<PointType>>>>("points").Resolve(c => c.Source.Points);
        // Columns cost a fraction of objects: 1,440 points as objects are 2,880 resolved fields,
        // as columns two lists of scalars (a 24 h chart in a third of the time).
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<LongGraphType>>>>("timestamps").Description("The points' timestamps as one list (with `values`: the cheapest way to fetch many points)")
            .Resolve(c => Column(c.Source.Points, p => p.Timestamp));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FloatGraphType>>>>("values").Description("The points' values (the aggregate asked for) as one list, in the order of `timestamps`")
            .Resolve(c => Column(c.Source.Points, p => p.Value));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<TextPointType>>>>("texts").Description("Changes of a string datapoint").Resolve(c => c.Source.Texts);
    }

    /// <summary>
    /// A column as an array: graphql-dotnet hands a list of scalars it can take whole to the JSON
    /// writer as one value, which ScalarListConverter writes without boxing an array of longs or
    /// doubles (a lazy sequence was enumerated and boxed number by number).
    /// </summary>
    private static T[] Column<T>(IReadOnlyList<PointRow> points, Func<PointRow, T> select)
    {
        var column = new T[points.Count];
        for (int i = 0; i < column.Length; i++) column[i] = select(points[i]);
        return column;
    }
}

public sealed class TextPointType : ObjectGraphType<(long Timestamp, string Value)>
{
    public TextPointType()
    {
        Name = "TextPoint";
        Field<NonNullGraphType<LongGraphType>>("timestamp").Resolve(c => c.Source.Timestamp);
        Field<NonNullGraphType<StringGraphType>>("value").Resolve(c => c.Source.Value);
    }
}

/// <summary>Downsampling into fixed buckets (pure, so tests can pin it).</summary>
public static class Downsampler
{
    /// <summary>Ranges up to this long are charted from the raw samples, exactly; longer ones from rollups.</summary>
    public const long RawRangeMs = 3 * 86_400_000L;

    /// <summary>The coarsest rollup level that still gives every bucket of the request at least one rollup bucket; 0 = read raw.</summary>
    public static long RollupLevelFor(long from, long to, int maxPoints)
    {
        if (to - from <= RawRangeMs) return 0;
        long bucketMs = Math.Max(1, (to - from + maxPoints) / maxPoints);
        long level = 0;
        foreach (long l in TimeSeriesStore.RollupLevels) if (l <= bucketMs) level = Math.Max(level, l);
        return level;
    }

    /// <summary>
    /// Rollup buckets into at most <paramref name="maxPoints"/> buckets of the request, each
    /// taking the rollup buckets that start in it: min, max and count exact, avg = sum / count.
    /// </summary>
    public static List<PointRow> FromRollups(List<RollupBucket> rollups, long from, long to, int maxPoints, string aggregate, out long bucketMs)
    {
        bucketMs = Math.Max(1, (to - from + maxPoints) / maxPoints);
        var result = new List<PointRow>();
        int at = 0;
        while (at < rollups.Count)
        {
            long k = Math.Max(0, (rollups[at].Start - from) / bucketMs);
            long end = from + (k + 1) * bucketMs;
            double min = double.MaxValue, max = double.MinValue, sum = 0, last = 0;
            long n = 0;
            while (at < rollups.Count && rollups[at].Start < end)
            {
                var b = rollups[at++];
                min = Math.Min(min, b.Min);
                max = Math.Max(max, b.Max);
                sum += b.Sum;
                n += b.Count;
                last = b.Last;
            }
            double value = aggregate switch { "min" => min, "max" => max, "last" => last, _ => Average(sum, n) };
            result.Add(new PointRow(from + k * bucketMs, value, min, max, (int)Math.Min(int.MaxValue, n)));
        }
        return result;
    }

    private static readonly double[] Pow10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// sum / n to 12 significant digits: a chart cannot show more, and a value such as
    /// 50.28333333333333 costs several times a short decimal to write (the serializer's
    /// shortest-round-trip search), 1,440 of them a request.
    /// </summary>
    public static double Average(double sum, long n)
    {
        double v = sum / n;
        double a = Math.Abs(v);
        if (a < 1e-4 || a >= 1e12 || !double.IsFinite(v)) return v;
        int digits = 1; // before the point
        while (digits < 12 && a >= Pow10[digits]) digits++;
        int decimals = 12 - digits;
        if (a < 1) decimals += a < 0.001 ? 4 : a < 0.01 ? 3 : a < 0.1 ? 2 : 1;
        return Math.Round(v * Pow10[decimals]) / Pow10[decimals];
    }

    public static List<PointRow> Bucket(SeriesPoints points, long from, long to, int maxPoints, string aggregate, out long bucketMs)
    {
        var result = new List<PointRow>(Math.Min(points.Count, maxPoints + 1));
        bucketMs = 0;
        if (points.Count == 0) return result;
        if (points.Count <= maxPoints)
        {
            for (int i = 0; i < points.Count; i++) result.Add(new PointRow(points.Timestamps[i], points.Values[i], points.Values[i], points.Values[i], 1));
            return result;
        }
        bucketMs = Math.Max(1, (to - from + maxPoints) / maxPoints); // ceil((to - from + 1) / maxPoints): [from, to] is inclusive
        var ts = CollectionsMarshal.AsSpan(points.Timestamps);
        var values = CollectionsMarshal.AsSpan(points.Values)[..ts.Length];
        int kind = aggregate switch { "min" => 1, "max" => 2, "last" => 3, _ => 0 };
        int at = 0;
        while (at < ts.Length)
        {
            long bucket = from + (ts[at] - from) / bucketMs * bucketMs;
            long bucketEnd = bucket + bucketMs;
            double sum = 0, min = double.MaxValue, max = double.MinValue, last = 0;
            int n = 0;
            for (; at < ts.Length && ts[at] < bucketEnd; at++)
            {
                double v = values[at];
                sum += v; n++; last = v;
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
            double value = kind switch { 1 => min, 2 => max, 3 => last, _ => Average(sum, n) };
            result.Add(new PointRow(bucket, value, min, max, n));
        }
        return result;
    }
}
