using GraphQL;
using GraphQL.Types;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>pattoo's mutations for charts, chart datapoints and favourites (each takes one argument named Input), and write-back (<see cref="WriteFields"/>).</summary>
public sealed class MutationType : ObjectGraphType
{
    public MutationType()
    {
        Name = "Mutation";
        Field<ChartPayloadType>("createChart").Argument<NonNullGraphType<CreateChartInput>>("Input").Resolve(c => Run(c, (s, i) =>
            new ChartPayload(s.CreateChart(Str(i, "name") ?? throw new ExecutionError("createChart: Input.name is required"), Str(i, "checksum"), Flag(i, "enabled") ?? true))));
        Field<ChartPayloadType>("updateChart").Argument<NonNullGraphType<UpdateChartInput>>("Input").Resolve(c => Run(c, (s, i) =>
            new ChartPayload(s.UpdateChart(Idx(i, "idxChart", "Chart"), Str(i, "name"), Str(i, "checksum"), Flag(i, "enabled")))));
        Field<ChartDatapointPayloadType>("createChartDataPoint").Argument<NonNullGraphType<CreateChartDataPointInput>>("Input").Resolve(c => Run(c, (s, i) =>
            new ChartDatapointPayload(s.CreateChartDatapoint(Idx(i, "idxChart", "Chart"), Idx(i, "idxDatapoint", "DataPoint"), Flag(i, "enabled") ?? true))));
        Field<ChartDatapointPayloadType>("updateChartDataPoint").Argument<NonNullGraphType<UpdateChartDataPointInput>>("Input").Resolve(c => Run(c, (s, i) =>
            new ChartDatapointPayload(s.UpdateChartDatapoint(Idx(i, "idxChartDatapoint", "ChartDataPoint"), OptIdx(i, "idxChart", "Chart"), OptIdx(i, "idxDatapoint", "DataPoint"), Flag(i, "enabled")))));
        Field<FavoritePayloadType>("createFavorite").Argument<NonNullGraphType<CreateFavoriteInput>>("Input").Resolve(c => Run(c, (s, i) =>
            new FavoritePayload(s.CreateFavorite(OptIdx(i, "idxUser", "User") ?? 1, Idx(i, "idxChart", "Chart"), Num(i, "order") ?? 0, Flag(i, "enabled") ?? true))));
        Field<FavoritePayloadType>("updateFavorite").Argument<NonNullGraphType<UpdateFavoriteInput>>("Input").Resolve(c => Run(c, (s, i) =>
            new FavoritePayload(s.UpdateFavorite(Idx(i, "idxFavorite", "Favorite"), OptIdx(i, "idxChart", "Chart"), Num(i, "order"), Flag(i, "enabled")))));
        WriteFields.AddMutations(this);
    }

    private static object Run(IResolveFieldContext<object?> c, Func<CatalogStore, IDictionary<string, object?>, object> work)
    {
        var ctx = (ApiUserContext)c.UserContext;
        if (ctx.Access != Access.Write)
            throw new ExecutionError($"{c.FieldDefinition.Name}: changes need a write token (api.write_tokens) or a client address in api.ingest_allow");
        // Read the input object raw: GetArgument<Dictionary<...>> needs code generated at run time (AOT).
        var input = c.Arguments!["Input"].Value as IDictionary<string, object?> ?? new Dictionary<string, object?>();
        try
        {
            var result = work(ctx.Appliance.Store.Catalog, input);
            ctx.Invalidate();
            return result;
        }
        catch (CatalogException e)
        {
            throw new ExecutionError($"{c.FieldDefinition.Name}: {e.Message}");
        }
    }

    private static string? Str(IDictionary<string, object?> i, string key) => i.TryGetValue(key, out var v) ? v?.ToString() : null;

    private static bool? Flag(IDictionary<string, object?> i, string key) => Str(i, key) switch
    {
        null => null,
        "1" or "true" or "True" => true,
        "0" or "false" or "False" => false,
        var other => throw new ExecutionError($"Input.{key}: expected \"1\" or \"0\", got \"{other}\""),
    };

    private static long? Num(IDictionary<string, object?> i, string key)
    {
        var s = Str(i, key);
        if (s is null) return null;
        return long.TryParse(s, out long n) ? n : throw new ExecutionError($"Input.{key}: expected an integer, got \"{s}\"");
    }

    private static long Idx(IDictionary<string, object?> i, string key, string type) => Ids.ParseIdx(Str(i, key), "Input." + key, type);

    private static long? OptIdx(IDictionary<string, object?> i, string key, string type) => Str(i, key) is null ? null : Idx(i, key, type);
}

public sealed record ChartPayload(ChartRow Chart);
public sealed record ChartDatapointPayload(ChartDatapointRow ChartDatapoint);
public sealed record FavoritePayload(FavoriteRow Favorite);

public sealed class ChartPayloadType : ObjectGraphType<ChartPayload>
{
    public ChartPayloadType() { Name = "ChartPayload"; Field<ChartType>("chart").Resolve(c => c.Source.Chart); }
}

public sealed class ChartDatapointPayloadType : ObjectGraphType<ChartDatapointPayload>
{
    public ChartDatapointPayloadType() { Name = "ChartDataPointPayload"; Field<ChartDataPointType>("chartDatapoint").Resolve(c => c.Source.ChartDatapoint); }
}

public sealed class FavoritePayloadType : ObjectGraphType<FavoritePayload>
{
    public FavoritePayloadType() { Name = "FavoritePayload"; Field<FavoriteType>("favorite").Resolve(c => c.Source.Favorite); }
}

// Inputs take pattoo's string-typed idx and flag fields ("1"), so pattoo's clients keep working.
public sealed class CreateChartInput : InputObjectGraphType
{
    public CreateChartInput() { Name = "CreateChartInput"; Field<NonNullGraphType<StringGraphType>>("name"); Field<StringGraphType>("checksum"); Field<StringGraphType>("enabled"); }
}

public sealed class UpdateChartInput : InputObjectGraphType
{
    public UpdateChartInput() { Name = "UpdateChartInput"; Field<NonNullGraphType<StringGraphType>>("idxChart"); Field<StringGraphType>("name"); Field<StringGraphType>("checksum"); Field<StringGraphType>("enabled"); }
}

public sealed class CreateChartDataPointInput : InputObjectGraphType
{
    public CreateChartDataPointInput() { Name = "CreateChartDataPointInput"; Field<NonNullGraphType<StringGraphType>>("idxChart"); Field<NonNullGraphType<StringGraphType>>("idxDatapoint"); Field<StringGraphType>("enabled"); }
}

public sealed class UpdateChartDataPointInput : InputObjectGraphType
{
    public UpdateChartDataPointInput() { Name = "UpdateChartDataPointInput"; Field<NonNullGraphType<StringGraphType>>("idxChartDatapoint"); Field<StringGraphType>("idxChart"); Field<StringGraphType>("idxDatapoint"); Field<StringGraphType>("enabled"); }
}

public sealed class CreateFavoriteInput : InputObjectGraphType
{
    public CreateFavoriteInput() { Name = "CreateFavoriteInput"; Field<StringGraphType>("idxUser"); Field<NonNullGraphType<StringGraphType>>("idxChart"); Field<StringGraphType>("order"); Field<StringGraphType>("enabled"); }
}

public sealed class UpdateFavoriteInput : InputObjectGraphType
{
    public UpdateFavoriteInput() { Name = "UpdateFavoriteInput"; Field<NonNullGraphType<StringGraphType>>("idxFavorite"); Field<StringGraphType>("idxChart"); Field<StringGraphType>("order"); Field<StringGraphType>("enabled"); }
}
