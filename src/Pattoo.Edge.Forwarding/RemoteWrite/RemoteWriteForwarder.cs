using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Pattoo.Edge.Common;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Forwarding.RemoteWrite;

/// <summary>
/// Feeds one Prometheus remote_write receiver from the store: a durable cursor over local
/// history, not a memory buffer. Each request takes the series furthest behind first, so a
/// backlog after an outage is replayed oldest first while live samples keep being stored; the
/// cursor moves only when the receiver answers 2xx, and is saved every
/// <see cref="CursorSaveInterval"/> and at the end. A crash can send what was sent since the last
/// save once more (Prometheus drops such duplicates; VictoriaMetrics with
/// <c>-dedup.minScrapeInterval</c> does too).
/// </summary>
public sealed class RemoteWriteForwarder : IAsyncDisposable
{
    /// <summary>How often an advanced cursor is written to the database.</summary>
    public static readonly TimeSpan CursorSaveInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ConfigErrorWait = TimeSpan.FromSeconds(60);

    private readonly TimeSeriesStore _store;
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<long, long> _sent = new();
    private readonly Dictionary<long, SeriesLabels?> _labels = new();
    private readonly Backoff _backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
    private readonly Queue<(long At, long Samples)> _recent = new();
    private long _catalogVersion = -1;
    private Task? _run;
    private bool _dirty;
    private long _savedAt;
    private volatile ForwarderStatus _status;

    private sealed record SeriesLabels(KeyValuePair<string, string>[] Labels, long PollingInterval);

    public RemoteWriteForwarder(RemoteWriteOptions options, TimeSeriesStore store, HttpMessageHandler? handler = null)
    {
        Options = options;
        _store = store;
        _http = new HttpClient(handler ?? CreateHandler(options), disposeHandler: true) { Timeout = options.Timeout };
        _status = new ForwarderStatus(options.Name, "remote_write", false, 0, null, null, 0, 0);
    }

    public RemoteWriteOptions Options { get; }

    public ForwarderStatus Status => _status;

    /// <summary>The oldest stored sample not yet acknowledged (ms), null when none waits; kept by the status updates.</summary>
    public long? OldestUnsent => Volatile.Read(ref _oldestUnsent) is var v && v == long.MaxValue ? null : v;

    private long _oldestUnsent = long.MaxValue;

    private static SocketsHttpHandler CreateHandler(RemoteWriteOptions options)
    {
        var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1), ConnectTimeout = TimeSpan.FromSeconds(10) };
        if (options.InsecureSkipVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (options.CaFile is { } caFile)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null) return false;
                if (errors == SslPolicyErrors.None) return true;
                if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) return false; // a wrong name stays wrong
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }
        return handler;
    }

    /// <summary>Loads the cursor and starts forwarding in the background.</summary>
    public void Start()
    {
        LoadCursor();
        _run = Task.Run(() => RunAsync(_stop.Token));
    }

    private void LoadCursor()
    {
        byte[]? saved = _store.LoadForwardCursor(Options.Name);
        if (saved is not null)
        {
            try
            {
                foreach (var (idx, ts) in ForwardCursor.Decode(saved)) _sent[idx] = ts;
                Log.Info($"forward {Options.Name}: resuming from its cursor ({_sent.Count} series)");
                return;
            }
            catch (ForwardCursorException e)
            {
                Log.Warning($"forward {Options.Name}: its stored cursor is damaged ({e.Message}); starting as start = \"{Options.Start.ToString().ToLowerInvariant()}\" says");
            }
        }
        if (Options.Start == ForwardStart.Now)
        {
            foreach (var d in _store.Catalog.Snapshot().Datapoints)
            {
                if (d.DataType != DataType.String) _sent[d.IdxDatapoint] = d.LastTimestamp;
            }
        }
        _dirty = true; // saved with the first pass, so a restart keeps "now" as it was
        Log.Info($"forward {Options.Name}: new, forwarding {(Options.Start == ForwardStart.Now ? "from now" : "everything stored")} to {Options.Url}");
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var body = new ArrayBufferWriter<byte>(64 * 1024);
        var series = new List<RemoteSeries>();
        var included = new List<(long Idx, long Through)>();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                int samples = FillBatch(series, included);
                if (samples == 0)
                {
                    UpdateStatus(connected: _status.Connected, error: _status.LastError);
                    await SaveCursorIfDueAsync(force: false).ConfigureAwait(false);
                    await Task.Delay(Idle, stop).ConfigureAwait(false);
                    continue;
                }
                body.ResetWrittenCount();
                WriteRequestEncoder.Write(series, body);
                var compressed = new byte[Snappy.MaxCompressedLength(body.WrittenCount)];
                int length = Snappy.Compress(body.WrittenSpan, compressed);
                var started = Stopwatch.GetTimestamp();
                string? failure = await SendAsync(compressed.AsMemory(0, length), stop).ConfigureAwait(false);
                if (failure is null)
                {
                    foreach (var (idx, through) in included) _sent[idx] = through;
                    _dirty = true;
                    _backoff.Succeeded();
                    Count(samples);
                    UpdateStatus(connected: true, error: null);
                    await SaveCursorIfDueAsync(force: false).ConfigureAwait(false);
                    await LimitRateAsync(samples, started, stop).ConfigureAwait(false);
                }
                else
                {
                    await SaveCursorIfDueAsync(force: false).ConfigureAwait(false);
                    await Task.Delay(Jitter(_backoff.Failed()), stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is StorageUnavailableException or Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
            {
                UpdateStatus(connected: false, error: $"reading the store failed: {e.Message}");
                Log.Warning($"forward {Options.Name}: reading the store failed: {e.Message}");
                try { await Task.Delay(Jitter(_backoff.Failed()), stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="series"/> with up to <see cref="RemoteWriteOptions.BatchSamples"/>
    /// unsent samples, the series furthest behind first; <paramref name="included"/> gets each
    /// series' newest timestamp in the batch (its cursor once acknowledged).
    /// </summary>
    private int FillBatch(List<RemoteSeries> series, List<(long Idx, long Through)> included)
    {
        series.Clear();
        included.Clear();
        var snapshot = _store.Catalog.Snapshot();
        if (snapshot.Version != _catalogVersion)
        {
            // New series, changed labels: every series' labels again, in one read of the catalog.
            _labels.Clear();
            foreach (var d in _store.ListDatapoints())
            {
                if (d.DataType == DataType.String) continue;
                _labels[d.IdxDatapoint] = Options.Filter.Matches(d.AgentProgram, d.Key, d.Metadata)
                    ? new SeriesLabels(RemoteWriteLabels.For(d, Options.ExternalLabels), d.PollingInterval)
                    : null;
            }
            _catalogVersion = snapshot.Version;
        }
        var behind = new List<(long Idx, long Sent, long Last)>();
        foreach (var d in snapshot.Datapoints)
        {
            if (d.DataType == DataType.String || !d.Enabled) continue;
            long last = d.LastTimestamp;
            long sent = _sent.TryGetValue(d.IdxDatapoint, out long s) ? s : long.MinValue;
            if (last > sent) behind.Add((d.IdxDatapoint, sent, last));
        }
        if (behind.Count == 0) return 0;
        behind.Sort(static (a, b) => a.Sent.CompareTo(b.Sent));
        int room = Options.BatchSamples, samples = 0;
        foreach (var (idx, sent, last) in behind)
        {
            if (!_labels.TryGetValue(idx, out var labels)) continue; // newer than the catalog read: next time
            if (labels is null)
            {
                // Filtered out: nothing of it is ever sent, so its cursor simply follows it.
                _sent[idx] = last;
                continue;
            }
            var points = _store.ReadRaw(idx, sent == long.MinValue ? long.MinValue : sent + 1, last);
            if (points.Count == 0) continue;
            int take = Math.Min(points.Count, room);
            var s = new RemoteSeries(labels.Labels);
            s.Timestamps.AddRange(points.Timestamps.Take(take));
            s.Values.AddRange(points.Values.Take(take));
            series.Add(s);
            included.Add((idx, points.Timestamps[take - 1]));
            samples += take;
            room -= take;
            if (room == 0) break;
        }
        return samples;
    }

    /// <summary>Posts one request; null when the receiver acknowledged it, else what went wrong.</summary>
    private async Task<string?> SendAsync(ReadOnlyMemory<byte> compressed, CancellationToken stop)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Options.Url) { Content = new ReadOnlyMemoryContent(compressed) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        request.Content.Headers.ContentEncoding.Add("snappy");
        request.Headers.Add("X-Prometheus-Remote-Write-Version", "0.1.0");
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("pattoo-edge", typeof(RemoteWriteForwarder).Assembly.GetName().Version?.ToString(3) ?? "0"));
        if (Options.BearerToken is { } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        else if (Options.Username is { } user)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{Options.Password}")));
        string error;
        try
        {
            using var response = await _http.SendAsync(request, stop).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return null;
            string text = await ReadShort(response, stop).ConfigureAwait(false);
            int code = (int)response.StatusCode;
            if (code is >= 400 and < 500 && code != 429)
            {
                // The receiver refuses this request as it is: a wrong URL, token or body. Retrying
                // at once cannot help; the cursor stays, so nothing is lost once it is fixed.
                error = $"{Options.Url} answered {code} {response.ReasonPhrase}: {text} (a configuration error: check url and credentials; retrying every {ConfigErrorWait.TotalSeconds:F0} s)";
                Fail(error);
                _backoff.RetryIn(ConfigErrorWait);
                await Task.Delay(ConfigErrorWait, stop).ConfigureAwait(false);
                return error;
            }
            error = $"{Options.Url} answered {code} {response.ReasonPhrase}: {text}";
        }
        catch (HttpRequestException e)
        {
            error = $"{Options.Url}: {SystemMessages.Describe(e.InnerException ?? e)}";
        }
        catch (TaskCanceledException) when (!stop.IsCancellationRequested)
        {
            error = $"{Options.Url}: no answer within {Duration.Format(Options.Timeout)}";
        }
        Fail(error);
        return error;
    }

    private void Fail(string error)
    {
        // Logged when it changes, not at every retry: an outage of an hour is one line, not thousands.
        if (error != _status.LastError) Log.Warning($"forward {Options.Name}: {error}; retrying with backoff, nothing is lost");
        UpdateStatus(connected: false, error: error);
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

    private static TimeSpan Jitter(TimeSpan wait) => wait * (0.8 + Random.Shared.NextDouble() * 0.4);

    private async Task LimitRateAsync(int samples, long started, CancellationToken stop)
    {
        if (Options.MaxSamplesPerSecond <= 0) return;
        var due = TimeSpan.FromSeconds(samples / (double)Options.MaxSamplesPerSecond) - Stopwatch.GetElapsedTime(started);
        if (due > TimeSpan.Zero) await Task.Delay(due, stop).ConfigureAwait(false);
    }

    private void Count(int samples)
    {
        long now = Environment.TickCount64;
        _recent.Enqueue((now, samples));
        while (_recent.Count > 0 && now - _recent.Peek().At > 60_000) _recent.Dequeue();
        _sentTotal += samples;
    }

    private long _sentTotal;

    private void UpdateStatus(bool connected, string? error)
    {
        long now = Environment.TickCount64;
        while (_recent.Count > 0 && now - _recent.Peek().At > 60_000) _recent.Dequeue();
        double rate = _recent.Sum(r => r.Samples) / 60.0;
        // The backlog: per series, what is stored after its cursor, estimated from its interval.
        long backlog = 0, oldest = long.MaxValue;
        foreach (var d in _store.Catalog.Snapshot().Datapoints)
        {
            if (d.DataType == DataType.String || !d.Enabled) continue;
            long sent = _sent.TryGetValue(d.IdxDatapoint, out long s) ? s : long.MinValue;
            long last = d.LastTimestamp;
            if (last <= sent) continue;
            if (_labels.TryGetValue(d.IdxDatapoint, out var l) && l is null) continue;
            long interval = Math.Max(1000, d.PollingInterval);
            backlog += sent == long.MinValue ? 1 : Math.Max(1, (last - sent) / interval);
            oldest = Math.Min(oldest, sent == long.MinValue ? last : sent + 1);
        }
        Volatile.Write(ref _oldestUnsent, oldest);
        TimeSpan? age = oldest == long.MaxValue ? null : TimeSpan.FromMilliseconds(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - oldest));
        _status = new ForwarderStatus(Options.Name, "remote_write", connected, backlog, age, error, rate, _sentTotal);
    }

    private async Task SaveCursorIfDueAsync(bool force)
    {
        if (!_dirty) return;
        long now = Environment.TickCount64;
        if (!force && now - _savedAt < CursorSaveInterval.TotalMilliseconds) return;
        try
        {
            await _store.SaveForwardCursorAsync(Options.Name, ForwardCursor.Encode(_sent)).ConfigureAwait(false);
            _dirty = false;
            _savedAt = now;
        }
        catch (StorageUnavailableException e)
        {
            Log.Warning($"forward {Options.Name}: its cursor could not be saved ({e.Message}); what was sent since may be sent again after a restart");
        }
    }

    /// <summary>Stops forwarding and saves the cursor.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_run is not null)
        {
            try { await _run.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        await SaveCursorIfDueAsync(force: true).ConfigureAwait(false);
        _http.Dispose();
        _stop.Dispose();
    }
}
