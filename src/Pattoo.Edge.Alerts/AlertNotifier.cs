using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Alerts;

/// <summary>A firing or a resolution to tell the webhooks about.</summary>
public sealed record AlertNotification(AlertRule Rule, AlertSeries Series, AlertTransition Transition, string Message);

/// <summary>
/// Posts notifications to every [[alerts.webhooks]] entry in Alertmanager's webhook format
/// (version 4: status, receiver, groupLabels, commonLabels, commonAnnotations, alerts with
/// labels, annotations, startsAt, endsAt, fingerprint), so anything that takes Alertmanager's
/// webhooks takes these. One alert per post; a post that fails is tried 3 times (1 s, 5 s
/// apart) and then logged. Notifications queue without blocking the evaluator; a full queue
/// (10,000) drops new ones, counted and logged.
/// </summary>
public sealed class AlertNotifier : IAsyncDisposable
{
    private const int QueueCapacity = 10_000;
    private static readonly TimeSpan[] RetryDelays = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)];

    private readonly Channel<AlertNotification> _queue = Channel.CreateBounded<AlertNotification>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true });
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly string _applianceName;
    private readonly string _externalUrl;
    private readonly Task _sender;
    private volatile IReadOnlyList<AlertWebhook> _webhooks = [];
    private long _sent, _failed, _dropped;

    /// <param name="applianceName">Labelled on every alert (label "appliance").</param>
    /// <param name="externalUrl">The box's dashboard, Alertmanager's externalURL and each alert's generatorURL.</param>
    public AlertNotifier(string applianceName, string externalUrl)
    {
        _applianceName = applianceName;
        _externalUrl = externalUrl;
        _sender = Task.Run(SendLoop);
    }

    public (long Sent, long Failed, long Dropped) Counts => (Interlocked.Read(ref _sent), Interlocked.Read(ref _failed), Interlocked.Read(ref _dropped));

    public void Apply(IReadOnlyList<AlertWebhook> webhooks) => _webhooks = webhooks;

    public void Enqueue(AlertNotification n)
    {
        if (_webhooks.Count == 0) return;
        if (_queue.Writer.TryWrite(n)) return;
        long dropped = Interlocked.Increment(ref _dropped);
        if (dropped == 1 || dropped % 1000 == 0) Log.Warning($"alerts: {dropped} notifications dropped: the webhooks take them slower than they come");
    }

    private async Task SendLoop()
    {
        await foreach (var n in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            foreach (var hook in _webhooks) await SendAsync(hook, n).ConfigureAwait(false);
        }
    }

    private async Task SendAsync(AlertWebhook hook, AlertNotification n)
    {
        byte[] body = Payload(n, hook.Name);
        string? error = null;
        for (int attempt = 0; attempt <= RetryDelays.Length; attempt++)
        {
            if (attempt > 0) await Task.Delay(RetryDelays[attempt - 1]).ConfigureAwait(false);
            using var cts = new CancellationTokenSource(hook.Timeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                if (hook.Token is { } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await _http.SendAsync(request, cts.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _sent);
                    return;
                }
                error = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
                if ((int)response.StatusCode is >= 400 and < 500 and not 408 and not 429) break; // it will not take it: no retry
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                error = e is OperationCanceledException ? $"no answer in {Duration.Format(hook.Timeout)}" : e.Message;
            }
        }
        Interlocked.Increment(ref _failed);
        Log.Warning($"alerts: webhook \"{hook.Name}\" ({hook.Url}) did not take the {n.Transition.Report.ToString().ToLowerInvariant()} notification of {n.Rule.Name}: {error}");
    }

    /// <summary>The Alertmanager webhook (version 4) body of one notification.</summary>
    internal byte[] Payload(AlertNotification n, string receiver)
    {
        bool firing = n.Transition.Report == AlertReport.Firing;
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["alertname"] = n.Rule.Name,
            ["severity"] = n.Rule.Severity.Name(),
            ["appliance"] = _applianceName,
            ["program"] = n.Series.Program,
            ["target"] = n.Series.Target,
            ["key"] = n.Series.Key,
        };
        foreach (var (name, value) in n.Series.Labels) labels.TryAdd(name, value);
        var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["summary"] = n.Message,
            ["condition"] = n.Rule.Condition.ToString(),
        };
        if (n.Transition.Value is { } v) annotations["value"] = AlertCondition.Number(v);
        if (n.Transition.Flaps > 0) annotations["flaps"] = n.Transition.Flaps.ToString(CultureInfo.InvariantCulture);
        string fingerprint = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u0001', labels.Select(l => l.Key + "=" + l.Value)))))[..16].ToLowerInvariant();

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("version", "4");
            w.WriteString("groupKey", $"{{}}:{{alertname=\"{n.Rule.Name}\"}}");
            w.WriteNumber("truncatedAlerts", 0);
            w.WriteString("status", firing ? "firing" : "resolved");
            w.WriteString("receiver", receiver);
            Object(w, "groupLabels", new SortedDictionary<string, string>(StringComparer.Ordinal) { ["alertname"] = n.Rule.Name });
            Object(w, "commonLabels", labels);
            Object(w, "commonAnnotations", annotations);
            w.WriteString("externalURL", _externalUrl);
            w.WriteStartArray("alerts");
            w.WriteStartObject();
            w.WriteString("status", firing ? "firing" : "resolved");
            Object(w, "labels", labels);
            Object(w, "annotations", annotations);
            w.WriteString("startsAt", Time(n.Transition.Since));
            w.WriteString("endsAt", firing ? "0001-01-01T00:00:00Z" : Time(n.Transition.At));
            w.WriteString("generatorURL", $"{_externalUrl}#/events?source={Uri.EscapeDataString(AlertEvaluator.Program + "/" + n.Rule.Name)}");
            w.WriteString("fingerprint", fingerprint);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void Object(Utf8JsonWriter w, string name, SortedDictionary<string, string> values)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in values) w.WriteString(k, v);
        w.WriteEndObject();
    }

    private static string Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Sends what is queued (each webhook gets its tries), then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _sender.WaitAsync(TimeSpan.FromSeconds(15)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        _http.Dispose();
    }
}
