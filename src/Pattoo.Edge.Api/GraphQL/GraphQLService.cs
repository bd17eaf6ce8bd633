using System.Diagnostics.CodeAnalysis;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using GraphQL;
using GraphQL.SystemTextJson;
using GraphQL.Transport;
using GraphQL.Types;
using GraphQL.Validation;
using GraphQL.Validation.Complexity;
using GraphQL.Validation.Rules.Custom;
using GraphQLParser;
using GraphQLParser.AST;
using Microsoft.Extensions.DependencyInjection;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>
/// The schema, built once from code-first types registered in DI (the only way graphql-dotnet
/// works under native AOT), and the executer with depth, complexity and time limits.
/// </summary>
public sealed class GraphQLService
{
    private readonly ServiceProvider _services;
    private readonly DocumentExecuter _executer = new();
    private readonly ApiOptions _options;
    private readonly IValidationRule[] _rules;
    private readonly IValidationRule[] _rulesWithoutComplexity;
    private readonly QueryLimits _limits;
    private readonly ValidatedDocuments _validated = new();
    /// <summary>What a validated text is checked for again: the complexity its variables give.</summary>
    private readonly IValidationRule[] _rulesForValidated;

    public GraphQLService(ApiOptions options)
    {
        _options = options;
        var s = new ServiceCollection();
        s.AddSingleton<NodeInterface>();
        s.AddSingleton<PageInfoType>();
        AddNode<AgentType, AgentRow>(s, Specs.Agent);
        AddNode<DataPointType, DatapointRow>(s, Specs.Datapoint);
        AddNode<PairType, PairRow>(s, Specs.Pair);
        AddNode<GlueType, GlueRow>(s, Specs.Glue);
        AddNode<DataGraphType, DataRow>(s, Specs.Data);
        AddNode<LanguageType, LanguageRow>(s, Specs.Language);
        AddNode<PairXlateGroupType, PairXlateGroupRow>(s, Specs.PairXlateGroup);
        AddNode<PairXlateType, PairXlateRow>(s, Specs.PairXlate);
        AddNode<AgentXlateType, AgentXlateRow>(s, Specs.AgentXlate);
        AddNode<ChartType, ChartRow>(s, Specs.Chart);
        AddNode<ChartDataPointType, ChartDatapointRow>(s, Specs.ChartDatapoint);
        AddNode<FavoriteType, FavoriteRow>(s, Specs.Favorite);
        s.AddSingleton<ApplianceType>();
        s.AddSingleton<PollerTargetType>();
        s.AddSingleton<ForwarderType>();
        s.AddSingleton<LabelType>();
        s.AddSingleton<DiagnosticType>();
        s.AddSingleton<SeriesType>();
        s.AddSingleton<PointType>();
        s.AddSingleton<TextPointType>();
        s.AddSingleton<TimeseriesType>();
        s.AddSingleton<EventDetailType>();
        s.AddSingleton<EventType>();
        s.AddSingleton<EventEdgeType>();
        s.AddSingleton<EventConnectionType>();
        s.AddSingleton<ActiveAlertType>();
        s.AddSingleton<WriteValueGraphType>();
        s.AddSingleton<WritableType>();
        s.AddSingleton<AuditEntryType>();
        s.AddSingleton<AuditEdgeType>();
        s.AddSingleton<AuditConnectionType>();
        s.AddSingleton<ChartPayloadType>();
        s.AddSingleton<ChartDatapointPayloadType>();
        s.AddSingleton<FavoritePayloadType>();
        s.AddSingleton<CreateChartInput>();
        s.AddSingleton<UpdateChartInput>();
        s.AddSingleton<CreateChartDataPointInput>();
        s.AddSingleton<UpdateChartDataPointInput>();
        s.AddSingleton<CreateFavoriteInput>();
        s.AddSingleton<UpdateFavoriteInput>();
        s.AddSingleton<QueryType>();
        s.AddSingleton<MutationType>();
        _services = s.BuildServiceProvider();
        Schema = new Schema(_services)
        {
            Query = _services.GetRequiredService<QueryType>(),
            Mutation = _services.GetRequiredService<MutationType>(),
            // Names stay as written: pattoo's mutations take an argument called "Input".
            NameConverter = global::GraphQL.Conversion.DefaultNameConverter.Instance,
        };
        Schema.RegisterType(_services.GetRequiredService<LanguageType>());
        Schema.Initialize();
        _rulesWithoutComplexity = DocumentValidator.CoreRules.ToArray();
        _rules = _rulesWithoutComplexity.Append(new ComplexityValidationRule(new ComplexityOptions
        {
            MaxDepth = options.MaxDepth,
            MaxComplexity = options.MaxComplexity,
        })).ToArray();
        _rulesForValidated = [_rules[^1]];
        _limits = new QueryLimits(options.MaxQueryNodes, options.MaxFragmentSpreads, options.MaxSelections);
        Serializer = new GraphQLSerializer(o =>
        {
            o.TypeInfoResolver = JsonTypeInfoResolver.Combine(new ConverterResolver(), GraphQLJsonContext.Default);
            o.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
            o.Converters.Add(new DecimalDoubleConverter());
        });
    }

    public Schema Schema { get; }
    public GraphQLSerializer Serializer { get; }

    private static void AddNode<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TNode, TRow>(ServiceCollection s, NodeSpec<TRow> spec) where TNode : class, IGraphType
    {
        s.AddSingleton<TNode>();
        s.AddSingleton(spec);
        s.AddSingleton<EdgeType<TNode, TRow>>();
        s.AddSingleton<ConnectionType<TNode, TRow>>();
    }

    public async Task<ExecutionResult> ExecuteAsync(GraphQLRequest request, ApiUserContext context, bool allowMutations, CancellationToken cancel)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(_options.QueryTimeout);
        // Parsed here, once, so the document can be measured before graphql-dotnet's
        // validation (whose cost grows with fragment expansion) ever sees it. A syntax error
        // is left to graphql-dotnet, which reports it in its usual form. A text validated
        // before is neither parsed nor validated again (ValidatedDocuments).
        GraphQLDocument? document = null;
        bool introspectionOnly = false;
        IValidationRule[] rules;
        ValidatedDocuments.Entry? entry = null;
        bool known = request.Query is { } text && _validated.TryGet(text, allowMutations, out entry);
        if (known)
        {
            document = entry!.Document;
            introspectionOnly = entry.IntrospectionOnly;
            rules = introspectionOnly ? [] : _rulesForValidated;
        }
        else
        {
            try
            {
                document = GraphQLParser.Parser.Parse(request.Query, new ParserOptions { Ignore = IgnoreOptions.Comments, MaxDepth = 64 });
            }
            catch (GraphQLParser.Exceptions.GraphQLParserException)
            {
            }
            if (document is not null)
            {
                if (QueryBudget.Check(document, _limits) is { } tooBig)
                    return new ExecutionResult { Errors = new ExecutionErrors { new ExecutionError(tooBig) { Code = "QUERY_TOO_LARGE" } } };
                introspectionOnly = QueryBudget.IsIntrospectionOnly(document);
            }
            // Introspection is bounded by the document limits above; the complexity rule weighs its
            // nested type references as lists of lists and would refuse GraphiQL's own query.
            rules = introspectionOnly ? _rulesWithoutComplexity : _rules;
            if (!allowMutations) rules = [.. rules, new OnlyQueriesRule()];
        }
        var options = new ExecutionOptions
        {
            Schema = Schema,
            Query = request.Query,
            Document = document,
            OperationName = request.OperationName,
            Variables = request.Variables,
            Extensions = request.Extensions,
            UserContext = context,
            RequestServices = _services,
            ValidationRules = rules,
            CancellationToken = limit.Token,
            ThrowOnUnhandledException = false,
            UnhandledExceptionDelegate = ctx =>
            {
                // A resolver bug or storage failure: tell the client what failed, not a stack trace.
                ctx.ErrorMessage = ctx.OriginalException is OperationCanceledException
                    ? TimeoutMessage
                    : ctx.OriginalException.Message;
                return Task.CompletedTask;
            },
        };
        try
        {
            var result = await _executer.ExecuteAsync(options).ConfigureAwait(false);
            // Executed: it passed validation (a failed one is never executed).
            if (!known && result.Executed && document is not null) _validated.Add(request.Query!, allowMutations, new(document, introspectionOnly));
            return result;
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return new ExecutionResult { Errors = new ExecutionErrors { new ExecutionError(TimeoutMessage) } };
        }
    }

    private string TimeoutMessage => $"the query ran longer than api.query_timeout ({Common.Duration.Format(_options.QueryTimeout)})";

    /// <summary>GET must not change anything (GraphQL over HTTP).</summary>
    private sealed class OnlyQueriesRule : ValidationRuleBase, INodeVisitor
    {
        public override ValueTask<INodeVisitor?> GetPreNodeVisitorAsync(ValidationContext context) => new(this);

        public ValueTask EnterAsync(GraphQLParser.AST.ASTNode node, ValidationContext context)
        {
            if (node is GraphQLParser.AST.GraphQLOperationDefinition op && op.Operation != GraphQLParser.AST.OperationType.Query)
                context.ReportError(new ValidationError(context.Document.Source, "graphql-over-http", $"a {op.Operation.ToString().ToLowerInvariant()} must be sent with POST"));
            return default;
        }

        public ValueTask LeaveAsync(GraphQLParser.AST.ASTNode node, ValidationContext context) => default;
    }

    /// <summary>
    /// Hands GraphQL's own types to the converters GraphQL.SystemTextJson registers, because
    /// reflection-based System.Text.Json is off under AOT.
    /// </summary>
    private sealed class ConverterResolver : IJsonTypeInfoResolver
    {
        public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options)
        {
            if (type == typeof(ExecutionResult)) return ByConverter<ExecutionResult>(options);
            if (type == typeof(ExecutionError)) return ByConverter<ExecutionError>(options);
            if (type == typeof(GraphQLRequest)) return ByConverter<GraphQLRequest>(options);
            if (type == typeof(Inputs)) return ByConverter<Inputs>(options);
            if (type == typeof(System.Collections.IEnumerable)) return JsonMetadataServices.CreateValueInfo<System.Collections.IEnumerable>(options, new ScalarListConverter());
            if (type == typeof(ExecutionErrors))
                return JsonMetadataServices.CreateIEnumerableInfo<ExecutionErrors, ExecutionError>(options, new JsonCollectionInfoValues<ExecutionErrors> { ObjectCreator = () => new ExecutionErrors() });
            return null;
        }

        private static JsonTypeInfo ByConverter<T>(JsonSerializerOptions o)
            => JsonMetadataServices.CreateValueInfo<T>(o, o.Converters.First(c => c.CanConvert(typeof(T))));
    }
}

/// <summary>Metadata for every value a resolver or GraphQL's converters write or read.</summary>
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(float))]
[JsonSerializable(typeof(decimal))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(short))]
[JsonSerializable(typeof(ushort))]
[JsonSerializable(typeof(uint))]
[JsonSerializable(typeof(ulong))]
[JsonSerializable(typeof(byte))]
[JsonSerializable(typeof(sbyte))]
[JsonSerializable(typeof(DateTime))]
[JsonSerializable(typeof(DateTimeOffset))]
[JsonSerializable(typeof(TimeSpan))]
[JsonSerializable(typeof(Guid))]
[JsonSerializable(typeof(Uri))]
[JsonSerializable(typeof(System.Numerics.BigInteger))]
[JsonSerializable(typeof(object))]
[JsonSerializable(typeof(object[]))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(List<object>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(IEnumerable<object>))]
[JsonSerializable(typeof(IEnumerable<string>))]
[JsonSerializable(typeof(Dictionary<string, object>))]
[JsonSerializable(typeof(IDictionary<string, object>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, object>))]
[JsonSerializable(typeof(JsonElement))]
// GraphQL.SystemTextJson writes a null list (introspection's fields, interfaces and
// possibleTypes of a scalar) through the non-generic IEnumerable.
[JsonSerializable(typeof(System.Collections.IEnumerable))]
internal sealed partial class GraphQLJsonContext : JsonSerializerContext;
