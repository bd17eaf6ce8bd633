using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;
using GraphQL;
using GraphQL.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Pattoo.Edge.Api.GraphQL;
using Pattoo.Edge.Api.Ingest;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Api;

/// <summary>
/// The HTTP API: pattoo's agent routes (ingest, status), pattoo's web routes (GraphQL,
/// GraphiQL, REST chart data) under their pattoo paths and short aliases, the Prometheus
/// text import and health.
/// Handlers are plain RequestDelegates: no reflection-based binding under AOT.
/// </summary>
public sealed partial class ApiEndpoints
{
    public const string AgentPrefix = "/pattoo/api/v1/agent";
    public const string WebPrefix = "/pattoo/api/v1/web";
    /// <summary>VictoriaMetrics' path for the same thing, which technicians already know.</summary>
    public const string PrometheusImportPath = "/api/v1/import/prometheus";

    private readonly IApplianceState _state;
    // Built on first use: the schema is the largest thing in memory, and many boxes only
    // ingest and poll until someone opens the dashboard.
    private readonly Lazy<GraphQLService> _graphqlService;
    private AccessPolicy _access;
    private ApiOptions _accessOptions;
    private readonly RequestGate _queries;
    private readonly RequestGate _ingest;

    public ApiEndpoints(IApplianceState state)
    {
        _state = state;
        _graphqlService = new Lazy<GraphQLService>(() => new GraphQLService(state.Api), LazyThreadSafetyMode.ExecutionAndPublication);
        _accessOptions = state.Api;
        _access = new AccessPolicy(state.Api);
        _queries = new RequestGate("GraphQL requests", "api.max_concurrent_queries", state.Api.MaxConcurrentQueries);
        _ingest = new RequestGate("ingest requests", "api.max_concurrent_ingest", state.Api.MaxConcurrentIngest);
    }

    /// <summary>Tokens and networks follow a config reload.</summary>
    private AccessPolicy Access
    {
        get
        {
            var current = _state.Api;
            if (!ReferenceEquals(current, _accessOptions))
            {
                _access = new AccessPolicy(current);
                _accessOptions = current;
            }
            return _access;
        }
    }

    private GraphQLService GraphQL => _graphqlService.Value;

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapPost(AgentPrefix + "/receive/{source}", Receive);
        app.MapPost(PrometheusImportPath, ImportPrometheus);
        app.MapGet(AgentPrefix + "/status", c => Text(c, 200, "The Pattoo Agent API is Operational.\n"));
        foreach (var route in new[] { "/key", "/validation", "/encrypted" })
        {
            app.Map(AgentPrefix + route, c => Json(c, 501, w => w.WriteString("error",
                "pattoo's GPG-encrypted agent routes are not implemented; use TLS (server.tls_certificate, server.tls_key) and a write token (api.write_tokens) with the plain receive route")));
        }
        app.MapGet(WebPrefix + "/status", c => Text(c, 200, "The Pattoo Web API is Operational.\n"));
        foreach (var path in new[] { "/graphql", WebPrefix + "/graphql" })
        {
            app.MapPost(path, c => GraphQLRequestAsync(c, isGet: false));
            app.MapGet(path, c => GraphQLRequestAsync(c, isGet: true));
        }
        app.MapGet("/graphiql", c => GraphiQL(c, "/graphql"));
        app.MapGet(WebPrefix + "/igraphql", c => GraphiQL(c, WebPrefix + "/graphql"));
        app.MapGet("/graphiql-assets/{file}", Asset);
        app.MapGet(WebPrefix + "/rest/data/{idx}", RestData);
        app.MapGet("/api/v1/health", Health);
        app.MapPost(BackupPath, Backup);
        app.MapPost(DiscoverPath, Discover);
        app.MapGet("/metrics", Metrics);
    }

    private async Task Receive(HttpContext c)
    {
        long startedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (!await MayWrite(c).ConfigureAwait(false)) return;
        using var slot = await Enter(c, _ingest).ConfigureAwait(false);
        if (slot is null) return;
        using var body = await ReadBody(c, _state.Api.MaxBody, "api.max_body").ConfigureAwait(false);
        if (body is null) return;
        // Rented and sized once by the parser (a backlog post holds thousands of samples).
        var batch = SampleBatch.Rent(256);
        PattooPayload.Result result;
        try
        {
            result = PattooPayload.Parse(body.Span, batch);
        }
        catch (PayloadException e)
        {
            batch.Release();
            Log.Warning($"ingest: refused a post from {c.Connection.RemoteIpAddress} ({c.Request.RouteValues["source"]}): {e.Message}");
            await Json(c, 400, w => w.WriteString("error", e.Message)).ConfigureAwait(false);
            return;
        }
        if (!await Store(c, slot, body, batch, startedAt).ConfigureAwait(false)) return;
        if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"ingest: {result.Datapoints} datapoints from {c.Connection.RemoteIpAddress} ({c.Request.RouteValues["source"]}), {result.Skipped} without a data type skipped");
        // pattoo answers a plain "OK" once stored; agents only look at the status.
        await Text(c, 200, "OK").ConfigureAwait(false);
    }

    /// <summary>
    /// Prometheus text exposition format (0.0.4), as node_exporter's textfile collector,
    /// Pushgateway clients and <c>curl --data-binary @file</c> send it (README.md, "Prometheus
    /// text import"). The whole body is checked before anything is stored; answers
    /// <c>{"stored": N, "skipped": M}</c>.
    /// </summary>
    private async Task ImportPrometheus(HttpContext c)
    {
        long startedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (!await MayWrite(c).ConfigureAwait(false)) return;
        PrometheusImportOptions options;
        try
        {
            var query = new List<KeyValuePair<string, string?>>();
            foreach (var (name, values) in c.Request.Query)
            {
                foreach (var value in values) query.Add(new(name, value));
            }
            options = PrometheusImportOptions.FromQuery(_state.Name, query);
        }
        catch (PrometheusTextException e)
        {
            await Json(c, 400, w => w.WriteString("error", e.Message)).ConfigureAwait(false);
            return;
        }
        using var slot = await Enter(c, _ingest).ConfigureAwait(false);
        if (slot is null) return;
        using var body = await ReadBody(c, _state.Api.MaxBody, "api.max_body", gzip: true).ConfigureAwait(false);
        if (body is null) return;
        long receivedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // A sample a line at most: sized once instead of grown (and copied) by doubling.
        var batch = SampleBatch.Rent(Math.Min(PrometheusText.MaxSamples, body.Span.Count((byte)'\n') + 1));
        PrometheusText.Result result;
        try
        {
            result = PrometheusText.Import(body.Span, options, receivedAt, batch);
        }
        catch (PrometheusTextException e)
        {
            batch.Release();
            Log.Warning($"ingest: refused a Prometheus import from {c.Connection.RemoteIpAddress}: {e.Message}");
            await Json(c, 400, w => w.WriteString("error", e.Message)).ConfigureAwait(false);
            return;
        }
        if (!await Store(c, slot, body, batch, startedAt).ConfigureAwait(false)) return;
        if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"ingest: {result.Stored} Prometheus samples from {c.Connection.RemoteIpAddress}, {result.Skipped} NaN or infinite skipped");
        await Json(c, 200, w =>
        {
            w.WriteNumber("stored", result.Stored);
            w.WriteNumber("skipped", result.Skipped);
        }).ConfigureAwait(false);
    }

    /// <summary>Ingest needs write access; answers 403 and returns false without it.</summary>
    private async Task<bool> MayWrite(HttpContext c)
    {
        if (Access.Evaluate(c) == Api.Access.Write) return true;
        await Json(c, 403, w => w.WriteString("error", $"{c.Connection.RemoteIpAddress} may not post data: send a write token (Authorization: Bearer, api.write_tokens) or add the network to api.ingest_allow")).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Hands the parsed batch to the store and waits until it is on the disk; false after
    /// answering 503. The request's slot, body and batch go as soon as the store has taken the
    /// samples: posts waiting for one sync hold neither memory nor a slot, and the next can be
    /// parsed meanwhile. The batch is released whatever happens. <paramref name="startedAt"/>
    /// (when the request began) lets posts from many clients share a sync.
    /// </summary>
    private async Task<bool> Store(HttpContext c, RequestGate.Lease slot, PooledBody body, SampleBatch batch, long startedAt)
    {
        Task onDisk;
        try
        {
            onDisk = await _state.Store.AcceptDurableAsync(batch, c.RequestAborted, startedAt).ConfigureAwait(false);
        }
        catch (StorageUnavailableException e)
        {
            await Json(c, 503, w => w.WriteString("error", e.Message)).ConfigureAwait(false);
            return false;
        }
        finally
        {
            batch.Release();
        }
        body.Dispose();
        slot.Dispose();
        return await OnDisk(c, onDisk).ConfigureAwait(false);
    }

    /// <summary>Waits until the accepted samples are on the disk; answers 503 and returns false when the sync failed.</summary>
    private static async Task<bool> OnDisk(HttpContext c, Task onDisk)
    {
        try
        {
            await onDisk.ConfigureAwait(false);
            return true;
        }
        catch (StorageUnavailableException e)
        {
            await Json(c, 503, w => w.WriteString("error", e.Message)).ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>Waits for a slot of <paramref name="gate"/>; answers 503 and returns null when none frees up.</summary>
    private static async Task<RequestGate.Lease?> Enter(HttpContext c, RequestGate gate)
    {
        var lease = await gate.EnterAsync(c.RequestAborted).ConfigureAwait(false);
        if (lease is null && !c.RequestAborted.IsCancellationRequested)
        {
            c.Response.Headers.RetryAfter = "1";
            await Json(c, 503, w => w.WriteString("error", gate.BusyMessage)).ConfigureAwait(false);
        }
        return lease;
    }

    /// <summary>
    /// Reads the body up to <paramref name="max"/> bytes (the limit named <paramref name="setting"/>);
    /// answers 413 and returns null past it, whether the client sent a Content-Length or
    /// chunks. With <paramref name="gzip"/>, a <c>Content-Encoding: gzip</c> body is inflated,
    /// and the inflated body is held to the same limit; other encodings get 415.
    /// </summary>
    /// <summary>The request body in a pooled buffer (dispose it), or null once an error is answered.</summary>
    private static async Task<PooledBody?> ReadBody(HttpContext c, long max, string setting, bool gzip = false)
    {
        if (c.Request.ContentLength > max)
        {
            await Json(c, 413, w => w.WriteString("error", $"the body is {c.Request.ContentLength} bytes; {setting} allows {max}")).ConfigureAwait(false);
            return null;
        }
        Stream stream = c.Request.Body;
        GZipStream? inflater = null;
        if (gzip && c.Request.Headers.ContentEncoding.ToString().Trim() is { Length: > 0 } encoding && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            if (!encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase) && !encoding.Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
            {
                await Json(c, 415, w => w.WriteString("error", $"Content-Encoding \"{encoding}\" is not supported; send the body plain or gzip")).ConfigureAwait(false);
                return null;
            }
            stream = inflater = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
        }
        await using (inflater)
        {
            var buffer = new PooledBody(c.Request.ContentLength is { } n and > 0 ? (int)n : 16 * 1024);
            bool done = false;
            try
            {
                string what = inflater is null ? "the body" : "the inflated body";
                while (true)
                {
                    // Never ask for more than one byte past the limit: the buffer stays within it.
                    var memory = buffer.GetMemory((int)Math.Min(64 * 1024, max + 1 - buffer.Length));
                    int read;
                    try
                    {
                        read = await stream.ReadAsync(memory[..(int)Math.Min(memory.Length, max + 1 - buffer.Length)], c.RequestAborted).ConfigureAwait(false);
                    }
                    catch (InvalidDataException e) when (inflater is not null)
                    {
                        await Json(c, 400, w => w.WriteString("error", $"the body is not valid gzip: {e.Message}")).ConfigureAwait(false);
                        return null;
                    }
                    catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
                    {
                        // Kestrel's own backstop (a chunked body past every limit of ours).
                        await Json(c, 413, w => w.WriteString("error", $"{what} is larger than {setting} ({max} bytes)")).ConfigureAwait(false);
                        return null;
                    }
                    if (read == 0) break;
                    buffer.Advance(read);
                    // All the announced bytes are in: one more read would only grow the full buffer
                    // (a copy of the whole body) to learn what Kestrel already enforces.
                    if (inflater is null && buffer.Length == c.Request.ContentLength) break;
                    if (buffer.Length > max)
                    {
                        await Json(c, 413, w => w.WriteString("error", $"{what} is larger than {setting} ({max} bytes)")).ConfigureAwait(false);
                        return null;
                    }
                }
                if (!buffer.Pooled) c.Response.OnCompleted(static () => { HeapTrim.Soon(); return Task.CompletedTask; });
                done = true;
                return buffer;
            }
            finally
            {
                if (!done) buffer.Dispose();
            }
        }
    }

    /// <summary>
    /// Prometheus text (OpenMetrics when the Accept header asks for it) of every datapoint's
    /// latest sample and the appliance's own metrics; the read access rules of GraphQL.
    /// </summary>
    private async Task Metrics(HttpContext c)
    {
        if (Access.Evaluate(c) == Api.Access.Denied)
        {
            c.Response.Headers.WWWAuthenticate = "Bearer";
            await Json(c, 401, w => w.WriteString("error", "this box needs a read token: Authorization: Bearer <token> (api.read_tokens)")).ConfigureAwait(false);
            return;
        }
        using var slot = await Enter(c, _queries).ConfigureAwait(false);
        if (slot is null) return;
        bool openMetrics = c.Request.Headers.Accept.ToString().Contains("application/openmetrics-text", StringComparison.OrdinalIgnoreCase);
        string text = Forwarding.MetricsExposition.Write(_state.Store, _state.Name, _state.Targets, _state.Forwarders, openMetrics, _state.Listeners, _state.Writes.Counts);
        c.Response.StatusCode = 200;
        c.Response.ContentType = openMetrics ? Forwarding.MetricsExposition.OpenMetricsContentType : Forwarding.MetricsExposition.TextContentType;
        await c.Response.WriteAsync(text, c.RequestAborted).ConfigureAwait(false);
    }

    private async Task GraphQLRequestAsync(HttpContext c, bool isGet)
    {
        var access = Access.Evaluate(c);
        if (access == Api.Access.Denied)
        {
            c.Response.Headers.WWWAuthenticate = "Bearer";
            await Json(c, 401, w => w.WriteString("error", "this box needs a read token: Authorization: Bearer <token> (api.read_tokens)")).ConfigureAwait(false);
            return;
        }
        using var slot = await Enter(c, _queries).ConfigureAwait(false);
        if (slot is null) return;
        GraphQLRequest? request;
        try
        {
            request = isGet ? FromQueryString(c.Request.Query) : await FromBody(c).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            await GraphQLError(c, 400, $"bad GraphQL request: {SystemMessages.Describe(e)}").ConfigureAwait(false);
            return;
        }
        if (request is null) return; // ReadBody answered already
        if (string.IsNullOrWhiteSpace(request.Query))
        {
            await GraphQLError(c, 400, "the request has no query").ConfigureAwait(false);
            return;
        }
        var result = await GraphQL.ExecuteAsync(request, new ApiUserContext(_state, access, Access.Caller(c)), allowMutations: !isGet, c.RequestAborted).ConfigureAwait(false);
        bool graphqlResponse = AcceptsGraphQLResponse(c.Request);
        // application/graphql-response+json: a request that did not execute is a 400.
        c.Response.StatusCode = graphqlResponse && !result.Executed ? 400 : 200;
        c.Response.ContentType = graphqlResponse ? "application/graphql-response+json; charset=utf-8" : "application/json; charset=utf-8";
        await GraphQL.Serializer.WriteAsync(c.Response.Body, result, c.RequestAborted).ConfigureAwait(false);
    }

    private async Task<GraphQLRequest?> FromBody(HttpContext c)
    {
        var type = c.Request.ContentType ?? "";
        using var body = await ReadBody(c, _state.Api.MaxQueryBytes, "api.max_query_bytes").ConfigureAwait(false);
        if (body is null) return null;
        if (type.StartsWith("application/graphql", StringComparison.OrdinalIgnoreCase) && !type.StartsWith("application/graphql-response", StringComparison.OrdinalIgnoreCase))
            return new GraphQLRequest { Query = Encoding.UTF8.GetString(body.Span) };
        if (!type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Content-Type must be application/json, got \"{type}\"");
        if (body.Span.TrimStart(" \t\r\n"u8) is [(byte)'[', ..])
            throw new InvalidOperationException("batched requests (a JSON array) are not supported; send one request object, {\"query\": \"...\"}, per POST");
        return GraphQL.Serializer.Deserialize<GraphQLRequest>(Encoding.UTF8.GetString(body.Span))
            ?? throw new InvalidOperationException("the body is null");
    }

    private GraphQLRequest FromQueryString(IQueryCollection q)
    {
        var request = new GraphQLRequest { Query = q["query"], OperationName = q["operationName"] };
        if (q["variables"] is { Count: > 0 } v && !string.IsNullOrEmpty(v[0]))
            request.Variables = GraphQL.Serializer.Deserialize<Inputs>(v[0]!);
        if (q["extensions"] is { Count: > 0 } x && !string.IsNullOrEmpty(x[0]))
            request.Extensions = GraphQL.Serializer.Deserialize<Inputs>(x[0]!);
        return request;
    }

    private static bool AcceptsGraphQLResponse(HttpRequest r)
        => r.Headers.Accept.Any(a => a is not null && a.Contains("application/graphql-response+json", StringComparison.OrdinalIgnoreCase));

    private Task GraphQLError(HttpContext c, int status, string message)
    {
        var result = new ExecutionResult { Errors = new ExecutionErrors { new ExecutionError(message) } };
        c.Response.StatusCode = status;
        c.Response.ContentType = "application/json; charset=utf-8";
        return GraphQL.Serializer.WriteAsync(c.Response.Body, result, c.RequestAborted);
    }

    private static readonly Assembly Assets = typeof(ApiEndpoints).Assembly;

    private static async Task GraphiQL(HttpContext c, string endpoint)
    {
        using var stream = Assets.GetManifestResourceStream("assets/graphiql/index.html");
        if (stream is null) { await Text(c, 500, "GraphiQL is missing from this build").ConfigureAwait(false); return; }
        using var reader = new StreamReader(stream);
        var html = (await reader.ReadToEndAsync().ConfigureAwait(false)).Replace("__GRAPHQL_ENDPOINT__", endpoint, StringComparison.Ordinal);
        c.Response.Headers.CacheControl = "no-store";
        c.Response.ContentType = "text/html; charset=utf-8";
        await c.Response.WriteAsync(html).ConfigureAwait(false);
    }

    private static async Task Asset(HttpContext c)
    {
        var file = c.Request.RouteValues["file"] as string ?? "";
        using var stream = file.Contains('/') || file.Contains("..") ? null : Assets.GetManifestResourceStream("assets/graphiql/" + file);
        if (stream is null || file == "index.html") { c.Response.StatusCode = 404; return; }
        c.Response.ContentType = Path.GetExtension(file) switch
        {
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".txt" => "text/plain; charset=utf-8",
            _ => "application/octet-stream",
        };
        c.Response.Headers.CacheControl = "public, max-age=86400";
        await stream.CopyToAsync(c.Response.Body, c.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// pattoo-web's chart data: values on the datapoint's polling grid (null where nothing
    /// was stored), counters as per-second rates. Unlike pattoo, a counter wrap is corrected
    /// and a reset left out instead of charted as a spike.
    /// </summary>
    private async Task RestData(HttpContext c)
    {
        if (Access.Evaluate(c) == Api.Access.Denied) { c.Response.StatusCode = 401; return; }
        if (!long.TryParse(c.Request.RouteValues["idx"] as string, NumberStyles.None, CultureInfo.InvariantCulture, out long idx))
        {
            await Json(c, 400, w => w.WriteString("error", "the datapoint index must be an integer")).ConfigureAwait(false);
            return;
        }
        var d = _state.Store.Catalog.Snapshot().Datapoint(idx);
        if (d is null)
        {
            await Json(c, 404, w => w.WriteString("error", $"there is no datapoint {idx}")).ConfigureAwait(false);
            return;
        }
        long secondsAgo = 7 * 86_400;
        if (c.Request.Query["secondsago"] is { Count: > 0 } s && long.TryParse(s[0], out long n) && n > 0) secondsAgo = n;
        long interval = d.PollingInterval > 0 ? d.PollingInterval : 300_000;
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long stop = d.LastTimestamp > 0 ? d.LastTimestamp : now;
        long start = now / interval * interval - secondsAgo * 1000;
        c.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(c.Response.Body);
        w.WriteStartArray();
        if (d.DataType.IsNumeric() && start <= stop)
        {
            var points = _state.Store.ReadValues(idx, d.DataType.IsCounter() ? start - interval : start, stop);
            var slots = new SortedDictionary<long, double>();
            for (int i = 0; i < points.Count; i++)
            {
                if (points.Timestamps[i] < start) continue;
                slots[points.Timestamps[i] / interval * interval] = Math.Round(points.Values[i], 10);
            }
            for (long t = start / interval * interval; t <= stop / interval * interval; t += interval)
            {
                w.WriteStartObject();
                w.WriteNumber("timestamp", t);
                w.WritePropertyName("value");
                if (slots.TryGetValue(t, out double v) && double.IsFinite(v)) w.WriteRawValue(PythonFloat(v), skipInputValidation: true); else w.WriteNullValue();
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();
    }

    /// <summary>
    /// Liveness for any probe; the details (name, version, targets and their states) only
    /// for clients that may read, since they map the site for a stranger on the LAN.
    /// </summary>
    /// <summary>
    /// A float as Python's json writes it (pattoo's REST route is Flask's jsonify of floats):
    /// always with a decimal point or exponent ("42.0", "0.5", "1e-05", "1e+16").
    /// </summary>
    internal static string PythonFloat(double v)
    {
        // The shortest round-trip digits (as Python's repr), then Python's layout: positional
        // for decimal exponents -4..15, else d.ddde+XX.
        string r = v.ToString("R", CultureInfo.InvariantCulture);
        bool negative = r.StartsWith('-');
        if (negative) r = r[1..];
        int e = r.IndexOf('E');
        string mantissa = e < 0 ? r : r[..e];
        int exponent = e < 0 ? 0 : int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        int dot = mantissa.IndexOf('.');
        string digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        int point = (dot < 0 ? mantissa.Length : dot) + exponent; // digits before the decimal point
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; point--; }
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) return negative ? "-0.0" : "0.0";
        int decimalExponent = point - 1;
        string text;
        if (decimalExponent is >= -4 and < 16)
        {
            text = point <= 0 ? "0." + new string('0', -point) + digits
                : point >= digits.Length ? digits + new string('0', point - digits.Length) + ".0"
                : digits[..point] + "." + digits[point..];
        }
        else
        {
            text = (digits.Length == 1 ? digits : digits[0] + "." + digits[1..]) + "e" + (decimalExponent < 0 ? "-" : "+") + Math.Abs(decimalExponent).ToString("00", CultureInfo.InvariantCulture);
        }
        return negative ? "-" + text : text;
    }

    private async Task Health(HttpContext c)
    {
        if (Access.Evaluate(c) == Api.Access.Denied)
        {
            await Json(c, 200, json => json.WriteString("status", "ok")).ConfigureAwait(false);
            return;
        }
        var store = _state.Store;
        var stats = store.Statistics;
        await Json(c, 200, json =>
        {
            json.WriteString("status", "ok");
            json.WriteString("name", _state.Name);
            json.WriteString("version", _state.Version);
            json.WriteNumber("uptime_seconds", (long)(DateTimeOffset.UtcNow - _state.StartedAt).TotalSeconds);
            json.WriteNumber("series", stats.Series);
            json.WriteNumber("samples_written", stats.SamplesWritten);
            json.WriteNumber("head_samples", stats.HeadSamples);
            json.WriteNumber("storage_syncs", stats.Syncs);
            json.WriteNumber("database_bytes", store.DatabaseBytes());
            json.WriteStartArray("pollers");
            foreach (var t in _state.Targets)
            {
                json.WriteStartObject();
                json.WriteString("program", t.Program);
                json.WriteString("target", t.Name);
                json.WriteBoolean("ok", !t.Failing && t.LastSuccess is not null);
                if (t.LastSuccess is { } ok) json.WriteString("last_success", ok);
                if (t.LastError is { } err) json.WriteString("last_error", err);
                json.WriteNumber("datapoints", t.Datapoints);
                json.WriteNumber("samples_today", t.SamplesToday);
                json.WriteNumber("round_trip_ms", Math.Round(t.RoundTrip.TotalMilliseconds, 3));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("listeners");
            foreach (var l in _state.Listeners)
            {
                json.WriteStartObject();
                json.WriteString("name", l.Name);
                json.WriteString("listen", l.Listen);
                json.WriteStartObject("counters");
                foreach (var (name, value) in l.Counters) json.WriteNumber(name, value);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartObject("writes");
            json.WriteBoolean("enabled", _state.Writes.Options.Enabled);
            foreach (var (result, count) in _state.Writes.Counts) json.WriteNumber(result, count);
            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static Task Text(HttpContext c, int status, string text)
    {
        c.Response.StatusCode = status;
        c.Response.ContentType = "text/plain; charset=utf-8";
        return c.Response.WriteAsync(text);
    }

    private static async Task Json(HttpContext c, int status, Action<Utf8JsonWriter> body)
    {
        c.Response.StatusCode = status;
        c.Response.ContentType = "application/json; charset=utf-8";
        await using var w = new Utf8JsonWriter(c.Response.Body, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        body(w);
        w.WriteEndObject();
    }
}
