using System.Net.Http.Headers;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Forwarding;

/// <summary>A forwarder whose destination takes HTTP posts: the client, the credentials and what an answer means.</summary>
public abstract class HttpForwarder : CursorForwarder
{
    protected HttpForwarder(ForwarderOptions options, TimeSeriesStore store, HttpMessageHandler? handler) : base(options, store)
    {
        Http = new HttpClient(handler ?? CreateHandler(options), disposeHandler: true) { Timeout = options.Timeout };
    }

    protected HttpClient Http { get; }

    private static SocketsHttpHandler CreateHandler(ForwarderOptions options)
    {
        var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1), ConnectTimeout = TimeSpan.FromSeconds(10) };
        if (TlsTrust.For(options) is { } check) handler.SslOptions.RemoteCertificateValidationCallback = check;
        return handler;
    }

    /// <summary>
    /// Sends <paramref name="request"/> with the configured credentials; null on a 2xx, else
    /// what went wrong. A 4xx other than 429 is a configuration error.
    /// </summary>
    protected async Task<string?> PostAsync(HttpRequestMessage request, CancellationToken stop)
    {
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("pattoo-edge", typeof(CursorForwarder).Assembly.GetName().Version?.ToString(3) ?? "0"));
        if (Options.BearerToken is { } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        else if (Options.Username is { } user)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{Options.Password}")));
        try
        {
            using var response = await Http.SendAsync(request, stop).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return null;
            string text = await ReadShort(response, stop).ConfigureAwait(false);
            int code = (int)response.StatusCode;
            string error = $"{request.RequestUri} answered {code} {response.ReasonPhrase}: {text}";
            if (code is >= 400 and < 500 && code != 429) return ConfigurationError(error);
            return Fail(error);
        }
        catch (HttpRequestException e)
        {
            return Fail($"{request.RequestUri}: {SystemMessages.Describe(e.InnerException ?? e)}");
        }
        catch (TaskCanceledException) when (!stop.IsCancellationRequested)
        {
            return Fail($"{request.RequestUri}: no answer within {Duration.Format(Options.Timeout)}");
        }
    }

    private static async Task<string> ReadShort(HttpResponseMessage response, CancellationToken stop)
    {
        try
        {
            string text = (await response.Content.ReadAsStringAsync(stop).ConfigureAwait(false)).Trim();
            return text.Length <= 200 ? text : text[..200] + "...";
        }
        catch (HttpRequestException) { return "(no body)"; }
    }

    protected override ValueTask CloseAsync()
    {
        Http.Dispose();
        return ValueTask.CompletedTask;
    }
}
