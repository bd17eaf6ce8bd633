using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Pattoo.Edge.Bench;

/// <summary>
/// A load generator's HTTP/1.1 client, as wrk or Python's http.client: a keep-alive connection
/// on 127.0.0.1 that sends a request encoded beforehand in one write and reads the answer
/// (Content-Length or chunked). It costs the machine far less than HttpClient, so on 2 cores
/// the servers' figures (rates, latencies) are theirs, for every peer alike.
/// </summary>
internal sealed class RawHttpClient : IDisposable
{
    private readonly Socket _socket;
    private byte[] _buffer = new byte[64 * 1024];

    private RawHttpClient(Socket socket) => _socket = socket;

    public static async Task<RawHttpClient> ConnectAsync(int port, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), ct);
        return new RawHttpClient(socket);
    }

    /// <summary>A POST of <paramref name="body"/> to <paramref name="uri"/>'s path and query, headers included.</summary>
    public static byte[] Request(Uri uri, string? mediaType, byte[] body)
    {
        var head = Encoding.ASCII.GetBytes(
            $"POST {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\n"
            + (mediaType is null ? "" : $"Content-Type: {mediaType}\r\n")
            + $"Content-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\n\r\n");
        return [.. head, .. body];
    }

    /// <summary>A GET of <paramref name="uri"/>'s path and query.</summary>
    public static byte[] Get(Uri uri) => Encoding.ASCII.GetBytes($"GET {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\n\r\n");

    /// <summary>Sends one request (<see cref="Request"/>, <see cref="Get"/>) and reads its answer: the status and the body as text.</summary>
    public async Task<(int Status, string Body)> SendAsync(byte[] request, CancellationToken ct = default)
    {
        await _socket.SendAsync(request, SocketFlags.None, ct);
        int filled = 0, headerEnd;
        while ((headerEnd = _buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (filled == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            int n = await _socket.ReceiveAsync(_buffer.AsMemory(filled), SocketFlags.None, ct);
            if (n == 0) throw new IOException("the server closed the connection before answering");
            filled += n;
        }
        string headers = Encoding.ASCII.GetString(_buffer, 0, headerEnd);
        int status = int.Parse(headers.AsSpan(9, 3), CultureInfo.InvariantCulture);
        int length = 0;
        bool chunked = false;
        foreach (var line in headers.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line.AsSpan(15).Trim(), CultureInfo.InvariantCulture);
            else if (line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase)) chunked = line.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        }
        int at = headerEnd + 4;
        if (!chunked)
        {
            filled = await FillAsync(filled, at + length, ct);
            if (filled > at + length) throw new IOException("the server sent more than its answer");
            return (status, Encoding.UTF8.GetString(_buffer, at, length));
        }
        // Chunked: size line in hex, the chunk, CRLF; a chunk of size 0 and an empty line end it.
        var body = new StringBuilder();
        while (true)
        {
            int lineEnd;
            while ((lineEnd = _buffer.AsSpan(at, filled - at).IndexOf("\r\n"u8)) < 0) filled = await FillAsync(filled, filled + 1, ct);
            int size = int.Parse(Encoding.ASCII.GetString(_buffer, at, lineEnd).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            at += lineEnd + 2;
            filled = await FillAsync(filled, at + size + 2, ct);
            body.Append(Encoding.UTF8.GetString(_buffer, at, size));
            at += size + 2;
            if (size == 0) break;
        }
        if (filled > at) throw new IOException("the server sent more than its answer");
        return (status, body.ToString());
    }

    /// <summary>Receives until the buffer holds at least <paramref name="needed"/> bytes; returns how many it holds.</summary>
    private async Task<int> FillAsync(int filled, int needed, CancellationToken ct)
    {
        if (needed > _buffer.Length) Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
        while (filled < needed)
        {
            int n = await _socket.ReceiveAsync(_buffer.AsMemory(filled), SocketFlags.None, ct);
            if (n == 0) throw new IOException("the server closed the connection in the middle of its answer");
            filled += n;
        }
        return filled;
    }

    public void Dispose() => _socket.Dispose();
}
