using GraphQL;
using GraphQL.Types;
using Pattoo.Edge.Storage;
using static Pattoo.Edge.Api.GraphQL.Ids;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>A stored sample as pattoo's Data type shows it.</summary>
public sealed record DataRow(long IdxDatapoint, long Timestamp, double Value, string? Text = null);

/// <summary>
/// pattoo's tables as GraphQL sees them, with pattoo's names: idx columns and flags are
/// strings ("1"), timestamps ISO 8601, as graphene-sqlalchemy exposed them.
/// </summary>
public static class Specs
{
    private static string B(bool b) => b ? "1" : "0";

    public static readonly NodeSpec<AgentRow> Agent = new("Agent", r => Text(r.IdxAgent),
        NodeSpec<AgentRow>.Str("idxAgent", r => Text(r.IdxAgent)),
        NodeSpec<AgentRow>.Str("agentId", r => r.AgentId),
        NodeSpec<AgentRow>.Str("agentPolledTarget", r => r.AgentPolledTarget),
        NodeSpec<AgentRow>.Str("agentProgram", r => r.AgentProgram),
        NodeSpec<AgentRow>.Str("idxPairXlateGroup", r => Text(r.IdxPairXlateGroup)),
        NodeSpec<AgentRow>.Str("enabled", r => B(r.Enabled)),
        NodeSpec<AgentRow>.Str("tsCreated", r => Time(r.TsCreated)),
        NodeSpec<AgentRow>.Str("tsModified", r => Time(r.TsModified)));

    public static readonly NodeSpec<DatapointRow> Datapoint = new("DataPoint", r => Text(r.IdxDatapoint),
        NodeSpec<DatapointRow>.Str("idxDatapoint", r => Text(r.IdxDatapoint)),
        NodeSpec<DatapointRow>.Str("idxAgent", r => Text(r.IdxAgent)),
        NodeSpec<DatapointRow>.Str("checksum", r => r.Checksum),
        // pattoo's columns are MySQL integers, which graphene-sqlalchemy exposes as strings.
        NodeSpec<DatapointRow>.Str("dataType", r => ((int)r.DataType).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        NodeSpec<DatapointRow>.Str("lastTimestamp", r => Text(r.LastTimestamp)),
        NodeSpec<DatapointRow>.Str("pollingInterval", r => Text(r.PollingInterval)),
        NodeSpec<DatapointRow>.Str("enabled", r => B(r.Enabled)),
        NodeSpec<DatapointRow>.Str("tsCreated", r => Time(r.TsCreated)),
        NodeSpec<DatapointRow>.Str("tsModified", r => Time(r.TsModified)));

    public static readonly NodeSpec<PairRow> Pair = new("Pair", r => Text(r.IdxPair),
        NodeSpec<PairRow>.Str("idxPair", r => Text(r.IdxPair)),
        NodeSpec<PairRow>.Str("key", r => r.Key),
        NodeSpec<PairRow>.Str("value", r => r.Value),
        NodeSpec<PairRow>.Str("tsCreated", r => Time(r.TsCreated)),
        NodeSpec<PairRow>.Str("tsModified", r => Time(r.TsCreated)));

    public static readonly NodeSpec<GlueRow> Glue = new("Glue", r => $"({r.IdxPair}, {r.IdxDatapoint})",
        NodeSpec<GlueRow>.Str("idxPair", r => Text(r.IdxPair)),
        NodeSpec<GlueRow>.Str("idxDatapoint", r => Text(r.IdxDatapoint)));

    public static readonly NodeSpec<DataRow> Data = new("Data", r => $"({r.IdxDatapoint}, {r.Timestamp})",
        NodeSpec<DataRow>.Str("idxDatapoint", r => Text(r.IdxDatapoint)),
        NodeSpec<DataRow>.Str("timestamp", r => Text(r.Timestamp)),
        // pattoo keeps no strings (data type 2); ours show their text, one row per change.
        NodeSpec<DataRow>.Str("value", r => r.Text ?? r.Value.ToString("F10", System.Globalization.CultureInfo.InvariantCulture)));

    public static readonly NodeSpec<LanguageRow> Language = new("Language", r => Text(r.IdxLanguage),
        NodeSpec<LanguageRow>.Str("idxLanguage", r => Text(r.IdxLanguage)),
        NodeSpec<LanguageRow>.Str("code", r => r.Code),
        NodeSpec<LanguageRow>.Str("name", r => r.Name),
        NodeSpec<LanguageRow>.Str("enabled", r => B(r.Enabled)),
        NodeSpec<LanguageRow>.Str("tsCreated", r => Time(r.TsCreated)),
        NodeSpec<LanguageRow>.Str("tsModified", r => Time(r.TsModified)));

    public static readonly NodeSpec<PairXlateGroupRow> PairXlateGroup = new("PairXlateGroup", r => Text(r.IdxPairXlateGroup),
        NodeSpec<PairXlateGroupRow>.Str("idxPairXlateGroup", r => Text(r.IdxPairXlateGroup)),
        NodeSpec<PairXlateGroupRow>.Str("name", r => r.Name),
        NodeSpec<PairXlateGroupRow>.Str("enabled", r => B(r.Enabled)),
        NodeSpec<PairXlateGroupRow>.Str("tsCreated", r => Time(r.TsCreated)),
        NodeSpec<PairXlateGroupRow>.Str("tsModified", r => Time(r.TsModified)));

    public static readonly NodeSpec<PairXlateRow> PairXlate = new("PairXlate", r => Text(r.IdxPairXlate),
        NodeSpec<PairXlateRow>.Str("idxPairXlate", r => Text(r.IdxPairXlate)),
        NodeSpec<PairXlateRow>.Str("idxPairXlateGroup", r => Text(r.IdxPairXlateGroup)),
        NodeSpec<PairXlateRow>.Str("idxLanguage", r => Text(r.IdxLanguage)),
        NodeSpec<PairXlateRow>.Str("key", r => r.Key),
        NodeSpec<PairXlateRow>.Str("translation", r => r.Translation),
        NodeSpec<PairXlateRow>.Str("units", r => r.Units),
        NodeSpec<PairXlateRow>.Str("enabled", r => B(r.Enabled)),
        NodeSpec<PairXlateRow>.Str("tsCreated", r => Time(r.TsCreated)),
        NodeSpec<PairXlateRow>.Str("tsModified", r => Time(r.TsModified)));

    public static readonly NodeSpec<AgentXlateRow> AgentXlate = new("AgentXlate", r => Text(r.IdxAgentXlate),
        NodeSpec<AgentXlateRow>.Str("idxAgentXlate", r => Text(r.IdxAgentXlate)),
        NodeSpec<AgentXlateRow>.Str("idxLanguage", r => Text(r.IdxLanguage)),
        NodeSpec<AgentXlateRow>.Str("agentProgram", r => r.AgentProgram),
        NodeSpec<AgentXlateRow>.Str("translation", r => r.Translation),
        NodeSpec<AgentXlateRow>.Str("enabled", r => B(r.Enabled)),
        NodeSpec<AgentXlateRow>.Str("tsCreated", r => Time(r.TsCreated)),
        NodeSpec<AgentXlateRow>.Str("tsModified", r => Time(r.TsModified)));

    public static readonly NodeSpec<ChartRow> Chart = new("Chart", r => Text(r.IdxChart),
        NodeSpec<ChartRow>.Str("idxChart", r => Text(r.IdxChart)),
        NodeSpec<ChartRow>.Str("name", r => r.Name),
        NodeSpec<ChartRow>.Str("checksum", r => r.Checksum),
        NodeSpec<ChartRow>.Str("enabled", r => B(r.Enabled)),
        NodeSpec<ChartRow>.Str("tsCreated", r => Time(r.TsCreated)),
        NodeSpec<ChartRow>.Str("tsModified", r => Time(r.TsModified)));

    public static readonly NodeSpec<ChartDatapointRow> ChartDatapoint = new("ChartDataPoint", r => Text(r.IdxChartDatapoint),
        NodeSpec<ChartDatapointRow>.Str("idxChartDatapoint", r => Text(r.IdxChartDatapoint)),
        NodeSpec<ChartDatapointRow>.Str("idxChart", r => Text(r.IdxChart)),
        NodeSpec<ChartDatapointRow>.Str("idxDatapoint", r => Text(r.IdxDatapoint)),
        NodeSpec<ChartDatapointRow>.Str("enabled", r => B(r.Enabled)),
        NodeSpec<ChartDatapointRow>.Str("tsCreated", r => Time(r.TsCreated)),
        NodeSpec<ChartDatapointRow>.Str("tsModified", r => Time(r.TsModified)));

    public static readonly NodeSpec<FavoriteRow> Favorite = new("Favorite", r => Text(r.IdxFavorite),
        NodeSpec<FavoriteRow>.Str("idxFavorite", r => Text(r.IdxFavorite)),
        NodeSpec<FavoriteRow>.Str("idxUser", r => Text(r.IdxUser)),
        NodeSpec<FavoriteRow>.Str("idxChart", r => Text(r.IdxChart)),
        NodeSpec<FavoriteRow>.Str("order", r => Text(r.Order)),
        NodeSpec<FavoriteRow>.Str("enabled", r => B(r.Enabled)),
        NodeSpec<FavoriteRow>.Str("tsCreated", r => Time(r.TsCreated)),
        NodeSpec<FavoriteRow>.Str("tsModified", r => Time(r.TsModified)));
}

public sealed class NodeInterface : InterfaceGraphType
{
    public NodeInterface()
    {
        Name = "Node";
        Description = "An object with an ID (Relay)";
        Field<NonNullGraphType<IdGraphType>>("id").Description("The ID of the object");
    }
}

/// <summary>Base of pattoo's node types: the Relay id and one field per column.</summary>
public abstract class NodeType<TRow> : ObjectGraphType<TRow> where TRow : class
{
    protected NodeType(NodeSpec<TRow> spec)
    {
        Name = spec.TypeName;
        Interface<NodeInterface>();
        IsTypeOf = o => o is TRow;
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => Global(spec.TypeName, spec.Key(c.Source)));
        foreach (var column in spec.Columns)
        {
            if (column.Kind == ColumnKind.Int) Field<IntGraphType>(column.Name).Resolve(c => column.Get(c.Source));
            else Field<StringGraphType>(column.Name).Resolve(c => column.Get(c.Source));
        }
    }

    protected static ApiUserContext Ctx(IResolveFieldContext c) => (ApiUserContext)c.UserContext;
}

public sealed class AgentType : NodeType<AgentRow>
{
    public AgentType() : base(Specs.Agent)
    {
        Field<PairXlateGroupType>("pairXlateGroup").Resolve(c => Ctx(c).Catalog.PairXlateGroup(c.Source.IdxPairXlateGroup));
        Connections.Add<AgentRow, DataPointType, DatapointRow>(this, "datapointAgent", Specs.Datapoint,
            c => Ctx(c).Catalog.DatapointsOfAgent(c.Source.IdxAgent));
    }
}

public sealed class DataPointType : NodeType<DatapointRow>
{
    public DataPointType() : base(Specs.Datapoint)
    {
        Field<AgentType>("agent").Resolve(c => Ctx(c).Catalog.Agent(c.Source.IdxAgent));
        Connections.Add<DatapointRow, GlueType, GlueRow>(this, "glueDatapoint", Specs.Glue, c => Ctx(c).Catalog.GlueOf(c.Source.IdxDatapoint));
        Connections.Add<DatapointRow, DataGraphType, DataRow>(this, "dataChecksum", Specs.Data, c => DataRows(Ctx(c), c.Source.IdxDatapoint));
        Connections.Add<DatapointRow, ChartDataPointType, ChartDatapointRow>(this, "chartDatapointDatapoint", Specs.ChartDatapoint,
            c => Ctx(c).Catalog.ChartDatapointsOfDatapoint(c.Source.IdxDatapoint));
        WriteFields.AddWritableField(this, row => row);
    }

    /// <summary>Stored samples of a datapoint as pattoo's Data rows (counters raw, as pattoo stores them).</summary>
    public static IEnumerable<DataRow> DataRows(ApiUserContext ctx, long idxDatapoint)
    {
        if (ctx.Catalog.Datapoint(idxDatapoint)?.DataType == Common.DataType.String)
        {
            foreach (var (ts, text) in ctx.Appliance.Store.ReadStrings(idxDatapoint, long.MinValue, long.MaxValue))
                yield return new DataRow(idxDatapoint, ts, 0, text);
            yield break;
        }
        var points = ctx.Appliance.Store.ReadRaw(idxDatapoint, long.MinValue, long.MaxValue);
        for (int i = 0; i < points.Count; i++) yield return new DataRow(idxDatapoint, points.Timestamps[i], points.Values[i]);
    }
}

public sealed class PairType : NodeType<PairRow>
{
    public PairType() : base(Specs.Pair)
    {
        Connections.Add<PairRow, GlueType, GlueRow>(this, "gluePair", Specs.Glue, c => Ctx(c).Catalog.GlueOfPair(c.Source.IdxPair));
    }
}

public sealed class GlueType : NodeType<GlueRow>
{
    public GlueType() : base(Specs.Glue)
    {
        Field<PairType>("pair").Resolve(c => Ctx(c).Catalog.Pair(c.Source.IdxPair));
        Field<DataPointType>("datapoint").Resolve(c => Ctx(c).Catalog.Datapoint(c.Source.IdxDatapoint));
    }
}

public sealed class DataGraphType : NodeType<DataRow>
{
    public DataGraphType() : base(Specs.Data)
    {
        Field<DataPointType>("datapoint").Resolve(c => Ctx(c).Catalog.Datapoint(c.Source.IdxDatapoint));
    }
}

public sealed class LanguageType : NodeType<LanguageRow>
{
    public LanguageType() : base(Specs.Language)
    {
        Connections.Add<LanguageRow, PairXlateType, PairXlateRow>(this, "pairXlateLanguage", Specs.PairXlate,
            c => Ctx(c).Catalog.PairXlatesOfLanguage(c.Source.IdxLanguage));
        Connections.Add<LanguageRow, AgentXlateType, AgentXlateRow>(this, "agentXlateLanguage", Specs.AgentXlate,
            c => Ctx(c).Catalog.AgentXlatesOfLanguage(c.Source.IdxLanguage));
    }
}

public sealed class PairXlateGroupType : NodeType<PairXlateGroupRow>
{
    public PairXlateGroupType() : base(Specs.PairXlateGroup)
    {
        Connections.Add<PairXlateGroupRow, PairXlateType, PairXlateRow>(this, "pairXlatePairXlateGroup", Specs.PairXlate,
            c => Ctx(c).Catalog.PairXlatesOfGroup(c.Source.IdxPairXlateGroup));
        Connections.Add<PairXlateGroupRow, AgentType, AgentRow>(this, "agentPairXlateGroup", Specs.Agent,
            c => Ctx(c).Catalog.AgentsOfGroup(c.Source.IdxPairXlateGroup));
    }
}

public sealed class PairXlateType : NodeType<PairXlateRow>
{
    public PairXlateType() : base(Specs.PairXlate)
    {
        // pattoo-web asks for `description`, the older name of `translation`.
        Field<StringGraphType>("description").Resolve(c => c.Source.Translation);
        Field<PairXlateGroupType>("pairXlateGroup").Resolve(c => Ctx(c).Catalog.PairXlateGroup(c.Source.IdxPairXlateGroup));
        Field<LanguageType>("language").Resolve(c => Ctx(c).Catalog.Language(c.Source.IdxLanguage));
    }
}

public sealed class AgentXlateType : NodeType<AgentXlateRow>
{
    public AgentXlateType() : base(Specs.AgentXlate)
    {
        Field<LanguageType>("language").Resolve(c => Ctx(c).Catalog.Language(c.Source.IdxLanguage));
    }
}

public sealed class ChartType : NodeType<ChartRow>
{
    public ChartType() : base(Specs.Chart)
    {
        Connections.Add<ChartRow, ChartDataPointType, ChartDatapointRow>(this, "chartDatapointChart", Specs.ChartDatapoint,
            c => Ctx(c).Catalog.ChartDatapointsOfChart(c.Source.IdxChart));
        Connections.Add<ChartRow, FavoriteType, FavoriteRow>(this, "favoriteChart", Specs.Favorite,
            c => Ctx(c).Catalog.FavoritesOfChart(c.Source.IdxChart));
    }
}

public sealed class ChartDataPointType : NodeType<ChartDatapointRow>
{
    public ChartDataPointType() : base(Specs.ChartDatapoint)
    {
        Field<DataPointType>("datapoint").Resolve(c => Ctx(c).Catalog.Datapoint(c.Source.IdxDatapoint));
        Field<ChartType>("chart").Resolve(c => Ctx(c).Catalog.Chart(c.Source.IdxChart));
    }
}

public sealed class FavoriteType : NodeType<FavoriteRow>
{
    public FavoriteType() : base(Specs.Favorite)
    {
        Field<ChartType>("chart").Resolve(c => Ctx(c).Catalog.Chart(c.Source.IdxChart));
    }
}
