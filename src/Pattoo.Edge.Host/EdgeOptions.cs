using System.Net;
using Pattoo.Edge.Alerts;
using Pattoo.Edge.Api;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Control;
using Pattoo.Edge.Forwarding;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Host;

/// <summary>The whole configuration file, bound and checked.</summary>
public sealed record EdgeOptions
{
    public required string SourceName { get; init; }
    public required ApplianceOptions Appliance { get; init; }
    public required ServerOptions Server { get; init; }
    public required StorageOptions Storage { get; init; }
    public required LogLevel LogLevel { get; init; }
    public required ApiOptions Api { get; init; }
    /// <summary>Every poller's section, in <see cref="PollerModules.All"/>'s order.</summary>
    public required IReadOnlyList<IPollerOptions> Pollers { get; init; }
    /// <summary>The [forward] section: where samples leave the box.</summary>
    public ForwardOptions Forward { get; init; } = ForwardOptions.None;
    /// <summary>The [alerts] section: rules judged as samples are stored, and where notifications go.</summary>
    public AlertOptions Alerts { get; init; } = AlertOptions.None;
    /// <summary>The [write] section: write-back's kill switch and rate limit.</summary>
    public WriteOptions Write { get; init; } = WriteOptions.Disabled;

    /// <summary>The section of one poller (tests and tools; the host loops over <see cref="Pollers"/>).</summary>
    public T Poller<T>() where T : IPollerOptions => Pollers.OfType<T>().Single();

    /// <summary>How many targets the configuration asks for, without creating them.</summary>
    public int TargetCount => Pollers.Sum(p => p.TargetCount);

    /// <summary>The commented default configuration embedded in the binary.</summary>
    public static string DefaultText()
    {
        using var stream = typeof(EdgeOptions).Assembly.GetManifestResourceStream("Pattoo.Edge.default.toml")
            ?? throw new InvalidOperationException("the embedded default configuration is missing from this build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The pollers with an embedded sample config (<c>pattoo-edge config sample NAME</c>).</summary>
    public static IEnumerable<string> SampleNames => PollerModules.All.Select(m => m.Section);

    /// <summary>A poller's commented sample.toml, or null for an unknown name.</summary>
    public static string? SampleText(string name)
    {
        var assembly = typeof(EdgeOptions).Assembly;
        string? resource = assembly.GetManifestResourceNames()
            .FirstOrDefault(r => string.Equals(r, $"Pattoo.Edge.sample/{name}/sample.toml", StringComparison.OrdinalIgnoreCase));
        using var stream = resource is null ? null : assembly.GetManifestResourceStream(resource);
        if (stream is null) return null;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static EdgeOptions LoadDefault() => Parse(DefaultText(), "(embedded default)");

    /// <summary>Reads and checks a config file.</summary>
    /// <exception cref="ConfigException">listing every problem found.</exception>
    public static EdgeOptions LoadFile(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(new ConfigErrors { new ConfigError(path, 0, 0, "", $"cannot read the file: {Common.SystemMessages.Describe(e)}") });
        }
        return Parse(text, Path.GetFileName(path));
    }

    /// <exception cref="ConfigException">listing every problem found.</exception>
    public static EdgeOptions Parse(string text, string sourceName)
    {
        var errors = new ConfigErrors();
        var tree = TomlTree.Parse(text, sourceName, errors);
        if (errors.Count > 0) throw new ConfigException(errors);
        var root = new ConfigSection(sourceName, "", tree, errors);

        var appliance = root.GetSection("appliance");
        var name = appliance.GetString("name", DefaultName());
        if (name.Trim().Length == 0) appliance.Error("name", "expected a name, got an empty string");
        appliance.Finish();

        var server = ServerOptions.Bind(root.GetSection("server"));
        var storage = StorageOptionsBinder.Bind(root.GetSection("storage"));
        var events = root.GetSection("events");
        storage = storage with { EventRetention = events.GetDuration("retention", storage.EventRetention, TimeSpan.FromHours(1), TimeSpan.FromDays(36500)) };
        events.Finish();
        var audit = root.GetSection("audit");
        storage = storage with { AuditRetention = audit.GetDuration("retention", storage.AuditRetention, TimeSpan.FromDays(1), TimeSpan.FromDays(36500)) };
        audit.Finish();

        var log = root.GetSection("log");
        var levelText = log.GetChoice("level", "info", "debug", "info", "warning", "error");
        Common.Log.TryParseLevel(levelText, out var level);
        log.Finish();

        var api = ApiOptions.Bind(root.GetSection("api"));
        var pollers = PollerModules.All.Select(m => m.Bind(root.GetSection(m.Section))).ToList();
        var forward = ForwardOptions.Bind(root.GetSection("forward"), name.Trim());
        var alerts = AlertOptions.Bind(root.GetSection("alerts"));
        var write = WriteOptions.Bind(root.GetSection("write"));
        root.Finish();
        if (errors.Count > 0)
        {
            errors.Sort((a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : a.Column.CompareTo(b.Column));
            throw new ConfigException(errors);
        }
        return new EdgeOptions
        {
            SourceName = sourceName,
            Appliance = new ApplianceOptions(name.Trim()),
            Server = server,
            Storage = storage,
            LogLevel = level,
            Api = api,
            Pollers = pollers,
            Forward = forward,
            Alerts = alerts,
            Write = write,
        };
    }

    private static string DefaultName()
    {
        try { return Dns.GetHostName(); }
        catch (Exception) { return "pattoo-edge"; }
    }
}

public sealed record ApplianceOptions(string Name);

/// <summary>The [server] section.</summary>
public sealed record ServerOptions(IPEndPoint Listen, string? TlsCertificate = null, string? TlsKey = null)
{
    public const int DefaultPort = 20202;

    public static ServerOptions Bind(ConfigSection s)
    {
        var text = s.GetString("listen", "0.0.0.0:20202");
        var cert = s.GetOptionalString("tls_certificate");
        var key = s.GetOptionalString("tls_key");
        if ((cert is null) != (key is null))
            s.Error(cert is null ? "tls_key" : "tls_certificate", "tls_certificate and tls_key go together: set both (PEM files) or neither");
        foreach (var (name, file) in new[] { ("tls_certificate", cert), ("tls_key", key) })
        {
            if (file is not null && !File.Exists(file)) s.Error(name, $"the file \"{file}\" does not exist");
        }
        s.Finish();
        var endpoint = new IPEndPoint(IPAddress.Any, DefaultPort);
        if (!TryParseEndpoint(text, out endpoint))
            s.Error("listen", $"expected host:port such as \"0.0.0.0:20202\" or \"[::1]:8080\", got \"{text}\"");
        return new ServerOptions(endpoint, cert, key);
    }

    public static bool TryParseEndpoint(string text, out IPEndPoint endpoint)
    {
        endpoint = new IPEndPoint(IPAddress.Any, DefaultPort);
        if (text.StartsWith("localhost:", StringComparison.Ordinal)) text = "127.0.0.1:" + text["localhost:".Length..];
        if (!IPEndPoint.TryParse(text, out var ep) || ep.Port == 0) return false;
        // IPEndPoint.TryParse accepts a bare address; a listen address needs its port spelt out.
        if (!text.EndsWith(":" + ep.Port, StringComparison.Ordinal)) return false;
        endpoint = ep;
        return true;
    }
}
