using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using GraphQL;
using GraphQL.Types;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>
/// The query root: pattoo's fields (node, agent/allAgent, datapoint/allDatapoints, ...)
/// with pattoo's names, plus appliance, pollers, series and timeseries for the dashboard.
/// </summary>
public sealed class QueryType : ObjectGraphType
{
    public const int DefaultMaxPoints = 1000, MaxMaxPoints = 20_000;

    public QueryType()
    {
        Name = "Query";
        Field<NodeInterface>("node").Argument<NonNullGraphType<IdGraphType>>("id").Resolve(c => Node(Ctx(c), c.GetArgument<string>("id")!));

        Single<AgentType, AgentRow>("agent", Specs.Agent, (ctx, key) => Find(ctx.Catalog.Agent, key));
        Connections.Add<object?, AgentType, AgentRow>(this, "allAgent", Specs.Agent, c => Ctx(c).Catalog.Agents);
        Single<DataPointType, DatapointRow>("datapoint", Specs.Datapoint, (ctx, key) => Find(ctx.Catalog.Datapoint, key));
        Connections.Add<object?, DataPointType, DatapointRow>(this, "allDatapoints", Specs.Datapoint, c => Ctx(c).Catalog.Datapoints);
        Single<PairType, PairRow>("pair", Specs.Pair, (ctx, key) => Find(ctx.Catalog.Pair, key));
        Connections.Add<object?, PairType, PairRow>(this, "allPairs", Specs.Pair, c => Ctx(c).Catalog.Pairs);
        Single<GlueType, GlueRow>("glue", Specs.Glue, (ctx, key) => GlueByKey(ctx.Catalog, key));
        Connections.Add<object?, GlueType, GlueRow>(this, "allGlues", Specs.Glue, c => Ctx(c).Catalog.Glue);
        Single<DataGraphType, DataRow>("data", Specs.Data, (ctx, key) => DataByKey(ctx, key));
        Connections.Add<object?, DataGraphType, DataRow>(this, "allData", Specs.Data, AllData);
        Single<LanguageType, LanguageRow>("language", Specs.Language, (ctx, key) => Find(ctx.Catalog.Language, key));
        Connections.Add<object?, LanguageType, LanguageRow>(this, "allLanguage", Specs.Language, c => Ctx(c).Catalog.Languages);
        Single<PairXlateGroupType, PairXlateGroupRow>("pairXlateGroup", Specs.PairXlateGroup, (ctx, key) => Find(ctx.Catalog.PairXlateGroup, key));
        Connections.Add<object?, PairXlateGroupType, PairXlateGroupRow>(this, "allPairXlateGroup", Specs.PairXlateGroup, c => Ctx(c).Catalog.PairXlateGroups);
        Single<PairXlateType, PairXlateRow>("pairXlate", Specs.PairXlate, (ctx, key) => Find(ctx.Catalog.PairXlate, key));
        Connections.Add<object?, PairXlateType, PairXlateRow>(this, "allPairXlate", Specs.PairXlate, c => Ctx(c).Catalog.PairXlates);
        Single<AgentXlateType, AgentXlateRow>("agentXlate", Specs.AgentXlate, (ctx, key) => Find(ctx.Catalog.AgentXlate, key));
        Connections.Add<object?, AgentXlateType, AgentXlateRow>(this, "allAgentXlate", Specs.AgentXlate, c => Ctx(c).Catalog.AgentXlates);
        Single<ChartType, ChartRow>("chart", Specs.Chart, (ctx, key) => Find(ctx.Catalog.Chart, key));
        Connections.Add<object?, ChartType, ChartRow>(this, "allChart", Specs.Chart, c => Ctx(c).Catalog.Charts);
        Single<ChartDataPointType, ChartDatapointRow>("chartDatapoint", Specs.ChartDatapoint, (ctx, key) => Find(ctx.Catalog.ChartDatapoint, key));
        Connections.Add<object?, ChartDataPointType, ChartDatapointRow>(this, "allChartDatapoint", Specs.ChartDatapoint, c => Ctx(c).Catalog.ChartDatapoints);
        Single<FavoriteType, FavoriteRow>("favorite", Specs.Favorite, (ctx, key) => Find(ctx.Catalog.Favorite, key));
        Connections.Add<object?, FavoriteType, FavoriteRow>(this, "allFavorite", Specs.Favorite, c => Ctx(c).Catalog.Favorites);

        Field<NonNullGraphType<ApplianceType>>("appliance").Description("This box").Resolve(c => Appliance(Ctx(c)));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<PollerTargetType>>>>("pollers")
            .Description("Every poll target and its state (last success, last error, round trip, datapoints)")
            .Argument<StringGraphType>("program").Argument<BooleanGraphType>("failing")
            .Resolve(c => Ctx(c).Appliance.Targets
                .Where(t => c.GetArgument<string?>("program") is not { } p || t.Program == p)
                .Where(t => c.GetArgument<bool?>("failing") is not { } f || t.Failing == f).ToList());
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ForwarderType>>>>("forwarders")
            .Description("Where samples leave the box ([forward] in the config) and how far each is behind")
            .Resolve(c => Ctx(c).Appliance.Forwarders);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<SeriesType>>>>("series")
            .Description("Datapoints with agent, key and labels flattened. search matches any of them (case-insensitive substring); the other arguments match exactly.")
            .Argument<StringGraphType>("search").Argument<StringGraphType>("agentProgram").Argument<StringGraphType>("agentPolledTarget")
            .Argument<StringGraphType>("key").Argument<StringGraphType>("idxDatapoint").Argument<IntGraphType>("first")
            .Resolve(Series);
        Field<TimeseriesType>("timeseries")
            .Description("Points of a datapoint in [from, to] (Unix ms; default the last 24 h), downsampled to at most maxPoints buckets by aggregate (avg, min, max, last). Counters are per-second rates.")
            .Argument<NonNullGraphType<StringGraphType>>("idxDatapoint").Argument<LongGraphType>("from").Argument<LongGraphType>("to")
            .Argument<IntGraphType>("maxPoints").Argument<StringGraphType>("aggregate")
            .Resolve(Timeseries);
        EventsField.Add(this);
        WriteFields.AddQuery(this);
    }

    private static ApiUserContext Ctx(IResolveFieldContext c) => (ApiUserContext)c.UserContext;

    private void Single<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TNode, TRow>(string name, NodeSpec<TRow> spec, Func<ApiUserContext, string, TRow?> find) where TNode : IGraphType where TRow : class
    {
        Field<TNode>(name).Argument<NonNullGraphType<IdGraphType>>("id").Resolve(c =>
        {
            string id = c.GetArgument<string>("id")!;
            if (!Ids.TryParseGlobal(id, out var type, out var key) || type != spec.TypeName)
                throw new ExecutionError($"{name}: \"{id}\" is not an id of type {spec.TypeName} (base64 of \"{spec.TypeName}:<idx>\")");
            return find(Ctx(c), key);
        });
    }

    private static TRow? Find<TRow>(Func<long, TRow?> byIdx, string key) where TRow : class
        => long.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? byIdx(n) : null;

    private static object? Node(ApiUserContext ctx, string id)
    {
        if (!Ids.TryParseGlobal(id, out var type, out var key)) throw new ExecutionError($"node: \"{id}\" is not a global id");
        var c = ctx.Catalog;
        return type switch
        {
            "Agent" => Find(c.Agent, key),
            "DataPoint" => Find(c.Datapoint, key),
            "Pair" => Find(c.Pair, key),
            "Glue" => GlueByKey(c, key),
            "Data" => DataByKey(ctx, key),
            "Language" => Find(c.Language, key),
            "PairXlateGroup" => Find(c.PairXlateGroup, key),
            "PairXlate" => Find(c.PairXlate, key),
            "AgentXlate" => Find(c.AgentXlate, key),
            "Chart" => Find(c.Chart, key),
            "ChartDataPoint" => Find(c.ChartDatapoint, key),
            "Favorite" => Find(c.Favorite, key),
            _ => throw new ExecutionError($"node: unknown type \"{type}\" in id \"{id}\""),
        };
    }

    private static GlueRow? GlueByKey(CatalogSnapshot catalog, string key)
    {
        // pattoo's key is a Python tuple: "(idx_pair, idx_datapoint)".
        var parts = key.Trim('(', ')').Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long pair)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long datapoint)) return null;
        return catalog.GlueOf(datapoint).FirstOrDefault(g => g.IdxPair == pair);
    }

    private static DataRow? DataByKey(ApiUserContext ctx, string key)
    {
        // pattoo's key is a Python tuple: "(idx_datapoint, timestamp)".
        var parts = key.Trim('(', ')').Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !long.TryParse(parts[0], out long idx) || !long.TryParse(parts[1], out long ts)) return null;
        var points = ctx.Appliance.Store.ReadRaw(idx, ts, ts);
        return points.Count == 1 ? new DataRow(idx, ts, points.Values[0]) : null;
    }

    private static IEnumerable<DataRow> AllData(IResolveFieldContext<object?> c)
    {
        if (c.GetArgument<string?>("idxDatapoint") is not { } text)
            throw new ExecutionError("allData needs idxDatapoint: the box keeps millions of samples (for charts use timeseries)");
        long idx = Ids.ParseIdx(text, "idxDatapoint", "DataPoint");
        return DataPointType.DataRows(Ctx(c), idx);
    }

    private static ApplianceInfo Appliance(ApiUserContext ctx)
    {
        var a = ctx.Appliance;
        var stats = a.Store.Statistics;
        return new ApplianceInfo(a.Name, a.Version, a.StartedAt, a.Store.DatabaseBytes(), a.Store.CountSamples(), stats.Series, stats.SamplesWritten);
    }

    public static SeriesRow Describe(CatalogSnapshot catalog, DatapointRow d)
    {
        var (key, labels) = catalog.Describe(d);
        return new SeriesRow(d, catalog.Agent(d.IdxAgent), key, labels.Select(l => new LabelRow(l.Key, l.Value)).ToList());
    }

    private static object Series(IResolveFieldContext<object?> c)
    {
        var catalog = Ctx(c).Catalog;
        string? search = c.GetArgument<string?>("search")?.Trim();
        string? program = c.GetArgument<string?>("agentProgram");
        string? target = c.GetArgument<string?>("agentPolledTarget");
        string? key = c.GetArgument<string?>("key");
        string? idx = c.GetArgument<string?>("idxDatapoint");
        int first = c.GetArgument<int?>("first") ?? 10_000;
        var result = new List<SeriesRow>();
        IEnumerable<DatapointRow> candidates = catalog.Datapoints;
        if (idx is not null)
            candidates = long.TryParse(idx, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && catalog.Datapoint(n) is { } one ? [one] : [];
        foreach (var d in candidates)
        {
            // The agent's fields first: they cost no allocation, the key and labels do.
            var agent = catalog.Agent(d.IdxAgent);
            if (program is not null && agent?.AgentProgram != program) continue;
            if (target is not null && agent?.AgentPolledTarget != target) continue;
            var row = Describe(catalog, d);
            if (key is not null && row.Key != key) continue;
            if (!string.IsNullOrEmpty(search) && !Matches(row, search)) continue;
            result.Add(row);
            if (result.Count >= first) break;
        }
        return result;
    }

    private static bool Matches(SeriesRow row, string search)
    {
        // Every word must match somewhere: "eth0 bytes" finds network_receive_bytes{interface=eth0}.
        foreach (var word in search.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            bool hit = Has(row.Key) || Has(row.Agent?.AgentProgram) || Has(row.Agent?.AgentPolledTarget)
                || row.Labels.Any(l => Has(l.Key) || Has(l.Value));
            if (!hit) return false;

            bool Has(string? s) => s is not null && s.Contains(word, StringComparison.OrdinalIgnoreCase);
        }
        return true;
    }

    private static object? Timeseries(IResolveFieldContext<object?> c)
    {
        var ctx = Ctx(c);
        long idx = Ids.ParseIdx(c.GetArgument<string>("idxDatapoint"), "idxDatapoint", "DataPoint");
        var d = ctx.Catalog.Datapoint(idx);
        if (d is null) return null;
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long to = c.GetArgument<long?>("to") ?? now;
        long from = c.GetArgument<long?>("from") ?? to - 86_400_000;
        if (from > to) throw new ExecutionError($"timeseries: from ({from}) is after to ({to})");
        int maxPoints = c.GetArgument<int?>("maxPoints") ?? DefaultMaxPoints;
        if (maxPoints < 1 || maxPoints > MaxMaxPoints) throw new ExecutionError($"timeseries: maxPoints must be from 1 to {MaxMaxPoints}, got {maxPoints}");
        string aggregate = c.GetArgument<string?>("aggregate") ?? "avg";
        if (aggregate is not ("avg" or "min" or "max" or "last")) throw new ExecutionError($"timeseries: aggregate must be avg, min, max or last, got \"{aggregate}\"");
        var series = Describe(ctx.Catalog, d);
        if (d.DataType == Common.DataType.String)
            return new TimeseriesResult(series, from, to, aggregate, 0, [], ctx.Appliance.Store.ReadStrings(idx, from, to));
        // Long ranges come from the rollups: a year is ~105,000 five-minute buckets, not 3 million samples.
        long level = Downsampler.RollupLevelFor(from, to, maxPoints);
        if (level > 0 && ctx.Appliance.Store.ReadRollups(idx, from, to, level) is { } rollups)
        {
            var summary = Downsampler.FromRollups(rollups, from, to, maxPoints, aggregate, out long rollupBucket);
            return new TimeseriesResult(series, from, to, aggregate, rollupBucket, summary, []);
        }
        // A counter's first rate needs the sample before the range.
        long readFrom = d.DataType.IsCounter() ? from - Math.Max(d.PollingInterval * 2, 1000) : from;
        var values = ctx.Appliance.Store.ReadValues(idx, readFrom, to, SeriesPoints.Rent());
        try
        {
            if (readFrom != from) Trim(values, from);
            var points = Downsampler.Bucket(values, from, to, maxPoints, aggregate, out long bucket);
            return new TimeseriesResult(series, from, to, aggregate, bucket, points, []);
        }
        finally
        {
            SeriesPoints.Return(values); // Bucket copied what the answer needs
        }
    }

    private static void Trim(SeriesPoints p, long from)
    {
        int n = 0;
        while (n < p.Count && p.Timestamps[n] < from) n++;
        p.Timestamps.RemoveRange(0, n);
        p.Values.RemoveRange(0, n);
    }
}
