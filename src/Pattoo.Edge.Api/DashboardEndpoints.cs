using System.Collections.Frozen;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace Pattoo.Edge.Api;

/// <summary>
/// The web dashboard: a single page (hash routes) at <c>/</c> whose scripts talk only to the
/// public GraphQL API. Its files are embedded resources under <c>assets/dashboard/</c>.
/// <list type="bullet">
/// <item><c>/</c> answers index.html with <c>no-cache</c>; the page names its assets under
/// <c>/dashboard/v-HASH/</c> (HASH covers every dashboard file), so those are cached for a year
/// and a new binary changes the path. Relative imports between the scripts keep the version.</item>
/// <item><c>/dashboard/FILE</c> (unversioned, or another version) answers with <c>no-cache</c>
/// and an ETag, for bookmarks and old pages.</item>
/// <item>Every file is gzipped once, on first use, and sent gzipped to clients that accept it.</item>
/// </list>
/// </summary>
public static class DashboardEndpoints
{
    private const string ResourcePrefix = "assets/dashboard/";
    private const string VersionPlaceholder = "__DASHBOARD_VERSION__";
    private const string Immutable = "public, max-age=31536000, immutable";
    private const string Revalidate = "no-cache";

    // No inline script, no third-party origin; uPlot sets element styles from script, hence 'unsafe-inline' for styles.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

    private sealed record Asset(string ContentType, byte[] Body, byte[]? Gzipped, string ETag);

    private static readonly Lazy<(FrozenDictionary<string, Asset> Files, string Version)> Loaded = new(Load);

    /// <summary>The version segment the page uses for its asset paths ("v-" + 12 hex digits).</summary>
    public static string Version => Loaded.Value.Version;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapMethods("/", ["GET", "HEAD"], c => Send(c, "index.html", Revalidate));
        app.MapMethods("/index.html", ["GET", "HEAD"], c => Send(c, "index.html", Revalidate));
        app.MapMethods("/dashboard/{file}", ["GET", "HEAD"], c => Send(c, Route(c, "file"), Revalidate));
        app.MapMethods("/dashboard/{version}/{file}", ["GET", "HEAD"], c =>
            Send(c, Route(c, "file"), Route(c, "version") == Version ? Immutable : Revalidate));
    }

    private static string Route(HttpContext c, string name) => c.Request.RouteValues[name] as string ?? "";

    private static Task Send(HttpContext c, string file, string cacheControl)
    {
        var response = c.Response;
        if (!Loaded.Value.Files.TryGetValue(file, out var asset))
        {
            response.StatusCode = 404;
            response.ContentType = "text/plain; charset=utf-8";
            response.Headers.CacheControl = Revalidate;
            return response.WriteAsync($"no dashboard file \"{file}\"\n");
        }
        var headers = response.Headers;
        headers.CacheControl = cacheControl;
        headers.ETag = asset.ETag;
        headers.Vary = "Accept-Encoding";
        headers.XContentTypeOptions = "nosniff";
        if (file == "index.html")
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers["Referrer-Policy"] = "no-referrer";
            headers.XFrameOptions = "DENY";
        }
        response.ContentType = asset.ContentType;
        if (IfNoneMatch(c.Request, asset.ETag))
        {
            response.StatusCode = 304;
            return Task.CompletedTask;
        }
        byte[] body = asset.Body;
        if (asset.Gzipped is { } gz && AcceptsGzip(c.Request))
        {
            headers.ContentEncoding = "gzip";
            body = gz;
        }
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(c.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body, c.RequestAborted).AsTask();
    }

    private static bool IfNoneMatch(HttpRequest request, string etag)
    {
        foreach (var value in request.Headers.IfNoneMatch)
        {
            if (value is null) continue;
            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries))
            {
                // Weak comparison (RFC 9110 13.1.2): a W/ prefix, as proxies add to gzipped bodies, still matches.
                var tag = part.StartsWith("W/", StringComparison.Ordinal) ? part[2..] : part;
                if (tag == "*" || tag == etag) return true;
            }
        }
        return false;
    }

    /// <summary>True when Accept-Encoding lists gzip (or *) without q=0 (RFC 9110 12.5.3).</summary>
    internal static bool AcceptsGzip(HttpRequest request) => AcceptsGzip(request.Headers.AcceptEncoding);

    internal static bool AcceptsGzip(StringValues acceptEncoding)
    {
        foreach (var value in acceptEncoding)
        {
            if (value is null) continue;
            foreach (var item in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = item.Split(';', StringSplitOptions.TrimEntries);
                if (!parts[0].Equals("gzip", StringComparison.OrdinalIgnoreCase) && !parts[0].Equals("x-gzip", StringComparison.OrdinalIgnoreCase) && parts[0] != "*") continue;
                bool refused = parts.Skip(1).Any(p => p.Replace(" ", "", StringComparison.Ordinal) is "q=0" or "q=0.0" or "q=0.00" or "q=0.000");
                if (!refused) return true;
            }
        }
        return false;
    }

    private static (FrozenDictionary<string, Asset>, string) Load()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var raw = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            string file = name[ResourcePrefix.Length..];
            if (file.Contains('/')) continue; // the routes serve one flat folder
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            raw[file] = copy.ToArray();
        }

        // The version covers every file, so any change to the dashboard changes its asset paths.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (file, bytes) in raw)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file + "\0"));
            hash.AppendData(bytes);
        }
        string version = "v-" + Convert.ToHexStringLower(hash.GetHashAndReset())[..12];

        var files = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var (file, original) in raw)
        {
            byte[] bytes = original;
            if (file == "index.html")
                bytes = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(original).Replace(VersionPlaceholder, version, StringComparison.Ordinal));
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..20] + "\"";
            files[file] = new Asset(ContentType(file), bytes, Gzip(file, bytes), etag);
        }
        return (files.ToFrozenDictionary(StringComparer.Ordinal), version);
    }

    private static byte[]? Gzip(string file, byte[] bytes)
    {
        if (Path.GetExtension(file) is ".png" or ".jpg" or ".woff2" or ".gz") return null;
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true)) gz.Write(bytes);
        return output.Length < bytes.Length ? output.ToArray() : null;
    }

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".txt" => "text/plain; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".json" => "application/json",
        ".webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    };
}
