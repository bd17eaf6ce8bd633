using System.Buffers;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;

namespace Pattoo.Edge.Forwarding.RemoteWrite;

/// <summary>
/// Feeds one Prometheus remote_write receiver from the store (<see cref="CursorForwarder"/>):
/// each batch as one <c>WriteRequest</c>, snappy-compressed. Prometheus drops a sample sent twice
/// (after a crash); VictoriaMetrics keeps it unless given <c>-dedup.minScrapeInterval</c>.
/// </summary>
public sealed class RemoteWriteForwarder(RemoteWriteOptions options, Storage.TimeSeriesStore store, HttpMessageHandler? handler = null)
    : HttpForwarder(options, store, handler)
{
    private readonly ArrayBufferWriter<byte> _body = new(64 * 1024);
    /// <summary>Each series' labels, encoded once (<see cref="WriteRequestEncoder.EncodeLabels"/>).</summary>
    private readonly Dictionary<long, byte[]> _labels = new();

    /// <summary>Two requests at once: the receiver stores one while the next is read and encoded, and a replay is not one round trip at a time.</summary>
    protected override int MaxBatchesInFlight => 2;

    protected override void CatalogChanged() => _labels.Clear();

    protected override async Task<string?> SendAsync(IReadOnlyList<SeriesBatch> batch, CancellationToken stop)
    {
        _body.ResetWrittenCount();
        foreach (var (info, points, take, _) in batch)
        {
            if (!_labels.TryGetValue(info.IdxDatapoint, out var labels))
                _labels[info.IdxDatapoint] = labels = WriteRequestEncoder.EncodeLabels(RemoteWriteLabels.For(info, options.ExternalLabels));
            WriteRequestEncoder.WriteSeries(_body, labels, CollectionsMarshal.AsSpan(points.Timestamps)[..take], CollectionsMarshal.AsSpan(points.Values)[..take]);
        }
        // Its own buffer: the body is still being sent while the next batch is encoded.
        var compressed = ArrayPool<byte>.Shared.Rent(Snappy.MaxCompressedLength(_body.WrittenCount));
        try
        {
            int length = Snappy.Compress(_body.WrittenSpan, compressed);
            using var request = new HttpRequestMessage(HttpMethod.Post, Options.Url) { Content = new ReadOnlyMemoryContent(compressed.AsMemory(0, length)) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            request.Content.Headers.ContentEncoding.Add("snappy");
            request.Headers.Add("X-Prometheus-Remote-Write-Version", "0.1.0");
            return await PostAsync(request, stop).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }
}
