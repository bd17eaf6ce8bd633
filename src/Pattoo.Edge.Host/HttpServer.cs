using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pattoo.Edge.Api;

namespace Pattoo.Edge.Host;

/// <summary>The HTTP side of the appliance on Kestrel (slim builder: AOT-safe, no MVC).</summary>
internal sealed class HttpServer : IAsyncDisposable
{
    private readonly EdgeHost _host;
    private WebApplication? _app;

    public HttpServer(EdgeHost host) => _host = host;

    public async Task StartAsync()
    {
        // The empty builder: no appsettings.json, no environment-variable configuration and,
        // above all, no file watcher on the content root. The slim builder watches the working
        // directory recursively for appsettings changes; started from "/" (systemd's default
        // for a service), that walked the whole file system: 3.4 s and 1.4 s of CPU per start.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = Array.Empty<string>(), ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new LogBridge());
        builder.Logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            var server = _host.Options.Server;
            k.Listen(server.Listen, listen =>
            {
                if (server.TlsCertificate is { } cert && server.TlsKey is { } key)
                    listen.UseHttps(X509Certificate2.CreateFromPemFile(cert, key));
            });
            // A backstop only: each route holds its body to its own limit (api.max_body,
            // api.max_query_bytes) and answers 413 in JSON itself.
            k.Limits.MaxRequestBodySize = Math.Max(_host.Options.Api.MaxBody, _host.Options.Api.MaxQueryBytes) + 1;
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        new ApiEndpoints(_host).Map(app);
        DashboardEndpoints.Map(app);
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
