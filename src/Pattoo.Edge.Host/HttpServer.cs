using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Host;

/// <summary>The HTTP side of the appliance on Kestrel (slim builder: AOT-safe, no MVC).</summary>
internal sealed class HttpServer : IAsyncDisposable
{
    private readonly EdgeHost _host;
    private WebApplication? _app;

    public HttpServer(EdgeHost host) => _host = host;

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new LogBridge());
        builder.Logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(_host.Options.Server.Listen);
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        app.MapGet("/api/v1/health", Health);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"cannot listen on {_host.Options.Server.Listen} (server.listen): {e.Message}", e);
        }
        _app = app;
    }

    private async Task Health(HttpContext context)
    {
        var store = _host.Store;
        var stats = store.Statistics;
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("name", _host.Options.Appliance.Name);
        json.WriteString("version", EdgeHost.Version);
        json.WriteNumber("uptime_seconds", (long)(DateTimeOffset.UtcNow - _host.StartedAt).TotalSeconds);
        json.WriteNumber("series", stats.Series);
        json.WriteNumber("samples_written", stats.SamplesWritten);
        json.WriteNumber("head_samples", stats.HeadSamples);
        json.WriteNumber("database_bytes", store.DatabaseBytes());
        json.WriteStartArray("pollers");
        foreach (var t in _host.Scheduler.States)
        {
            json.WriteStartObject();
            json.WriteString("program", t.Program);
            json.WriteString("target", t.Name);
            json.WriteBoolean("ok", !t.Failing && t.LastSuccess is not null);
            if (t.LastSuccess is { } ok) json.WriteString("last_success", ok);
            if (t.LastError is { } err) json.WriteString("last_error", err);
            json.WriteNumber("datapoints", t.Datapoints);
            json.WriteNumber("round_trip_ms", Math.Round(t.RoundTrip.TotalMilliseconds, 3));
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Sends ASP.NET Core's warnings and errors to our journald-friendly log.</summary>
    private sealed class LogBridge : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = "http: " + formatter(state, exception) + (exception is null ? "" : $" ({exception.Message})");
            if (logLevel >= Microsoft.Extensions.Logging.LogLevel.Error) Common.Log.Error(message);
            else Common.Log.Warning(message);
        }
    }
}
