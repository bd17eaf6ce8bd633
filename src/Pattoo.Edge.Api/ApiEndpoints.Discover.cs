using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Api;

public sealed partial class ApiEndpoints
{
    /// <summary>Where the dashboard's Discover page runs a discovery.</summary>
    public const string DiscoverPath = "/api/v1/discover";

    private const int MaxDiscoverBody = 16 * 1024;

    /// <summary>One discovery at a time: it sends traffic from the box, and a serial line takes one master.</summary>
    private readonly SemaphoreSlim _discovery = new(1, 1);

    /// <summary>
    /// Runs <c>pattoo-edge discover</c> on the box for the dashboard. The body is
    /// <c>{"args": ["modbus", "192.0.2.20", "--emit-plausible"]}</c>, the command line after
    /// <c>discover</c>. A bad argument answers 400; otherwise the answer streams NDJSON: a
    /// <c>{"progress": "..."}</c> line per step, then <c>{"toml": "..."}</c> or
    /// <c>{"error": "..."}</c>. Write access, as ingest: it sends traffic from the box.
    /// </summary>
    private async Task Discover(HttpContext c)
    {
        if (!await MayWrite(c).ConfigureAwait(false)) return;
        using var body = await ReadBody(c, MaxDiscoverBody, "the discover request limit").ConfigureAwait(false);
        if (body is null) return;
        List<string> args;
        try
        {
            args = ReadDiscoverArgs(body.Span);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            await Json(c, 400, w => w.WriteString("error", $"expected {{\"args\": [\"modbus\", \"192.0.2.20\", ...]}}, the command line after \"pattoo-edge discover\": {e.Message}")).ConfigureAwait(false);
            return;
        }
        if (!await _discovery.WaitAsync(0, c.RequestAborted).ConfigureAwait(false))
        {
            await Json(c, 409, w => w.WriteString("error", "a discovery is already running on this box; try again when it has finished")).ConfigureAwait(false);
            return;
        }
        try
        {
            Log.Info($"discover: {c.Connection.RemoteIpAddress} runs discover {string.Join(' ', args)}");
            var lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
            var run = _state.DiscoverAsync(args, line => lines.Writer.TryWrite(line), c.RequestAborted);
            _ = run.ContinueWith(_ => lines.Writer.TryComplete(), TaskScheduler.Default);

            // Arguments are checked before the first request: a bad one is a 400, not a stream.
            await Task.WhenAny(lines.Reader.WaitToReadAsync(c.RequestAborted).AsTask(), run).ConfigureAwait(false);
            if (run.IsFaulted && run.Exception!.InnerException is FormatException bad && !lines.Reader.TryPeek(out _))
            {
                await Json(c, 400, w => w.WriteString("error", bad.Message)).ConfigureAwait(false);
                return;
            }
            c.Response.StatusCode = 200;
            c.Response.ContentType = "application/x-ndjson; charset=utf-8";
            c.Response.Headers.CacheControl = "no-store";
            await foreach (string line in lines.Reader.ReadAllAsync(c.RequestAborted).ConfigureAwait(false))
                await WriteLineAsync(c, "progress", line).ConfigureAwait(false);
            try
            {
                await WriteLineAsync(c, "toml", await run.ConfigureAwait(false)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is DiscoveryException or FormatException)
            {
                await WriteLineAsync(c, "error", e.Message).ConfigureAwait(false);
            }
        }
        finally
        {
            _discovery.Release();
        }
    }

    private static List<string> ReadDiscoverArgs(ReadOnlySpan<byte> json)
    {
        var args = new List<string>();
        var r = new Utf8JsonReader(json);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject) throw new FormatException("not a JSON object");
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            bool isArgs = r.ValueTextEquals("args");
            r.Read();
            if (!isArgs)
            {
                r.Skip();
                continue;
            }
            if (r.TokenType != JsonTokenType.StartArray) throw new FormatException("\"args\" is an array of strings");
            while (r.Read() && r.TokenType != JsonTokenType.EndArray)
            {
                if (r.TokenType != JsonTokenType.String) throw new FormatException("\"args\" is an array of strings");
                args.Add(r.GetString()!);
            }
        }
        if (args.Count == 0) throw new FormatException("no \"args\"");
        if (args.Count > 64) throw new FormatException("more than 64 arguments");
        return args;
    }

    private static async Task WriteLineAsync(HttpContext c, string name, string value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString(name, value);
            w.WriteEndObject();
        }
        await c.Response.Body.WriteAsync(buffer.WrittenMemory, c.RequestAborted).ConfigureAwait(false);
        await c.Response.Body.WriteAsync("\n"u8.ToArray(), c.RequestAborted).ConfigureAwait(false);
        await c.Response.Body.FlushAsync(c.RequestAborted).ConfigureAwait(false);
    }
}
