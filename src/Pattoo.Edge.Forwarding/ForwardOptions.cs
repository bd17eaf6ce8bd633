using Pattoo.Edge.Config;

namespace Pattoo.Edge.Forwarding;

/// <summary>Where forwarding starts on a box that already holds samples.</summary>
public enum ForwardStart
{
    /// <summary>Samples stored from the moment the forwarder is added (series created later: all of theirs).</summary>
    Now,
    /// <summary>Everything still stored.</summary>
    Oldest,
}

/// <summary>Which datapoints a forwarder sends: all by default; each list narrows (globs with <c>*</c> and <c>?</c>).</summary>
public sealed record DatapointFilter(IReadOnlyList<string> Programs, IReadOnlyList<string> Keys, IReadOnlyList<KeyValuePair<string, string>> Labels)
{
    public static readonly DatapointFilter All = new([], [], []);

    /// <summary>Whether a datapoint of <paramref name="program"/> with <paramref name="key"/> and <paramref name="labels"/> is sent.</summary>
    public bool Matches(string program, string key, IReadOnlyList<KeyValuePair<string, string>> labels)
    {
        if (Programs.Count > 0 && !Programs.Any(p => Glob.IsMatch(p, program))) return false;
        if (Keys.Count > 0 && !Keys.Any(k => Glob.IsMatch(k, key))) return false;
        foreach (var (name, pattern) in Labels)
        {
            bool found = false;
            foreach (var (n, v) in labels)
            {
                if (n == name && Glob.IsMatch(pattern, v)) { found = true; break; }
            }
            if (!found) return false;
        }
        return true;
    }
}

/// <summary>What every forwarder has: a name (its cursor's key), where, how to authenticate, how much and which datapoints.</summary>
public abstract record ForwarderOptions
{
    public required string Name { get; init; }
    public required Uri Url { get; init; }
    public string? BearerToken { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }
    public string? CaFile { get; init; }
    public bool InsecureSkipVerify { get; init; }
    public int BatchSamples { get; init; } = 10_000;

    /// <summary>remote_write's default <c>batch_samples</c>: a receiver takes big requests well, and fewer round trips replay a backlog faster.</summary>
    public const int RemoteWriteBatch = 50_000;
    /// <summary>0: unlimited.</summary>
    public int MaxSamplesPerSecond { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
    public DatapointFilter Filter { get; init; } = DatapointFilter.All;
    public ForwardStart Start { get; init; } = ForwardStart.Now;

    /// <summary>"remote_write", "pattoo", "mqtt": the section's name, the API's kind.</summary>
    public abstract string Kind { get; }

    /// <summary>What the kind adds to <see cref="Describe"/>.</summary>
    protected virtual string KindDetail => "";

    /// <summary>One line for <c>config check --verbose</c>: where, how much, from when, which datapoints.</summary>
    public string Describe()
    {
        string which = Filter.Programs.Count + Filter.Keys.Count + Filter.Labels.Count == 0 ? "every numeric datapoint"
            : string.Join(", ", new[]
            {
                Filter.Programs.Count > 0 ? $"programs {string.Join(" ", Filter.Programs)}" : null,
                Filter.Keys.Count > 0 ? $"keys {string.Join(" ", Filter.Keys)}" : null,
                Filter.Labels.Count > 0 ? $"labels {string.Join(" ", Filter.Labels.Select(l => $"{l.Key}={l.Value}"))}" : null,
            }.OfType<string>());
        string rate = MaxSamplesPerSecond > 0 ? $", at most {MaxSamplesPerSecond:N0} samples/s" : "";
        string auth = BearerToken is not null ? ", bearer token" : Username is not null ? $", user {Username}" : "";
        return $"forward {Name} ({Kind}{KindDetail}) to {Url}{auth}: {which}, {(Start == ForwardStart.Now ? "from when it was added" : "everything stored")}, batches of {BatchSamples:N0}{rate}";
    }

    /// <summary>Everything that makes the forwarder what it is, as text (lists compare by content): a reload restarts it when this changes.</summary>
    public virtual string Signature
        => string.Join('\n', Kind, Url, BearerToken, Username, Password, CaFile, InsecureSkipVerify, BatchSamples, MaxSamplesPerSecond, Timeout, Start,
            string.Join(',', Filter.Programs), string.Join(',', Filter.Keys), string.Join(',', Filter.Labels));
}

/// <summary>One <c>[[forward.remote_write]]</c>: a Prometheus remote_write receiver fed from the store.</summary>
public sealed record RemoteWriteOptions : ForwarderOptions
{
    public required IReadOnlyList<KeyValuePair<string, string>> ExternalLabels { get; init; }
    public override string Kind => "remote_write";
    protected override string KindDetail => ", external labels " + string.Join(" ", ExternalLabels.Select(l => $"{l.Key}={l.Value}"));
    public override string Signature => base.Signature + "\n" + string.Join(',', ExternalLabels);
}

/// <summary>One <c>[[forward.pattoo]]</c>: a central pattoo server (or another Pattoo.Edge), posted to as pattoo agents post.</summary>
public sealed record PattooForwardOptions : ForwarderOptions
{
    public override string Kind => "pattoo";
}

/// <summary>What an MQTT forwarder publishes.</summary>
public enum MqttFormat
{
    /// <summary>A JSON message per sample, to a topic per datapoint.</summary>
    Json,
    /// <summary>Sparkplug B 3.0: births, data by alias, the death certificate.</summary>
    SparkplugB,
}

/// <summary>One <c>[[forward.mqtt]]</c>: an MQTT 3.1.1 broker, as JSON messages or as a Sparkplug B edge node.</summary>
public sealed record MqttForwardOptions : ForwarderOptions
{
    public required string ClientId { get; init; }
    /// <summary>The <c>{appliance}</c> of topic templates.</summary>
    public required string Appliance { get; init; }
    public MqttFormat Format { get; init; } = MqttFormat.Json;
    /// <summary>QoS of JSON messages (Sparkplug's are 0 by its rules, confirmed by a PINGREQ barrier).</summary>
    public int Qos { get; init; } = 1;
    public string Topic { get; init; } = Forwarding.Mqtt.MqttJsonMessage.DefaultTopic;
    public string GroupId { get; init; } = "pattoo";
    public required string EdgeNodeId { get; init; }
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);
    public override string Kind => "mqtt";
    protected override string KindDetail => Format == MqttFormat.SparkplugB
        ? $", Sparkplug B edge node {GroupId}/{EdgeNodeId}"
        : $", JSON at QoS {Qos} to {Topic}";
    public override string Signature => string.Join('\n', base.Signature, ClientId, Appliance, Format, Qos, Topic, GroupId, EdgeNodeId, KeepAlive);
}

/// <summary>The <c>[forward]</c> section.</summary>
public sealed record ForwardOptions
{
    public IReadOnlyList<RemoteWriteOptions> RemoteWrite { get; init; } = [];
    public IReadOnlyList<PattooForwardOptions> Pattoo { get; init; } = [];
    public IReadOnlyList<MqttForwardOptions> Mqtt { get; init; } = [];

    /// <summary>Every forwarder of every kind.</summary>
    public IEnumerable<ForwarderOptions> All => RemoteWrite.Cast<ForwarderOptions>().Concat(Pattoo).Concat(Mqtt);
    /// <summary>How far behind a forwarder may fall before retention deletes what it has not sent.</summary>
    public TimeSpan MaxBacklog { get; init; } = TimeSpan.FromDays(7);

    public static readonly ForwardOptions None = new();

    /// <summary>Binds <c>[forward]</c>; <paramref name="applianceName"/> is the default <c>appliance</c> external label.</summary>
    public static ForwardOptions Bind(ConfigSection s, string applianceName)
    {
        var maxBacklog = s.GetDuration("max_backlog", TimeSpan.FromDays(7), TimeSpan.FromMinutes(1), TimeSpan.FromDays(3650));
        var names = new HashSet<string>(StringComparer.Ordinal);
        var remote = BindAll(s, "remote_write", names, t => BindRemoteWrite(t, applianceName));
        var pattoo = BindAll(s, "pattoo", names, BindPattoo);
        var mqtt = BindAll(s, "mqtt", names, t => BindMqtt(t, applianceName));
        s.Finish();
        return new ForwardOptions { RemoteWrite = remote, Pattoo = pattoo, Mqtt = mqtt, MaxBacklog = maxBacklog };
    }

    private static List<T> BindAll<T>(ConfigSection s, string key, HashSet<string> names, Func<ConfigSection, T?> bind) where T : ForwarderOptions
    {
        var result = new List<T>();
        foreach (var t in s.GetSectionArray(key))
        {
            // Checked before the rest, so a clash is named even when the table has other errors.
            string name = (t.GetOptionalString("name") ?? "").Trim();
            bool clash = name.Length > 0 && !names.Add(name);
            if (clash) t.Error("name", $"\"{name}\" names another forwarder too; each needs its own name (it keys the forwarder's cursor)");
            var o = bind(t);
            t.Finish();
            if (o is not null && !clash) result.Add(o);
        }
        return result;
    }

    private static PattooForwardOptions? BindPattoo(ConfigSection s)
    {
        int errors = s.Errors.Count;
        var common = BindCommon(s, "http://central:20201", Http);
        if (s.Errors.Count > errors || common is null) return null;
        return common.Apply(new PattooForwardOptions { Name = common.Name, Url = common.Url });
    }

    private static readonly string[] Http = ["http", "https"];
    private static readonly string[] MqttSchemes = ["mqtt", "mqtts"];

    /// <summary>The keys every forwarder takes; null when name or url is unusable (the errors are recorded).</summary>
    private static CommonKeys? BindCommon(ConfigSection s, string urlExample, string[] schemes, int defaultBatch = 10_000)
    {
        string name = s.GetName("a forwarder needs a name (name = \"central\"): it keys the forwarder's cursor");
        Uri? url = null;
        string? urlText = s.GetOptionalString("url");
        if (urlText is null) s.Error($"a forwarder needs url = \"{urlExample}\"");
        else if (!Uri.TryCreate(urlText, UriKind.Absolute, out url) || Array.IndexOf(schemes, url.Scheme) < 0 || url.Host.Length == 0)
        {
            s.Error("url", $"expected an {string.Join(" or ", schemes.Select(x => x + "://"))} URL with a host, got \"{urlText}\"");
            url = null;
        }
        string? token = s.GetOptionalString("bearer_token");
        string? user = s.GetOptionalString("username");
        string? password = s.GetOptionalString("password");
        if (token is not null && (user is not null || password is not null)) s.Error("bearer_token", "set either bearer_token or username and password, not both");
        if ((user is null) != (password is null)) s.Error(user is null ? "password" : "username", "username and password go together");
        string? ca = s.GetOptionalString("ca_file");
        if (ca is not null && !File.Exists(ca)) s.Error("ca_file", $"no such file: \"{ca}\"");
        bool insecure = s.GetBool("insecure_skip_verify", false);
        int batch = (int)s.GetInteger("batch_samples", defaultBatch, 1, 1_000_000);
        int rate = (int)s.GetInteger("max_samples_per_second", 0, 0, 100_000_000);
        var timeout = s.GetDuration("timeout", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        var filter = new DatapointFilter(s.GetStringArray("programs"), s.GetStringArray("keys"), s.GetStringMap("labels"));
        var start = s.GetChoice("start", "now", "now", "oldest") == "oldest" ? ForwardStart.Oldest : ForwardStart.Now;
        if (url is null || name.Length == 0) return null;
        return new CommonKeys(name, url, token, user, password, ca, insecure, batch, rate, timeout, filter, start);
    }

    private sealed record CommonKeys(string Name, Uri Url, string? Token, string? User, string? Password, string? Ca, bool Insecure, int Batch, int Rate, TimeSpan Timeout, DatapointFilter Filter, ForwardStart Start)
    {
        public T Apply<T>(T o) where T : ForwarderOptions => o with
        {
            BearerToken = Token, Username = User, Password = Password, CaFile = Ca, InsecureSkipVerify = Insecure,
            BatchSamples = Batch, MaxSamplesPerSecond = Rate, Timeout = Timeout, Filter = Filter, Start = Start,
        };
    }

    private static RemoteWriteOptions? BindRemoteWrite(ConfigSection s, string applianceName)
    {
        int errors = s.Errors.Count;
        var common = BindCommon(s, "http://host:8428/api/v1/write", Http, ForwarderOptions.RemoteWriteBatch);
        var external = s.Has("external_labels") ? s.GetStringMap("external_labels") : [new("appliance", applianceName)];
        foreach (var (label, _) in external)
        {
            if (!PrometheusNames.IsLabelName(label)) s.Error("external_labels", $"\"{label}\" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
        }
        if (s.Errors.Count > errors || common is null) return null;
        return common.Apply(new RemoteWriteOptions { Name = common.Name, Url = common.Url, ExternalLabels = external });
    }

    private static MqttForwardOptions? BindMqtt(ConfigSection s, string applianceName)
    {
        int errors = s.Errors.Count;
        var common = BindCommon(s, "mqtt://broker:1883", MqttSchemes);
        if (s.Has("bearer_token")) s.Error("bearer_token", "MQTT has no bearer tokens: set username and password");
        var format = s.GetChoice("format", "json", "json", "sparkplug_b") == "sparkplug_b" ? MqttFormat.SparkplugB : MqttFormat.Json;
        string clientId = s.GetString("client_id", $"pattoo-edge-{applianceName}-{common?.Name}");
        if (clientId.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(clientId) > 65535) s.Error("client_id", "a client id of 1 to 65,535 bytes");
        int qos = (int)s.GetInteger("qos", 1, 0, 1);
        string topic = s.GetString("topic", Forwarding.Mqtt.MqttJsonMessage.DefaultTopic);
        if (Forwarding.Mqtt.MqttJsonMessage.CheckTemplate(topic) is { } problem) s.Error("topic", problem);
        string group = s.GetString("group_id", "pattoo");
        string node = s.GetString("edge_node_id", Forwarding.Mqtt.MqttTopic.Level(applianceName));
        foreach (var (key, value) in new[] { ("group_id", group), ("edge_node_id", node) })
        {
            if (value.Length == 0 || value.AsSpan().IndexOfAny("/+#") >= 0) s.Error(key, $"\"{value}\": a Sparkplug id is one topic level, not empty, without '/', '+' or '#'");
        }
        if (format == MqttFormat.SparkplugB)
        {
            if (s.Has("topic")) s.Error("topic", "Sparkplug B fixes its topics (spBv1.0/group_id/.../edge_node_id/device); topic is for format = \"json\"");
            if (s.Has("qos")) s.Error("qos", "Sparkplug B publishes at QoS 0 by its rules (each batch is confirmed by a PINGREQ barrier); qos is for format = \"json\"");
        }
        var keepAlive = s.GetDuration("keepalive", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5), TimeSpan.FromHours(18));
        if (common is not null && common.Batch > 50_000) s.Error("batch_samples", $"at most 50,000 for MQTT (a packet id per sample in flight), got {common.Batch:N0}");
        if (s.Errors.Count > errors || common is null) return null;
        return common.Apply(new MqttForwardOptions
        {
            Name = common.Name, Url = common.Url, ClientId = clientId, Appliance = applianceName, Format = format, Qos = qos, Topic = topic,
            GroupId = group, EdgeNodeId = node, KeepAlive = keepAlive,
        });
    }
}
